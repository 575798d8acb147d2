"""What a notebook page shows for the hard cases, in headless Chromium: a row with many metrics in
a narrow output, a failure inside nested loops, a stop at 0%, 500 bars in one cell, and the stop
button pressed in JupyterLab's toolbar.

Each case is checked three ways, through the DOM and element sizes: run in JupyterLab and read
right after the run; run by nbclient, then opened in JupyterLab untrusted, as a notebook from
elsewhere, reloaded from disk; and exported with nbconvert. Screenshots are kept in the test's
temporary directory (printed with -s).
"""

import os
import re

import pytest

pytest.importorskip("jupyterlab")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from jupyterrun import hermetic_env, notebook  # noqa: E402
from trainbar.render import training  # noqa: E402
from test_notebook_lab import browser, lab  # noqa: E402, F401 - the module's server and browser

WIDE = """
import trainbar as tb
with tb.bar(total=3, desc="fit a transformer with a rather long name, from $5 to $10", unit="epoch") as epochs:
    for epoch in range(3):
        epochs.update(1, loss=0.1234, accuracy=0.9876, val_loss=0.2345, val_accuracy=0.9765,
                      learning_rate=0.000123, grad_norm=1.2345, tokens_per_second=12345.6, epoch_time=61.2)
"""

FAILS = """
import trainbar as tb
for epoch in tb.bar(range(3), desc="epoch"):
    steps = tb.bar(range(200), desc="train", leave=False)
    for i in steps:
        steps.log(loss=1.0 / (i + 1))
        if epoch == 1 and i == 120:
            raise ValueError("boom")
"""

STOPPED = """
import trainbar as tb
for _ in tb.bar(range(100), desc="stopped"):
    raise KeyboardInterrupt  # what the stop button raises, before the first step ends
"""

MANY = """
import trainbar as tb
for j in range(500):
    for i in tb.bar(range(3), desc=f"bar {j}"):
        pass
"""

STOP_BUTTON = """
import time
import trainbar as tb
for epoch in tb.bar(range(3), desc="epoch"):
    steps = tb.bar(range(100_000), desc="train", leave=False)
    for i in steps:
        steps.log(loss=1.0 / (i + 1))
        time.sleep(0.005)
"""

RED = "rgb(214, 39, 40)"  # render.html.INTERRUPTED_COLOUR as the browser reports it
WIDTH = 900  # the page's width: JupyterLab's output area is then about 800 px wide


def run_and_save(lab, tmp_path_factory, name, **variables):  # noqa: F811
    nb = notebook(WIDE, FAILS, STOPPED, MANY)
    kernel_env = hermetic_env(str(tmp_path_factory.mktemp("nbclient"))) | variables
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=True).execute(env=kernel_env)
    path = os.path.join(lab.root, name)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def saved(lab, tmp_path_factory):  # noqa: F811
    return run_and_save(lab, tmp_path_factory, "views.ipynb")


@pytest.fixture(scope="module")
def saved_as_markdown(lab, tmp_path_factory):  # noqa: F811
    """The same cells written as Markdown, as a kernel under VS Code writes them."""
    path = run_and_save(lab, tmp_path_factory, "markdown.ipynb", TRAINBAR_NOTEBOOK_FORMAT="markdown")
    outputs = [o for cell in nbformat.read(path, as_version=4).cells for o in cell.get("outputs", []) if "data" in o]
    assert outputs and all("text/markdown" in o["data"] and "text/html" not in o["data"] for o in outputs)
    return path


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("view-screenshots")
    print(f"\nscreenshots: {folder}")
    return folder


def open_in_lab(server, browser, name, last_cell, screenshot, ready="() => true"):  # noqa: F811
    """Notebook ``name`` of ``server`` opened in a page ``WIDTH`` wide, once cell ``last_cell``
    shows trainbar's output and ``ready`` (a JavaScript condition) holds; a screenshot is kept."""
    page = browser.new_page()
    page.set_viewport_size({"width": WIDTH, "height": 1400})
    page.goto(f"{server.url}/lab/tree/{name}?token={server.token}&reset", timeout=120_000)
    page.wait_for_selector(f".jp-Notebook .jp-Cell:nth-child({last_cell}) .jp-OutputArea .trainbar", timeout=120_000)
    page.wait_for_function(ready, timeout=60_000)
    page.screenshot(path=str(screenshot), full_page=True)
    return page


