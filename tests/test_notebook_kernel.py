"""Notebook output in a real ipykernel: messages and bytes counted on IOPub, notebooks run by nbclient.

One kernel serves the whole module. The numbers each test measured are printed (pytest -s shows them).
"""

import re

import pytest

pytest.importorskip("ipykernel")
pytest.importorskip("jupyter_client")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from jupyterrun import NESTED_TRAINING, Kernel, hermetic_env  # noqa: E402

DISPLAYS = ("display_data", "update_display_data")
MAX_UPDATES_PER_SECOND = 5  # the channel redraws about 4 times a second; one more for the final frame
MAX_DISPLAY_BYTES_PER_SECOND = 20_000

MILLION_STEPS = """
import time, trainbar as tb
start = time.perf_counter()
for i in tb.bar(range(1_000_000), desc="million"):
    while time.perf_counter() < start + i * 2.5e-6:  # ~2.5 s for the loop, on any machine
        pass
"""



def rows(html):
    return re.findall(r'class="trainbar-desc trainbar-(\w+)"[^>]*>([^<]*)<', html)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    with Kernel(hermetic_env(str(tmp_path_factory.mktemp("kernel")))) as kernel:
        kernel.run("import trainbar")  # start-up costs stay out of the measurements
        yield kernel


@pytest.fixture(scope="module")
def million(kernel):
    return kernel.run(MILLION_STEPS)


@pytest.fixture(scope="module")
def nested(kernel):
    return kernel.run(NESTED_TRAINING)


def test_a_million_step_loop_is_one_display_updated_about_four_times_a_second(million):
    """1M steps in ~2.5 s: one output, at most ~5 updates in any second, a few kB a second."""
    print("\n1M steps:", million.summary())
    assert million.count("display_data") == 1
    assert million.peak_rate(DISPLAYS) <= MAX_UPDATES_PER_SECOND
    assert million.count("update_display_data") <= million.duration * 4.5 + 2
    assert million.bytes(*DISPLAYS) / million.duration < MAX_DISPLAY_BYTES_PER_SECOND
    assert million.count("stream") == 0 and million.count("comm_open", "comm_msg") == 0


def test_a_million_step_loop_ends_at_its_final_state(million):
    """The last update is the finished bar, in HTML and in plain text."""
    (bundle,) = million.displays()
    assert rows(bundle["text/html"]) == [("done", "million")]
    assert "1000000/1000000" in bundle["text/plain"] and "100%" in bundle["text/plain"]


def test_a_nested_training_loop_is_one_display_with_messages_below_it_in_order(nested):
    """Epoch and step bars share one output; prints and writes follow it, in the order made."""
    print("\nnested:", nested.summary())
    assert nested.count("display_data") == 1
    first_display = nested.messages.index(nested.of("display_data")[0])
    first_stream = nested.messages.index(nested.of("stream")[0])
    assert first_display < first_stream
    lines = [line for line in nested.streams().splitlines() if line]
    assert lines == [f"epoch {e} {how}" for e in range(3) for how in ("printed", "written")]


def test_a_nested_training_loop_stays_within_the_rate(nested):
    """A slow loop is drawn as rarely as a fast one."""
    assert nested.peak_rate(DISPLAYS) <= MAX_UPDATES_PER_SECOND
    assert nested.bytes(*DISPLAYS) / nested.duration < MAX_DISPLAY_BYTES_PER_SECOND


def test_a_nested_training_loop_ends_with_the_outer_bar_and_its_loss_picture(nested):
    """Inner bars (leave=False) are gone at the end; the epoch bar is done, with a sparkline."""
    (bundle,) = nested.displays()
    html = bundle["text/html"]
    assert rows(html) == [("done", "epoch")]
    assert "3/3" in html and "val_loss=<wbr>0.6667" in html
    assert html.count('class="trainbar-spark"') == 1
    assert bundle["text/plain"].startswith("epoch: 100%|")


def test_the_inner_bar_and_its_loss_were_drawn_live(nested):
    """While it ran, the frame showed the step bar under the epoch bar, with the loss and its picture."""
    live = [m.content["data"]["text/html"] for m in nested.of("update_display_data")]
    with_inner = [html for html in live if ("running", "train") in rows(html)]
    assert with_inner, "no update showed the inner bar"
    assert any('class="trainbar-spark"' in html and "loss=" in html for html in with_inner)


def test_the_stop_button_leaves_the_bar_red_where_it_stopped(kernel):
    """Interrupting the kernel mid-loop (JupyterLab's stop button) draws the bar interrupted, at once."""
    interrupted = []

    def interrupt_once_drawn(message):
        if message.type == "update_display_data" and not interrupted:
            interrupted.append(True)
            kernel.manager.interrupt_kernel()

    run = kernel.run(
        "import time, trainbar as tb\nfor i in tb.bar(range(1000), desc='stopped'):\n    time.sleep(0.01)\n",
        on_message=interrupt_once_drawn,
    )
    assert interrupted and run.count("error") == 1
    assert run.of("error")[0].content["ename"] == "KeyboardInterrupt"
    (bundle,) = run.displays()
    assert rows(bundle["text/html"]) == [("interrupted", "stopped")]
    assert "interrupted" in bundle["text/plain"] and "/1000" in bundle["text/plain"]
    last_display = max(i for i, m in enumerate(run.messages) if m.type in DISPLAYS)
    assert last_display < run.messages.index(run.of("error")[0])  # drawn before the traceback


