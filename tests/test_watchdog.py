"""The stall watchdog's verdicts, driven by a fake clock: no sleeping, exact thresholds."""

import io
import json
import os
import sys
import threading
import warnings

import pytest

import trainbar
from trainbar import _settings
from trainbar.stall import watchdog as _watchdog


class Events:
    """A display listener that records the watchdog's events, as the JSONL stream would."""

    def __init__(self):
        self.stalls = []
        self.recoveries = []

    def on_stall(self, bar, info):
        self.stalls.append((bar.desc, info))

    def on_recover(self, bar, info):
        self.recoveries.append((bar.desc, info))


def steady(clock, display, b, steps, seconds):
    """Run ``steps`` steps of ``seconds`` each, the watchdog looking after each one."""
    for _ in range(steps):
        clock.advance(seconds)
        b.update()
        display.watchdog.check()


def stalls_in(text):
    return text.count("trainbar: stall")


def assert_stall_after(clock, display, out, *, quiet, then):
    """No verdict after ``quiet`` more seconds without progress; exactly one ``then`` seconds later."""
    clock.advance(quiet)
    display.watchdog.check()
    assert stalls_in(out.getvalue()) == 0
    clock.advance(then)
    display.watchdog.check()
    assert stalls_in(out.getvalue()) == 1


def test_no_verdict_before_the_first_step_within_the_grace_period(manual):
    """Before the first step only the grace period (10 minutes) counts: start-up is slow."""
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=10, desc="train", file=out)  # noqa: F841 - a dropped bar would close
    assert_stall_after(clock, display, out, quiet=_watchdog.GRACE - 1, then=1)


def test_grace_period_comes_from_the_environment(manual, monkeypatch):
    """TRAINBAR_STALL_GRACE sets the wait for the first step."""
    monkeypatch.setenv("TRAINBAR_STALL_GRACE", "90")
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=10, desc="train", file=out)  # noqa: F841
    assert_stall_after(clock, display, out, quiet=89, then=1)


def test_fast_steps_stall_after_the_30_second_floor(manual):
    """With 1 s steps, 10 x median is 10 s: the 30 s floor decides."""
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=out)
    steady(clock, display, b, 10, 1.0)
    assert_stall_after(clock, display, out, quiet=29.9, then=0.1)
    assert "(threshold 30s, steps under 2s)" in out.getvalue()


def test_slow_steps_stall_after_ten_median_steps(manual):
    """With 12 s steps a stall is 120 s without progress, not the 30 s floor."""
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=out)
    steady(clock, display, b, 8, 12.0)
    assert_stall_after(clock, display, out, quiet=119, then=1)
    assert "threshold 2m00s, median step 12s" in out.getvalue()


def test_one_long_step_does_not_move_the_median(manual):
    """A single slow step (a checkpoint) among fast ones leaves the threshold where it was."""
    clock, display = manual
    b = trainbar.bar(total=100, desc="train", file=io.StringIO())
    steady(clock, display, b, 6, 5.0)
    steady(clock, display, b, 1, 45.0)
    steady(clock, display, b, 6, 5.0)
    track = display.watchdog.tracks[threading.get_ident()]
    assert track.limit(display.watchdog.settings, waiting_first=False) == 50.0


def test_fixed_threshold_applies_from_the_first_batch(manual, monkeypatch):
    """TRAINBAR_STALL=<seconds> is a fixed threshold, first batch included."""
    monkeypatch.setenv("TRAINBAR_STALL", "5")
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=10, desc="train", file=out)  # noqa: F841
    assert_stall_after(clock, display, out, quiet=4, then=1)
    assert "no progress for 5s at 0/10 (threshold 5s)" in out.getvalue()


def test_stall_off_disables_detection(manual, monkeypatch):
    """TRAINBAR_STALL=off: no verdict, however long nothing happens."""
    monkeypatch.setenv("TRAINBAR_STALL", "off")
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=10, desc="train", file=out)
    steady(clock, display, b, 3, 1.0)
    clock.advance(10 * _watchdog.GRACE)
    display.watchdog.check()
    assert stalls_in(out.getvalue()) == 0


