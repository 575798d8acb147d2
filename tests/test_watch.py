"""`trainbar watch` in-process: event files followed and drawn as trainbar draws, on a fake clock."""

import io
import json
import os
import subprocess
import sys

import pyte
import pytest
from conftest import FakeTerminal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trainbar
from trainbar.events import stream as _events
from trainbar.events.watch import Watcher, run
from trainbar.core.snapshot import Snapshot
from trainbar.events.watch.remote import Malformed, parse
from trainbar.render.ansi import terminal_line
from trainbar.testing import FakeClock

START = 1_700_000_000.0


class Writer:
    """Writes events by hand, as a process with this rank and pid would, at the clock's time."""

    def __init__(self, path, clock, *, rank=0, pid=100):
        self.path, self.clock, self.rank, self.pid = path, clock, rank, pid

    def raw(self, text):
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(text)

    def event(self, kind, **fields):
        event = {"v": 1, "event": kind, "time": self.clock.time, "rank": self.rank, "host": "h", "pid": self.pid}
        event.update(fields)
        self.raw(json.dumps(event) + "\n")

    def bar(self, kind, bar=1, *, parent=None, desc="train", n=0, total=10, elapsed=0.0, **fields):
        base = dict(bar=bar, parent=parent, desc=desc, n=n, total=total, unit="it", elapsed=elapsed,
                    rate=None, eta=None, status="running", metrics={})  # fmt: skip
        base.update(fields)
        self.event(kind, **base)


@pytest.fixture
def clock():
    return FakeClock(START)


def screen_of(out):
    """What a person sees after the watcher's output went to a terminal."""
    screen = pyte.Screen(80, 10)
    pyte.ByteStream(screen).feed(out.getvalue().encode("utf-8"))
    return screen


def snap_of(**fields):
    base = dict(desc="train", n=0, total=10, elapsed=0.0)
    base.update(fields)
    return Snapshot(**base)


def frame(watcher):
    """The lines of the live region as the watcher would draw them now."""
    watcher.now = watcher.clock()
    return watcher.channel.frame(watcher.now)


def test_log_mode_replays_a_finished_run_exactly_as_its_log(manual, tmp_path, monkeypatch):
    """A finished run's file, watched into a log: the same lines the run wrote to its own log."""
    clock, display = manual
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "run.jsonl"))
    own_log = io.StringIO()
    for epoch in trainbar.bar(range(2), desc="epoch", file=own_log):
        for _ in trainbar.bar(range(4), desc="train", file=own_log, leave=False):
            clock.advance(0.5)
            trainbar.log(loss=1.0 / (epoch + 1), acc=float("nan"))
        trainbar.write(f"epoch {epoch} done", file=own_log)
    out = io.StringIO()
    watcher = Watcher([tmp_path / "run.jsonl"], out, clock=clock)
    watcher.step()
    assert out.getvalue() == own_log.getvalue()
    assert watcher.done()


def test_terminal_frame_matches_the_writers_own_region(manual, tmp_path, monkeypatch):
    """Right after a progress event, the watcher's region holds exactly the writer's lines."""
    clock, display = manual
    monkeypatch.setenv("TRAINBAR_JSONL_INTERVAL", "1")
    _events.start(display, str(tmp_path / "run.jsonl"), wall_clock=lambda: clock.time)
    terminal = FakeTerminal()
    outer = trainbar.bar(total=3, desc="epoch", file=terminal)
    inner = trainbar.bar(total=100, desc="train", unit="batch", file=terminal, leave=False)
    watcher = Watcher([tmp_path / "run.jsonl"], FakeTerminal(), clock=clock)
    for _ in range(7):
        clock.advance(1.0)
        inner.update(9, loss=0.123456, lr=3e-4)
        display.tick()
    watcher.step()
    own = [terminal_line(b.snapshot(clock.time), 79) for b in (outer, inner)]
    assert frame(watcher) == own
    assert "63/100" in own[1] and "loss=0.1235" in own[1]
    inner.close()
    outer.close()


