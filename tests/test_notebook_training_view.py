"""The training view under a notebook frame's bars: a row per epoch and a chart of the loss."""

import re
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

import trainbar
from trainbar.render import training
from trainbar.runtime.epochs import Epoch, EpochLog
from trainbar.runtime.notebook import INTERVAL

from test_notebook_channel import cell  # noqa: E402, F401 - the recorded cell the channel draws into

SVG = "{http://www.w3.org/2000/svg}"


def table(html):
    """The view's table as lists of cell texts, header first."""
    found = re.search(r'<table class="trainbar-table".*?</table>', html)
    assert found, html
    return [re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row) for row in re.findall(r"<tr>(.*?)</tr>", found.group(0))]


def chart_svg(html):
    src = re.search(r'<img class="trainbar-chart" src="([^"]+)"', html).group(1).replace("&#x27;", "'")
    return ET.fromstring(urllib.parse.unquote(src[len("data:image/svg+xml,") :]))


def train(cell, clock, display, epochs=3, steps=40, fail_at=None):
    with trainbar.bar(total=epochs, desc="epoch", file=cell) as outer:
        for epoch in range(epochs):
            inner = trainbar.bar(range(steps), desc="train", leave=False, file=cell)
            for step in inner:
                clock.advance(0.05)
                inner.log(loss=1.0 / (1 + epoch * steps + step), acc=0.5 + epoch / 10)
                display.tick()
                if fail_at == (epoch, step):
                    raise ValueError("boom")
            outer.update(1, val_loss=2.0 / (1 + epoch))
            clock.advance(INTERVAL)
            display.tick()


def test_a_loop_of_epochs_gets_a_table_with_a_row_per_epoch(manual, cell):
    """Training figures (the inner bar's last) beside validation ones (the outer bar's)."""
    clock, display = manual
    train(cell, clock, display)
    rows = table(cell.html())
    assert rows[0] == ["epoch", "loss", "acc", "val_loss"]
    assert [row[0] for row in rows[1:]] == ["1", "2", "3"]
    assert rows[1][3] == "2.000" and rows[3][3] == "0.6667" and rows[3][2] == "0.7000"
    text = cell.text().splitlines()
    assert text[0].startswith("epoch: 100%") and text[1].split() == ["epoch", "loss", "acc", "val_loss"]
    assert len(cell.displays) == 1  # one output, the bars and the view together


def test_the_chart_draws_the_loss_along_the_steps_and_the_validation_points(manual, cell):
    clock, display = manual
    train(cell, clock, display)
    svg = chart_svg(cell.html())
    numbers = [float(n) for n in svg.find(f"{SVG}polyline").get("points").split(",")]
    xs = numbers[0::2]
    assert len(xs) > 10 and xs == sorted(xs)
    assert len(svg.findall(f"{SVG}circle")) == 3  # one validation point per epoch
    assert 'alt="loss along the steps, val_loss at each epoch&#x27;s end"' in cell.html()


def test_the_legend_sits_above_the_plot_never_over_the_curve(manual, cell):
    """A loss that starts high runs through the plot's top corner, where a legend inside would cover it."""
    clock, display = manual
    train(cell, clock, display)
    svg = chart_svg(cell.html())
    plot_top = float(svg.find(f"{SVG}rect").get("y"))
    legend = [t for t in svg.findall(f"{SVG}text") if t.find(f"{SVG}tspan") is not None]
    assert len(legend) == 1 and float(legend[0].get("y")) <= plot_top - 2
    ys = [float(n) for n in svg.find(f"{SVG}polyline").get("points").split(",")[1::2]]
    assert min(ys) >= plot_top


def test_the_view_is_there_while_training_runs(manual, cell):
    clock, display = manual
    with pytest.raises(ValueError):
        train(cell, clock, display, fail_at=(1, 20))
    rows = table(cell.html())
    assert [row[0] for row in rows[1:]] == ["1"]  # the finished epoch; the failed one has no row