def test_stall_off_starts_no_thread(monkeypatch):
    """TRAINBAR_STALL=off: the watchdog thread never starts."""
    monkeypatch.setenv("TRAINBAR_STALL", "off")
    with trainbar.bar(total=1, file=io.StringIO()):
        assert "trainbar-watchdog" not in [t.name for t in threading.enumerate()]


def test_bad_stall_setting_warns_and_falls_back_to_auto(manual, monkeypatch):
    """An unreadable TRAINBAR_STALL is named in one warning; detection stays on its own pace."""
    monkeypatch.setenv("TRAINBAR_STALL", "soon")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings = _watchdog.Settings.from_env()
    assert settings.enabled and settings.threshold is None
    assert any("TRAINBAR_STALL='soon'" in str(w.message) for w in caught)


def test_stall_is_reported_once_per_episode(manual):
    """However many rounds a stall lasts, it is reported once."""
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=out)
    steady(clock, display, b, 10, 1.0)
    for _ in range(20):
        clock.advance(10)
        display.watchdog.check()
    assert stalls_in(out.getvalue()) == 1


def test_recovery_is_reported_with_its_duration(manual):
    """Progress after a stall prints `recovered after` how long it lasted, and clears the bar."""
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=out)
    steady(clock, display, b, 10, 1.0)
    clock.advance(73)
    display.watchdog.check()
    assert b.snapshot().stalled is not None
    b.update()
    display.watchdog.check()
    assert 'trainbar: "train" recovered after 1m13s' in out.getvalue()
    assert b.snapshot().stalled is None


def test_a_second_stall_is_a_new_episode(manual):
    """After a recovery, the next stall is reported again."""
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=out)
    steady(clock, display, b, 10, 1.0)
    clock.advance(40)
    display.watchdog.check()
    steady(clock, display, b, 1, 1.0)
    clock.advance(40)
    display.watchdog.check()
    assert stalls_in(out.getvalue()) == 2


def test_longer_stall_dumps_every_thread_once(manual):
    """At five times the threshold every thread's stack is printed, once."""
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=out)
    steady(clock, display, b, 10, 1.0)
    clock.advance(149)
    display.watchdog.check()
    assert "still stalled" not in out.getvalue()
    for _ in range(3):
        clock.advance(1)
        display.watchdog.check()
    text = out.getvalue()
    assert text.count('still stalled in "train" after 2m30s') == 1
    assert "(MainThread), most recent call first:" in text
    assert f'File "{os.path.relpath(__file__)}"' in text


def test_closing_the_bar_ends_the_episode_without_recovery(manual):
    """A loop that dies mid-stall (an exception) is not reported as recovered."""
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=out)
    steady(clock, display, b, 10, 1.0)
    clock.advance(40)
    display.watchdog.check()
    b._finish("interrupted")
    display.watchdog.check()
    assert "recovered" not in out.getvalue()
    assert display.watchdog.tracks[threading.get_ident()].episode is None


def test_next_epochs_bar_keeps_the_pace_of_the_last(manual):
    """A new inner bar each epoch is judged by the thread's pace, not given a new grace period."""
    clock, display = manual
    out = io.StringIO()
    epochs = trainbar.bar(total=3, desc="epoch", file=out)
    first = trainbar.bar(total=20, desc="train", file=out)
    clock.advance(4.0)  # workers starting: the first batch is slow
    first.update()
    display.watchdog.check()
    steady(clock, display, first, 19, 1.0)
    first.close()
    epochs.update()
    display.watchdog.check()
    second = trainbar.bar(total=20, desc="train", file=out)  # noqa: F841
    assert_stall_after(clock, display, out, quiet=29.9, then=0.1)


def test_slow_first_batches_of_later_bars_are_allowed_their_usual_wait(manual):
    """Worker start-up before each epoch's first batch is measured, and 3x of it is allowed."""
    clock, display = manual
    out = io.StringIO()
    for epoch in range(2):
        b = trainbar.bar(total=10, desc="train", file=out)
        clock.advance(20.0)  # every epoch's first batch takes 20 s
        b.update()
        display.watchdog.check()
        steady(clock, display, b, 9, 1.0)
        b.close()
        display.watchdog.check()
    b = trainbar.bar(total=10, desc="train", file=out)  # noqa: F841
    assert_stall_after(clock, display, out, quiet=59, then=1)


