"""Real jobs under torchrun on the CPU (gloo): one bar per job, the job's ranks on it, nodes.

Each job costs seconds on two cores (four Python processes importing torch), so there are two,
and several tests read each one's output. Output is in log mode with a short interval, so what
the drawing rank showed can be read line by line.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch.distributed")

JOB = str(Path(__file__).parent / "jobs" / "ranks_job.py")
SRC = str(Path(__file__).parent.parent / "src")
# torchrun's agent checks its workers every --monitor-interval seconds; a rank that dies is
# noticed then and the job stopped. Longer than the job, it lets the drawing rank report the
# dead rank first, as it does in a multi-node job where the agents take a while to react.
AGENT_PATIENCE = "30"


def environment(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1",
               TRAINBAR_MODE="log", TRAINBAR_LOG_INTERVAL="0.5", TRAINBAR_HEARTBEAT_TIMEOUT="2")  # fmt: skip
    for name in ("TRAINBAR_RANKS", "TRAINBAR_DISABLE", "TRAINBAR_GATHER", "CI"):
        env.pop(name, None)
    env.update({name: str(value) for name, value in extra.items()})
    return env


def torchrun(*arguments) -> list:
    return [sys.executable, "-m", "torch.distributed.run", *arguments, JOB]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bar_lines(text: str) -> list:
    return [line for line in text.splitlines() if "train:" in line]


@pytest.fixture(scope="module")
def four_ranks():
    """4 ranks, one process group: rank 3 twice as slow, rank 2 dies two seconds into the loop."""
    env = environment(INIT_PG=1, STEPS=160, STEP_SECONDS=0.05, SLOW_RANK=3, DIE_RANK=2, DIE_AT=40)
    command = torchrun("--standalone", "--nproc-per-node", "4", "--monitor-interval", AGENT_PATIENCE)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)


def test_four_ranks_draw_one_bar(four_ranks):
    """Four processes, one bar: a single start line and a single final line."""
    lines = bar_lines(four_ranks.stderr)
    assert sum(" 0% 0/160 " in line for line in lines) == 1
    assert sum(line.endswith(" done") for line in lines) == 1


def test_write_prints_once(four_ranks):
    """trainbar.write from every rank prints once, from rank 0."""
    assert four_ranks.stdout.count("job started") == 1
    assert "job started (rank 0)" in four_ranks.stdout


def test_the_slower_rank_is_named(four_ranks):
    """The drawing rank's line names rank 3, twice as slow, as behind and slowest."""
    lines = bar_lines(four_ranks.stderr)
    # "slowest r3 -40" from this rank's own place; "slowest r3 19" (its count) when this rank's
    # record could not be brought back to the others' moment, as on a loaded machine
    assert any("behind: r3;" in line and "slowest r3 " in line for line in lines), "\n".join(lines)


@pytest.mark.reliability(
    "Distributed",
    "a rank exits abruptly under torchrun (os._exit)",
    "the drawing rank names it (gone, on the same host at once; elsewhere when its heartbeat stops) and goes on",
)
def test_a_rank_that_dies_is_named(four_ranks):
    """Rank 2 exits abruptly; on this host its process is seen gone at the next read."""
    assert four_ranks.returncode != 0  # torchrun reports the dead rank too
    assert any("exited: r2" in line for line in bar_lines(four_ranks.stderr))


@pytest.fixture(scope="module")
def two_nodes():
    """Two torchrun agents sharing a c10d rendezvous: two simulated nodes of two ranks each.

    --virtual-local-rank gives every worker LOCAL_RANK=0, so a leader chosen by local rank would
    draw two bars per node.
    """
    port = free_port()
    env = environment(TRAINBAR_RANKS="node", STEPS=100, STEP_SECONDS=0.05)
    command = torchrun("--nnodes", "2", "--nproc-per-node", "2", "--rdzv-backend", "c10d", "--rdzv-endpoint",
                       f"127.0.0.1:{port}", "--rdzv-id", "trainbar-nodes", "--virtual-local-rank")  # fmt: skip
    agents = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(2)]  # fmt: skip
    try:
        return [agent.communicate(timeout=240) for agent in agents]
    finally:
        for agent in agents:
            agent.kill()


