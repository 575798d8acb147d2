"""Notebook output through a real JupyterLab server: its IOPub rate limiter, and headless Chromium.

One server serves the module, with the limiter ten times stricter than its defaults. The browser
is Debian's chromium driven by Playwright (never `playwright install`). Locally, without
/usr/bin/chromium, the browser tests are skipped; CI sets TRAINBAR_REQUIRE_BROWSER=1, which turns
that skip into a failure. Screenshots are left in the test's temporary directory (printed with -s).
"""

import os
import re

import pytest

pytest.importorskip("jupyterlab")
pytest.importorskip("websocket")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from jupyterrun import CHROMIUM, NESTED_TRAINING, RATE_EXCEEDED, LabServer, hermetic_env, launch_chromium, notebook  # noqa: E402


FAST = """
import trainbar as tb
for i in tb.bar(range(3_000_000), desc="fast"):
    pass
for j in range(2000):  # a flood of tiny top-level bars
    for i in tb.bar(range(3), desc=f"tiny {j}"):
        pass
"""

NAIVE = """
for i in range(2000):
    print(f"\\r{i}", end="", flush=True)
"""

DONE_GREEN = "rgb(44, 160, 44)"  # renderers.html.DONE_COLOUR as the browser reports it


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    root.mkdir()
    env = hermetic_env(str(tmp / "home"))
    server = LabServer(str(root), env, str(tmp / "server.log")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server_kernel(lab):
    with lab.kernel() as kernel:
        yield kernel


def test_the_rate_limiter_never_fires_for_trainbar(lab, server_kernel):
    """A 3M-step loop, a flood of tiny bars and a training loop, through the websocket: no limit hit."""
    for code in (FAST, NESTED_TRAINING):
        run = server_kernel.run(code)
        print(f"\nthrough the server: {run.summary()}")
        assert RATE_EXCEEDED not in run.streams()
        assert run.count("display_data", "update_display_data") > 0
    assert RATE_EXCEEDED not in lab.log()


def test_the_rate_limiter_is_armed(lab, server_kernel):
    """The same server cuts off a naive flushed-print loop: the check above could fail."""
    run = server_kernel.run(NAIVE)
    assert "IOPub message rate exceeded" in run.streams()
    assert "IOPub message rate exceeded" in lab.log()


# --- the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("TRAINBAR_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing and TRAINBAR_REQUIRE_BROWSER is set (CI installs it)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        context = launch_chromium(playwright, str(tmp_path_factory.mktemp("chromium-profile")))
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def executed(lab, tmp_path_factory):
    """The training notebook executed by nbclient and saved into the server's root, unopened."""
    nb = notebook(NESTED_TRAINING)
    kernel_env = hermetic_env(str(tmp_path_factory.mktemp("nbclient")))
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3").execute(env=kernel_env)
    path = os.path.join(lab.root, "executed.ipynb")
    nbformat.write(nb, path)
    return path


def bar_state(page, output_selector):
    """What the browser shows for the trainbar output under ``output_selector``."""
    return page.eval_on_selector(
        output_selector,
        """(out) => {
            const frames = out.querySelectorAll('.trainbar');
            const fill = out.querySelector('.trainbar-fill');
            const track = fill && fill.parentElement;
            const spark = out.querySelector('img.trainbar-spark');
            return {
                frames: frames.length,
                outputs: out.querySelectorAll('.jp-OutputArea-output:has(.trainbar)').length,
                text: frames.length ? frames[0].innerText : '',
                all: out.innerText,
                rows: Array.from(out.querySelectorAll('.trainbar-desc')).map(e => e.className.split('trainbar-').pop() + ':' + e.textContent),
                filled: fill ? fill.getBoundingClientRect().width / track.getBoundingClientRect().width : null,
                colour: fill ? getComputedStyle(fill).backgroundColor : null,
                spark: spark ? spark.complete && spark.naturalWidth : null,
            };
        }""",
    )


CELL_OUTPUT = ".jp-Notebook .jp-Cell:nth-child({}) .jp-OutputArea"


@pytest.fixture(scope="module")
def lab_page(lab, browser, executed, tmp_path_factory):
    """JupyterLab showing a notebook whose first cell holds nbclient's saved output (untrusted, as
    any notebook from elsewhere) and whose second cell is the same training loop, not run yet.
    Returns the page and what the first cell showed when the notebook was opened."""
    shots = tmp_path_factory.mktemp("screenshots")
    nb = nbformat.read(executed, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(NESTED_TRAINING))
    nbformat.write(nb, os.path.join(lab.root, "lab.ipynb"))
    page = browser.new_page()
    page.goto(f"{lab.url}/lab/tree/lab.ipynb?token={lab.token}&reset", timeout=120_000)
    page.wait_for_selector(f"{CELL_OUTPUT.format(1)} .trainbar-fill", timeout=120_000)
    reopened = bar_state(page, CELL_OUTPUT.format(1))
    page.screenshot(path=str(shots / "lab-reopened.png"))
    page.wait_for_function(  # the kernel is started and connected, not merely "idle" before it exists
        """() => (document.querySelector('.jp-Toolbar-kernelName')?.innerText || '').includes('Python 3')
                 && document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']")""",
        timeout=120_000,
    )
    print(f"\nscreenshots: {shots}")
    yield page, reopened, shots
    page.close()


def assert_finished_training_bar(state):
    assert state["frames"] == 1
    assert state["rows"] == ["done:epoch"]
    assert "100%" in state["text"] and "3/3" in state["text"]
    assert state["filled"] == pytest.approx(1.0, abs=0.01) and state["colour"] == DONE_GREEN
    assert state["spark"] == 64  # the loss picture is there and the browser could draw it


def test_jupyterlab_reopens_a_saved_notebook_at_its_final_state(lab_page):
    """An executed notebook opened later, untrusted and sanitised, shows the finished bar, not a stale 0%."""
    _, reopened, _ = lab_page
    assert_finished_training_bar(reopened)
    assert reopened["outputs"] == 1


def test_jupyterlab_draws_the_bar_live_and_then_finished(lab_page):
    """Run in JupyterLab: the bar updates in place while it runs, and ends full, green, with its picture."""
    page, _, shots = lab_page
    second = CELL_OUTPUT.format(2)
    for attempt in range(3):  # a click landing before the notebook is wired up is sometimes lost
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        try:
            page.wait_for_selector(f"{second} .trainbar-desc.trainbar-running", timeout=30_000)
            break
        except Exception:
            if attempt == 2:
                raise
    page.screenshot(path=str(shots / "lab-running.png"))
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.jp-InputArea-prompt')).every(p => /\\[\\d+\\]/.test(p.textContent))",
        timeout=120_000,
    )
    page.wait_for_selector(f"{second} .trainbar-desc.trainbar-done", timeout=30_000)
    page.screenshot(path=str(shots / "lab-done.png"))
    state = bar_state(page, second)
    assert_finished_training_bar(state)
    assert state["outputs"] == 1  # updated in place: still one output
    assert state["all"].index("3/3") < state["all"].index("epoch 0 printed") < state["all"].index("epoch 2 printed")
    assert RATE_EXCEEDED not in page.inner_text(".jp-Notebook")


def test_an_nbconvert_html_export_shows_the_finished_bar_offline(executed, browser, tmp_path):
    """The exported HTML page, opened with the network cut off, shows the finished bar."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    page_path = tmp_path / "executed.html"
    page_path.write_text(body, encoding="utf-8")
    page = browser.new_page()
    page.route(re.compile(r"^(?!file:|data:).*"), lambda route: route.abort())
    page.goto(page_path.as_uri(), timeout=60_000)
    page.wait_for_selector(".trainbar-fill", timeout=30_000)
    page.screenshot(path=str(tmp_path / "export.png"), full_page=True)
    state = bar_state(page, "body")
    assert_finished_training_bar(state)
    assert "epoch 2 printed" in state["all"]
    page.close()
