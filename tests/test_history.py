"""Metric history for pictures of a run: sampled at render cadence, bounded, numbers only."""

import gc
import io

import trainbar
from trainbar import _history


def make_bar():
    return trainbar.bar(total=10**9, file=io.StringIO())


def test_a_point_is_added_only_when_the_bar_has_moved():
    """Rendering twice at the same step adds one point, not two."""
    b = make_bar()
    _history.record(b, (("loss", "2.5"),), 1)
    _history.record(b, (("loss", "2.4"),), 1)
    _history.record(b, (("loss", "2.0"),), 2)
    assert _history.history(b) == {"loss": [2.5, 2.0]}


def test_only_finite_numbers_are_kept():
    """Text, booleans, '?', NaN and inf never enter a series."""
    b = make_bar()
    for n, value in enumerate(["1.5", "?", "nan", "inf", "True", "fast", "1.25e-4"], start=1):
        _history.record(b, (("m", value),), n)
    assert _history.history(b) == {"m": [1.5, 1.25e-4]}


def test_each_series_is_bounded_and_keeps_the_whole_run_and_its_newest_point():
    """A long run fits in MAX_POINTS values spread over the whole run, ending at the last one."""
    b = make_bar()
    for n in range(1, 10_001):
        _history.record(b, (("step", str(n)),), n)
    values = _history.history(b)["step"]
    assert len(values) <= _history.MAX_POINTS
    assert values == sorted(values)
    assert values[0] < 1000 and values[-1] > 9000
    gaps = [b - a for a, b in zip(values, values[1:])]
    assert max(gaps) <= 2 * min(gaps)  # evenly spread, not just the recent end


def test_metrics_that_appear_later_get_their_own_series():
    """A validation metric logged once an epoch has its own, shorter history."""
    b = make_bar()
    _history.record(b, (("loss", "3"),), 1)
    _history.record(b, (("loss", "2"), ("val", "2.5")), 2)
    assert _history.history(b) == {"loss": [3.0, 2.0], "val": [2.5]}


def test_a_bar_never_recorded_has_no_history():
    """history() of a fresh bar is empty."""
    assert _history.history(make_bar()) == {}


def test_history_does_not_keep_a_bar_alive():
    """The history is dropped with its bar."""
    gc.collect()
    before = len(_history._histories)
    b = make_bar()
    _history.record(b, (("loss", "1"),), 1)
    assert len(_history._histories) == before + 1
    b.close()
    del b
    gc.collect()
    assert len(_history._histories) == before