def reopened_in_lab(lab, browser, saved, shots):  # noqa: F811
    name = os.path.basename(saved)
    return open_in_lab(lab, browser, name, 4, shots / f"{name}-lab.png")


def exported(saved, browser, shots):  # noqa: F811
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(saved, as_version=4))
    name = os.path.splitext(os.path.basename(saved))[0]
    path = shots / f"{name}.html"
    path.write_text(body, encoding="utf-8")
    page = browser.new_page()
    page.set_viewport_size({"width": WIDTH, "height": 1400})
    page.route(re.compile(r"^(?!file:|data:).*"), lambda route: route.abort())
    page.goto(path.as_uri(), timeout=60_000)
    page.wait_for_selector(".trainbar", timeout=30_000)
    page.screenshot(path=str(shots / f"{name}-export.png"), full_page=True)
    return page


def cell_state(page, index):
    """What cell ``index`` (1-based, code cells in order) shows of trainbar's outputs."""
    return page.evaluate(
        """(index) => {
            const cells = Array.from(document.querySelectorAll('.jp-CodeCell'));
            const cell = cells[index - 1];
            const frames = Array.from(cell.querySelectorAll('.trainbar'));
            const outputs = Array.from(cell.querySelectorAll('.jp-OutputArea-output')).filter(o => o.querySelector('.trainbar'));
            const area = cell.querySelector('.jp-OutputArea') || cell;
            const right = area.getBoundingClientRect().right;
            return {
                outputs: outputs.length,
                widths: outputs.concat(frames).map(e => [e.className, e.scrollWidth, e.clientWidth]),
                overflow: outputs.some(o => o.scrollWidth > o.clientWidth + 1) || frames.some(f => f.scrollWidth > f.clientWidth + 1),
                beyond: Array.from(cell.querySelectorAll('.trainbar-metric, .trainbar-numbers, .trainbar-status'))
                    .filter(e => e.getBoundingClientRect().right > right + 1).map(e => e.textContent),
                rows: Array.from(cell.querySelectorAll('.trainbar-desc')).map(e => e.className.split('trainbar-').pop() + ':' + e.textContent),
                texts: Array.from(cell.querySelectorAll('.trainbar-info')).map(e => e.innerText),
                fills: Array.from(cell.querySelectorAll('.trainbar-fill')).map(e => getComputedStyle(e).backgroundColor),
                outlines: Array.from(cell.querySelectorAll('.trainbar-track')).map(e => getComputedStyle(e).boxShadow),
                last: outputs.length ? outputs[outputs.length - 1].innerText : '',
                formulas: cell.querySelectorAll('mjx-container, .MathJax').length,
            };
        }""",
        index,
    )


def run_in_lab(lab, browser, name, shots, cells=None):  # noqa: F811
    """A page of JupyterLab with notebook ``name`` open, its code cells run one after the other
    through Lab's own command (as Shift+Enter does), each to its end; or only ``cells`` (0-based)."""
    page = browser.new_page()
    page.set_viewport_size({"width": WIDTH, "height": 1400})
    page.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}&reset", timeout=120_000)
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=120_000)
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)
    count = page.evaluate("() => document.querySelectorAll('.jp-CodeCell').length")
    for index in range(count) if cells is None else cells:
        page.evaluate(RUN_CELL, index)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    return page