def test_progress_in_another_thread_does_not_hide_a_stall(manual):
    """Each thread's loops are judged on their own: a busy background bar masks nothing."""
    clock, display = manual
    out = io.StringIO()
    main = trainbar.bar(total=100, desc="train", file=out)
    made = []
    worker = threading.Thread(target=lambda: made.append(trainbar.bar(total=1000, desc="upload", file=out)))
    worker.start()
    worker.join()
    steady(clock, display, main, 10, 1.0)
    for _ in range(40):
        clock.advance(1.0)
        made[0].update()
        display.watchdog.check()
    assert 'stall in "train"' in out.getvalue()
    assert 'stall in "upload"' not in out.getvalue()


def test_the_stalled_bar_says_so_on_its_line(manual):
    """The bar's own line carries `stalled` and how long, in the phase it is stuck in."""
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=out)
    steady(clock, display, b, 10, 1.0)
    b._where = "data"
    clock.advance(31)
    display.watchdog.check()
    clock.advance(30)
    assert "stalled 1m01s waiting for data" in trainbar.render.plain.log_line(b.snapshot(clock()))


def test_stall_event_reaches_display_listeners_as_plain_data(manual):
    """on_stall and on_recover go through the display's listener hook, JSON-serialisable."""
    clock, display = manual
    events = Events()
    display.subscribe(events)
    b = trainbar.bar(total=100, desc="train", file=io.StringIO())
    steady(clock, display, b, 10, 1.0)
    clock.advance(31)
    display.watchdog.check()
    steady(clock, display, b, 1, 1.0)
    (desc, info), = events.stalls
    assert desc == "train" and info["seconds"] == 31 and info["threshold"] == 30.0 and info["n"] == 10
    assert json.loads(json.dumps(info))["report"].startswith('trainbar: stall in "train"')
    (desc, info), = events.recoveries
    assert desc == "train" and info["seconds"] == 32


def test_on_stall_callback_is_called_once_with_the_report(manual):
    """A bar's on_stall= gets the stall's details, once per episode."""
    clock, display = manual
    calls = []
    b = trainbar.bar(total=100, desc="train", file=io.StringIO(), on_stall=calls.append)
    steady(clock, display, b, 10, 1.0)
    for _ in range(5):
        clock.advance(31)
        display.watchdog.check()
    assert len(calls) == 1
    assert calls[0]["desc"] == "train" and "no progress for 31s" in calls[0]["report"]


def test_outer_bars_callback_hears_of_an_inner_stall(manual):
    """on_stall= on the outer bar covers the loops nested inside it."""
    clock, display = manual
    calls = []
    outer = trainbar.bar(total=3, desc="epoch", file=io.StringIO(), on_stall=calls.append)  # noqa: F841
    inner = trainbar.bar(total=100, desc="train", file=io.StringIO())
    steady(clock, display, inner, 10, 1.0)
    clock.advance(31)
    display.watchdog.check()
    assert [info["desc"] for info in calls] == ["train"]


def test_failing_callback_warns_once_and_the_loop_goes_on(manual):
    """An on_stall callback that raises costs one warning; nothing reaches the training loop."""
    clock, display = manual

    def broken(info):
        raise RuntimeError("pager is down")

    b = trainbar.bar(total=100, desc="train", file=io.StringIO(), on_stall=broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            steady(clock, display, b, 10, 1.0)
            clock.advance(31)
            display.watchdog.check()
    assert len([w for w in caught if "pager is down" in str(w.message)]) == 1
    assert b.n == 20


def test_on_stall_must_be_callable():
    """A non-callable on_stall is refused at the call, naming the argument."""
    with pytest.raises(TypeError, match="on_stall"):
        trainbar.bar(total=1, on_stall="page me")


def test_report_lists_the_users_own_frames_first(manual):
    """The stuck thread's stack starts with the user's code, libraries after it."""
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=out)
    steady(clock, display, b, 10, 1.0)
    clock.advance(31)
    display.watchdog.check()
    lines = out.getvalue().splitlines()
    own = lines.index("    your code (innermost last):")
    libraries = lines.index("    inside libraries (innermost last):")
    assert own < libraries
    assert any("test_report_lists_the_users_own_frames_first" in line for line in lines[own:libraries])


