"""Where the time goes: waiting for data against the loop body, shown, exposed and hinted at."""

import io

import pytest

import trainbar
from trainbar.core import timing as _timing


@pytest.fixture
def fresh_hint(monkeypatch):
    """Each test may see the once-per-process data-bound hint afresh."""
    monkeypatch.setattr(_timing, "_hinted", False)


def loader(clock, items: int, wait: float):
    for i in range(items):
        clock.advance(wait)  # the time a DataLoader keeps the loop waiting for this batch
        yield i


def run(clock, display, stream, *, items=40, wait=0.3, body=0.1, desc="train"):
    b = trainbar.bar(loader(clock, items, wait), desc=desc, file=stream)
    for _ in b:
        clock.advance(body)
        display.tick()
    return b


def test_data_and_compute_time_are_bar_attributes(manual, fresh_hint):
    """data_time and compute_time add up what the loop spent waiting and working."""
    clock, display = manual
    b = run(clock, display, io.StringIO(), items=11, wait=0.3, body=0.1)
    # The first step is left out (see the next test): ten steps of 0.3 s waiting, 0.1 s working.
    assert b.data_time == pytest.approx(10 * 0.3)
    assert b.compute_time == pytest.approx(10 * 0.1)
    assert b.data_wait == pytest.approx(0.75)


def test_the_first_fetch_is_left_out(manual):
    """Workers starting up (a 10 s first fetch) do not count as time spent waiting for data."""
    clock, display = manual

    def slow_start():
        clock.advance(10.0)
        yield 0
        yield from loader(clock, 10, 0.1)

    b = trainbar.bar(slow_start(), file=io.StringIO())
    for _ in b:
        clock.advance(0.3)
    assert b.data_time == pytest.approx(10 * 0.1)
    assert b.data_wait == pytest.approx(0.25)


def test_attributes_are_none_for_a_bar_counted_by_hand():
    """A bar driven by update() has no per-step timing."""
    b = trainbar.bar(total=3, file=io.StringIO())
    b.update(3)
    assert b.data_time is None and b.compute_time is None and b.data_wait is None


def test_the_data_share_is_shown_on_the_line(manual, fresh_hint):
    """A loop waiting 75% of each step for data says ``data 75%`` in its line."""
    clock, display = manual
    stream = io.StringIO()
    with pytest.warns(RuntimeWarning):
        run(clock, display, stream)
    assert "data 75%" in stream.getvalue().splitlines()[-1]


def test_the_data_share_is_shown_on_a_terminal(manual, fresh_hint):
    """On a terminal the share sits with the rate: ``[..., 2.50it/s, data 75%]``."""
    from conftest import FakeTerminal

    clock, display = manual
    term = FakeTerminal()
    with pytest.warns(RuntimeWarning):
        run(clock, display, term, items=1000, wait=0.3, body=0.1).close()
    assert "2.50it/s, data 75%]" in term.getvalue()


def test_a_small_data_share_is_not_shown(manual):
    """Below 10% the share is not worth the room on the line."""
    clock, display = manual
    stream = io.StringIO()
    run(clock, display, stream, wait=0.005, body=0.1)
    assert "data" not in stream.getvalue()


def test_a_data_bound_loop_gets_one_hint(manual, fresh_hint):
    """Over 50% waiting for data (after 5 s of steps) gives one hint per process, not per bar."""
    clock, display = manual
    with pytest.warns(RuntimeWarning, match="waiting for its next batch") as caught:
        run(clock, display, io.StringIO(), desc="first")
        run(clock, display, io.StringIO(), desc="second")
    assert len(caught) == 1 and "'first'" in str(caught[0].message)


def test_no_hint_for_a_compute_bound_loop(manual, fresh_hint, recwarn):
    """A loop that waits for data 25% of the time is not data-bound: no hint."""
    clock, display = manual
    run(clock, display, io.StringIO(), wait=0.1, body=0.3)
    assert not [w for w in recwarn if "next batch" in str(w.message)]


def test_no_hint_before_enough_time_has_been_measured(manual, fresh_hint, recwarn):
    """A few data-bound steps (under 5 s) are not evidence enough for a hint."""
    clock, display = manual
    run(clock, display, io.StringIO(), items=5, wait=0.3, body=0.1)
    assert not [w for w in recwarn if "next batch" in str(w.message)]