KERNEL_IDLE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    return panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.kernelDisplayStatus === 'idle';
}"""

# Runs cell `index` and resolves when its execution has ended (with an error or not); an error
# would stop "Run All" there, so each cell is run on its own.
RUN_CELL = """async (index) => {
    const notebook = window.jupyterapp.shell.currentWidget.content;
    notebook.activeCellIndex = index;
    notebook.deselectAll();
    await window.jupyterapp.commands.execute('notebook:run-cell');
}"""


@pytest.fixture(scope="module")
def ran_in_lab(lab, browser, shots):  # noqa: F811
    nbformat.write(notebook(WIDE, FAILS, STOPPED, MANY), os.path.join(lab.root, "live.ipynb"))
    page = run_in_lab(lab, browser, "live.ipynb", shots)
    yield page
    page.close()


@pytest.fixture(scope="module", params=["live", "lab", "export", "lab-markdown", "export-markdown"])
def page(request, lab, browser, shots):  # noqa: F811
    """The cases run live in Lab; or run by nbclient (as HTML, or as Markdown), then reopened in
    Lab or exported."""
    if request.param == "live":
        yield request.getfixturevalue("ran_in_lab")
        return
    opened, _, form = request.param.partition("-")
    saved = request.getfixturevalue("saved_as_markdown" if form else "saved")
    page = reopened_in_lab(lab, browser, saved, shots) if opened == "lab" else exported(saved, browser, shots)
    yield page
    page.close()


def test_a_row_of_many_metrics_fits_the_output(page):
    state = cell_state(page, 1)
    # Two dollars in one text make a formula, to MathJax, which must leave trainbar's text alone.
    assert state["rows"] == ["done:fit a transformer with a rather long name, from $5 to $10"]
    assert state["formulas"] == 0
    assert not state["overflow"] and state["beyond"] == [], (state["widths"], state["beyond"])
    for name in ("val_loss=0.2345", "val_accuracy=0.9765", "tokens_per_second=", "epoch_time=61.2"):
        assert name in state["texts"][0]


def test_a_failure_keeps_the_inner_row_red_at_its_step_with_its_loss(page):
    state = cell_state(page, 2)
    assert state["rows"] == ["interrupted:epoch", "interrupted:train"], state
    train = state["texts"][1]
    assert "120/200" in train and "loss=0.008" in train and "it/s" not in train
    assert state["fills"] == [RED, RED]


def test_a_failure_keeps_the_finished_epoch_s_row_in_the_table(page):
    state = view_state(page, 2)
    assert state["header"] == ["epoch", "loss"] and [row[0] for row in state["rows"]] == ["1"], state


def test_a_stop_at_zero_is_red(page):
    state = cell_state(page, 3)
    assert state["rows"] == ["interrupted:stopped"]
    assert RED in state["outlines"][0] and "0/100" in state["texts"][0] and "it/s" not in state["texts"][0]


def test_five_hundred_bars_keep_a_handful_of_outputs_ending_with_the_last(page):
    state = cell_state(page, 4)
    assert 1 <= state["outputs"] <= 5, state
    assert "bar 499" in state["last"] and "more bars not shown" in state["last"]
    assert not state["overflow"]


def test_the_stop_button_leaves_the_inner_row_red_at_its_step_after_a_save_and_a_reload(lab, browser, shots):  # noqa: F811
    """The real stop button in Lab's toolbar, pressed mid-epoch: the inner leave=False row stays,
    red, at its step with its loss, without a rate, live; then saved, reloaded and exported."""
    nbformat.write(notebook(STOP_BUTTON), os.path.join(lab.root, "stop.ipynb"))
    page = run_in_lab(lab, browser, "stop.ipynb", shots, cells=[])
    page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0; "
                  "window.jupyterapp.commands.execute('notebook:run-cell'); }")  # fmt: skip
    page.wait_for_function(
        "() => /[1-9]\\d\\d\\/100000/.test((document.querySelector('.jp-CodeCell .trainbar') || {}).innerText || '')",
        timeout=60_000,
    )  # the inner bar has passed step 100
    page.click(".jp-NotebookPanel-toolbar [data-command='notebook:interrupt-kernel']")
    page.wait_for_function("() => /\\[\\d+\\]/.test(document.querySelector('.jp-InputArea-prompt').textContent)", timeout=60_000)
    page.wait_for_selector(".jp-CodeCell .trainbar-desc.trainbar-interrupted", timeout=30_000)
    page.screenshot(path=str(shots / "stop-button.png"), full_page=True)

    def assert_stopped(state):
        assert state["rows"] == ["interrupted:epoch", "interrupted:train"], state
        train = state["texts"][1]
        step = int(re.search(r"(\d+)/100000", train).group(1))
        assert step > 100 and "loss=" in train and "it/s" not in train, train
        assert state["fills"] == [RED, RED]
        return step

    step = assert_stopped(cell_state(page, 1))
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)
    page.reload()
    page.wait_for_selector(".jp-CodeCell .trainbar-desc.trainbar-interrupted", timeout=120_000)
    assert assert_stopped(cell_state(page, 1)) == step
    page.close()
    export = exported(os.path.join(lab.root, "stop.ipynb"), browser, shots)
    assert assert_stopped(cell_state(export, 1)) == step
    export.close()


# --- the training view with the frameworks' own loops ------------------------------------------

HF_WITH_EVALUATIONS = """
from trainbar.transformers import TrainbarCallback
args = transformers.TrainingArguments(output_dir=OUTPUT_DIR, max_steps=24, per_device_train_batch_size=4,
                                      per_device_eval_batch_size=8, logging_steps=6, eval_strategy="steps",
                                      eval_steps=12, report_to=[], save_strategy="no", use_cpu=True)
