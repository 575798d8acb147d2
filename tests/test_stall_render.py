"""How a bar waiting for its first item, or stalled, reads on a terminal and in a log."""

import pytest

from trainbar.render import fmt as _format
from trainbar.core.snapshot import INTERRUPTED, Snapshot
from trainbar.render.ansi import terminal_line
from trainbar.render.plain import log_line


def snap(**fields):
    base = dict(desc="train", n=0, total=1000, elapsed=65.0, where="data", waiting=True)
    base.update(fields)
    return Snapshot(**base)


def test_waiting_bar_says_so_with_elapsed_time_instead_of_zero_percent():
    """Before the first item: `waiting for first batch` and the elapsed time, no 0% bar."""
    assert terminal_line(snap(), 100) == "train: waiting for first batch [01:05]"


def test_waiting_log_line_golden():
    """The log line says the same, in plain words."""
    assert log_line(snap(path=("epoch",))) == "epoch > train: waiting for first batch, elapsed 01:05"


def test_waiting_and_stalled_bar_adds_the_word_stalled_in_yellow():
    """A first batch overdue (fixed threshold) is marked stalled, coloured when colour is on."""
    assert terminal_line(snap(stalled=12.0), 100) == "train: waiting for first batch [01:05] stalled"
    assert terminal_line(snap(stalled=12.0), 100, colour=True).endswith("\x1b[33m stalled\x1b[0m")


def test_stalled_bar_shows_for_how_long_and_where():
    """A stalled running bar ends with `stalled 47s waiting for data`, after its numbers."""
    line = terminal_line(snap(n=450, waiting=False, stalled=47.0), 100)
    assert line.startswith("train:  45%|") and line.endswith("450/1000 [01:05<?, ?it/s] stalled 47s waiting for data")


def test_stalled_log_line_golden():
    """The log line carries the stall in place of a status."""
    text = log_line(snap(n=450, waiting=False, stalled=73.0, where="collective"))
    assert text == "train: 45% 450/1000 elapsed 01:05 remaining ? ?it/s stalled 1m13s in a collective"


def test_stall_text_survives_a_narrow_terminal():
    """On a narrow terminal the stall is kept, as a status is, and the line fits."""
    line = terminal_line(snap(n=450, waiting=False, stalled=47.0, where="body"), 50)
    assert "stalled 47s in the step" in line and _format.width(line) <= 50


def test_interrupted_bar_is_not_shown_waiting():
    """A bar that ended shows where it ended, not `waiting`."""
    line = log_line(snap(waiting=False, status=INTERRUPTED))
    assert "waiting" not in line and line.endswith("interrupted")


@pytest.mark.parametrize("width", [1, 5, 10, 20, 33, 60, 100])
def test_waiting_line_always_fits(width):
    """Whatever the width, the waiting line fits, and keeps the elapsed time while it can."""
    for s in (snap(), snap(stalled=3.0), snap(desc="日本語の説明" * 5, depth=2)):
        line = terminal_line(s, width)
        assert _format.width(line) <= width
        if width >= 20:
            assert "[01:05]" in line


@pytest.mark.parametrize(
    "seconds, text", [(0.3, "0.3s"), (5.0, "5s"), (47.9, "47s"), (73, "1m13s"), (3600 + 300, "1h05m")]
)
def test_stall_durations_read_at_a_glance(seconds, text):
    """Stall durations: tenths under ten seconds, then s, m and h."""
    assert _format.seconds(seconds) == text


def test_notebook_row_says_waiting_and_stalled():
    """In a notebook the row says `waiting for first batch`, and a stall in amber, in both MIME types."""
    from trainbar.render.html import STALLED_COLOUR, bundle

    waiting = bundle([(snap(), {})])
    assert "waiting for first batch [01:05]" in waiting["text/html"]
    assert waiting["text/plain"] == "train: waiting for first batch [01:05]"
    stalled = bundle([(snap(n=450, waiting=False, stalled=47.0), {})])["text/html"]
    assert f'color:{STALLED_COLOUR};font-weight:bold">stalled 47s waiting for data</span>' in stalled