def test_epochs_faster_than_the_redraws_each_get_a_row(manual, cell):
    """Five epochs between two redraws (a tiny Keras fit): five rows, not the last one only."""
    clock, display = manual
    with trainbar.bar(total=5, desc="epochs", unit="epoch", file=cell) as outer:
        for epoch in range(5):
            with trainbar.bar(total=3, desc=f"epoch {epoch + 1}", file=cell) as inner:
                inner.update(3, loss=1.0 / (epoch + 1))
            outer.update(1, loss=1.0 / (epoch + 1), val_loss=2.0 / (epoch + 1))
    rows = table(cell.html())
    assert [row[0] for row in rows[1:]] == ["1", "2", "3", "4", "5"]
    assert rows[0] == ["epoch", "loss", "val_loss"] and rows[5][2] == "0.4000"


def test_a_loop_of_steps_with_nothing_nested_has_no_view(manual, cell):
    """A top-level bar that logs its loss at every step is a loop of steps, not of epochs."""
    clock, display = manual
    steps = trainbar.bar(range(50), desc="plain", file=cell)
    for i in steps:
        clock.advance(0.1)
        steps.log(loss=1.0 / (i + 1))
        display.tick()
    assert "trainbar-table" not in cell.html() and "trainbar-chart" not in cell.html()


def test_a_bar_of_steps_with_evaluations_nested_gets_a_row_per_evaluation(manual, cell):
    """The Hugging Face shape: one bar over the optimizer steps, an evaluation bar under it now
    and then. Each evaluation is a row, numbered by step, the training loss beside eval_loss."""
    clock, display = manual
    with trainbar.bar(total=100, desc="train", unit="step", file=cell) as steps:
        for step in range(100):
            clock.advance(0.05)
            steps.update(1, loss=1.0 / (step + 1))
            display.tick()
            if step % 50 == 49:
                with trainbar.bar(total=5, desc="eval", leave=False, file=cell) as evaluation:
                    evaluation.update(5, eval_loss=2.0 / (step + 1))
    rows = table(cell.html())
    assert rows[0] == ["step", "loss", "eval_loss"]
    assert [row[0] for row in rows[1:]] == ["50", "100"]
    assert chart_svg(cell.html()).find(f"{SVG}polyline") is not None  # the bar's own loss, drawn across


def test_names_and_values_are_escaped_and_the_table_is_bounded():
    log = EpochLog()
    log.epochs = [Epoch(i + 1, {"<b>loss": "<i>1", "val_<x>": "2"}, [1.0, 0.5]) for i in range(40)]
    log.loss = "<b>loss"
    html = training.view_html(log)
    assert "<b>" not in html and "<i>" not in html and "&lt;b&gt;loss" in html
    assert html.count("<tr>") == training.MAX_ROWS + 2  # the header, a note, the most recent rows
    assert "… 28 earlier" in html
    assert len(html) < 20_000


def test_validation_columns_come_after_the_training_ones():
    epochs = [Epoch(1, {"val_loss": "1", "loss": "2", "eval_acc": "3", "lr": "4"}, [])]
    assert training.columns(epochs) == ["loss", "lr", "val_loss", "eval_acc"]


def test_the_epoch_log_turns_outer_steps_into_rows():
    from trainbar.core.snapshot import Snapshot

    log = EpochLog()
    log.inner_ended(Snapshot(desc="train", metrics=(("loss", "0.5"),)), {"loss": [1.0, 0.7, 0.5]},
                    Snapshot(desc="epoch", n=0), {})
    log.outer_seen(Snapshot(desc="epoch", n=0), {})
    assert log.epochs == []
    log.outer_seen(Snapshot(desc="epoch", n=1, metrics=(("val_loss", "0.6"),)), {})
    (epoch,) = log.epochs
    assert epoch.number == 1 and epoch.metrics == {"loss": "0.5", "val_loss": "0.6"} and epoch.curve == [1.0, 0.7, 0.5]
    assert log.loss == "loss"


def test_a_resumed_run_numbers_its_epochs_from_where_it_resumed():
    """An epoch bar that starts at 5 (resumed from a checkpoint): its first row is epoch 6."""
    from trainbar.core.snapshot import Snapshot

    log = EpochLog()
    log.inner_ended(Snapshot(desc="train", metrics=(("loss", "0.5"),)), {}, Snapshot(desc="epoch", n=5), {})
    log.outer_seen(Snapshot(desc="epoch", n=6), {})
    assert [epoch.number for epoch in log.epochs] == [6]