trainer = transformers.Trainer(model=transformers.GPT2LMHeadModel(gpt2), args=args, train_dataset=Tokens(64),
                               eval_dataset=Tokens(32), callbacks=[TrainbarCallback()])
trainer.train()
trainer.evaluate()
"""


def frameworks_notebook(output_dir):
    """Keras fit, Lightning fit and a Hugging Face Trainer that evaluates every 12 steps."""
    from frameworks import need_installed

    for module, extra in (("keras", "keras"), ("lightning", "lightning"), ("transformers", "transformers")):
        need_installed(module, extra)
    from test_notebook_integrations import KERAS, LIGHTNING, SETUP

    return notebook(SETUP + f"OUTPUT_DIR = {str(output_dir)!r}\n", KERAS, LIGHTNING, HF_WITH_EVALUATIONS)


@pytest.fixture(scope="module")
def frameworks_saved(lab, tmp_path_factory):  # noqa: F811
    """The frameworks' notebook run by nbclient and saved where the Lab server serves it."""
    tmp = tmp_path_factory.mktemp("frameworks")
    nb = frameworks_notebook(tmp / "hf")
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3").execute(env=hermetic_env(str(tmp / "home")))
    path = os.path.join(lab.root, "frameworks.ipynb")
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module", params=["live", "lab", "export"])
def frameworks_page(request, lab, browser, tmp_path_factory, shots):  # noqa: F811
    """The frameworks' notebook run in JupyterLab; or run by nbclient, then reopened in
    JupyterLab (untrusted) or exported by nbconvert."""
    images_loaded = "() => Array.from(document.images).every(i => i.complete)"
    if request.param == "live":
        nb = frameworks_notebook(tmp_path_factory.mktemp("frameworks-live") / "hf")
        nbformat.write(nb, os.path.join(lab.root, "frameworks-live.ipynb"))
        page = run_in_lab(lab, browser, "frameworks-live.ipynb", shots)
        page.wait_for_function(images_loaded, timeout=30_000)
    elif request.param == "lab":
        request.getfixturevalue("frameworks_saved")
        page = open_in_lab(lab, browser, "frameworks.ipynb", 4, shots / "frameworks.png", ready=images_loaded)
    else:
        page = exported(request.getfixturevalue("frameworks_saved"), browser, shots)
        page.wait_for_function(images_loaded, timeout=30_000)
    yield page
    page.close()


