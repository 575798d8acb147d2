"""The notebook channel, driven by a fake clock, drawing into a recorded cell instead of a kernel.

The real kernel, server and browser are exercised in test_notebook_kernel.py and
test_notebook_lab.py; here every timing rule is checked exactly.
"""

import re
import warnings

import pytest

import trainbar
from trainbar.core import history as _history
from trainbar.runtime.notebook import BURST, FOLD_AFTER, INTERVAL, MAX_ROWS, MIN_GAP, NotebookChannel
from trainbar.render.html import DONE_COLOUR, INTERRUPTED_COLOUR


class Cell:
    """What a notebook cell holds: outputs in order, with display updates applied in place."""

    def __init__(self):
        self.outputs = []  # {"id": display id, "bundle": {...}} or {"stream": text}
        self.messages = []  # ("show" | "update", display id) as sent
        self.hooks = []

    # the sink's side
    def show(self, bundle):
        display_id = f"d{len(self.messages)}"
        self.outputs.append({"id": display_id, "bundle": bundle})
        self.messages.append(("show", display_id))
        return display_id

    def update(self, display_id, bundle):
        for output in self.outputs:
            if output.get("id") == display_id:
                output["bundle"] = bundle
        self.messages.append(("update", display_id))

    # the user's side: what print() and trainbar.write() reach
    def write(self, text):
        self.outputs.append({"stream": text})

    def flush(self):
        pass

    def end(self):
        """The cell finishes: IPython runs its post_execute hooks."""
        for hook in self.hooks:
            hook()

    @property
    def displays(self):
        return [o for o in self.outputs if "id" in o]

    def html(self, index=-1):
        return self.displays[index]["bundle"]["text/html"]

    def text(self, index=-1):
        return self.displays[index]["bundle"]["text/plain"]


@pytest.fixture
def cell(monkeypatch):
    monkeypatch.setenv("TRAINBAR_MODE", "notebook")
    recorded = Cell()

    class Sink:
        def show(self, bundle):
            return recorded.show(bundle)

        def update(self, display_id, bundle):
            recorded.update(display_id, bundle)

        def after_each_cell(self, callback):
            if callback not in recorded.hooks:
                recorded.hooks.append(callback)

    monkeypatch.setattr(NotebookChannel, "sink_type", Sink)
    return recorded


def rows(html):
    return re.findall(r'class="trainbar-desc trainbar-(\w+)"[^>]*>([^<]*)<', html)


def test_a_bar_is_one_output_shown_when_it_starts(manual, cell):
    """Opening a top-level bar shows its output at once, before any tick."""
    b = trainbar.bar(total=10, desc="train", file=cell)
    assert cell.messages == [("show", "d0")]
    assert "0/10" in cell.text()
    b.close()


def test_updates_replace_the_output_in_place(manual, cell):
    """Progress is drawn by updating the same output, never by adding new ones."""
    clock, display = manual
    b = trainbar.bar(total=10, desc="train", file=cell)
    for _ in range(5):
        clock.advance(INTERVAL)
        b.update(1)
        display.tick()
    assert len(cell.displays) == 1 and cell.messages.count(("update", "d0")) == 5
    assert "5/10" in cell.text()
    b.close()


def test_final_state_is_drawn_at_close_without_waiting_for_a_tick(manual, cell):
    """Closing draws 100% in green at once, so a saved notebook holds the end state."""
    clock, display = manual
    for _ in trainbar.bar(range(200), desc="train", file=cell):
        clock.advance(0.001)
    assert rows(cell.html()) == [("done", "train")]
    assert "200/200" in cell.text() and "100%" in cell.text()
    assert f"width:100.0%;height:100%;background-color:{DONE_COLOUR}" in cell.html()


def test_redraws_are_throttled_to_about_four_a_second(manual, cell):
    """However often the display ticks and the loop steps, a frame is sent at most every INTERVAL."""
    clock, display = manual
    b = trainbar.bar(total=100_000, file=cell)
    for _ in range(1000):  # 10 seconds, ticked every 10 ms, 100 steps a tick
        clock.advance(0.01)
        b.update(100)
        display.tick()
    updates = cell.messages.count(("update", "d0"))
    assert 10 / INTERVAL * 0.8 <= updates <= 10 / MIN_GAP + 1
    b.close()


def test_an_unchanged_frame_is_not_sent_again(manual, cell):
    """Ticks that would draw the same frame send nothing."""
    clock, display = manual
    b = trainbar.bar(total=10, file=cell)
    clock.advance(INTERVAL)
    b.update(1)
    display.tick()
    sent = len(cell.messages)
    for _ in range(3):
        clock.advance(INTERVAL / 4)  # same second, same count: the same picture
        display.tick()
    assert len(cell.messages) == sent
    b.close()