def test_each_node_draws_one_bar(two_nodes):
    """TRAINBAR_RANKS=node: each simulated node shows exactly one bar, not one per worker."""
    for _out, err in two_nodes:
        assert sum(" 0% 0/100 " in line for line in bar_lines(err)) == 1


def test_node_bars_say_which_node(two_nodes):
    """The two nodes' lines are prefixed [n0] and [n1]."""
    prefixes = {bar_lines(err)[0].split()[0] for _out, err in two_nodes}
    assert prefixes == {"[n0]", "[n1]"}


def test_node_leaders_gather_their_own_node(two_nodes):
    """Each node's bar sums up the two ranks of that node, not the whole job."""
    for _out, err in two_nodes:
        assert any("2 ranks" in line for line in bar_lines(err))
        assert not any("4 ranks" in line for line in bar_lines(err))


def test_each_node_writes_once(two_nodes):
    """trainbar.write prints once per node under TRAINBAR_RANKS=node."""
    for out, _err in two_nodes:
        assert out.count("job started") == 1


@pytest.fixture(scope="module")
def two_jobs():
    """Two torchrun jobs of two ranks on one host at once, each with the default run id "none"
    and a master port of its own, in node mode. In the first, local rank 0 starts two seconds
    after local rank 1."""
    env = environment(TRAINBAR_RANKS="node", STEPS=60, STEP_SECONDS=0.05)
    jobs = []
    for late in ({"LATE_RANK": "0", "LATE_SECONDS": "2"}, {}):
        command = torchrun("--nproc-per-node", "2", "--master-addr", "127.0.0.1", "--master-port", str(free_port()))
        jobs.append(subprocess.Popen(command, env=dict(env, **late), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True))  # fmt: skip
    try:
        return [job.communicate(timeout=240) for job in jobs]
    finally:
        for job in jobs:
            job.kill()


@pytest.mark.reliability(
    "Distributed",
    "TRAINBAR_RANKS=node, local rank 1 opens its bar before local rank 0 has started",
    "local rank 0 leads the node all the same: the line shows its metrics, never local rank 1's",
)
def test_the_node_line_shows_local_rank_zero_even_when_it_starts_last(two_jobs):
    _out, err = two_jobs[0]
    lines = bar_lines(err)
    assert sum(" 0% 0/60 " in line for line in lines) == 1, err
    assert not any("who=1" in line for line in lines), err
    assert all("who=0" in line for line in lines[1:]), err  # the opening line comes before any metric


@pytest.mark.reliability(
    "Distributed",
    "two torchrun jobs of one user on one host, both without --rdzv-id (run id 'none')",
    "each job draws its own bar: the master's port is part of the job's identity",
)
def test_two_jobs_on_one_host_both_draw(two_jobs):
    for _out, err in two_jobs:
        lines = bar_lines(err)
        assert sum(" 0% 0/60 " in line for line in lines) == 1, err
        assert sum(line.endswith(" done") for line in lines) == 1, err


@pytest.mark.reliability(
    "Distributed",
    "two torchrun jobs on one host, each on its own terminal, both with the run id 'none' (TRAINBAR_RANKS=node)",
    "each terminal shows its job's one live bar",
)
def test_two_jobs_on_one_host_each_draw_on_their_own_terminal():
    """The same two jobs as above, each in a pseudo-terminal (a tmux pane each, say)."""
    import threading

    from ptyrun import child_environment, run_in_pty

    results = {}

    def run(name: str) -> None:
        env = child_environment(PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1",
                                TRAINBAR_RANKS="node", STEPS="40", STEP_SECONDS="0.05")  # fmt: skip
        script = f"""
            import runpy, sys
            sys.argv = ["torchrun", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
                        "--master-port", "{free_port()}", {JOB!r}]
            runpy.run_module("torch.distributed.run", run_name="__main__")
        """
        results[name] = run_in_pty(script, rows=30, cols=200, timeout=120, env=env)

    threads = [threading.Thread(target=run, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results.values():
        assert result.returncode == 0, result
        bars = [line for line in result.lines if line.startswith("train:")]
        assert len(bars) == 1 and "40/40" in bars[0], result