def test_elapsed_keeps_counting_between_events(tmp_path, clock):
    """A running bar's elapsed time moves on with the clock, as its writer's display does."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open", elapsed=0.0)
    watcher = Watcher([writer.path], FakeTerminal(), clock=clock)
    watcher.step()
    clock.advance(75)
    assert "[01:15<" in frame(watcher)[0]


def test_several_files_are_shown_together_tagged_by_rank(tmp_path, clock):
    """One file per rank: every bar is tagged with its rank, in file order; messages too."""
    for rank in (0, 1):
        writer = Writer(tmp_path / f"run.{rank}.jsonl", clock, rank=rank, pid=100 + rank)
        writer.bar("open", n=rank + 1)
        writer.event("write", text=f"hello from {rank}\n")
    out = FakeTerminal()
    watcher = Watcher([tmp_path / "run.0.jsonl", tmp_path / "run.1.jsonl"], out, clock=clock)
    watcher.step()
    lines = frame(watcher)
    assert lines[0].startswith("[r0] train:  10%") and lines[1].startswith("[r1] train:  20%")
    assert "[r0] hello from 0\n" in out.getvalue() and "[r1] hello from 1\n" in out.getvalue()


def test_same_rank_in_two_files_falls_back_to_file_names(tmp_path, clock):
    """Two files claiming one rank (two jobs, say) are told apart by file name."""
    for name in ("a.jsonl", "b.jsonl"):
        Writer(tmp_path / name, clock).bar("open")
    watcher = Watcher([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], FakeTerminal(), clock=clock)
    watcher.step()
    assert [line.split("]")[0] for line in frame(watcher)] == ["[r0", "[b.jsonl"]


def test_silent_writer_with_open_bars_is_marked_stale(tmp_path, clock):
    """No event for longer than --stale-after while a bar is open: the bar says `stale` and for how long."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open", interval=5)
    watcher = Watcher([writer.path], FakeTerminal(), clock=clock, stale_after=60)
    watcher.step()
    clock.advance(60)
    watcher.step()
    assert frame(watcher)[0].startswith("train:")
    clock.advance(5)
    watcher.step()
    assert frame(watcher)[0].startswith("[stale 01:05] train:")
    writer.bar("progress", n=4, elapsed=65)
    watcher.step()
    assert frame(watcher)[0].startswith("train:  40%")


def test_stale_marking_is_a_log_line_when_not_on_a_terminal(tmp_path, clock):
    """In a log, going stale and coming back are each one line."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open")
    out = io.StringIO()
    watcher = Watcher([writer.path], out, clock=clock, stale_after=10)
    watcher.step()
    clock.advance(11)
    watcher.step()
    watcher.step()
    writer.bar("progress", n=1)
    watcher.step()
    notes = [line for line in out.getvalue().splitlines() if line.startswith("trainbar watch:")]
    assert notes == [f"trainbar watch: {writer.path}: no events for 00:11: stale", f"trainbar watch: {writer.path}: events again"]


def test_slow_writer_is_given_two_of_its_own_intervals(tmp_path, clock):
    """A writer whose progress comes every 60 s is not stale after 61 s, only after two intervals."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open", interval=60)
    watcher = Watcher([writer.path], FakeTerminal(), clock=clock)
    clock.advance(120)
    watcher.step()
    assert "stale" not in frame(watcher)[0]
    clock.advance(2)
    watcher.step()
    assert "stale" in frame(watcher)[0]


