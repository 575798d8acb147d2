"""Bad input never turns a channel off; user text never reaches a terminal as a control; planted
paths are not followed; intervals have floors."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import warnings
from decimal import Decimal

import pytest

import trainbar
from conftest import FakeTerminal
from ptyrun import child_environment, run_in_pty
from trainbar import _settings
from trainbar.distributed import leader


def reliability(area, tried, holds):
    return pytest.mark.reliability(area, tried, holds)


class RaisingText:
    def __str__(self):
        raise RuntimeError("no text for you")

    __repr__ = __str__


BAD_METRICS = {
    "huge int": 10**400,
    "gigantic int": 10**5000,  # str() of it raises ValueError in CPython 3.11
    "raising __str__": RaisingText(),
    "complex": complex(1, 2),
    "nan": float("nan"),
    "long text": "x" * 100_000,
    "decimal": Decimal("1.5"),
}


@reliability("Numbers", "a metric of 10**400, 10**5000, NaN, complex, Decimal, 100,000 characters, or whose __str__ raises",
             "that value alone shows ? (or its text, cut); the display and the event stream stay on")  # fmt: skip
@pytest.mark.parametrize("kind", BAD_METRICS)
def test_one_bad_metric_never_turns_a_channel_off(manual, tmp_path, monkeypatch, kind):
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "events.jsonl"))
    clock, display = manual
    log, term = io.StringIO(), FakeTerminal(100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the NaN metric's one warning
        logged, drawn = trainbar.bar(total=10, desc="log", file=log), trainbar.bar(total=10, desc="term", file=term)
        for b in (logged, drawn):
            b.update(1, bad=BAD_METRICS[kind], loss=0.5)
        clock.advance(31)
        display.tick()
        for b in (logged, drawn):
            b.update(9, loss=0.25)
        display.tick()
        drawn.close()
        logged.close()
    final = log.getvalue().splitlines()[-1]
    assert final.startswith("log: 100% 10/10") and "loss=0.2500" in final and final.endswith("done")
    assert "term: 100%" in term.getvalue().splitlines()[-1] or "10/10" in term.getvalue()
    assert all(len(line) < 1000 for line in log.getvalue().splitlines())
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events if e.get("desc") == "log"][-1] == "close"
    assert events[-1]["metrics"]["loss"] == 0.25


@reliability("Numbers", "update(10**400), update(1j), update(nan), update(Decimal('2'))",
             "TypeError or ValueError naming n at the call, or it counts; the display stays on")  # fmt: skip
def test_bad_steps_raise_at_the_call_and_leave_the_display_on():
    stream = io.StringIO()
    b = trainbar.bar(total=10, desc="steps", file=stream)
    for step, error in ((10**400, ValueError), (1j, TypeError), (float("nan"), ValueError), (float("inf"), ValueError)):
        with pytest.raises(error, match=r"update\(n=\.\.\.\)"):
            b.update(step)
    b.update(Decimal("2"))
    b.update(8)
    b.close()
    assert stream.getvalue().splitlines()[-1].startswith("steps: 100% 10/10")


class BrokenLength:
    def __init__(self, how):
        self.how = how

    def __iter__(self):
        return iter(range(5))

    def __len__(self):
        if self.how == "raises":
            raise RuntimeError("no length")
        return -1


@reliability("Numbers", "an iterable whose __len__ raises RuntimeError or returns -1, and range(2**70)",
             "the bar iterates it with an unknown total")  # fmt: skip
@pytest.mark.parametrize("iterable", [BrokenLength("raises"), BrokenLength("negative"), range(2**70)],
                         ids=["raises", "negative", "range(2**70)"])  # fmt: skip
def test_a_length_that_fails_means_an_unknown_total(iterable):
    stream = io.StringIO()
    b = trainbar.bar(iterable, desc="walk", file=stream)
    assert b.total is None
    seen = 0
    for _ in b:
        seen += 1
        if seen == 5:
            break
    assert seen == 5


@reliability("Hostile text", "ascii='c\\x1bX', ascii='a', colour=['red'], colour='no-such-colour'",
             "TypeError or ValueError naming the argument at the call; hex colours and names are accepted")  # fmt: skip
def test_ascii_and_colour_are_checked_at_the_call():
    for ascii_chars, error in (("c\x1bX", ValueError), ("a", ValueError), ("日本", ValueError), (3, TypeError)):
        with pytest.raises(error, match="ascii"):
            trainbar.bar(total=1, ascii=ascii_chars, file=io.StringIO())
    for colour, error in ((["red"], TypeError), ("no-such-colour", ValueError), ("#12345", ValueError)):
        with pytest.raises(error, match="colour"):
            trainbar.bar(total=1, colour=colour, file=io.StringIO())
    for colour in ("red", "#00ff00", "#0f0", "GREEN"):
        trainbar.bar(total=1, colour=colour, ascii=" .:#", file=io.StringIO()).close()


@reliability("Output failures", "a description with a lone surrogate, written to a UTF-8 log file",
             "that character becomes ? on its line; every line is written")  # fmt: skip
def test_a_lone_surrogate_costs_one_character(tmp_path):
    path = tmp_path / "train.log"
    with open(path, "w", encoding="utf-8") as log:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for _ in trainbar.bar(range(3), desc="file \udc80 name", file=log):
                pass
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and lines[-1].startswith("file ? name: 100% 3/3")


@reliability("Output failures", "trainbar.write() of CJK text to an ASCII-only stdout while bars draw on stderr",
             "the text arrives with ? for what it cannot encode; the bars on stderr go on")  # fmt: skip
def test_unencodable_text_on_another_stream_leaves_the_bars_alone():
    result = run_in_pty(
        "import sys, trainbar\n"
        "sys.stdout.reconfigure(encoding='ascii')\n"
        "b = trainbar.bar(total=4, desc='bars')\n"
        "b.update(2)\n"
        "trainbar.write('loss 日本語 ok')\n"
        "b.update(2)\n"
        "b.close()\n",
        cols=80,
    )
    assert result.returncode == 0, result
    assert "loss ??? ok" in result.lines, result
    assert result.lines[-1].startswith("bars: 100%|"), result


@reliability("Hostile text", "U+2028 and U+2029 (line and paragraph separators) in a description",
             "the log line stays one line")  # fmt: skip
def test_line_separators_do_not_split_a_log_line():
    stream = io.StringIO()
    trainbar.bar(total=1, desc="a\u2028b\u2029c", file=stream).close()
    lines = stream.getvalue().splitlines()  # str.splitlines breaks at U+2028 and U+2029 too
    assert len(lines) == 2 and all(line.startswith("abc: 0% 0/1") for line in lines)


@reliability("Hostile text", "a 10,000-character CJK description on a terminal",
             "it is cut before any width work: a frame costs what a short one does")  # fmt: skip
def test_width_work_is_bounded_by_the_line_not_the_text():
    from trainbar.render import fmt

    calls = []
    real = fmt._char_width

    def counted(char):
        calls.append(char)
        return real(char)

    fmt._wide_width.cache_clear()
    try:
        fmt._char_width = counted
        term = FakeTerminal(100)
        b = trainbar.bar(total=10, desc="漢" * 10_000, file=term)
        b.update(5)
        assert trainbar.flush()
        b.close()
    finally:
        fmt._char_width = real
    assert len(calls) < 5000, len(calls)  # measured per frame on at most a line's worth, not 10,000


@reliability("Hostile text", "a stall report for a bar that draws nothing, whose description holds escape codes",
             "the report on standard error has no control character")  # fmt: skip
def test_stall_reports_are_sanitised(manual, capsys):
    clock, display = manual
    b = trainbar.bar(total=10, desc="\x1b[2J\x1b]8;;x\x07wiped\x07", disable=True)
    b.update(1)
    display.watchdog.check()
    clock.advance(700)
    display.watchdog.check()
    err = capsys.readouterr().err
    assert "stall" in err and "wiped" in err
    assert all(line.isprintable() for line in err.splitlines())


CRAFTED = [
    {"v": 1, "event": "open", "time": 1, "pid": 1, "bar": 1, "parent": None, "n": 1, "total": 9,
     "desc": "\x1b[2Jevil\x1b]0;title\x07", "display": {"ascii": "c\x1bX", "colour": "\x1b[31m"}},
    {"v": 1, "event": "write", "time": 1, "pid": 1, "text": "msg \x1bc\x1b[2J\x1b]8;;http://x\x07link\x1b]8;;\x07 end\n"},
    {"v": 1, "event": "close", "time": 2, "pid": 1, "bar": 1, "n": 9, "total": 9, "status": "done", "elapsed": 1,
     "desc": "\x1b[2Jevil\x1b]0;title\x07"},
]  # fmt: skip


@reliability("Hostile text", "trainbar watch fed crafted events: escapes in desc, ascii, colour and message text",
             "nothing but trainbar's own cursor controls reaches a terminal; nothing at all reaches a pipe")  # fmt: skip
def test_watch_sanitises_what_it_reads(tmp_path):
    path = tmp_path / "crafted.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in CRAFTED))
    piped = subprocess.run([sys.executable, "-m", "trainbar", "watch", "--exit-when-done", str(path)],
                           capture_output=True, timeout=60, env=child_environment())  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert all(line.isprintable() for line in piped.stdout.decode().splitlines()), piped.stdout
    assert b"evil" in piped.stdout and b"msg" in piped.stdout and b"link" in piped.stdout
    shown = run_in_pty(f"from trainbar.cli import main; raise SystemExit(main(['watch', '--exit-when-done', {str(path)!r}]))")
    assert shown.returncode == 0, shown
    for bad in (b"\x1bc", b"\x1b[2J", b"\x1b]", b"\x07", b"\x1bX", b"\x1b[31m"):
        assert bad not in shown.output, (bad, shown)
    assert any(line.startswith("evil: 100%") for line in shown.lines), shown


@reliability("Safety", "a symbolic link planted where the node-leader lock file goes, and a directory open to others",
             "the link is not followed (its target is untouched); the directory is refused; the leader falls back to local rank 0")  # fmt: skip
def test_a_planted_lock_path_is_not_followed(tmp_path, monkeypatch):
    monkeypatch.setattr(leader, "_lock_root", lambda: str(tmp_path))
    victim = tmp_path / "victim"
    victim.write_text("precious")
    folder = tmp_path / f"trainbar-{os.getuid()}"
    folder.mkdir(mode=0o700)
    planted = leader.Election(str(folder), "node-x", 0, now=0.0)
    os.symlink(victim, planted.path)
    assert planted.leads(0.0) is False
    assert victim.read_text() == "precious"
    os.unlink(planted.path)
    election = leader.Election(str(folder), "node-x", 0, now=0.0)
    assert election.leads(0.0) is True and oct(os.stat(election.path).st_mode & 0o777) == "0o600"
    election.release()
    assert not os.path.exists(election.path)
    folder.chmod(0o777)
    with pytest.warns(RuntimeWarning, match="not a private directory"):
        assert leader._lock_dir() is None


@reliability("Safety", "the per-user lock directory replaced by a symbolic link to another directory",
             "it is refused: nothing is created through the link")  # fmt: skip
def test_a_planted_lock_directory_link_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(leader, "_lock_root", lambda: str(tmp_path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / f"trainbar-{os.getuid()}").symlink_to(elsewhere)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert leader._lock_dir() is None
    assert list(elsewhere.iterdir()) == []


@reliability("Numbers", "TRAINBAR_LOG_INTERVAL, TRAINBAR_JSONL_INTERVAL and TRAINBAR_STALL of 1e-4",
             "each is raised to its floor (1 s) with one warning; lines come once a second, not thousands of times")  # fmt: skip
def test_intervals_below_the_floor_are_raised_to_it(manual, monkeypatch, tmp_path):
    monkeypatch.setenv("TRAINBAR_LOG_INTERVAL", "1e-4")
    monkeypatch.setenv("TRAINBAR_JSONL_INTERVAL", "1e-4")
    monkeypatch.setenv("TRAINBAR_STALL", "1e-4")
    monkeypatch.setenv("TRAINBAR_JSONL", str(tmp_path / "events.jsonl"))
    clock, display = manual
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings = _settings.current()
        stream = io.StringIO()
        b = trainbar.bar(total=10**6, file=stream)
        for _ in range(1000):  # ten seconds of ticks, every 10 ms
            clock.advance(0.01)
            b.update(1)
            display.tick()
        b.close()
    assert (settings.log_interval, settings.jsonl_interval, settings.stall) == (1.0, 1.0, 1.0)
    floors = [str(w.message) for w in caught if "floor" in str(w.message)]
    assert len(floors) == 3
    assert len(stream.getvalue().splitlines()) <= 12  # open, one a second, close
    assert len((tmp_path / "events.jsonl").read_text().splitlines()) <= 12
    assert math.isclose(display.watchdog._interval(), 0.25)