def view_state(page, index):
    return page.evaluate(
        """(index) => {
            const cell = Array.from(document.querySelectorAll('.jp-CodeCell'))[index - 1];
            const table = cell.querySelector('.trainbar-table');
            const chart = cell.querySelector('img.trainbar-chart');
            const outputs = Array.from(cell.querySelectorAll('.jp-OutputArea-output')).filter(o => o.querySelector('.trainbar'));
            return {
                header: table ? Array.from(table.querySelectorAll('th')).map(e => e.textContent) : null,
                rows: table ? Array.from(table.querySelectorAll('tbody tr')).map(r => Array.from(r.cells).map(c => c.textContent)) : [],
                chart: chart ? chart.complete && chart.naturalWidth : null,
                overflow: outputs.some(o => o.scrollWidth > o.clientWidth + 1),
                text: (cell.querySelector('.jp-OutputArea') || cell).innerText,
            };
        }""",
        index,
    )


@pytest.mark.frameworks
@pytest.mark.parametrize("framework, cell, figures", [("keras", 2, ["loss", "mae", "val_loss", "val_mae"]),
                                                      ("lightning", 3, ["train_loss", "val_loss"])])  # fmt: skip
def test_a_fit_shows_a_row_per_epoch_and_the_loss_chart(frameworks_page, framework, cell, figures):
    state = view_state(frameworks_page, cell)
    assert state["header"] == ["epoch", *figures], state
    assert [row[0] for row in state["rows"]] == ["1", "2"]
    assert all(figure for row in state["rows"] for figure in row)  # every figure there
    assert state["chart"] == training.CHART_WIDTH and not state["overflow"]


@pytest.mark.frameworks
def test_a_hugging_face_trainer_shows_a_row_per_evaluation(frameworks_page):
    state = view_state(frameworks_page, 4)
    assert state["header"][0] == "step" and "loss" in state["header"] and "eval_loss" in state["header"], state
    assert [row[0] for row in state["rows"]] == ["12", "24"]
    assert state["chart"] == training.CHART_WIDTH and not state["overflow"]
    # The rows and the chart carry the logs: no line per logging step under the view, as HF's own
    # tracker; the run's summary and a later evaluation's timings, which no row holds, stay lines.
    lines = re.findall(r"step \d+/24 .*", state["text"])
    assert len(lines) == 2 and "train_runtime=" in lines[0] and "eval_runtime=" in lines[1], state["text"]


# --- the dark theme ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dark_page(browser, saved, tmp_path_factory, shots):  # noqa: F811
    """The same saved notebook in a JupyterLab whose theme is JupyterLab Dark."""
    import json
    import shutil

    from jupyterrun import LabServer

    tmp = tmp_path_factory.mktemp("dark")
    root = tmp / "root"
    root.mkdir()
    env = hermetic_env(str(tmp / "home"))
    themes = os.path.join(env["JUPYTERLAB_SETTINGS_DIR"], "@jupyterlab", "apputils-extension")
    os.makedirs(themes)
    with open(os.path.join(themes, "themes.jupyterlab-settings"), "w") as f:
        json.dump({"theme": "JupyterLab Dark"}, f)
    shutil.copy(saved, root / "views.ipynb")
    server = LabServer(str(root), env, str(tmp / "server.log")).start()
    try:
        page = open_in_lab(server, browser, "views.ipynb", 4, shots / "dark.png",
                           ready="() => document.body.dataset.jpThemeLight === 'false'")  # fmt: skip
        yield page
        page.close()
    finally:
        server.stop()


def test_the_dark_theme_keeps_the_text_readable(dark_page):
    """Text takes the theme's light colour (nothing sets a dark one), and the red and green read."""
    colours = dark_page.evaluate(
        """() => {
            const luminance = (css) => {
                const [r, g, b] = css.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
                return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
            };
            const text = Array.from(document.querySelectorAll('.trainbar-desc, .trainbar-info')).map(e => luminance(getComputedStyle(e).color));
            const cell = document.querySelector('.jp-Notebook');
            return {text, background: luminance(getComputedStyle(cell).backgroundColor)};
        }"""
    )
    assert colours["background"] < 0.3, colours
    assert colours["text"] and min(colours["text"]) > 0.6, colours
