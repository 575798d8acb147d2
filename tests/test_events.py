"""The event stream: TRAINBAR_JSONL / trainbar.configure(jsonl=) write each bar's life as JSON lines."""

import io
import json
import os
import socket
import warnings

import pytest

import trainbar
from trainbar import _settings
from trainbar.runtime import runtime as _runtime
from trainbar.events import stream as _events
from trainbar.sinks.file import AppendFile


@pytest.fixture(autouse=True)
def forget_configuration():
    """A configure() call in one test must not write events in the next."""
    yield
    display = _runtime.current()
    for stream in _events.streams(display):
        stream.stop()
    _settings.reset()


def read(path):
    """Every line of an event file, parsed strictly (a bare NaN or Infinity fails)."""

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return [json.loads(line, parse_constant=refuse) for line in path.read_text(encoding="utf-8").splitlines()]


def kinds(events):
    return [event["event"] for event in events]


def quiet_bar(**options):
    return trainbar.bar(file=io.StringIO(), **options)


def test_open_periodic_progress_and_close(manual, monkeypatch, tmp_path):
    """A bar writes `open`, a `progress` every interval (5 s here), and `close`, with its numbers."""
    path = tmp_path / "run.jsonl"
    monkeypatch.setenv("TRAINBAR_JSONL", str(path))
    monkeypatch.setenv("TRAINBAR_JSONL_INTERVAL", "5")
    clock, display = manual
    b = quiet_bar(total=100, desc="train", unit="step")
    for _ in range(12):
        clock.advance(1.0)
        b.update(1, loss=0.5)
        display.tick()
    b.close()
    events = read(path)
    assert kinds(events) == ["open", "progress", "progress", "close"]
    assert [event["n"] for event in events] == [0, 5, 10, 12]
    assert [round(event["time"] - events[0]["time"], 6) for event in events] == [0, 5, 10, 12]
    assert events[1]["metrics"] == {"loss": 0.5} and events[1]["elapsed"] == 5.0 and events[1]["rate"] == 1.0
    assert events[-1]["status"] == "done" and events[-1]["total"] == 100 and events[-1]["unit"] == "step"


def test_progress_volume_does_not_depend_on_steps(manual, monkeypatch, tmp_path):
    """A million updates in 60 s make as many lines as a thousand: progress is time-based."""
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "{pid}.jsonl"))
    clock, display = manual
    counts = []
    for steps in (1_000, 1_000_000):
        b = quiet_bar(total=steps)
        for _ in range(60):
            clock.advance(1.0)
            b.update(steps // 60)
            display.tick()
        b.close()
        counts.append(len(read(tmp_path / f"{os.getpid()}.jsonl")))
    assert counts[1] - counts[0] == counts[0] == 14  # open, one progress each 5 s, close


def test_bad_interval_warns_and_uses_the_default(manual, monkeypatch, tmp_path):
    """TRAINBAR_JSONL_INTERVAL that is not a positive number: one warning, then 5 s."""
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "run.jsonl"))
    monkeypatch.setenv("TRAINBAR_JSONL_INTERVAL", "soon")
    clock, display = manual
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b = quiet_bar(total=10)
    assert any("TRAINBAR_JSONL_INTERVAL" in str(w.message) for w in caught)
    clock.advance(4.9)
    display.tick()
    clock.advance(0.1)
    display.tick()
    b.close()
    assert kinds(read(tmp_path / "run.jsonl")) == ["open", "progress", "close"]


def test_nested_bars_name_their_parent(manual, monkeypatch, tmp_path):
    """Each bar has its own id; an inner bar's `parent` is the outer bar's id; top-level is null."""
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "run.jsonl"))
    for _epoch in trainbar.bar(range(2), desc="epoch", file=io.StringIO()):
        for _step in trainbar.bar(range(3), desc="step", file=io.StringIO()):
            pass
    opens = [event for event in read(tmp_path / "run.jsonl") if event["event"] == "open"]
    outer, inner = opens[0], opens[1:]
    assert outer["parent"] is None and [event["parent"] for event in inner] == [outer["bar"]] * 2
    assert len({event["bar"] for event in opens}) == 3


def test_every_event_says_version_rank_host_and_pid(manual, monkeypatch, tmp_path):
    """v, rank (from the launcher's environment), host and pid are on every line."""
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "run.jsonl"))
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "4")
    b = quiet_bar(total=2)
    trainbar.write("hello", file=io.StringIO())
    b.close()
    events = read(tmp_path / "run.jsonl")
    assert kinds(events) == ["open", "write", "close"]
    for event in events:
        assert (event["v"], event["rank"], event["host"], event["pid"]) == (1, 2, socket.gethostname(), os.getpid())


