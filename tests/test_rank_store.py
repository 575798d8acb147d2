"""Gathering through a real TCPStore: torchrun's agent store reached by a client of our own."""

import io

import pytest

import trainbar
from trainbar.distributed import info as _rank
from trainbar.distributed import store as keys
from trainbar.distributed.gather import RankGatherer
from trainbar.distributed.record import Level, Record, decode, encode

dist = pytest.importorskip("torch.distributed")


@pytest.fixture
def agent_store(monkeypatch):
    """A TCPStore server standing in for torchrun's agent, and the variables torchrun sets."""
    from datetime import timedelta

    server = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False, timeout=timedelta(seconds=5))
    for name, value in (("TORCHELASTIC_USE_AGENT_STORE", "True"), ("MASTER_ADDR", "127.0.0.1"),
                        ("MASTER_PORT", str(server.port)), ("TORCHELASTIC_RUN_ID", "test-job")):  # fmt: skip
        monkeypatch.setenv(name, value)
    holder = {"server": server}
    del server
    yield holder  # a test may drop the server: the holder has the only reference
    holder.clear()


def other_rank(server, rank, n):
    client = dist.PrefixStore(f"trainbar/{_rank.job_id()}", dist.TCPStore("127.0.0.1", server.port, is_master=False))
    record = Record(seq=1, host="h", pid=rank, node="h", levels=(Level(n, 100, 5.0, "running"),))
    client.set(keys.rank_key(rank), encode(record))


def test_connects_to_the_agent_store_and_reads_every_rank(manual, agent_store):
    """Under torchrun, with no process group yet, the agent's store is used under our prefix."""
    clock, display = manual
    g = RankGatherer(display, _rank.RankInfo(0, 3, 0, 3, 0, "torchrun"), reads=True, threaded=False)
    display.subscribe(g)
    b = trainbar.bar(total=100, file=io.StringIO())
    b.update(40)
    other_rank(agent_store["server"], 1, 38)
    display.tick()
    assert g.step()
    assert decode(agent_store["server"].get(f"trainbar/{_rank.job_id()}/r0")).levels[0].n == 40
    assert [state.state for state in g.view.ranks] == ["running", "running", "missing"]


@pytest.mark.reliability(
    "Distributed",
    "the job's store dies mid-run (its TCPStore server stops)",
    "one warning on the drawing rank; its bars go on without the other ranks",
)
def test_a_store_that_goes_away_turns_gathering_off(manual, agent_store):
    """When the store's server dies, one warning, and the bar goes on drawing."""
    clock, display = manual
    g = RankGatherer(display, _rank.RankInfo(0, 2, 0, 2, 0, "torchrun"), reads=True, threaded=False)
    display.subscribe(g)
    stream = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=stream)
    display.tick()
    assert g.step()
    agent_store.clear()  # the last reference: the server stops
    with pytest.warns(RuntimeWarning, match="gathering is off"):
        for _ in range(5):
            if not g.step():
                break
    b.update(5)
    b.close()
    assert g.off and stream.getvalue().splitlines()[-1].startswith("train: 5% 5/100")
