"""Threads, fork and spawn: no lost counts, no deadlock, children never draw the parent's bars."""

import io
import multiprocessing
import os
import sys
import threading

import pytest

import trainbar


def reliability(tried, holds):
    return pytest.mark.reliability("Concurrency", tried, holds)


@reliability("8 threads updating one bar 100,000 times each", "no count is lost (GIL builds of CPython)")
def test_many_threads_update_one_bar():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows
    try:
        b = trainbar.bar(total=None, file=io.StringIO())
        threads = [threading.Thread(target=lambda: [b.update(1) for _ in range(100_000)]) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(previous)
    assert b.n == 800_000


@reliability("bars created and closed from 8 threads at once", "every bar opens and closes once, lines stay whole")
def test_bars_from_many_threads():
    stream = io.StringIO()
    errors = []

    def worker(index):
        try:
            for j in range(50):
                for _ in trainbar.bar(range(3), desc=f"t{index}-{j}", file=stream):
                    pass
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    lines = stream.getvalue().splitlines()
    closes = [line for line in lines if line.endswith("done")]
    assert len(closes) == 8 * 50
    assert all(": " in line for line in lines)


FORK_CHILD = """
import os, sys, time, trainbar
parent = trainbar.bar(total=1000, desc="parent", file=sys.stdout)
parent.update(10)
children = []
for i in range(20):
    pid = os.fork()
    if pid == 0:
        child = trainbar.bar(range(100), desc="child", file=sys.stderr)
        for _ in child:
            pass
        trainbar.write("child wrote", file=sys.stderr)
        trainbar.flush()  # os._exit skips the exit hook that writes what is still queued
        os._exit(0 if child.n == 100 else 3)
    children.append(pid)
    parent.update(1)
codes = [os.waitpid(pid, 0)[1] for pid in children]
parent.close()
print("exit codes", sorted(set(codes)))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@reliability("os.fork with a live bar and its ticker thread running, 20 times", "children never deadlock and never draw the parent's bar")
def test_fork_with_live_bars():
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINBAR_")}
    env["TRAINBAR_LOG_INTERVAL"] = "1"  # the parent's ticker keeps drawing while it forks
    result = subprocess.run([sys.executable, "-c", FORK_CHILD], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "exit codes [0]" in result.stdout
    assert "parent" not in result.stderr  # a child never drew the parent's bar
    assert result.stderr.count("child wrote") == 20


def _spawned_worker(index):
    stream = io.StringIO()
    for _ in trainbar.bar(range(1000), desc=f"worker {index}", file=stream):
        pass
    return stream.getvalue().splitlines()[-1]


@reliability("multiprocessing with the spawn start method", "bars work in every worker")
def test_spawned_workers():
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        lines = pool.map(_spawned_worker, range(4))
    assert [line.split(":")[0] for line in lines] == [f"worker {i}" for i in range(4)]
    assert all("1000/1000" in line for line in lines)