@pytest.mark.parametrize(
    "launcher",
    [{"RANK": "3", "WORLD_SIZE": "4"}, {"SLURM_STEP_ID": "0", "SLURM_PROCID": "3", "SLURM_NTASKS": "4"},
     {"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "4"}, {"PMI_RANK": "3", "PMI_SIZE": "4"}],
)  # fmt: skip
def test_rank_in_the_path_gives_one_file_per_rank(manual, monkeypatch, tmp_path, launcher):
    """`{rank}` in the path becomes the rank the launcher set."""
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "events" / "run.{rank}.jsonl"))
    for name, value in launcher.items():
        monkeypatch.setenv(name, value)
    quiet_bar(total=1).close()
    assert [event["rank"] for event in read(tmp_path / "events" / "run.3.jsonl")] == [3, 3]


def test_rank_is_zero_outside_a_distributed_job():
    """No launcher variable: a single process is rank 0."""
    assert _events.process_rank() == 0


def test_environment_is_read_once_at_the_first_bar(manual, monkeypatch, tmp_path):
    """TRAINBAR_JSONL set after the process's first bar opened changes nothing."""
    first = quiet_bar(total=1)
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "late.jsonl"))
    quiet_bar(total=1).close()
    first.close()
    assert not (tmp_path / "late.jsonl").exists()


def test_write_event_holds_the_message(manual, monkeypatch, tmp_path):
    """trainbar.write() becomes a `write` event with the text as printed."""
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "run.jsonl"))
    b = quiet_bar(total=1)
    trainbar.write("epoch 1:", "done", file=io.StringIO())
    b.close()
    assert read(tmp_path / "run.jsonl")[1]["text"] == "epoch 1: done\n"


def test_non_finite_and_unreadable_metrics_still_make_strict_json(manual, monkeypatch, tmp_path):
    """NaN and inf metrics are written by name; a metric that raises is null; every line parses."""
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "run.jsonl"))

    def broken():
        raise RuntimeError("no value")

    b = quiet_bar(total=3)
    b.update(1, loss=float("nan"), grad=float("-inf"), bad=broken, note="warm-up")
    b.close()
    assert read(tmp_path / "run.jsonl")[-1]["metrics"] == {"loss": "NaN", "grad": "-Infinity", "bad": None, "note": "warm-up"}


def test_bars_that_are_not_drawn_still_write_events(manual, monkeypatch, tmp_path):
    """TRAINBAR_MODE=off silences the display, not the event stream (quiet logs, full events)."""
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "run.jsonl"))
    monkeypatch.setenv("TRAINBAR_MODE", "off")
    for _ in trainbar.bar(range(3), desc="quiet"):
        pass
    assert kinds(read(tmp_path / "run.jsonl")) == ["open", "close"]


def test_configure_starts_at_once_announcing_open_bars(manual, tmp_path):
    """configure(jsonl=) during a run writes an `open` for each live bar, parents first, then goes on."""
    clock, display = manual
    outer = quiet_bar(total=2, desc="epoch")
    inner = quiet_bar(total=5, desc="step")
    trainbar.configure(jsonl=tmp_path / "run.jsonl")
    inner.close()
    outer.close()
    events = read(tmp_path / "run.jsonl")
    assert [(e["event"], e["desc"]) for e in events] == [("open", "epoch"), ("open", "step"), ("close", "step"), ("close", "epoch")]
    assert events[1]["parent"] == events[0]["bar"]


def test_configure_none_stops_the_stream(manual, monkeypatch, tmp_path):
    """configure(jsonl=None) stops writing, also when TRAINBAR_JSONL asked for events."""
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "run.jsonl"))
    b = quiet_bar(total=2)
    trainbar.configure(jsonl=None)
    b.close()
    quiet_bar(total=1).close()
    assert kinds(read(tmp_path / "run.jsonl")) == ["open"]


def test_configure_wins_over_the_environment(manual, monkeypatch, tmp_path):
    """A path given to configure() is used instead of TRAINBAR_JSONL."""
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "env.jsonl"))
    trainbar.configure(jsonl=str(tmp_path / "code.jsonl"))
    quiet_bar(total=1).close()
    assert not (tmp_path / "env.jsonl").exists() and kinds(read(tmp_path / "code.jsonl")) == ["open", "close"]