def test_no_widgets_are_ever_used(million, nested):
    """No comm messages and no widget MIME type, whether or not ipywidgets is installed."""
    for run in (million, nested):
        assert run.count("comm_open", "comm_msg") == 0
        assert all("application/vnd.jupyter.widget-view+json" not in m.content.get("data", {}) for m in run.of(*DISPLAYS))


def test_the_tqdm_drop_in_draws_in_the_notebook_too(kernel):
    """`from trainbar import tqdm` with file=sys.stdout: one display, tqdm.write() below it."""
    run = kernel.run(
        "import sys\nfrom trainbar import tqdm\n"
        "for i in tqdm(range(50), desc='compat', file=sys.stdout):\n"
        "    if i == 10: tqdm.write('ten')\n"
    )
    assert run.count("display_data") == 1 and run.streams() == "ten\n"
    assert rows(run.displays()[0]["text/html"]) == [("done", "compat")]


def test_an_open_file_in_a_notebook_gets_log_lines(kernel, tmp_path):
    """file= pointing at a real file writes log lines there and draws nothing in the cell."""
    path = tmp_path / "train.log"
    run = kernel.run(
        f"import trainbar as tb\nwith open({str(path)!r}, 'w') as f:\n"
        "    for _ in tb.bar(range(5), desc='logged', file=f): pass\n"
    )
    assert run.count("display_data", "update_display_data") == 0
    assert path.read_text().splitlines()[-1].startswith("logged: 100% 5/5")


@pytest.fixture(scope="module")
def saved_notebook(kernel, tmp_path_factory):
    """A notebook executed by nbclient, written to disk and read back, as a user would save it."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("print('before')\n" + NESTED_TRAINING.replace("range(100)", "range(20)")),
        nbformat.v4.new_code_cell(
            "import trainbar as tb\nfor i in tb.bar(range(100), desc='<b>crash</b> & burn'):\n"
            "    if i == 42:\n        raise ValueError('boom')"
        ),
    ]
    client = nbclient.NotebookClient(nb, km=kernel.manager, timeout=180, allow_errors=True)
    client.execute()
    path = tmp_path_factory.mktemp("saved") / "trained.ipynb"
    nbformat.write(nb, str(path))
    return nbformat.read(str(path), as_version=4)


def test_the_saved_notebook_holds_the_final_state_in_html_and_plain_text(saved_notebook):
    """One display output per bar group, holding the end state, with the prints around it."""
    outputs = saved_notebook.cells[0].outputs
    kinds = [o.output_type for o in outputs]
    assert kinds.count("display_data") == 1
    display = next(o for o in outputs if o.output_type == "display_data")
    assert rows(display.data["text/html"]) == [("done", "epoch")]
    assert "3/3" in display.data["text/plain"] and "100%" in display.data["text/plain"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert text.index("before") < text.index("epoch 0 printed") < text.index("epoch 2 written")
    assert kinds.index("display_data") > 0  # below 'before', printed before the bar started


def test_the_saved_notebook_shows_an_interrupted_bar_in_red_where_it_stopped(saved_notebook):
    """The exception's bar is saved red at 42/100, its description escaped, the error after it."""
    outputs = saved_notebook.cells[1].outputs
    assert [o.output_type for o in outputs] == ["display_data", "error"]
    html, text = outputs[0].data["text/html"], outputs[0].data["text/plain"]
    assert rows(html) == [("interrupted", "&lt;b&gt;crash&lt;/b&gt; &amp; burn")]
    assert "#d62728" in html and "42/100" in html
    assert "42/100" in text and "interrupted" in text


@pytest.fixture
def fresh_kernel(tmp_path):
    """A kernel of its own: nbclient's runs above leave the module's kernel client out of step."""
    with Kernel(hermetic_env(str(tmp_path))) as kernel:
        yield kernel


def test_five_hundred_bars_in_one_cell_keep_a_handful_of_outputs(fresh_kernel):
    """500 sequential top-level bars: a few outputs (JupyterLab hides all but 50), and their final
    state is within a few times the size of tqdm's text for the same bars."""
    kernel = fresh_kernel
    run = kernel.run("import trainbar as tb\nfor j in range(500):\n    for i in tb.bar(range(3), desc=f'bar {j}'): pass\n")
    tqdm_run = kernel.run(
        "import sys\nfrom tqdm import tqdm\nfor j in range(500):\n"
        "    for i in tqdm(range(3), desc=f'bar {j}', file=sys.stdout): pass\n"
    )
    saved = sum(len(bundle["text/html"]) + len(bundle["text/plain"]) for bundle in run.displays())
    print(f"\n500 bars: {run.count('display_data')} outputs, {saved} bytes saved; tqdm's text {len(tqdm_run.streams())}")
    assert run.count("display_data") <= 5
    assert rows(run.displays()[-1]["text/html"])[-1] == ("done", "bar 499")
    assert saved < 3 * len(tqdm_run.streams())
