"""Real synchronous torchrun jobs (gloo, CPU, two ranks) with one faulty rank: the drawing rank's
progress line names it, and how soon.

Each job's output goes to a pipe read line by line as it arrives (log mode), so the test knows
when the fault happened (the faulty rank says so on its own) and when rank 0's line named it.
A job whose faulty rank never comes back is killed once it has been named.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch.distributed")

JOB = str(Path(__file__).parent / "jobs" / "sync_job.py")
SRC = str(Path(__file__).parent.parent / "src")


def run_job(until: str | None = None, timeout: float = 120.0, **settings) -> tuple:
    """Run the job; returns (lines, seconds from the fault to the first line containing ``until``)."""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1",
               TRAINBAR_MODE="log", TRAINBAR_LOG_INTERVAL="30", TRAINBAR_STALL="2",
               TRAINBAR_HEARTBEAT_TIMEOUT="4")  # fmt: skip
    for name in ("TRAINBAR_RANKS", "TRAINBAR_DISABLE", "TRAINBAR_GATHER", "CI"):
        env.pop(name, None)
    env.update({name: str(value) for name, value in settings.items()})
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "--monitor-interval", "60", JOB]  # fmt: skip
    job = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)  # fmt: skip
    lines, fault_at, named_after = [], None, None
    deadline = time.monotonic() + timeout
    try:
        for line in job.stdout:
            now = time.monotonic()
            lines.append(line.rstrip("\n"))
            if line.startswith("fault ") and fault_at is None:
                fault_at = now
            if until is not None and fault_at is not None and until in line and named_after is None:
                named_after = now - fault_at
                break
            if now > deadline:
                break
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
    return lines, named_after


def bar_lines(lines):
    return [line for line in lines if line.startswith("train:")]


def test_a_slow_rank_is_named_by_the_time_the_others_wait_for_it():
    """Rank 1 takes 0.3 s longer a step; in step with the others (they wait for it in every
    all-reduce), it is named by time: `r1 slow (others wait ...)`."""
    lines, _ = run_job(until="r1 slow (others wait", STEPS=60, STEP_SECONDS=0.05, SLOW_RANK=1, SLOW_SECONDS=0.3,
                       TRAINBAR_LOG_INTERVAL="1", FAULT_RANK=1, FAULT="none", FAULT_AT=0)  # fmt: skip
    named = [line for line in bar_lines(lines) if "r1 slow (others wait" in line]
    assert named, "\n".join(lines)
    assert not any("r0 slow" in line for line in bar_lines(lines))


def test_a_rank_hung_in_its_loader_is_named_on_the_line_within_seconds():
    """Rank 1's loader blocks. Its own watchdog sees it after 2 s; rank 0's line says where it
    is stuck at once (log mode writes the line then, not 30 s later), with no remaining time."""
    lines, after = run_job(until="stuck: r1 in data", STEPS=40, FAULT_RANK=1, FAULT="hang", HANG_SECONDS=60)
    assert after is not None, "\n".join(lines)
    assert after < 2 + 4, after  # the stall threshold, then a publication and a read or two
    named = next(line for line in bar_lines(lines) if "stuck: r1 in data" in line)
    assert "remaining ?" in named


def test_a_stopped_rank_is_named_by_its_heartbeat():
    """SIGSTOP on rank 1: its records stop. Rank 0's line says `no heartbeat: r1` at the timeout
    (4 s here), at once in a log, with no remaining time."""
    lines, after = run_job(until="no heartbeat: r1", STEPS=60, FAULT_RANK=1, FAULT="stop", FAULT_AT=30)
    assert after is not None, "\n".join(lines)
    assert after < 4 + 4, after
    named = next(line for line in bar_lines(lines) if "no heartbeat: r1" in line)
    assert "remaining ?" in named


def test_a_killed_rank_is_named_on_the_interrupted_line():
    """SIGKILL on rank 1: rank 0's all-reduce fails at once, long before any heartbeat times out.
    Its interrupted last line names the rank that is gone, not a stale comparison."""
    lines, _ = run_job(until=" interrupted", STEPS=60, FAULT_RANK=1, FAULT="kill", FAULT_AT=30, timeout=60)
    final = [line for line in bar_lines(lines) if line.endswith("interrupted")]
    assert len(final) == 1, "\n".join(lines)
    assert "exited: r1" in final[0] and "slowest" not in final[0], final[0]


# --- the same faults on a terminal: rank 0's live region, the other ranks sharing the tty ----


def run_job_in_pty(tmp_path, until: str, timeout: float = 90.0, **settings):
    """Run the job on a real terminal until ``until`` shows; returns (result, seconds from the
    fault to then). The faulty rank marks the moment in a file, so the screen holds only what
    trainbar and torchrun print."""
    from ptyrun import child_environment, run_in_pty

    mark = tmp_path / "fault"
    env = child_environment(PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1",
                            TRAINBAR_STALL="2", TRAINBAR_HEARTBEAT_TIMEOUT="4", FAULT_FILE=str(mark),
                            **{name: str(value) for name, value in settings.items()})  # fmt: skip
    seen = []

    def named(session):
        seen.append(time.time())
        os.killpg(session.proc.pid, signal.SIGKILL)  # the job's whole process group

    script = f"""
        import runpy, sys
        sys.argv = ["torchrun", "--standalone", "--nproc-per-node", "2", "--monitor-interval", "60", {JOB!r}]
        runpy.run_module("torch.distributed.run", run_name="__main__")
    """
    result = run_in_pty(script, rows=50, cols=250, timeout=timeout, env=env, triggers=[(until.encode(), named)])
    fault_at = float(mark.read_text()) if mark.exists() else None
    return result, (seen[0] - fault_at) if seen and fault_at is not None else None


def live_bars(result, marker: str | None = None) -> list:
    """The bar lines on the screen: as it stood right after ``marker`` first showed (before the
    job was killed and its dying processes printed over it), or at the end."""
    if marker is None:
        lines = result.lines
    else:
        screen = next(iter(result.screens_after(marker.encode())))
        lines = [row.rstrip() for row in screen.display]
    return [line for line in lines if line.startswith("train:")]


def test_on_a_terminal_a_rank_hung_in_its_loader_is_named_in_the_live_line(tmp_path):
    result, after = run_job_in_pty(tmp_path, "stuck: r1 in data", STEPS=40, FAULT_RANK=1, FAULT="hang",
                                   HANG_SECONDS=60)  # fmt: skip
    assert after is not None and after < 2 + 4, (after, result)
    assert result.output.count(b"trainbar: stall in") <= 1, result  # the job's one report
    assert len(live_bars(result, "stuck: r1 in data")) == 1, result  # nothing tore the live region


def test_on_a_terminal_a_stopped_rank_is_named_by_its_heartbeat(tmp_path):
    result, after = run_job_in_pty(tmp_path, "no heartbeat: r1", STEPS=60, FAULT_RANK=1, FAULT="stop", FAULT_AT=30)
    assert after is not None and after < 4 + 4, (after, result)
    assert len(live_bars(result, "no heartbeat: r1")) == 1, result


def test_on_a_terminal_a_killed_rank_is_named_on_the_interrupted_line(tmp_path):
    result, _ = run_job_in_pty(tmp_path, " interrupted", STEPS=60, FAULT_RANK=1, FAULT="kill", FAULT_AT=30)
    (final,) = [line for line in live_bars(result, " interrupted") if "interrupted" in line] or [None]
    assert final is not None and "exited: r1" in final, result


def test_on_a_terminal_a_slow_rank_is_named_by_time(tmp_path):
    result, _ = run_job_in_pty(tmp_path, "r1 slow (others wait", STEPS=60, STEP_SECONDS=0.05, SLOW_RANK=1,
                               SLOW_SECONDS=0.3, FAULT_RANK=1, FAULT="none", FAULT_AT=0)  # fmt: skip
    shown = live_bars(result, "r1 slow (others wait")
    assert any("r1 slow (others wait" in line for line in shown), result
    assert not any("r0 slow" in line for line in shown), result
