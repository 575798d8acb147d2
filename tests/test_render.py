"""Pure renderers, golden-tested on hand-built snapshots."""

import pytest

from trainbar.render import fmt as _format
from trainbar.core.snapshot import DONE, INTERRUPTED, Snapshot
from trainbar.render.ansi import bar_graphic, terminal_line
from trainbar.render.plain import log_line


def snap(**fields):
    base = dict(desc="train", n=450, total=1000, elapsed=62.0, rate=7.2, eta=76.0, metrics=(("loss", "0.231"),))
    base.update(fields)
    return Snapshot(**base)


def test_terminal_line_golden():
    line = terminal_line(snap(), 100)
    assert line == "train:  45%|" + bar_graphic(0.45, 40) + "| 450/1000 [01:02<01:16, 7.20it/s] loss=0.231"


def test_terminal_line_without_total_shows_count_and_rate():
    assert terminal_line(snap(total=None, eta=None), 80) == "train: 450it [01:02, 7.20it/s] loss=0.231"


def test_done_line_hides_remaining_time():
    assert "<" not in terminal_line(snap(n=1000, status=DONE), 100)


def test_interrupted_line_says_so_and_keeps_position():
    line = terminal_line(snap(status=INTERRUPTED), 100)
    assert line.endswith("interrupted") and "450/1000" in line


def test_nested_bar_is_indented():
    assert terminal_line(snap(depth=2), 100).startswith("    train:")


def test_narrow_terminal_drops_bar_before_numbers():
    line = terminal_line(snap(), 50)
    assert "|" not in line
    assert "450/1000" in line and "7.20it/s" in line
    assert _format.width(line) <= 50


def test_very_narrow_terminal_keeps_the_numbers():
    line = terminal_line(snap(desc="a rather long description of the run"), 40)
    assert "450/1000" in line and _format.width(line) <= 40


@pytest.mark.parametrize("width", [1, 5, 10, 20, 33, 60, 79, 200])
def test_line_always_fits(width):
    for s in (snap(), snap(total=None), snap(desc="日本語の説明" * 5), snap(status=INTERRUPTED)):
        assert _format.width(terminal_line(s, width)) <= width


def test_ascii_bar():
    line = terminal_line(snap(n=500, ascii=True), 100)
    assert "#" in line and "█" not in line
    assert terminal_line(snap(n=500), 100, unicode_ok=False).count("#") > 0


def test_bar_graphic_precision():
    assert bar_graphic(0.0, 4) == "    "
    assert bar_graphic(1.0, 4) == "████"
    assert bar_graphic(0.5, 4) == "██  "
    assert bar_graphic(0.51, 10, " 123456789#") == "#####1    "


def test_bar_format_fields_and_bar_fill():
    line = terminal_line(snap(bar_format="{desc} {n_fmt}/{total_fmt} {percentage:.0f}% [{bar}]"), 40)
    assert line.startswith("train 450/1000 45% [") and line.endswith("]")
    assert _format.width(line) == 40


def test_bar_format_eta_is_a_datetime_and_ncols_nrows_are_known_fields():
    import datetime
    import re

    line = terminal_line(snap(bar_format="ends {eta:%H:%M} in {ncols} cols, rows {nrows}"), 60)
    assert re.fullmatch(r"ends \d\d:\d\d in 60 cols, rows None", line), line
    expected = datetime.datetime.now() + datetime.timedelta(seconds=snap().eta)
    assert line[5:10] in {expected.strftime("%H:%M"), (expected - datetime.timedelta(minutes=1)).strftime("%H:%M")}


def test_unknown_bar_format_field_falls_back_to_standard_layout():
    assert "450/1000" in terminal_line(snap(bar_format="{nonsense}"), 100)


def test_log_line_golden():
    assert log_line(snap(path=("epoch",))) == (
        "epoch > train: 45% 450/1000 elapsed 01:02 remaining 01:16 7.20it/s loss=0.231"
    )


def test_log_line_final_states():
    assert log_line(snap(n=1000, status=DONE)).endswith("loss=0.231 done")
    assert log_line(snap(status=INTERRUPTED)).endswith("interrupted")


def test_log_line_has_no_control_characters():
    line = log_line(snap(desc="a\rb\x1b[2Kc\nd", unit="\x07u", metrics=(("l\x1bo", "1"),)))
    assert line.isprintable()


# --- metrics, pauses and where the time goes (issue 5) ---------------------------------------

FALLING = (("loss", (8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0)),)


def test_terminal_line_shows_the_data_share_with_the_rate():
    """A data-bound loop's share of time waiting sits with the rate."""
    line = terminal_line(snap(data_share=0.62), 120)
    assert "[01:02<01:16, 7.20it/s, data 62%] loss=0.231" in line


def test_log_line_shows_the_data_share_and_the_pause():
    """The log line says ``data 62%`` and ``paused (eval)``."""
    line = log_line(snap(data_share=0.62, phase="eval"))
    assert line.endswith("7.20it/s data 62% paused (eval) loss=0.231")


def test_terminal_line_shows_the_phase_instead_of_the_rate():
    """While paused, the phase's name takes the rate's place."""
    assert "[01:02<01:16, eval]" in terminal_line(snap(phase="eval"), 120)


def test_terminal_line_draws_the_loss_history_after_its_value():
    """The sparkline follows the loss value; other metrics keep their place."""
    line = terminal_line(snap(metrics=(("loss", "1.000"), ("lr", "0.1000")), history=FALLING), 120)
    assert line.endswith("loss=1.000 █▇▆▅▄▃▂▁ lr=0.1000")


def test_no_sparkline_in_ascii_mode():
    """An ASCII bar gets no block characters at all."""
    line = terminal_line(snap(history=FALLING, ascii=True), 120)
    assert not set(_format.SPARK_BLOCKS) & set(line)


def test_colour_names_and_hex_colours_paint_the_graphic_on_a_colour_terminal():
    named = terminal_line(snap(colour="red"), 100, colour=True)
    hexed = terminal_line(snap(colour="#00ff80"), 100, colour=True)
    short = terminal_line(snap(colour="#0f8"), 100, colour=True)
    assert "\x1b[31m" in named
    assert "\x1b[38;2;0;255;128m" in hexed and hexed.count("\x1b[0m") == 1
    assert "\x1b[38;2;0;255;136m" in short
    assert "\x1b[" not in terminal_line(snap(colour="#00ff80"), 100, colour=False)


def test_bar_format_eta_is_the_epoch_when_the_estimate_is_unusable():
    for eta in (None, -6.4e10, 1e300, float("nan"), float("inf")):
        assert terminal_line(snap(eta=eta, bar_format="{eta:%Y}"), 20) == "1970"
