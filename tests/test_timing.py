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
    run(clock, display, stream)
    assert "data 75%" in stream.getvalue().splitlines()[-1]


def test_the_data_share_is_shown_on_a_terminal(manual, fresh_hint):
    """On a terminal the share sits with the rate: ``[..., 2.50it/s, data 75%]``."""
    from conftest import FakeTerminal

    clock, display = manual
    term = FakeTerminal()
    run(clock, display, term, items=1000, wait=0.3, body=0.1).close()
    assert "2.50it/s, data 75%]" in term.getvalue()


def test_a_small_data_share_is_not_shown(manual):
    """Below 10% the share is not worth the room on the line."""
    clock, display = manual
    stream = io.StringIO()
    run(clock, display, stream, wait=0.005, body=0.1)
    assert "data" not in stream.getvalue()


def hints(text):
    return [line for line in text.splitlines() if "waiting for its next batch" in line]


def test_a_data_bound_loop_gets_one_message_above_the_bars(manual, fresh_hint, recwarn):
    """Over 50% waiting for data (after 5 s of steps): one message per process, not per bar,
    printed with the bars in words for the user, not a RuntimeWarning pointing into trainbar."""
    clock, display = manual
    first, second = io.StringIO(), io.StringIO()
    run(clock, display, first, desc="first")
    run(clock, display, second, desc="second")
    assert hints(second.getvalue()) == []
    (message,) = hints(first.getvalue())
    assert message.startswith("trainbar: 'first' spends 75% of each step waiting for its next batch")
    assert "num_workers" in message
    assert not [w for w in recwarn if "next batch" in str(w.message)]


def test_no_data_bound_message_after_a_stall_was_reported(manual, fresh_hint, monkeypatch):
    """A planted hang in the loader is the watchdog's to report, not a slow input pipeline."""
    monkeypatch.setenv("TRAINBAR_STALL", "2")
    clock, display = manual
    stream = io.StringIO()

    def hangs_once():
        for i in range(60):
            if i == 3:  # the hang, as the watchdog sees it: before, and 30 s into it
                display.watchdog.check()
                clock.advance(30.0)
                display.watchdog.check()
            clock.advance(0.1)
            yield i

    b = trainbar.bar(hangs_once(), desc="train", file=stream)
    for _ in b:
        clock.advance(0.05)
        display.tick()
    assert b.data_wait > 0.5  # the hang made the loop look data-bound...
    assert hints(stream.getvalue()) == []  # ...but no message blames the input pipeline


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


@pytest.mark.parametrize("wait, body, shown", [(7.5e-6, 2.1e-6, False), (75e-6, 21e-6, True)])
def test_the_data_share_is_measured_only_in_loops_slower_than_50_microseconds(manual, wait, body, shown):
    """range(100000) at ~10 µs a step showed `data 44%`: two clock reads a step are too coarse
    there. From about 50 µs a step the share is measured and shown."""
    clock, display = manual
    stream = io.StringIO()
    b = run(clock, display, stream, items=200, wait=wait, body=body)
    assert (b.data_wait is not None) == shown
    assert ("data 78%" in stream.getvalue().splitlines()[-1]) == shown, stream.getvalue()


def test_time_marked_as_waiting_counts_in_the_wait_share(manual):
    """`with trainbar.waiting(): dist.all_reduce(...)`: time waiting on the other ranks joins the
    data wait in the share a rank publishes, and the loop is "in a collective" meanwhile."""
    clock, display = manual
    seen = []
    b = trainbar.bar(loader(clock, 11, 0.1), desc="train", file=io.StringIO())
    for _ in b:
        clock.advance(0.1)  # compute
        with trainbar.waiting():
            seen.append(b.where)
            clock.advance(0.2)  # the others are slower: this rank waits in the all_reduce
    assert seen[0] == "collective" and b.where != "collective"
    assert b.data_wait == pytest.approx(0.25)
    assert b.wait_share == pytest.approx(0.75)


def test_waiting_outside_any_bar_is_harmless():
    with trainbar.waiting():
        pass