def test_writer_is_stale_after_twice_its_own_interval(tmp_path, clock):
    """Killed, a writer of progress every 5 s is stale within about 10 s, not 60 (issue 16)."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open", interval=5)
    watcher = Watcher([writer.path], FakeTerminal(), clock=clock, alive=lambda host, pid: True)
    watcher.step()
    clock.advance(10.5)
    watcher.step()
    assert not frame(watcher)[0].startswith("[stale")
    clock.advance(1)
    watcher.step()
    assert frame(watcher)[0].startswith("[stale 00:11] train:")


def test_interval_not_told_is_the_observed_gap_between_progress_events(tmp_path, clock):
    """No `interval` in the events (its `open` rotated away, say): the gap seen between them counts."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    watcher = Watcher([writer.path], FakeTerminal(), clock=clock, alive=lambda host, pid: True)
    for n in range(3):
        writer.bar("progress", n=n)
        watcher.step()
        clock.advance(20)
    clock.advance(20)  # 40 s since the last event: two gaps, not yet stale
    watcher.step()
    assert not frame(watcher)[0].startswith("[stale")
    clock.advance(2)
    watcher.step()
    assert frame(watcher)[0].startswith("[stale 00:42]")


def test_interval_unknown_and_unseen_is_the_writers_default(tmp_path, clock):
    """Nothing says how often the writer writes: TRAINBAR_JSONL_INTERVAL's default of 5 s is assumed."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open")
    watcher = Watcher([writer.path], FakeTerminal(), clock=clock, alive=lambda host, pid: True)
    clock.advance(10.5)
    watcher.step()
    assert not frame(watcher)[0].startswith("[stale")
    clock.advance(1)
    watcher.step()
    assert frame(watcher)[0].startswith("[stale")


def test_stale_after_overrides_the_writers_interval(tmp_path, clock):
    """--stale-after is taken as given, shorter or longer than the writer's own intervals."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open", interval=60)
    watcher = Watcher([writer.path], FakeTerminal(), clock=clock, stale_after=10, alive=lambda host, pid: True)
    clock.advance(10.5)
    watcher.step()
    assert frame(watcher)[0].startswith("[stale 00:10]")


def test_elapsed_stops_counting_while_stale(tmp_path, clock):
    """A stale writer's bars show the elapsed time of its last event, not a clock ticking on."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open", interval=5)
    watcher = Watcher([writer.path], FakeTerminal(), clock=clock, alive=lambda host, pid: True)
    watcher.step()
    clock.advance(5)
    writer.bar("progress", n=4, elapsed=5.0)
    watcher.step()
    clock.advance(3)
    assert "[00:08<" in frame(watcher)[0]  # live: counting on between events
    clock.advance(60)
    watcher.step()
    line = frame(watcher)[0]
    assert line.startswith("[stale 01:03] train:  40%") and "[00:05<" in line
    clock.advance(60)
    watcher.step()
    assert "[00:05<" in frame(watcher)[0]


def test_killed_writer_on_this_host_is_shown_as_ended(tmp_path, clock):
    """Stale and its process gone: the bar ends, saying where it stopped; the watch is done."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open", desc="epoch", total=3, interval=5)
    writer.bar("open", bar=2, parent=1, n=96, total=1000)
    asked = []

    def alive(host, pid):
        asked.append((host, pid))
        return False

    out = FakeTerminal()
    watcher = Watcher([writer.path], out, clock=clock, alive=alive)
    watcher.step()
    assert asked == [] and len(frame(watcher)) == 2  # not asked while events are due
    clock.advance(12)
    watcher.step()
    assert asked[0] == ("h", 100)
    assert "epoch: ended without close at 0/3 (process 100 is gone)\n" in out.getvalue()
    assert "epoch > train: ended without close at 96/1000 (process 100 is gone)\n" in out.getvalue()
    assert frame(watcher) == [] and watcher.done()


def test_hung_writer_whose_process_lives_stays_stale(tmp_path, clock):
    """Its process still there (hung, not dead): stale for as long as it lasts, never ended."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open", n=4, interval=5)
    out = FakeTerminal()
    watcher = Watcher([writer.path], out, clock=clock, alive=lambda host, pid: True)
    clock.advance(3600)
    watcher.step()
    assert frame(watcher)[0].startswith("[stale 1:00:00] train:") and "ended" not in out.getvalue()
    assert not watcher.done()


def test_writer_whose_liveness_cannot_be_known_ends_after_being_stale_as_long_again(tmp_path, clock):
    """Another host (or no pid): no way to look, so it is ended after twice the stale time, and says why."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open", n=96, total=1000, interval=5)
    out = io.StringIO()
    watcher = Watcher([writer.path], out, clock=clock, alive=lambda host, pid: None)
    clock.advance(12)
    watcher.step()
    assert "ended" not in out.getvalue() and not watcher.done()
    clock.advance(11)
    watcher.step()
    assert "train: ended without close at 96/1000 (no events for 00:23; process 100 on h cannot be checked from here)\n" in out.getvalue()
    assert watcher.done()


