"""What saved notebook outputs look like in VS Code, trusted and in Restricted Mode.

For each .ipynb given, this starts code-server (VS Code for the web) twice: once with workspace
trust disabled (everything trusted) and once with trust enabled and the folder not trusted
(Restricted Mode). It opens the notebook in headless Chromium with VS Code's built-in ipynb
support (no Jupyter extension, no kernel), waits for the outputs, which VS Code draws in a
webview (nested iframes), and prints per notebook and mode:

    rendered   whether any output text, image or svg appeared within --wait seconds
    secs       seconds from the notebook editor showing to the outputs settling (or to giving up)
    bars       trainbar's rows drawn (`.trainbar-desc`), and of them those red (interrupted)
    text       the visible text of the outputs (innerText, open shadow roots included)
    imgs       <img> elements loaded (naturalWidth > 0) / present
    svgs       inline <svg> elements
    rows       <tr> elements, i.e. whether tables survived
    styled     elements that kept a style attribute
    fill       computed background colour and width of trainbar's `.trainbar-fill`, if any

A screenshot of each goes to --shots. Nothing here is collected by pytest; run it by hand.

Reading the results: VS Code shows one item of each output, the first of its mime types in a
fixed order (by default application/json, application/javascript, text/html, image/svg+xml,
text/latex, text/markdown, image/png, image/jpeg, text/plain), trusted or not. In Restricted
Mode the built-in renderer then draws nothing for text/html, image/svg+xml and
application/javascript, and VS Code does not fall back to the next mime type.

Install code-server (about 3 minutes; code-server 4.139 needs Node 24, and one of its native
modules, kerberos, needs the gssapi headers):

    apt-get install -y chromium libkrb5-dev build-essential python3
    mkdir -p /opt/code-server && cd /opt/code-server && npm init -y
    npm install node@24
    PATH=$PWD/node_modules/.bin:$PATH npm install code-server@4.139.1

Run (10 to 25 s per notebook and mode; an output that never shows costs the whole --wait):

    CODE_SERVER=/opt/code-server/node_modules/.bin/code-server \\
        python3 tests/manual/vscode_restricted.py out1.ipynb out2.ipynb --shots /tmp/shots

The folder holding CODE_SERVER goes first on PATH, so the `node` that npm put next to it
(node@24) runs code-server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]  # fmt: skip
MODES = ("trusted", "restricted")

# Settings for both modes: open .ipynb in the notebook editor (not as JSON), no welcome page, no
# chat panel, and no "Do you trust this folder?" dialog (the folder simply stays untrusted).
SETTINGS = {
    "workbench.editorAssociations": {"*.ipynb": "jupyter-notebook"},
    "workbench.startupEditor": "none",
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "chat.disableAIFeatures": True,
    "security.workspace.trust.startupPrompt": "never",
    "telemetry.telemetryLevel": "off",
}

# Runs in each frame; returns None where the frame is not a notebook output webview.
MEASURE_JS = """() => {
    const container = document.querySelector('#container');
    if (!container) return null;
    const roots = [];
    const walk = (root) => {
        roots.push(root);
        if (root.shadowRoot) walk(root.shadowRoot);
        root.querySelectorAll('*').forEach((e) => e.shadowRoot && walk(e.shadowRoot));
    };
    container.querySelectorAll('.output').forEach(walk);
    const all = (selector) => roots.flatMap((r) => Array.from(r.querySelectorAll(selector)));
    const visibleText = (root) => Array.from(root.children)
        .filter((e) => !['STYLE', 'SCRIPT', 'LINK'].includes(e.tagName))
        .map((e) => e.innerText || '').join('\\n');
    const fill = all('.trainbar-fill')[0];
    const fillStyle = fill && getComputedStyle(fill);
    return {
        text: roots.map(visibleText).join('\\n').trim(),
        imgs: all('img').length,
        imgs_loaded: all('img').filter((i) => i.complete && i.naturalWidth > 0).length,
        svgs: all('svg').length,
        rows: all('tr').length,
        styled: all('[style]').length,
        fill: fillStyle ? fillStyle.backgroundColor + ' ' + fillStyle.width : '',
        bars: all('.trainbar-desc').length,
        red: all('.trainbar-desc.trainbar-interrupted').length,
    };
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_code_server(binary: str, mode: str, root: str) -> tuple[subprocess.Popen, int]:
    """code-server on 127.0.0.1 with its own user data; trust disabled only in "trusted" mode."""
    user_data = os.path.join(root, "user-data")
    os.makedirs(os.path.join(user_data, "User"))
    with open(os.path.join(user_data, "User", "settings.json"), "w") as f:
        json.dump(SETTINGS, f)
    config = os.path.join(root, "config.yaml")
    open(config, "w").close()  # keeps code-server away from ~/.config/code-server
    port = free_port()
    args = [
        binary, "--config", config, "--auth", "none", "--bind-addr", f"127.0.0.1:{port}",
        "--disable-telemetry", "--disable-update-check", "--ignore-last-opened",
        "--user-data-dir", user_data, "--extensions-dir", os.path.join(root, "extensions"),
    ]  # fmt: skip
    if mode == "trusted":
        args.append("--disable-workspace-trust")
    env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(binary)) + os.pathsep + os.environ["PATH"])
    log = os.path.join(root, "code-server.log")
    with open(log, "w") as out:
        server = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"code-server exited with {server.returncode}; see {log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"code-server did not listen on port {port}; see {log}")


