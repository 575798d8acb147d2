"""Real Jupyter clients for the notebook tests: a kernel, a server with its websocket, a browser.

    env = hermetic_env(tmp_path)
    with Kernel(env) as kernel:
        run = kernel.run("import trainbar ...")       # every IOPub message of that execution
        run.count("update_display_data"), run.peak_rate(("update_display_data",)), run.streams()

    server = LabServer(root, env, log_path).start()
    with server.kernel() as kernel:                   # through the server's websocket, limiter included
        run = kernel.run(code)
    browser = launch_chromium(profile_dir)            # Debian's /usr/bin/chromium, never a download

Everything waits on events (a message, a status, a selector), with generous time limits; no test
sleeps to let time pass.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
    "--disable-quic",
]  # fmt: skip
RATE_EXCEEDED = "rate exceeded"  # in "IOPub message rate exceeded." and "IOPub data rate exceeded."

# The training loop the kernel and JupyterLab tests run: nested bars, a metric, print() and write().
NESTED_TRAINING = """
import time, trainbar as tb
with tb.bar(total=3, desc="epoch", unit="epoch") as epochs:
    for epoch in range(3):
        for step in tb.bar(range(100), desc="train", leave=False):
            time.sleep(0.008)  # the work of one training step
            tb.log(loss=1.0 / (1 + epoch * 100 + step))
        epochs.update(1, val_loss=2.0 / (1 + epoch))
        print(f"epoch {epoch} printed")
        tb.write(f"epoch {epoch} written")