def test_writer_taken_as_ended_that_writes_again_is_back(tmp_path, clock):
    """Taken for ended on silence alone, a writer that writes again gets its bars back."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open", desc="epoch", total=3, interval=5)
    writer.bar("open", bar=2, parent=1, n=96, total=1000)
    watcher = Watcher([writer.path], FakeTerminal(), clock=clock, alive=lambda host, pid: None)
    clock.advance(30)
    watcher.step()
    assert frame(watcher) == [] and watcher.done()
    writer.bar("progress", bar=2, parent=1, n=97, total=1000)
    watcher.step()
    lines = frame(watcher)
    assert [line.split(":")[0] for line in lines] == ["epoch", "  train"] and "97/1000" in lines[1]
    assert not watcher.done()


def test_liveness_is_checked_for_real_on_this_host(tmp_path, clock):
    """By default a writer on this host is looked up by pid: a finished process ends, this one does not."""
    from trainbar.distributed.info import hostname

    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    out = FakeTerminal()
    for name, pid in (("gone.jsonl", finished.pid), ("here.jsonl", os.getpid())):
        writer = Writer(tmp_path / name, clock, pid=pid, rank=0 if pid == os.getpid() else 1)
        writer.event("open", bar=1, parent=None, desc="train", n=3, total=10, interval=5, host=hostname())
    watcher = Watcher([tmp_path / "gone.jsonl", tmp_path / "here.jsonl"], out, clock=clock)
    clock.advance(12)
    watcher.step()
    assert f"[r1] train: ended without close at 3/10 (process {finished.pid} is gone)" in out.getvalue()
    assert [line[:10] for line in frame(watcher)] == ["[r0 stale "]


def test_ended_writer_is_one_line_in_a_log(tmp_path, clock):
    """In a log the end is said once, in place of the stale notice."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open", n=96, total=1000, interval=5)
    out = io.StringIO()
    watcher = Watcher([writer.path], out, clock=clock, alive=lambda host, pid: False)
    watcher.step()
    clock.advance(12)
    watcher.step()
    watcher.step()
    lines = out.getvalue().splitlines()
    assert lines[1:] == ["train: ended without close at 96/1000 (process 100 is gone)"], lines


def test_pattern_picks_up_files_that_appear_after_the_watch_started(tmp_path, clock):
    """A glob the shell left as it was (nothing matched yet) is expanded by watch, again and again."""
    pattern = str(tmp_path / "ev.*.jsonl")
    out = FakeTerminal()
    watcher = Watcher([pattern], out, clock=clock)
    watcher.step()
    assert watcher.status_line() == f"trainbar watch: waiting for {pattern}"
    assert [line[:28] for line in frame(watcher)] == ["trainbar watch: waiting for "]
    assert not watcher.done()
    for rank in (0, 1):
        Writer(tmp_path / f"ev.{rank}.jsonl", clock, rank=rank, pid=100 + rank).bar("open", n=rank + 1)
    clock.advance(1)
    watcher.step()
    assert [line[:14] for line in frame(watcher)] == ["[r0] train:  1", "[r1] train:  2"]
    Writer(tmp_path / "ev.2.jsonl", clock, rank=2, pid=102).bar("open", n=3)
    (tmp_path / "ev.dir.jsonl").mkdir()  # a folder that matches is not a file to follow
    clock.advance(1)
    watcher.step()
    assert [line[:14] for line in frame(watcher)] == ["[r0] train:  1", "[r1] train:  2", "[r2] train:  3"]


