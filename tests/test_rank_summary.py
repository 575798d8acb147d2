"""The job view: slowest, fastest and behind ranks, stopped heartbeats, one line at any scale."""

import pytest

from trainbar.distributed.record import EXITED, Level, Record, decode, encode
from trainbar.distributed import summary
from trainbar.distributed.summary import Heartbeats, build

WALL = 5000.0


def rank(*counters, total=100, rate=10.0, seq=1, state="running", time=WALL, status="running", outer_total=None):
    """A record whose bars are at ``counters`` (outermost first)."""
    levels = []
    for depth, n in enumerate(counters):
        inner = depth == len(counters) - 1
        levels.append(Level(n, total if inner else outer_total, rate if inner else None, status if inner else "running"))
    return Record(seq=seq, host="h", pid=1, node="h", state=state, levels=tuple(levels), time=time)


def view(records, now=100.0, timeout=10.0, heartbeats=None, reader=0):
    heartbeats = heartbeats or Heartbeats(started=now)
    return build(records, heartbeats, now, timeout, reader)


def test_slowest_and_fastest_are_named_relative_to_the_drawing_rank():
    """The line names the slowest and fastest rank, with how far each is from this bar."""
    text = view({0: rank(50), 1: rank(49), 2: rank(51), 3: rank(50)}).text(0)
    assert text == "4 ranks; slowest r1 -1, fastest r2 +1"


def test_ranks_at_the_same_place_are_in_step():
    """When every rank is at the same place, nobody is slowest or fastest."""
    assert view({0: rank(50), 1: rank(50), 2: rank(50)}).text(0) == "3 ranks; all in step"


def test_ranks_in_step_name_nobody_behind():
    """A step or two apart is normal for synchronous ranks: nobody is called behind."""
    assert "behind" not in view({0: rank(50), 1: rank(48), 2: rank(50)}).text(0)


def test_a_rank_that_drifts_is_named_behind():
    """A rank more than a second of work behind the pack is named."""
    summary = view({0: rank(50), 1: rank(50), 2: rank(30), 3: rank(51)}).level(0)
    assert summary.behind == (2,)


def test_behind_text_names_the_rank_before_the_comparison():
    """The summary says ``behind: r2`` first, so a narrow terminal cuts the rest instead."""
    text = view({0: rank(50), 1: rank(50), 2: rank(30)}).text(0)
    assert text == "3 ranks; behind: r2; slowest r2 -20, fastest r0 +0"


def test_records_published_apart_are_compared_at_one_moment_never_projected():
    """Rank 1 published a second after rank 0: it is brought back to rank 0's moment between its
    own two records, not rank 0 carried forward at its rate."""
    beats = Heartbeats(started=0.0)
    view({0: rank(40, seq=1, time=WALL - 1.0), 1: rank(40, seq=1, time=WALL)}, now=1.0, heartbeats=beats)
    # Rank 1 moved 40 -> 50 between WALL and WALL + 1; rank 0's latest is at WALL, at 50.
    later = view({0: rank(50, seq=2, time=WALL), 1: rank(50, seq=2, time=WALL + 1.0)}, now=2.0, heartbeats=beats)
    summary = later.level(0)
    assert summary.offset(1, 0) == pytest.approx(-10)  # rank 1 was at 40 when rank 0 was at 50


def test_a_record_that_cannot_be_brought_back_is_not_placed():
    """A single record, published well after the others: no offset is made up for it."""
    text = view({0: rank(100, rate=50.0, time=WALL - 2.0), 1: rank(0, rate=50.0), 2: rank(99, time=WALL - 2.0)}).text(0)
    assert "r1" not in text


def test_ranks_stuck_at_one_place_are_in_step_whatever_their_rates_say():
    """Every rank stuck at 2/50 (their last rates still 10/s, records a second apart): all in
    step. Carried forward at their rates, they read `slowest r0 +0, fastest r1 +2`."""
    beats = Heartbeats(started=0.0)
    first = {0: rank(2, seq=1, time=WALL - 1.5), 1: rank(2, seq=1, time=WALL - 0.5), 2: rank(2, seq=1, time=WALL - 1.0)}
    view(first, now=1.0, heartbeats=beats)
    again = {0: rank(2, seq=2, time=WALL - 0.5), 1: rank(2, seq=2, time=WALL + 0.5), 2: rank(2, seq=2, time=WALL)}
    assert view(again, now=2.0, heartbeats=beats).text(0) == "3 ranks; all in step"


def test_a_rank_silent_for_a_few_intervals_is_stale_not_placed():
    beats = Heartbeats(started=0.0)
    view({0: rank(10, seq=1), 1: rank(10, seq=1), 2: rank(10, seq=1)}, now=1.0, heartbeats=beats)
    later = view({0: rank(40, seq=4), 1: rank(10, seq=1), 2: rank(41, seq=4)}, now=4.0, heartbeats=beats)
    assert later.stale == (1,) and later.stopped == ()
    text = later.text(0)
    assert "stale: r1 3s" in text and "behind" not in text and "slowest r0 +0, fastest r2 +1" in text