@pytest.mark.parametrize(("value", "error"), [(3, TypeError), (b"x.jsonl", TypeError), ("", ValueError)])
def test_configure_rejects_what_is_not_a_path(value, error):
    """A bad jsonl= raises at the call, naming the argument."""
    with pytest.raises(error, match="jsonl"):
        trainbar.configure(jsonl=value)


def test_stall_and_recover_hooks_write_events(manual, monkeypatch, tmp_path):
    """The watchdog's on_stall/on_recover calls become `stall`/`recover` events about the bar."""
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "run.jsonl"))
    clock, display = manual
    b = quiet_bar(total=10, desc="train")
    display.notify("on_stall", b, {"seconds": 45.0, "phase": "waiting for data", "report": "stack..."})
    display.notify("on_recover", b, {"seconds": 73.5})
    display.notify("on_stall", None, {"seconds": 30.0})
    b.close()
    events = read(tmp_path / "run.jsonl")
    assert kinds(events) == ["open", "stall", "recover", "stall", "close"]
    assert events[1]["bar"] == events[0]["bar"] and events[1]["desc"] == "train"
    assert events[1]["stall"] == {"seconds": 45.0, "phase": "waiting for data", "report": "stack..."}
    assert events[2]["stall"] == {"seconds": 73.5}
    assert "bar" not in events[3] and events[3]["stall"] == {"seconds": 30.0}


def test_stall_info_that_is_not_a_dict_is_kept_as_the_report(manual, monkeypatch, tmp_path):
    """A hook called with plain text still writes a stall event; the stream stays on."""
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "run.jsonl"))
    clock, display = manual
    b = quiet_bar(total=10)
    display.notify("on_stall", b, "stuck in the loader")
    b.close()
    events = read(tmp_path / "run.jsonl")
    assert kinds(events) == ["open", "stall", "close"] and events[1]["stall"] == {"report": "stuck in the loader"}


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_failing_file_turns_the_stream_off_with_one_warning(manual, monkeypatch):
    """A file that cannot be written (a full disk): one warning naming it, and training goes on."""
    monkeypatch.setenv("TRAINBAR_JSONL", "/dev/full")
    clock, display = manual
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b = quiet_bar(total=100)
        for _ in range(100):
            clock.advance(1.0)
            b.update(1)
            display.tick()
        trainbar.write("still here", file=io.StringIO())
        b.close()
    relevant = [w for w in caught if "trainbar" in str(w.message)]
    assert len(relevant) == 1 and "/dev/full" in str(relevant[0].message) and "training goes on" in str(relevant[0].message)
    assert b.n == 100 and b.status == "done" and not _events.streams(display)


def test_unopenable_path_warns_once_and_bars_work(manual, monkeypatch, tmp_path):
    """A path that cannot be created: one warning when the first event is written, the bar works."""
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "a-file" / "run.jsonl"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in trainbar.bar(range(5), file=io.StringIO()):
            pass
        quiet_bar(total=1).close()
    assert len([w for w in caught if "writing events to" in str(w.message)]) == 1


def test_ticker_wakes_often_enough_for_progress(manual, monkeypatch, tmp_path):
    """The stream asks the ticker for at most a second between ticks, so progress is never late by more."""
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "run.jsonl"))
    monkeypatch.setenv("TRAINBAR_JSONL_INTERVAL", "30")
    clock, display = manual
    b = quiet_bar(total=1)
    assert display._interval() <= 1.0
    b.close()


def test_append_file_lines_stay_whole_with_two_writers(tmp_path):
    """Two writers on one file (a forked child, say): every line arrives whole."""
    path = str(tmp_path / "shared.jsonl")
    first, second = AppendFile(path), AppendFile(path)
    for i in range(200):
        (first if i % 2 else second).line(json.dumps({"i": i, "pad": "x" * (i * 37 % 3000)}))
    first.close()
    second.close()
    lines = open(path, encoding="utf-8").read().splitlines()
    assert sorted(json.loads(line)["i"] for line in lines) == list(range(200))


def test_append_file_starts_a_new_file_after_rotation(tmp_path):
    """Renamed away (log rotation), the file is created anew at the path before the next line."""
    path = tmp_path / "run.jsonl"
    sink = AppendFile(str(path))
    sink.line("one")
    path.rename(tmp_path / "run.jsonl.1")
    sink.line("two")
    sink.close()
    assert (tmp_path / "run.jsonl.1").read_text() == "one\n" and path.read_text() == "two\n"