def test_missing_plain_path_and_pattern_are_both_waited_for(tmp_path, clock):
    """A plain path not there yet and a pattern matching nothing yet: both followed once they appear."""
    plain, pattern = tmp_path / "sub" / "a.jsonl", str(tmp_path / "sub" / "b*.jsonl")
    out = io.StringIO()
    watcher = Watcher([plain, pattern], out, clock=clock)
    watcher.step()
    assert out.getvalue() == f"trainbar watch: waiting for {plain}\ntrainbar watch: waiting for {pattern}\n"
    (tmp_path / "sub").mkdir()
    first, second = Writer(plain, clock, rank=0), Writer(tmp_path / "sub" / "b1.jsonl", clock, rank=1, pid=101)
    for writer in (first, second):
        writer.bar("open")
    clock.advance(1)
    watcher.step()
    assert "[r0] train:" in out.getvalue() and "[r1] train:" in out.getvalue()
    for writer in (first, second):
        writer.bar("close", n=10, status="done")
    watcher.step()
    assert watcher.done()


def test_a_file_matched_twice_is_followed_once(tmp_path, clock):
    """`watch ev.0.jsonl 'ev.*.jsonl'`: the file both name is one source, its bars drawn once."""
    writer = Writer(tmp_path / "ev.0.jsonl", clock)
    writer.bar("open")
    watcher = Watcher([writer.path, str(tmp_path / "ev.*.jsonl")], FakeTerminal(), clock=clock)
    watcher.step()
    assert len(frame(watcher)) == 1


def test_existing_file_whose_name_looks_like_a_pattern_is_followed(tmp_path, clock):
    """`run[1].jsonl` that exists is that file, though its name has glob characters."""
    writer = Writer(tmp_path / "run[1].jsonl", clock)
    writer.bar("open")
    watcher = Watcher([writer.path], FakeTerminal(), clock=clock)
    watcher.step()
    assert frame(watcher)[0].startswith("[r0] train:")  # tagged, as every file a pattern names


def test_finished_file_is_never_stale(tmp_path, clock):
    """A writer with no open bar has nothing to be late with."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open")
    writer.bar("close", n=10, status="done")
    out = io.StringIO()
    watcher = Watcher([writer.path], out, clock=clock, stale_after=10)
    watcher.step()
    clock.advance(1000)
    watcher.step()
    assert "stale" not in out.getvalue()


def test_stall_shows_on_the_bar_and_above_it_until_recovery(tmp_path, clock):
    """A `stall` tags the bar with how long it has lasted and prints the report; `recover` says so."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open", desc="epoch")
    writer.bar("open", bar=2, parent=1)
    writer.bar("stall", bar=2, parent=1, stall={"seconds": 45, "phase": "waiting for data", "report": "  File x.py\n"})
    out = FakeTerminal()
    watcher = Watcher([writer.path], out, clock=clock)
    watcher.step()
    clock.advance(10)
    assert frame(watcher)[1] == "  [stall 00:55] " + frame(watcher)[1].split("] ", 1)[1]
    assert "epoch > train: stall, no progress for 00:45 (waiting for data)\n  File x.py\n" in out.getvalue()
    writer.bar("recover", bar=2, parent=1, stall={"seconds": 73})
    watcher.step()
    assert "stall" not in frame(watcher)[1] and "epoch > train: recovered after 01:13\n" in out.getvalue()


def test_malformed_lines_are_skipped_and_counted(tmp_path, clock):
    """Garbage, non-events, bad fields and newer versions are skipped and counted; the rest is drawn."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.raw("not json at all\n[1, 2]\n{}\n\n")
    writer.bar("open")
    writer.bar("progress", n="lots")
    writer.bar("progress", n=1, metrics=[1])
    writer.event("write", text=7)
    writer.event("progress", v=2, bar=1, n=9)
    writer.raw(b"\xff\xfe\n".decode("latin-1"))
    writer.bar("progress", n=3)
    out = FakeTerminal()
    watcher = Watcher([writer.path], out, clock=clock)
    watcher.step()
    lines = frame(watcher)
    assert lines[0].startswith("train:  30%")
    assert lines[1] == "trainbar watch: 9 malformed lines skipped"


def test_malformed_lines_are_reported_in_a_log(tmp_path, clock):
    """Not on a terminal, the count is a log line when it grows."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.raw("oops\n")
    out = io.StringIO()
    watcher = Watcher([writer.path], out, clock=clock)
    watcher.step()
    watcher.step()
    assert out.getvalue() == f"trainbar watch: {writer.path}: 1 malformed line skipped so far\n"