def test_behind_has_hysteresis():
    """Called behind past the tolerance (a second of the pack's pace: 10 items), it stays so until
    back within half of it, so the word does not flicker on and off around the threshold."""
    beats = Heartbeats(started=0.0)
    lags = [25, 7, 4, 8]
    named = []
    for seq, lag in enumerate(lags, start=1):
        records = {0: rank(100, seq=seq), 1: rank(100, seq=seq), 2: rank(100 - lag, seq=seq)}
        named.append(view(records, now=float(seq), heartbeats=beats).level(0).behind)
    assert named == [(2,), (2,), (), ()]


def test_the_rank_the_others_wait_for_is_named_by_time():
    """Synchronous ranks stay in step: the slow one is the one that waits least."""
    records = {r: rank(50) for r in range(4)}
    for r, wait in zip(range(4), (0.40, 0.42, 0.38, 0.02)):
        records[r].wait = wait
    text = view(records).text(0)
    assert "r3 slow (others wait 40%)" in text and "all in step" in text
    for r, wait in zip(range(4), (0.10, 0.12, 0.08, 0.05)):
        records[r].wait = wait
    assert "slow (" not in view(records).text(0)  # everyone waits a little: nobody is singled out


def test_a_stuck_rank_is_named_with_where_and_how_long_and_the_job_is_stalled():
    records = {0: rank(12), 1: rank(12), 2: rank(12)}
    records[2].phase, records[2].stalled = "data", 59.4
    job = view(records)
    assert job.stuck == (2,) and job.stalled
    assert job.text(0).startswith("3 ranks; stuck: r2 in data 59s")
    assert not view({0: rank(12), 1: rank(12)}).stalled


def test_ranks_stuck_waiting_in_a_collective_are_not_the_ones_named():
    """Rank 2 hangs in its loader; the others block in the all-reduce waiting for it."""
    records = {0: rank(12), 1: rank(12), 2: rank(12)}
    for r, phase in ((0, "collective"), (1, "collective"), (2, "data")):
        records[r].phase, records[r].stalled = phase, 5.0
    assert "stuck: r2 in data 5s (2 waiting on it);" in view(records).text(0)


def test_an_unmarked_all_reduce_still_points_at_the_rank_in_its_loader():
    """Without trainbar.waiting() the waiting ranks are in the step: the one in data is named."""
    records = {r: rank(12) for r in range(3)}
    for r, phase in ((0, "step"), (1, "data"), (2, "step")):
        records[r].phase, records[r].stalled = phase, 4.0
    text = view(records).text(0)
    assert "stuck: r1 in data 4s (2 waiting on it);" in text and "r0" not in text


def test_ranks_waiting_in_a_collective_point_at_the_rank_outside_it_before_it_reports():
    """The drawing rank's watchdog speaks a publication before the stuck rank's: the line names
    the rank outside the collective from its idle time, not the rank that waits."""
    records = {0: rank(10), 1: rank(10)}
    records[0].phase, records[0].stalled = "collective", 2.0
    records[1].phase, records[1].idle = "data", 2.6
    assert "stuck: r1 in data 2s (1 waiting on it);" in view(records).text(0)


def test_a_record_read_late_counts_its_age_toward_standing_still():
    """Rank 1's record said it had stood still 0.3 s, but it was taken 1.8 s ago (the wall clock
    tells) and read only now: it has stood still long enough to be the one the others wait on."""
    records = {0: rank(10), 1: rank(10, time=WALL - 1.8)}
    records[0].phase, records[0].stalled = "collective", 2.0
    records[1].phase, records[1].idle = "data", 0.3
    assert "stuck:" in view(records).text(0) and "r1" not in view(records).text(0)  # without its age
    job = build(records, Heartbeats(started=100.0), 100.0, 10.0, 0, wall=WALL)
    assert "stuck: r1 in data 2s (1 waiting on it)" in job.text(0)


def test_a_finished_bars_last_line_says_no_one_is_stuck():
    """The last read may predate the recovery: a done line does not keep a stale `stuck:`."""
    records = {0: rank(12), 1: rank(12)}
    records[1].phase, records[1].stalled = "data", 7.0
    job = view(records)
    assert "stuck:" in job.text(0) and "stuck:" not in job.text(0, final=True)


@pytest.mark.parametrize(
    "phases, expected",
    [
        ({0: "collective", 1: "data"}, [1]),
        ({0: "collective", 1: "collective"}, []),
        ({0: "step", 1: "data", 2: "step"}, [1]),
        ({0: "step", 1: "data"}, []),  # one each: nothing tells them apart
        ({0: "data", 1: "data", 2: "collective"}, [0, 1]),
        ({0: None, 1: None, 2: "data"}, [2]),
    ],
)
def test_suspects(phases, expected):
    assert summary.suspects(phases) == expected