def test_nested_bars_are_indented_rows_of_the_same_output(manual, cell):
    """Inner bars are drawn inside their top-level bar's output."""
    clock, display = manual
    outer = trainbar.bar(total=2, desc="epoch", file=cell)
    inner = trainbar.bar(total=5, desc="step", file=cell)
    clock.advance(INTERVAL)
    inner.update(2)
    display.tick()
    assert len(cell.displays) == 1
    assert rows(cell.html()) == [("running", "epoch"), ("running", "step")]
    assert cell.text().splitlines()[1].startswith("  step:")
    inner.close()
    outer.close()


def test_finished_inner_bars_vanish_with_leave_false_and_stay_with_leave_true(manual, cell):
    """leave=False rows disappear at close; leave=True rows stay, finished."""
    clock, display = manual
    outer = trainbar.bar(total=2, desc="epoch", file=cell)
    for name, leave in (("train", False), ("val", True)):
        for _ in trainbar.bar(range(3), desc=name, leave=leave, file=cell):
            clock.advance(0.1)
    clock.advance(INTERVAL)
    display.tick()
    assert rows(cell.html()) == [("running", "epoch"), ("done", "val")]
    outer.close()
    assert rows(cell.html()) == [("done", "epoch"), ("done", "val")]


def test_a_top_level_bar_with_leave_false_leaves_an_empty_output(manual, cell):
    """A transient top-level bar is wiped at close."""
    clock, display = manual
    for _ in trainbar.bar(range(3), leave=False, file=cell):
        clock.advance(0.1)
    assert cell.displays[0]["bundle"] == {"text/plain": "", "text/html": ""}


def test_an_exception_marks_the_frame_interrupted_in_red_where_it_stopped(manual, cell):
    """The loop's exception propagates; the output shows the bar stopped at 42/100, in red."""
    clock, display = manual
    with pytest.raises(ValueError):
        for i in trainbar.bar(range(100), desc="train", file=cell):
            clock.advance(0.01)
            if i == 42:
                raise ValueError("boom")
    assert rows(cell.html()) == [("interrupted", "train")]
    assert "42/100" in cell.text() and "interrupted" in cell.text()
    assert f"background-color:{INTERRUPTED_COLOUR}" in cell.html()


def test_writes_land_in_order_and_a_later_bar_opens_a_new_output(manual, cell):
    """Messages printed during a bar follow its output; a bar opened after them comes below them."""
    clock, display = manual
    for epoch in trainbar.bar(range(2), desc="first", file=cell):
        clock.advance(1.0)
        trainbar.write(f"epoch {epoch} done", file=cell)
    trainbar.write("between", file=cell)
    for _ in trainbar.bar(range(2), desc="second", file=cell):
        clock.advance(1.0)
    layout = [o.get("stream") or rows(o["bundle"]["text/html"]) for o in cell.outputs]
    assert layout == [[("done", "first")], "epoch 0 done\n", "epoch 1 done\n", "between\n", [("done", "second")]]


def test_a_flood_of_tiny_top_level_bars_is_bounded_and_gathered(manual, cell):
    """Thousands of bars opened and closed at once cost a bounded number of messages."""
    clock, display = manual
    for j in range(1000):
        for _ in trainbar.bar(range(2), desc=f"tiny {j}", file=cell):
            pass
    assert len(cell.messages) <= 2 * BURST
    clock.advance(INTERVAL)
    display.tick()
    assert len(cell.messages) <= 2 * BURST + 1
    last = rows(cell.html())
    assert len(last) == MAX_ROWS and last[-1] == ("done", "tiny 999")
    assert "more bars not shown" in cell.html()


def test_rows_beyond_the_cap_are_folded_into_a_note(manual, cell):
    """Fifty finished inner bars leave the outer bar, a note, and the most recent ones."""
    clock, display = manual
    with trainbar.bar(total=50, desc="epoch", file=cell) as outer:
        for k in range(50):
            for _ in trainbar.bar(range(2), desc=f"run {k}", file=cell):
                clock.advance(0.01)
            outer.update(1)
    shown = rows(cell.html())
    assert len(shown) == MAX_ROWS
    assert shown[0] == ("done", "epoch") and shown[-1] == ("done", "run 49")
    assert f"… {51 - MAX_ROWS} more bars not shown" in cell.text()


def test_a_delayed_bar_appears_only_once_its_delay_has_passed(manual, cell):
    """delay= keeps short loops out of the cell entirely, and shows long ones when due."""
    clock, display = manual
    for _ in trainbar.bar(range(3), delay=2.0, file=cell):
        clock.advance(0.1)
    assert cell.messages == []
    b = trainbar.bar(total=10, delay=2.0, file=cell)
    clock.advance(1.0)
    display.tick()
    assert cell.messages == []
    clock.advance(1.5)
    display.tick()
    assert [kind for kind, _ in cell.messages] == ["show"]
    b.close()