"""


def hermetic_env(tmp) -> dict:
    """The environment for kernels and servers: no user profile, config or workspace leaks in."""
    leaks = ("TRAINBAR_", "JUPYTER", "IPYTHON", "VSCODE_")  # VSCODE_*: trainbar would write Markdown
    env = {k: v for k, v in os.environ.items() if not k.startswith(leaks)}
    for name in ("ipython", "config", "data", "runtime", "workspaces", "settings"):
        os.makedirs(os.path.join(tmp, name), exist_ok=True)
    env.update(
        IPYTHONDIR=os.path.join(tmp, "ipython"),
        JUPYTER_CONFIG_DIR=os.path.join(tmp, "config"),
        JUPYTER_RUNTIME_DIR=os.path.join(tmp, "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=os.path.join(tmp, "workspaces"),
        JUPYTERLAB_SETTINGS_DIR=os.path.join(tmp, "settings"),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


class Message:
    __slots__ = ("t", "type", "content", "size")

    def __init__(self, t: float, msg_type: str, content: dict) -> None:
        self.t, self.type, self.content = t, msg_type, content
        self.size = len(json.dumps(content))


class Run:
    """The IOPub messages of one execution, with their arrival times."""

    def __init__(self, messages: list, started: float) -> None:
        self.messages = messages
        self.started = started

    def of(self, *types: str) -> list:
        return [m for m in self.messages if m.type in types]

    def count(self, *types: str) -> int:
        return len(self.of(*types))

    @property
    def duration(self) -> float:
        return max((m.t for m in self.messages), default=self.started) - self.started

    def bytes(self, *types: str) -> int:
        return sum(m.size for m in self.of(*types))

    def peak_rate(self, types: tuple, window: float = 1.0) -> int:
        """The most messages of ``types`` that arrived within any ``window`` seconds."""
        times = [m.t for m in self.of(*types)]
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] > window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def streams(self) -> str:
        return "".join(m.content["text"] for m in self.of("stream"))

    def displays(self) -> list:
        """The latest bundle of each display, in the order the displays were created."""
        bundles, order = {}, []
        for m in self.of("display_data", "update_display_data"):
            display_id = m.content.get("transient", {}).get("display_id")
            if m.type == "display_data":
                order.append(display_id)
            bundles[display_id] = m.content["data"]
        return [bundles[d] for d in order]

    def summary(self) -> str:
        types = sorted({m.type for m in self.messages})
        counts = ", ".join(f"{t}={self.count(t)}" for t in types)
        return f"{self.duration:.2f}s: {counts}; {self.bytes(*types) / max(self.duration, 1e-9) / 1000:.1f} kB/s"


class Kernel:
    """A real ipykernel, talked to directly through jupyter_client."""

    def __init__(self, env: dict) -> None:
        from jupyter_client.manager import start_new_kernel

        self.manager, self.client = start_new_kernel(kernel_name="python3", startup_timeout=120, env=env)

    def run(self, code: str, timeout: float = 180.0, on_message=None) -> Run:
        """Execute ``code``; ``on_message(message)`` is called as each one arrives."""
        started = time.monotonic()
        msg_id = self.client.execute(code)
        messages = []
        deadline = started + timeout
        while True:
            msg = self.client.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.1))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status":
                if msg["content"]["execution_state"] == "idle":
                    return Run(messages, started)
                continue
            if msg["msg_type"] != "execute_input":
                messages.append(Message(time.monotonic(), msg["msg_type"], msg["content"]))
                if on_message is not None:
                    on_message(messages[-1])

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def __enter__(self) -> "Kernel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def notebook(*sources: str):
    """A notebook of code cells that names its kernel, so no front end asks which one to use."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """A real JupyterLab server (jupyter_server underneath), with the IOPub limiter made strict."""

    token = "trainbar-test-token"

    def __init__(self, root: str, env: dict, log_path: str) -> None:
        self.root, self.env, self.log_path = root, env, log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        config = os.path.join(env["JUPYTER_CONFIG_DIR"], "labconfig")
        os.makedirs(config, exist_ok=True)
        with open(os.path.join(config, "page_config.json"), "w") as f:
            # The "get notified about news?" toast would cover the notebook.
            json.dump({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}, f)

    def start(self, timeout: float = 120.0) -> "LabServer":
        command = [
            sys.executable, "-m", "jupyterlab", "--allow-root", "--no-browser", "--ip=127.0.0.1",
            f"--port={self.port}", "--ServerApp.port_retries=0", f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: tests run cells by command, not by click
            # Ten times stricter than the defaults (1000 msg/s, 1 MB/s over 3 s): a bar that only
            # stays under the defaults by luck fails here.
            "--ZMQChannelsWebsocketConnection.iopub_msg_rate_limit=100",
            "--ZMQChannelsWebsocketConnection.iopub_data_rate_limit=100000",
            "--ZMQChannelsWebsocketConnection.rate_limit_window=1",
        ]  # fmt: skip
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=5) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyter lab did not answer within {timeout}s:\n{self.log()}")
            time.sleep(0.2)  # polling for the server to come up, not timing anything

    def log(self) -> str:
        self._log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}{path}?token={self.token}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read()
        return json.loads(text) if text else {}

    def kernel(self, timeout: float = 180.0) -> "ServerKernel":
        """A fresh kernel on this server, reached through its websocket as a browser reaches it."""
        return ServerKernel(self, timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


class ServerKernel:
    """A kernel started through the server's REST API and driven over its websocket channel."""

    def __init__(self, server: LabServer, timeout: float) -> None:
        import websocket

        self.server = server
        self.id = server.api("POST", "/api/kernels", {"name": "python3"})["id"]
        self.session = uuid.uuid4().hex
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/api/kernels/{self.id}/channels?session_id={self.session}&token={server.token}",
            timeout=timeout,
        )
        self._wait_ready(timeout)

    def run(self, code: str, timeout: float = 180.0) -> Run:
        return self._execute(code, timeout)

    def close(self) -> None:
        self.ws.close()
        self.server.api("DELETE", f"/api/kernels/{self.id}")

    def __enter__(self) -> "ServerKernel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _send(self, msg_type: str, content: dict) -> str:
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": msg_type, "session": self.session, "username": "test", "version": "5.3",
                  "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}  # fmt: skip
        self.ws.send(json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                                 "channel": "shell", "buffers": []}))  # fmt: skip
        return msg_id

    def _wait_ready(self, timeout: float) -> None:
        msg_id = self._send("kernel_info_request", {})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("channel") == "shell" and msg["parent_header"].get("msg_id") == msg_id:
                return
        raise TimeoutError("the kernel never answered kernel_info_request")

    def _execute(self, code: str, timeout: float) -> Run:
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": True}  # fmt: skip
        started = time.monotonic()
        msg_id = self._send("execute_request", content)
        messages = []
        deadline = started + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("channel") != "iopub" or msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                return Run(messages, started)
            if kind not in ("status", "execute_input"):
                messages.append(Message(time.monotonic(), kind, msg["content"]))
        raise TimeoutError(f"no idle status within {timeout}s; got {len(messages)} messages")


def launch_chromium(playwright, profile_dir: str):
    """Debian's chromium through Playwright, with a fresh profile; never a browser download."""
    return playwright.chromium.launch_persistent_context(
        profile_dir, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900}
    )