def test_events_of_unknown_kinds_are_ignored_without_complaint(tmp_path, clock):
    """A newer writer's extra event kinds are skipped, not counted as malformed."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.event("checkpoint", step=5)
    writer.bar("open")
    watcher = Watcher([writer.path], FakeTerminal(), clock=clock)
    watcher.step()
    assert len(frame(watcher)) == 1


def test_bar_first_seen_in_a_progress_event_is_drawn(tmp_path, clock):
    """After a rotation the `open` may be in the old file: a `progress` alone is enough to draw the bar."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("progress", n=5)
    watcher = Watcher([writer.path], FakeTerminal(), clock=clock)
    watcher.step()
    assert frame(watcher)[0].startswith("train:  50%")


def test_done_only_when_every_file_had_a_bar_and_all_top_bars_closed(tmp_path, clock):
    """--exit-when-done waits for every file's first bar, and for every top-level bar to close."""
    first, second = Writer(tmp_path / "a.jsonl", clock), Writer(tmp_path / "b.jsonl", clock, pid=200)
    watcher = Watcher([first.path, second.path], io.StringIO(), clock=clock)
    watcher.step()
    assert not watcher.done()
    first.bar("open")
    first.bar("close", status="done")
    watcher.step()
    assert not watcher.done()
    second.bar("open")
    second.bar("open", bar=2, parent=1)
    watcher.step()
    assert not watcher.done()
    second.bar("close", status="done")
    watcher.step()
    assert watcher.done()


def test_run_exits_when_done_with_the_final_lines_drawn(tmp_path, clock):
    """run(exit_when_done=True) returns 0 once the bars closed; the final line is on the output."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    steps = iter(range(3))

    def sleep(seconds):
        clock.advance(seconds)
        if next(steps) == 1:
            writer.bar("open", n=0, total=4)
            writer.bar("close", n=4, total=4, elapsed=2.0, rate=2.0, status="done")

    out = FakeTerminal()
    assert run([writer.path], out, exit_when_done=True, clock=clock, sleep=sleep) == 0
    assert "train: 100%|" in out.getvalue() and out.getvalue().endswith("\x1b[?25h")


def test_interrupted_watch_keeps_the_last_frame_and_gives_the_cursor_back(tmp_path, clock):
    """Ctrl-C: exit status 130, the live bars printed as they were, the cursor visible."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open", n=3)

    def sleep(seconds):
        raise KeyboardInterrupt

    out = FakeTerminal()
    assert run([writer.path], out, clock=clock, sleep=sleep) == 130
    screen = screen_of(out)
    assert [row.rstrip() for row in screen.display if row.strip()] == [terminal_line(snap_of(n=3), 79)]
    assert not screen.cursor.hidden


def test_delayed_bar_appears_only_when_due(tmp_path, clock):
    """A bar with `delay` is drawn once it has run that long; one closed sooner is never drawn."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open", display={"delay": 2.0})
    writer.bar("open", bar=2, desc="short", display={"delay": 2.0})
    writer.bar("close", bar=2, desc="short", elapsed=1.0, status="done")
    out = FakeTerminal()
    watcher = Watcher([writer.path], out, clock=clock)
    watcher.step()
    assert frame(watcher) == []
    clock.advance(2.0)
    watcher.step()
    assert len(frame(watcher)) == 1 and "short" not in out.getvalue()


def test_bar_not_left_vanishes_and_a_left_bar_stays(tmp_path, clock):
    """leave=False bars disappear when they close; leave=True ones leave their final line above."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open", desc="epoch", display={"leave": True})
    writer.bar("open", bar=2, parent=1, desc="step", display={"leave": False})
    out = FakeTerminal()
    watcher = Watcher([writer.path], out, clock=clock)
    watcher.step()
    writer.bar("close", bar=2, parent=1, desc="step", n=10, status="done")
    writer.bar("close", desc="epoch", n=10, status="done")
    watcher.step()
    watcher.close()
    assert out.getvalue().count("epoch: 100%") == 1
    assert "step: 100%" not in out.getvalue()