def test_report_gives_memory_and_hints(manual):
    """The report has the process's memory and a py-spy command for this pid."""
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=out)
    steady(clock, display, b, 10, 1.0)
    clock.advance(31)
    display.watchdog.check()
    text = out.getvalue()
    assert "memory: process RSS " in text and "MiB" in text
    assert f"try: py-spy dump --pid {os.getpid()} --native" in text


def test_report_in_a_collective_suggests_the_nccl_flight_recorder(manual):
    """Stuck in a collective: the hint names the NCCL flight-recorder variables."""
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=out)
    steady(clock, display, b, 10, 1.0)
    b._where = "collective"
    clock.advance(31)
    display.watchdog.check()
    text = out.getvalue()
    assert "phase: in a collective" in text
    assert "TORCH_NCCL_TRACE_BUFFER_SIZE=2000 TORCH_NCCL_DUMP_ON_TIMEOUT=1" in text


def test_report_names_the_rank(manual, monkeypatch, capsys):
    """In a distributed job the stuck rank reports, naming itself, though it draws no bar."""
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("TRAINBAR_GATHER", "off")  # no store here: only the rank's own report
    clock, display = manual
    b = trainbar.bar(total=100, desc="train", file=io.StringIO())
    steady(clock, display, b, 10, 1.0)
    clock.advance(31)
    display.watchdog.check()
    assert f'stall in "train" (rank 3, pid {os.getpid()})' in capsys.readouterr().err


def test_each_rank_publishes_where_its_loop_is():
    """The phase a rank publishes: its pause by name, else data or step from its innermost loop."""
    from trainbar.stall import diagnose as _diagnose

    outer = trainbar.bar(total=2, file=io.StringIO())
    inner = trainbar.bar(total=2, file=io.StringIO())
    inner._where = "data"
    assert _diagnose.published_phase([outer, inner]) == "data"
    inner._where = "body"
    assert _diagnose.published_phase([outer, inner]) == "step"
    with inner.pause("eval"):
        assert _diagnose.published_phase([outer, inner]) == "eval"
    inner.close()
    outer.close()


def test_drawing_ranks_report_names_the_rank_in_another_phase(manual, monkeypatch):
    """With every rank's record at hand, the report names the one rank whose phase differs."""
    from trainbar import distributed
    from trainbar.distributed.record import Record
    from trainbar.distributed.summary import JobView, RankState

    def state(rank, phase, kind="running", silent=0.5):
        return RankState(rank, Record(seq=1, host="h", pid=100 + rank, node=0, state="running", phase=phase), kind, silent)

    view = JobView((state(0, "collective"), state(1, "collective"), state(2, "collective"), state(3, "data"),
                    state(4, "collective", "stopped", 45.0)), time=100.0, timeout=30.0, started=0.0)  # fmt: skip
    monkeypatch.setattr(distributed, "job_view", lambda: view)
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=out)
    steady(clock, display, b, 10, 1.0)
    clock.advance(31)
    display.watchdog.check()
    line = next(line for line in out.getvalue().splitlines() if "other ranks:" in line)
    assert "no heartbeat from r4 (45s)" in line
    assert "3 ranks in collective, but r3 in data: look at that rank first" in line


def test_a_bar_that_draws_nothing_still_reports_to_stderr(manual, monkeypatch, capsys):
    """A silent bar (another rank, disable=True) still reports its own stall on stderr."""
    clock, display = manual
    b = trainbar.bar(total=100, desc="train", disable=True)
    steady(clock, display, b, 10, 1.0)
    clock.advance(31)
    display.watchdog.check()
    assert 'trainbar: stall in "train"' in capsys.readouterr().err


def test_report_goes_out_while_a_metric_callable_hangs(manual):
    """A metric callable that never returns holds up no frame and does not silence the report."""
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=out)
    steady(clock, display, b, 10, 1.0)
    release = threading.Event()
    b.log(stuck=lambda: release.wait(30))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        display.tick()  # gives the callable its budget, then shows "?"
    try:
        clock.advance(31)
        display.watchdog.check()
    finally:
        release.set()
    assert 'trainbar: stall in "train"' in out.getvalue()