def test_epochs_are_folded_into_steps():
    """A rank at step 90 of epoch 2 is behind one at step 10 of epoch 3 (100 steps an epoch)."""
    records = {0: rank(3, 10, outer_total=5), 1: rank(2, 90, outer_total=5), 2: rank(3, 11, outer_total=5)}
    summary = view(records).level(1)
    assert (summary.slowest, summary.behind) == (1, (1,))


def test_a_finished_inner_bar_counts_as_the_next_epoch():
    """Step 100/100 done in epoch 2 is the same place as step 0 of epoch 3: not behind."""
    records = {0: rank(3, 0, outer_total=5), 1: rank(2, 100, outer_total=5, status="done"), 2: rank(3, 1, outer_total=5)}
    assert view(records).level(1).behind == ()


def test_unknown_totals_still_compare_by_outer_bar():
    """Without totals, a rank on an earlier epoch is behind whatever its step."""
    records = {0: rank(3, 5, total=None), 1: rank(2, 80, total=None), 2: rank(3, 6, total=None)}
    assert view(records).level(1).behind == (1,)


def test_heartbeat_stops_after_the_timeout():
    """A rank whose record has not changed for longer than the timeout is reported."""
    beats = Heartbeats(started=0.0)
    view({0: rank(1, seq=1), 1: rank(1, seq=1)}, now=1.0, heartbeats=beats)
    later = view({0: rank(9, seq=9), 1: rank(1, seq=1)}, now=13.0, heartbeats=beats)
    assert later.stopped == (1,)
    assert "no heartbeat: r1 12s" in later.text(0)


def test_a_live_rank_keeps_its_heartbeat():
    """A record that keeps changing is never reported, however slow its counters."""
    beats = Heartbeats(started=0.0)
    view({0: rank(1, seq=1), 1: rank(1, seq=1)}, now=1.0, heartbeats=beats)
    assert view({0: rank(1, seq=2), 1: rank(1, seq=2)}, now=13.0, heartbeats=beats).stopped == ()


def test_a_stopped_rank_is_not_counted_as_slowest():
    """A rank with no heartbeat is reported as such, not as the slowest."""
    beats = Heartbeats(started=0.0)
    view({0: rank(5, seq=1), 1: rank(1, seq=1), 2: rank(5, seq=1)}, now=1.0, heartbeats=beats)
    later = view({0: rank(9, seq=2), 1: rank(1, seq=1), 2: rank(8, seq=2)}, now=20.0, heartbeats=beats)
    assert later.level(0).slowest == 2


def test_a_rank_that_exited_mid_bar_is_reported():
    """A rank that published its exit with a bar unfinished is named as exited."""
    records = {0: rank(50), 1: rank(20, state=EXITED), 2: rank(50)}
    assert "; exited: r1;" in view(records).text(0)


def test_a_rank_that_finished_is_not_an_alarm():
    """A rank that exited with its bars done is simply done."""
    records = {0: rank(50), 1: rank(100, state=EXITED, status="done")}
    assert "exited" not in view(records).text(0)


def test_ranks_that_never_report_are_named_after_the_timeout():
    """A rank with no record yet is named as not reporting, once the grace period has passed."""
    beats = Heartbeats(started=0.0)
    assert view({0: rank(5, seq=1), 1: None}, now=5.0, heartbeats=beats).missing == ()
    assert view({0: rank(5, seq=2), 1: None}, now=11.0, heartbeats=beats).text(0) == "2 ranks; not reporting: r1"


def test_a_thousand_ranks_stay_one_short_line():
    """With 1,024 ranks the text names a few and counts the rest."""
    beats = Heartbeats(started=0.0)
    records = {r: rank(500, seq=1) for r in range(1024)}
    view(records, now=1.0, heartbeats=beats)
    records = {r: rank(500 if r % 10 else 100, seq=1 if r % 7 == 0 else 2) for r in range(1024)}
    text = view(records, now=20.0, heartbeats=beats).text(0)
    assert "\n" not in text and len(text) < 160
    assert text.startswith("1024 ranks; no heartbeat: r") and "; behind: r" in text and " +" in text


def test_record_round_trip():
    """A record comes back from its bytes as it was published."""
    record = rank(3, 42, outer_total=5)
    record.phase, record.idle, record.wait, record.stalled = "data", 1.5, 0.375, 12.0
    back = decode(encode(record))
    assert (back.levels, back.phase, back.idle, back.time) == (record.levels, "data", 1.5, WALL)
    assert (back.wait, back.stalled) == (0.375, 12.0)


def test_placeholders_and_garbage_decode_to_nothing():
    """A seeded key or unreadable bytes mean no record, never an error."""
    assert decode(b"-") is None and decode(b"") is None and decode(b"[1,not json") is None


@pytest.mark.reliability(
    "Distributed",
    "a record under our key prefix that is not a number where a count should be",
    "it is dropped; the other ranks are still summed up",
)
def test_a_record_with_a_counter_that_is_not_a_number_is_no_record():
    """A record whose counter is text (another program under our prefix) is dropped."""
    raw = encode(rank(5)).replace(b"[[5,", b'[["5",')
    assert decode(raw) is None
