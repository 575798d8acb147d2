"""A real torchrun job on the CPU (gloo) where one rank hangs in its data loader."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch.distributed")

JOB = str(Path(__file__).parent / "jobs" / "stall_job.py")
SRC = str(Path(__file__).parent.parent / "src")


@pytest.fixture(scope="module")
def job():
    """3 ranks; rank 1's seventh batch hangs 6 s; stalls are judged at 2 s."""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1",
               TRAINBAR_MODE="log", TRAINBAR_STALL="2", TRAINBAR_HEARTBEAT_TIMEOUT="30")  # fmt: skip
    for name in ("TRAINBAR_RANKS", "TRAINBAR_DISABLE", "TRAINBAR_GATHER", "CI"):
        env.pop(name, None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "3", JOB]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)


def reports(text, rank):
    """Rank ``rank``'s part of the job's stall report."""
    blocks = text.split('stall in "train" (rank ')[1:]
    return [block for block in blocks if block.startswith(f"{rank},")]


def test_stuck_rank_reports_its_own_stall_in_the_data_phase(job):
    """Rank 1 names itself and says it is waiting for data, with its own stack."""
    assert job.returncode == 0, job.stderr[-3000:]
    (report,) = reports(job.stderr, 1)
    assert "phase: waiting for data" in report and "time.sleep(hang)" in report


def test_the_job_prints_one_report_that_names_the_rank_in_another_phase(job):
    """Ranks 0 and 2 wait in the all-reduce (in their step: it is not marked); the job's one
    report puts rank 1 first and says to look there."""
    assert job.stderr.count("trainbar: stall in") == 1, job.stderr
    assert "trainbar: stall in the job: 3 ranks report no progress; the others wait on r1 (in data): look there first" in job.stderr
    assert job.stderr.index('(rank 1, pid') < job.stderr.index('(rank 0, pid') < job.stderr.index('(rank 2, pid')


def test_the_progress_line_names_the_rank_the_others_wait_on(job):
    stuck = [line for line in job.stderr.splitlines() if line.startswith("train:") and "stuck:" in line]
    assert stuck and all("stuck: r1 in data" in line for line in stuck), job.stderr


def test_the_recovery_is_reported(job):
    """Once rank 1's read returns, the drawing rank reports the recovery (the others' recoveries
    go to it through the store, and may not arrive when the job ends within a second)."""
    assert job.stderr.count('trainbar: "train" recovered after') >= 1


def test_a_finished_line_does_not_say_stuck(job):
    (final,) = [line for line in job.stderr.splitlines() if line.startswith("train:") and line.endswith(" done")]
    assert "stuck" not in final, final


def test_one_report_per_job_and_only_the_stuck_rank_dumps_its_threads(tmp_path):
    """The ranks that do not draw send their reports to the one that does: each appears once,
    and the all-threads dump comes from the stuck rank only (the others wait on it)."""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1",
               TRAINBAR_MODE="log", TRAINBAR_STALL="2", TRAINBAR_HEARTBEAT_TIMEOUT="30", STEPS="40",
               FAULT_RANK="1", FAULT="hang", HANG_SECONDS="13")  # fmt: skip
    for name in ("TRAINBAR_RANKS", "TRAINBAR_DISABLE", "TRAINBAR_GATHER", "CI"):
        env.pop(name, None)
    sync_job = str(Path(__file__).parent / "jobs" / "sync_job.py")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", sync_job]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    err = done.stderr
    assert err.count("trainbar: stall in") == 1, err
    assert err.count('stall in "train" (rank 1,') == 1 and err.count('stall in "train" (rank 0,') == 1, err
    dumps = [block for block in err.split("trainbar: still stalled")[1:]]
    assert len(dumps) == 1 and re.search(r'sync_job.py", line \d+ in loader', dumps[0]), err