def test_report_reaches_the_terminal_above_the_live_bars(manual):
    """On a terminal the report is printed above the region, which is redrawn under it."""
    from conftest import FakeTerminal

    clock, display = manual
    term = FakeTerminal()
    b = trainbar.bar(total=100, desc="train", file=term)
    steady(clock, display, b, 10, 1.0)
    display.tick()
    clock.advance(31)
    display.watchdog.check()
    after = term.getvalue().split("trainbar: stall", 1)[1]
    assert "train:  10%" in after  # the region came back below the report


def test_thread_starts_with_the_first_bar_and_leaves_when_none_is_open(monkeypatch):
    """The watchdog thread runs only while bars are open (and starts again for the next)."""
    monkeypatch.setenv("TRAINBAR_STALL", "0.2")  # a 50 ms round, so the thread leaves quickly

    def watchdog_thread():
        return next((t for t in threading.enumerate() if t.name == "trainbar-watchdog"), None)

    with trainbar.bar(total=1, file=io.StringIO()):
        running = watchdog_thread()
        assert running is not None and running.daemon
    running.join(5)
    assert not running.is_alive()
    with trainbar.bar(total=1, file=io.StringIO()):
        assert watchdog_thread() is not None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_starts_no_watchdog_until_it_opens_a_bar():
    """A forked child (a DataLoader worker) inherits no watchdog thread; its own bar starts one."""
    parent_bar = trainbar.bar(total=1, file=io.StringIO())
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, then leave without running pytest's exit
        code = 1
        try:
            names = [t.name for t in threading.enumerate()]
            before = "trainbar-watchdog" in names
            with trainbar.bar(total=1, file=io.StringIO()):
                after = "trainbar-watchdog" in [t.name for t in threading.enumerate()]
            os.write(write, f"{before} {after}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    answer = os.read(read, 100).decode()
    os.close(read)
    parent_bar.close()
    assert os.waitstatus_to_exitcode(status) == 0
    assert answer == "False True"


def test_iteration_marks_the_data_phase_inside_next_and_the_body_after(manual):
    """A wrapped loop stores `data` while it waits for an item and `body` while it runs the step."""
    clock, display = manual
    seen_in_next = []
    b = None

    def source():
        for i in range(3):
            seen_in_next.append(b._where)
            yield i

    b = trainbar.bar(source(), total=3, file=io.StringIO())
    in_body = [b._where for _ in b]
    assert seen_in_next == ["data"] * 3 and in_body == ["body"] * 3


def test_waiting_for_the_first_batch_is_shown_instead_of_zero_percent(manual):
    """Until the first item arrives, the bar says it is waiting, with the elapsed time moving."""
    clock, display = manual
    lines = []

    def source():
        clock.advance(65)
        lines.append(trainbar.render.plain.log_line(b.snapshot(clock())))
        yield 1

    b = trainbar.bar(source(), total=1, desc="train", file=io.StringIO())
    list(b)
    assert lines == ["train: waiting for first batch, elapsed 01:05"]


def test_stall_counter_starts_after_a_bar_is_first_seen_late(manual):
    """A bar that stepped before the watchdog first looked still counts that as progress."""
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=out)
    clock.advance(5.0)
    b.update()
    display.watchdog.check()
    track = display.watchdog.tracks[threading.get_ident()]
    assert list(track.first_waits) == [5.0]


if sys.platform.startswith("linux"):

    def test_dead_worker_state_is_read_without_reaping_it():
        """A worker that exited is reported with its exit code, and left for its parent to reap."""
        from trainbar.stall import diagnose as _diagnose

        pid = os.fork()
        if pid == 0:
            os._exit(3)
        try:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # until it exits, leaving it unreaped
            letter, status = _diagnose._proc_state(pid)
            assert letter == "Z" and _diagnose._exit_text(status) == "exited with code 3"
        finally:
            _, waited = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(waited) == 3


@pytest.fixture
def reset_configure():
    yield
    _settings.reset()


def test_configure_stall_wins_over_the_environment(manual, monkeypatch, reset_configure):
    """configure(stall=5) sets a fixed threshold at once, for a bar already open, over TRAINBAR_STALL."""
    monkeypatch.setenv("TRAINBAR_STALL", "off")
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=10, desc="train", file=out)  # noqa: F841
    trainbar.configure(stall=5)
    clock.advance(5)
    display.watchdog.check()
    assert "(threshold 5s)" in out.getvalue()