def notebook_url(port: int, folder: str, notebook: str) -> str:
    """The workbench with `folder` open and `notebook` opened in an editor on load."""
    payload = json.dumps([["openFile", f"vscode-remote://127.0.0.1:{port}{notebook}"]])
    return f"http://127.0.0.1:{port}/?folder={urllib.parse.quote(folder)}&payload={urllib.parse.quote(payload)}"


def measure_outputs(page, wait: float) -> dict:
    """Poll the output webviews until what they show has stood still for two seconds (outputs
    render one by one: a traceback before a Markdown one), or `wait` seconds pass; the last reading."""
    page.wait_for_selector(".notebookOverlay .code-cell-row", timeout=60_000)
    opened = time.monotonic()
    deadline = opened + wait
    previous, settled_since = None, opened
    while True:
        readings = []
        for frame in page.frames:
            try:
                reading = frame.evaluate(MEASURE_JS)
            except PlaywrightError:  # a frame navigating or detached mid-poll
                continue
            if reading:
                readings.append(reading)
        best = max(readings, key=lambda r: (len(r["text"]), r["imgs"] + r["svgs"]), default=None)
        shown = bool(best and (best["text"] or best["imgs"] or best["svgs"]))
        now = time.monotonic()
        if best != previous:
            previous, settled_since = best, now
        settled = shown and best["imgs_loaded"] == best["imgs"] and now - settled_since >= 2.0
        if settled or now > deadline:
            empty = {"text": "", "imgs": 0, "imgs_loaded": 0, "svgs": 0, "rows": 0, "styled": 0, "fill": "",
                     "bars": 0, "red": 0}  # fmt: skip
            return dict(best or empty, rendered=shown, secs=(settled_since if settled else now) - opened)
        time.sleep(0.5)


def check_mode(binary: str, mode: str, notebooks: list[str], shots: str, wait: float) -> list[dict]:
    root = tempfile.mkdtemp(prefix=f"vscode-{mode}-")
    folder = os.path.join(root, "workspace")
    os.makedirs(folder)
    server, port = start_code_server(binary, mode, root)
    results = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for path in notebooks:
                copy = os.path.join(folder, os.path.basename(path))
                shutil.copyfile(path, copy)
                context = browser.new_context(viewport={"width": 1400, "height": 900})  # fresh storage
                page = context.new_page()
                page.goto(notebook_url(port, folder, copy))
                result = measure_outputs(page, wait)
                name = os.path.splitext(os.path.basename(path))[0]
                page.screenshot(path=os.path.join(shots, f"{name}-{mode}.png"))
                results.append(dict(result, notebook=os.path.basename(path), mode=mode))
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    shutil.rmtree(root, ignore_errors=True)
    return results


def versions(binary: str) -> str:
    env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(binary)) + os.pathsep + os.environ["PATH"])
    code = subprocess.run([binary, "--config", os.devnull, "--version"], capture_output=True, text=True, env=env)
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, env=env).stdout.strip()
    return f"code-server {code.stdout.strip() or '?'}; node {node}"


def print_table(results: list[dict]) -> None:
    header = f"{'notebook':32} {'mode':10} {'rendered':8} {'secs':5} {'bars':9} {'imgs':5} {'svgs':4} {'rows':4}"
    header += f" {'styled':6}"
    print(header, "fill / text")
    for r in results:
        text = " | ".join(line.strip() for line in r["text"].splitlines() if line.strip())
        print(
            f"{r['notebook'][:32]:32} {r['mode']:10} {'yes' if r['rendered'] else 'no':8} {r['secs']:<5.1f} "
            f"{str(r['bars']) + ' (' + str(r['red']) + ' red)':9} "
            f"{r['imgs_loaded']}/{r['imgs']:<3} {r['svgs']:<4} {r['rows']:<4} {r['styled']:<6} "
            f"{r['fill'] or '-'} / {text[:100]!r}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", help=".ipynb files with saved outputs")
    parser.add_argument("--code-server", default=os.environ.get("CODE_SERVER"), help="default: $CODE_SERVER")
    parser.add_argument("--shots", default="vscode-shots", help="folder for screenshots")
    parser.add_argument("--wait", type=float, default=15.0, help="seconds to wait for outputs to show")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = parser.parse_args()
    if not args.code_server:
        parser.error("give --code-server or set CODE_SERVER (see the install commands in the docstring)")
    os.makedirs(args.shots, exist_ok=True)
    notebooks = [os.path.abspath(p) for p in args.notebooks]
    print(versions(args.code_server))
    results = [r for mode in args.modes for r in check_mode(args.code_server, mode, notebooks, args.shots, args.wait)]
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