def test_messages_are_stripped_of_cursor_moves_on_a_terminal(tmp_path, clock):
    """Text from a file never moves the cursor of the terminal that watches it."""
    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open")
    writer.event("write", text="evil\x1b[2J\x1b[Hline")
    out = FakeTerminal()
    Watcher([writer.path], out, clock=clock).step()
    assert "evil" in out.getvalue() and "\x1b[2J" not in out.getvalue() and "\x1b[H" not in out.getvalue()


def test_parse_rejects_a_newer_format_version():
    """A line of a format this reader does not know is malformed, not misread."""
    with pytest.raises(Malformed, match="version"):
        parse(b'{"v": 2, "event": "open"}')


_scalar = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6) | st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "running", "done", "{n:99999999}", "{bar:100000}"]
)  # fmt: skip
_json = _scalar | st.lists(_scalar, max_size=3) | st.dictionaries(st.sampled_from(["seconds", "leave", "delay", "ascii", "ncols", "bar_format", "x"]), _scalar, max_size=3)
_field = st.sampled_from(["n", "total", "elapsed", "rate", "eta", "desc", "unit", "status", "metrics", "display",
                          "parent", "bar", "stall", "text", "time", "pid", "rank", "interval", "v"])  # fmt: skip
_kind = st.sampled_from(["open", "progress", "close", "stall", "recover", "write", "x"])
_events_strategy = st.lists(
    st.tuples(_kind, st.dictionaries(_field, _json, max_size=8)).map(lambda pair: {**pair[1], "event": pair[0]}),
    max_size=8,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=_events_strategy, terminal=st.booleans())
def test_any_event_sequence_is_drawn_or_skipped_never_a_crash(tmp_path_factory, events, terminal):
    """Whatever objects a file holds, watching it never raises."""
    path = tmp_path_factory.mktemp("fuzz") / "run.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events), encoding="utf-8")
    clock = FakeClock(START)
    out = FakeTerminal(40) if terminal else io.StringIO()
    watcher = Watcher([path], out, clock=clock, stale_after=1)
    watcher.step()
    clock.advance(100)
    watcher.step()
    watcher.close()


def test_closed_output_ends_the_watch_quietly(tmp_path, clock):
    """A pipe whose reader has gone (`| head`) ends the watch with status 0, not a traceback."""

    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    writer = Writer(tmp_path / "run.jsonl", clock)
    writer.bar("open")
    assert run([writer.path], ClosedPipe(), clock=clock, sleep=clock.advance) == 0


@pytest.mark.parametrize("argv", [["watch"], ["watch", "--stale-after", "0", "f"], ["watch", "--interval", "-1", "f"]])
def test_command_line_rejects_bad_arguments(argv, capsys):
    """No file, or a non-positive number of seconds: usage error, exit status 2."""
    from trainbar.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


def test_live_events_are_timed_by_arrival_not_by_the_writers_clock(tmp_path, clock):
    """A writer whose clock is an hour behind is neither stale nor an hour older once followed live."""
    writer = Writer(tmp_path / "run.jsonl", FakeClock(START - 3600))
    watcher = Watcher([writer.path], FakeTerminal(), clock=clock, stale_after=60)
    watcher.step()
    writer.bar("open", elapsed=0.0)
    watcher.step()
    clock.advance(30)
    watcher.step()
    assert frame(watcher)[0].startswith("train:   0%") and "[00:30<" in frame(watcher)[0]