def test_the_end_of_the_cell_draws_what_the_budget_held_back(manual, cell):
    """Out of budget, a closing bar waits; the cell's end draws it while output still goes there."""
    clock, display = manual
    held = trainbar.bar(total=3, desc="held", file=cell)
    elsewhere = Cell()  # another stream: its bars are frames of their own, paid from the same budget
    for _ in range(BURST):
        trainbar.bar(total=1, file=elsewhere).close()
    held.update(3)
    held.close()
    assert rows(cell.html(0)) == [("running", "held")]
    cell.end()
    assert rows(cell.html(0)) == [("done", "held")]


def test_metric_history_is_sampled_at_render_cadence_not_per_step(manual, cell):
    """Ten thousand logged losses between four redraws make a four-point sparkline."""
    clock, display = manual
    b = trainbar.bar(total=10_000, desc="train", file=cell)
    for tick in range(4):
        for _ in range(2500):
            b.update(1, loss=1.0 / (1 + b.n))
        clock.advance(INTERVAL)
        display.tick()
    assert len(_history.history(b)["loss"]) == 4
    assert cell.html().count('class="trainbar-spark"') == 1
    b.close()


def test_a_failing_notebook_output_is_turned_off_with_one_warning(manual, cell, monkeypatch):
    """An error while drawing costs one warning; the loop runs to the end."""
    clock, display = manual

    def broken(display_id, bundle):
        raise OSError("kernel went away")

    monkeypatch.setattr(cell, "update", broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b = trainbar.bar(range(100), file=cell)
        for _ in b:
            clock.advance(INTERVAL)
            display.tick()
    assert b.n == 100 and b.status == "done"
    assert len([w for w in caught if "kernel went away" in str(w.message)]) == 1


def test_forced_notebook_mode_without_a_kernel_warns_and_training_goes_on(manual, monkeypatch):
    """TRAINBAR_MODE=notebook in plain Python: one warning saying why, and the loop completes."""
    monkeypatch.setenv("TRAINBAR_MODE", "notebook")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b = trainbar.bar(range(10))
        for _ in b:
            pass
    assert b.n == 10
    # Why, whatever is installed: no kernel running, or no IPython at all.
    assert [str(w.message) for w in caught if "notebook output needs" in str(w.message)]


def test_an_exception_keeps_every_open_row_red_at_its_step_with_its_last_metrics(manual, cell):
    """The inner leave=False row stays where the loop failed (120/200), red, with its loss;
    no row keeps a rate or a remaining time that no longer means anything."""
    clock, display = manual
    with pytest.raises(ValueError):
        for epoch in trainbar.bar(range(3), desc="epoch", file=cell):
            steps = trainbar.bar(range(200), desc="train", leave=False, file=cell)
            for i in steps:
                clock.advance(0.01)
                steps.log(loss=1.0 / (i + 1))
                if epoch == 1 and i == 120:
                    raise ValueError("boom")
    html, text = cell.html(), cell.text()
    assert rows(html) == [("interrupted", "epoch"), ("interrupted", "train")]
    assert "1/3" in html and "120/200" in html and "loss=<wbr>0.008" in html
    assert "it/s" not in html and "<" not in text.splitlines()[1]
    assert html.count(f"background-color:{INTERRUPTED_COLOUR}") == 2


def test_an_interrupt_at_zero_shows_red_and_no_stale_rate(manual, cell):
    """Stopped before the first step: no fill to colour, so the track itself is outlined in red."""
    clock, display = manual
    with pytest.raises(KeyboardInterrupt):
        for _ in trainbar.bar(range(100), desc="train", file=cell):
            clock.advance(2.0)
            raise KeyboardInterrupt
    html = cell.html()
    assert rows(html) == [("interrupted", "train")]
    assert "0/100 [00:02]" in html and "it/s" not in html
    assert f"box-shadow:inset 0 0 0 1px {INTERRUPTED_COLOUR}" in html


def test_many_sequential_top_level_bars_fold_into_a_handful_of_outputs(manual, cell):
    """500 bars one after the other: the cell keeps FOLD_AFTER outputs; the last shows the finished
    bars folded under a note, and each live bar as its last row while it runs."""
    clock, display = manual
    for j in range(500):
        b = trainbar.bar(range(4), desc=f"bar {j}", file=cell)
        for _ in b:
            clock.advance(0.1)
            display.tick()
        if j == 250:
            b2 = trainbar.bar(total=5, desc="live", file=cell)
            clock.advance(INTERVAL)
            display.tick()
            assert rows(cell.html())[-1] == ("running", "live")
            b2.close()
    assert len(cell.displays) == FOLD_AFTER
    last = rows(cell.html())
    assert len(last) == MAX_ROWS and last[-1] == ("done", "bar 499")
    assert "more bars not shown" in cell.html()
    assert sum(len(d["bundle"]["text/html"]) for d in cell.displays) < 40_000


def test_a_new_cell_starts_with_outputs_of_its_own(manual, cell):
    clock, display = manual
    for j in range(FOLD_AFTER + 2):
        for _ in trainbar.bar(range(2), desc=f"first {j}", file=cell):
            clock.advance(0.1)
    cell.end()
    for _ in trainbar.bar(range(2), desc="second cell", file=cell):
        clock.advance(0.1)
    assert len(cell.displays) == FOLD_AFTER + 1
    assert rows(cell.html()) == [("done", "second cell")]


# --- the output's format: HTML, or the same HTML as Markdown for VS Code's Restricted Mode ----


def shown_formats(cell):
    return [sorted(display["bundle"]) for display in cell.displays]


def test_the_frame_is_html_by_default(manual, cell):
    trainbar.bar(total=3, desc="train", file=cell).close()
    assert shown_formats(cell) == [["text/html", "text/plain"]]


@pytest.mark.parametrize("variables", [{"TRAINBAR_NOTEBOOK_FORMAT": "markdown"}, {"VSCODE_PID": "4242"},
                                       {"VSCODE_CWD": "/home/u"}, {"TRAINBAR_NOTEBOOK_FORMAT": " Markdown "}])  # fmt: skip
def test_markdown_when_asked_for_or_when_the_kernel_runs_under_vs_code(manual, cell, monkeypatch, variables):
    """A kernel started by VS Code writes Markdown: a notebook saved there is most often opened
    there again, where an untrusted folder draws no text/html at all."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    b = trainbar.bar(total=3, desc="train", file=cell)
    b.update(2)
    b.close()
    assert shown_formats(cell) == [["text/markdown", "text/plain"]]
    assert rows(cell.displays[0]["bundle"]["text/markdown"]) == [("done", "train")]


def test_an_empty_vs_code_variable_is_not_vs_code(manual, cell, monkeypatch):
    monkeypatch.setenv("VSCODE_PID", " ")
    trainbar.bar(total=3, desc="train", file=cell).close()
    assert shown_formats(cell) == [["text/html", "text/plain"]]


def test_configure_reads_the_format_as_the_variable_is_read(manual, cell):
    trainbar.configure(notebook_format=" Markdown ")
    trainbar.bar(total=3, desc="train", file=cell).close()
    assert shown_formats(cell) == [["text/markdown", "text/plain"]]


def test_html_can_be_asked_for_under_vs_code(manual, cell, monkeypatch):
    monkeypatch.setenv("VSCODE_PID", "4242")
    monkeypatch.setenv("TRAINBAR_NOTEBOOK_FORMAT", "html")
    trainbar.bar(total=3, desc="train", file=cell).close()
    assert shown_formats(cell) == [["text/html", "text/plain"]]


def test_configure_wins_over_the_variable_and_none_gives_it_back(manual, cell, monkeypatch):
    monkeypatch.setenv("TRAINBAR_NOTEBOOK_FORMAT", "markdown")
    trainbar.configure(notebook_format="html")
    trainbar.bar(total=3, desc="a", file=cell).close()
    trainbar.configure(notebook_format=None)
    trainbar.bar(total=3, desc="b", file=cell).close()
    assert shown_formats(cell) == [["text/html", "text/plain"], ["text/markdown", "text/plain"]]


def test_a_change_of_format_takes_effect_at_the_next_redraw(manual, cell):
    clock, display = manual
    b = trainbar.bar(total=10, desc="train", file=cell)
    trainbar.configure(notebook_format="markdown")
    b.update(1)
    clock.advance(INTERVAL)
    display.tick()
    assert shown_formats(cell) == [["text/markdown", "text/plain"]] and "1/10" in cell.text()
    b.close()


def test_an_unknown_format_warns_once_and_is_auto(manual, cell, monkeypatch):
    monkeypatch.setenv("TRAINBAR_NOTEBOOK_FORMAT", "latex")
    with pytest.warns(RuntimeWarning, match="TRAINBAR_NOTEBOOK_FORMAT='latex'.*html, markdown"):
        trainbar.bar(total=3, desc="train", file=cell).close()
    assert shown_formats(cell) == [["text/html", "text/plain"]]


@pytest.mark.parametrize("value, error", [(1, TypeError), (b"html", TypeError), ("latex", ValueError), ("", ValueError)])
def test_configure_rejects_an_unknown_format(value, error):
    with pytest.raises(error, match="notebook_format"):
        trainbar.configure(notebook_format=value)
