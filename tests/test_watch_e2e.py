"""End to end: a training process writes events, `trainbar watch` in another process follows them live."""

import json
import re
import subprocess
import sys
import textwrap
import time

import pytest

if sys.platform == "win32":
    pytest.skip("needs POSIX processes and a pseudo-terminal", allow_module_level=True)

from ptyrun import child_environment, run_in_pty  # noqa: E402

PRODUCER = textwrap.dedent(
    """
    import os, time, trainbar, warnings
    warnings.simplefilter("ignore")  # the NaN metric's one-time warning is not part of the bars
    for epoch in trainbar.bar(range(3), desc="epoch"):
        for step in trainbar.bar(range(25), desc="train", leave=False):
            time.sleep(float(os.environ.get("STEP_SECONDS", "0.02")))
            trainbar.log(loss=1.0 / (step + 1), grad=float("nan"))
        trainbar.write(f"epoch {epoch} done")
    """
)


def producer(path, *, rank=None, **env):
    """Start the training process, writing events to ``path`` every second; its own output is kept."""
    extra = dict(TRAINBAR_JSONL=str(path), TRAINBAR_JSONL_INTERVAL="1", **env)
    if rank is not None:
        extra.update(RANK=str(rank), WORLD_SIZE="2")  # a launcher sets both
    return subprocess.Popen(
        [sys.executable, "-c", PRODUCER], env=child_environment(**extra), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def watch_command(*files):
    return [sys.executable, "-m", "trainbar", "watch", "--exit-when-done", "--interval", "0.05", *map(str, files)]


def start_watch(*files, **env):
    """`trainbar watch` into a pipe, returned once it is following (it said it waits for the files)."""
    proc = subprocess.Popen(
        watch_command(*files), env=child_environment(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    first = proc.stdout.readline()
    assert first.startswith("trainbar watch: waiting for"), first + proc.stderr.read()
    return proc


def finish(proc, timeout=60):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def test_watch_follows_a_live_run_into_a_log(tmp_path):
    """Not on a terminal: periodic lines while the run goes, then the run's own final lines, then exit 0."""
    path = tmp_path / "run.jsonl"
    watch = start_watch(path, TRAINBAR_LOG_INTERVAL="1")
    code, _, own_log = finish(producer(path, STEP_SECONDS="0.04"))  # a run of 3 s: lines while it goes
    assert code == 0, own_log
    code, out, err = finish(watch)
    assert code == 0, err
    lines = out.splitlines()
    finals = [line for line in own_log.splitlines() if line.endswith(" done")]
    assert len(finals) == 4 and all(line in lines for line in finals), out
    assert [line for line in lines if re.fullmatch(r"epoch \d done", line)] == ["epoch 0 done", "epoch 1 done", "epoch 2 done"]
    midway = [line for line in lines if re.match(r"epoch(?: > train)?: ([1-9]|[1-9]\d)% ", line)]
    assert midway, f"no line between 0% and 100%: the run was not followed live\n{out}"


def test_watch_shows_one_file_per_rank_together(tmp_path):
    """Two ranks, two files: both followed at once, each line tagged with its rank."""
    paths = [tmp_path / "run.0.jsonl", tmp_path / "run.1.jsonl"]
    watch = start_watch(*paths)
    runs = [producer(tmp_path / "run.{rank}.jsonl", rank=rank) for rank in (0, 1)]
    assert [finish(run)[0] for run in runs] == [0, 0]
    code, out, err = finish(watch)
    assert code == 0, err
    for rank in (0, 1):
        assert f"[r{rank}] epoch 2 done" in out.splitlines()
        assert any(line.startswith(f"[r{rank}] epoch: 100% 3/3") for line in out.splitlines()), out


def test_watch_draws_a_live_run_on_a_terminal(tmp_path):
    """On a terminal, a live run is drawn as live bars; what stays is the final state, cursor visible."""
    path = tmp_path / "run.jsonl"
    runs = []
    result = run_in_pty(
        f"from trainbar.cli import main; raise SystemExit(main({watch_command(path)[3:]!r}))",
        cols=90,
        timeout=60,
        triggers=[(b"waiting for", lambda session: runs.append(producer(path)))],
    )
    assert finish(runs[0])[0] == 0
    assert result.returncode == 0, result
    assert result.lines[:3] == ["epoch 0 done", "epoch 1 done", "epoch 2 done"], result
    assert re.fullmatch(r"epoch: 100%\|█{40}\| 3/3 \[00:0\d, [\d.]+(it/s|s/it)\]", result.lines[3]), result
    assert len(result.lines) == 4 and not result.screen.cursor.hidden, result
    assert result.screen.overflows == [], result
    assert result.frames > 5, result  # drawn live, not once at the end


def test_watch_screen_is_the_runs_own_screen(tmp_path):
    """The run drawn in one terminal, its event file watched in another: the two screens are the same."""
    path = tmp_path / "run.jsonl"
    own = run_in_pty(
        PRODUCER + 'for _ in trainbar.bar(range(7), desc="eval", unit="batch", ascii=True): trainbar.log(acc=0.5)\n',
        cols=72,
        env=child_environment(TRAINBAR_JSONL=str(path)),
    )
    watched = run_in_pty(f"from trainbar.cli import main; raise SystemExit(main({watch_command(path)[3:]!r}))", cols=72)
    assert own.returncode == 0 and watched.returncode == 0, watched
    assert len(own.lines) == 5 and own.lines[-1].startswith("eval: 100%|#"), own
    assert watched.lines == own.lines, (own, watched)


def test_watch_into_a_pipe_closed_early_ends_quietly(tmp_path):
    """`trainbar watch run.jsonl | head -1`: once the reader is gone, watch exits 0 without a traceback."""
    path = tmp_path / "run.jsonl"
    # Written just now: a bar left open in 1970 would be shown as ended at once, and then watch
    # has nothing more to write, so nothing that could tell it the pipe is closed.
    event = {"v": 1, "event": "open", "time": time.time(), "pid": 1, "bar": 1, "parent": None, "n": 0, "total": 9}
    path.write_text(json.dumps(event) + "\n")
    command = [sys.executable, "-m", "trainbar", "watch", str(path)]
    proc = subprocess.Popen(command, env=child_environment(TRAINBAR_LOG_INTERVAL="1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().startswith(b"it: 0% 0/9")
    proc.stdout.close()
    assert proc.wait(timeout=30) == 0
    assert proc.stderr.read() == b""


def test_watch_expands_a_pattern_whose_files_appear_later(tmp_path):
    """`trainbar watch 'ev.*.jsonl'` started before any file exists (the shell passes the pattern as
    it is): the files the ranks create later are found and followed to the end (issue 16)."""
    pattern = str(tmp_path / "ev.*.jsonl")
    watch = start_watch(pattern)  # returns once watch said it waits for the pattern
    runs = [producer(tmp_path / "ev.{rank}.jsonl", rank=rank) for rank in (0, 1)]
    assert [finish(run)[0] for run in runs] == [0, 0]
    code, out, err = finish(watch)
    assert code == 0, err
    for rank in (0, 1):
        assert f"[r{rank}] epoch 2 done" in out.splitlines(), out
        assert any(line.startswith(f"[r{rank}] epoch: 100% 3/3") for line in out.splitlines()), out


KILLED = 'import time, trainbar\nfor _ in trainbar.bar(range(100000), desc="train"):\n    time.sleep(0.01)\n'


def test_killed_writer_is_shown_as_ended_and_the_watch_exits(tmp_path):
    """A writer killed without closing its bar: within seconds of its last event the watch says where
    it stopped and that its process is gone, and --exit-when-done ends it (issue 16)."""
    path = tmp_path / "run.jsonl"
    watch = start_watch(path, TRAINBAR_LOG_INTERVAL="1")
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED], env=child_environment(TRAINBAR_JSONL=str(path), TRAINBAR_JSONL_INTERVAL="1"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        opened = watch.stdout.readline()  # the log line of the bar opening: the writer is running
        assert opened.startswith("train: 0% 0/100000"), opened
        for line in watch.stdout:  # periodic lines, until one shows a progress event has come
            if re.match(r"train: \d+% [1-9]\d*/100000", line):
                break
    finally:
        writer.kill()
        writer.wait()  # reaped: its pid is gone, not a zombie
    code, out, err = finish(watch, timeout=30)
    assert code == 0, err
    ended = re.search(rf"^train: ended without close at (\d+)/100000 \(process {writer.pid} is gone\)$", out, re.M)
    assert ended and int(ended.group(1)) > 0, out