def test_configure_stall_off_and_back_to_the_environment(monkeypatch, reset_configure):
    """configure(stall="off") disables detection; configure(stall=None) defers to TRAINBAR_STALL again."""
    monkeypatch.setenv("TRAINBAR_STALL", "7")
    trainbar.configure(stall="off")
    assert not _watchdog.Settings.from_env().enabled
    trainbar.configure(stall=None)
    assert _watchdog.Settings.from_env().threshold == 7.0


def test_configure_on_stall_hears_every_stall(manual, reset_configure):
    """configure(on_stall=) is called for a stall of any bar of the process."""
    clock, display = manual
    calls = []
    trainbar.configure(on_stall=calls.append)
    b = trainbar.bar(total=100, desc="train", file=io.StringIO())
    steady(clock, display, b, 10, 1.0)
    clock.advance(31)
    display.watchdog.check()
    assert [info["desc"] for info in calls] == ["train"]


def test_configure_refuses_bad_stall_settings(reset_configure):
    """Bad stall settings raise at the call, naming the argument."""
    with pytest.raises(ValueError, match="stall"):
        trainbar.configure(stall=0)
    with pytest.raises(TypeError, match="stall"):
        trainbar.configure(stall="soon")
    with pytest.raises(TypeError, match="on_stall"):
        trainbar.configure(on_stall=3)


def test_event_stream_records_the_real_stall_and_recovery(manual, monkeypatch, tmp_path):
    """With TRAINBAR_JSONL, the watchdog's stall and recovery land in the file as strict JSON."""
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "run.jsonl"))
    clock, display = manual
    b = trainbar.bar(total=100, desc="train", file=io.StringIO())
    steady(clock, display, b, 10, 1.0)
    clock.advance(31)
    display.watchdog.check()
    steady(clock, display, b, 1, 1.0)
    b.close()
    for stream in trainbar.events.stream.streams(display):
        stream.stop()
    events = [json.loads(line) for line in (tmp_path / "run.jsonl").read_text().splitlines()]
    stall = next(e for e in events if e["event"] == "stall")
    recover = next(e for e in events if e["event"] == "recover")
    assert stall["desc"] == "train" and stall["stall"]["seconds"] == 31 and stall["stall"]["phase"] == "unknown"
    assert stall["stall"]["report"].startswith('trainbar: stall in "train"')
    assert recover["stall"]["seconds"] == 32 and recover["stall"]["stalled_at"] == 10


def test_elapsed_time_keeps_moving_while_a_step_runs(manual):
    """Redraws during one long step show the elapsed time growing, with no update() call."""
    from conftest import FakeTerminal

    clock, display = manual
    term = FakeTerminal()
    b = trainbar.bar(total=10, desc="train", file=term)
    b.update()
    frames = []
    for _ in range(3):
        clock.advance(30)
        display.tick()
        frames.append(term.getvalue().rsplit("train:", 1)[1])
    assert ["[00:30<" in frames[0], "[01:00<" in frames[1], "[01:30<" in frames[2]] == [True] * 3


def test_a_pause_suspends_stall_verdicts_until_it_ends(manual):
    """`with bar.pause("checkpoint")` announces a long stretch: no stall in it, the clock restarts after."""
    clock, display = manual
    out = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=out)
    steady(clock, display, b, 10, 1.0)
    with b.pause("checkpoint"):
        for _ in range(10):
            clock.advance(60)
            display.watchdog.check()
    assert stalls_in(out.getvalue()) == 0
    assert_stall_after(clock, display, out, quiet=29, then=1)


def test_a_loop_inside_a_pause_is_still_watched(manual):
    """A bar opened inside an outer bar's pause (an eval loop) is judged like any other."""
    clock, display = manual
    out = io.StringIO()
    train = trainbar.bar(total=100, desc="train", file=out)
    steady(clock, display, train, 10, 1.0)
    with train.pause("eval"):
        evaluation = trainbar.bar(total=10, desc="eval", file=out)
        steady(clock, display, evaluation, 3, 1.0)
        clock.advance(30)
        display.watchdog.check()
        evaluation.close()
    assert 'stall in "eval"' in out.getvalue()
