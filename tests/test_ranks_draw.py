"""Who draws in a distributed job: rank 0 by default, one leader per node, or every rank."""

import contextlib
import io
import os
import subprocess
import sys
import uuid

import pytest

import trainbar
from trainbar.distributed import leader as _leader
from trainbar.distributed import info as _rank


@pytest.fixture
def ranks(monkeypatch):
    """Make this process rank ``rank`` of ``world`` (torchrun's variables), with a fresh job id."""
    job = uuid.uuid4().hex

    def become(rank, world=4, local_world=None, node=None, **extra):
        local_world = world if local_world is None else local_world
        values = {"RANK": rank, "WORLD_SIZE": world, "LOCAL_RANK": rank % local_world,
                  "LOCAL_WORLD_SIZE": local_world, "GROUP_RANK": rank // local_world if node is None else node,
                  "TORCHELASTIC_RUN_ID": job, **extra}  # fmt: skip
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))
        _rank.forget()
        _leader.forget()
        return dict(os.environ)

    return become


def test_rank_zero_draws_by_default(manual, ranks):
    """Global rank 0 draws its bars."""
    ranks(0)
    stream = io.StringIO()
    trainbar.bar(total=3, desc="train", file=stream).close()
    assert "train:" in stream.getvalue()


def test_other_ranks_draw_nothing_but_count(manual, ranks):
    """Any other rank writes nothing, and its bar still counts."""
    ranks(1)
    stream = io.StringIO()
    b = trainbar.bar(total=3, file=stream)
    b.update(2)
    b.close()
    assert stream.getvalue() == ""
    assert b.n == 2


def test_write_prints_on_the_drawing_rank_only(manual, ranks, capsys):
    """trainbar.write and trainbar.print follow the same rule as the bars."""
    ranks(1)
    trainbar.write("from rank 1")
    trainbar.print("from rank 1 again")
    ranks(0)
    trainbar.write("from rank 0")
    assert capsys.readouterr().out == "from rank 0\n"


def test_writes_of_other_ranks_still_reach_listeners(manual, ranks, capsys):
    """A rank that does not print a message still tells its listeners (its event file)."""
    ranks(1)
    seen = []
    manual[1].subscribe(type("Listener", (), {"on_write": lambda self, text: seen.append(text)})())
    trainbar.write("from rank 1")
    assert (seen, capsys.readouterr().out) == (["from rank 1\n"], "")


def test_tqdm_default_follows_the_rule(manual, ranks):
    """tqdm's default disable=False does not make every rank draw."""
    ranks(2)
    stream = io.StringIO()
    trainbar.tqdm(range(3), file=stream).close()
    assert stream.getvalue() == ""


def test_disable_false_draws_on_any_rank(manual, ranks):
    """disable=False on a bar overrides the rank rule (mp_tqdm's escape hatch)."""
    ranks(3)
    stream = io.StringIO()
    trainbar.bar(total=3, desc="mine", disable=False, file=stream).close()
    assert "mine:" in stream.getvalue()


def test_disable_true_silences_rank_zero(manual, ranks):
    """disable=True turns even the drawing rank's bar off."""
    ranks(0)
    stream = io.StringIO()
    trainbar.bar(total=3, disable=True, file=stream).close()
    assert stream.getvalue() == ""


def test_all_ranks_draw_with_a_rank_prefix(manual, ranks, monkeypatch):
    """TRAINBAR_RANKS=all: every rank draws, its lines prefixed with [r<rank>]."""
    monkeypatch.setenv("TRAINBAR_RANKS", "all")
    ranks(3)
    stream = io.StringIO()
    trainbar.bar(total=3, desc="train", file=stream).close()
    assert stream.getvalue().splitlines()[0].startswith("[r3] train: 0% 0/3")


def test_all_ranks_write_with_a_rank_prefix(manual, ranks, monkeypatch, capsys):
    """TRAINBAR_RANKS=all: each line of a message carries the rank."""
    monkeypatch.setenv("TRAINBAR_RANKS", "all")
    ranks(2)
    trainbar.write("one\ntwo")
    assert capsys.readouterr().out == "[r2] one\n[r2] two\n"


def test_a_rank_number_chooses_the_drawing_rank(manual, ranks, monkeypatch):
    """TRAINBAR_RANKS=2 makes rank 2 the drawing rank, and rank 0 silent."""
    monkeypatch.setenv("TRAINBAR_RANKS", "2")
    ranks(0)
    assert not _leader.draws()
    ranks(2)
    assert _leader.draws()


def test_minus_one_is_the_last_rank(manual, ranks, monkeypatch):
    """TRAINBAR_RANKS=-1 picks the last rank, where pipeline-parallel runs have the loss."""
    monkeypatch.setenv("TRAINBAR_RANKS", "-1")
    ranks(3, world=4)
    assert _leader.draws()


def test_a_rank_number_outside_the_job_warns_and_keeps_rank_zero(manual, ranks, monkeypatch):
    """TRAINBAR_RANKS=7 in a job of 4 ranks is reported, and rank 0 draws."""
    monkeypatch.setenv("TRAINBAR_RANKS", "7")
    ranks(0, world=4)
    with pytest.warns(RuntimeWarning, match="not a rank of this job"):
        assert _leader.draws()


def test_unknown_setting_warns_and_keeps_rank_zero(manual, ranks, monkeypatch):
    """A TRAINBAR_RANKS value that means nothing is reported, and rank 0 draws."""
    monkeypatch.setenv("TRAINBAR_RANKS", "everyone-please")
    ranks(0)
    with pytest.warns(RuntimeWarning, match="TRAINBAR_RANKS"):
        assert _leader.draws()


def node_leader_elsewhere(environ) -> bool:
    """What another process of the job, with ``environ``, decides about leading its node."""
    code = "from trainbar.distributed import leader; print(leader.draws())"
    environ = dict(environ, PYTHONPATH=os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


@contextlib.contextmanager
def process_elsewhere(environ):
    """Another live process of the job with ``environ``: yields whether it leads its node, and
    ends it on leaving (as a rank that exits or is killed)."""
    code = "import sys; from trainbar.distributed import leader; print(leader.draws(), flush=True); sys.stdin.read()"
    environ = dict(environ, PYTHONPATH=os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen([sys.executable, "-c", code], env=environ, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        yield process.stdout.readline().strip() == "True"
    finally:
        process.kill()
        process.wait()


def test_local_rank_zero_leads_its_node_even_when_it_asks_last(manual, ranks, monkeypatch):
    """TRAINBAR_RANKS=node: local rank 1 opening a bar first does not make it the leader, so
    the node's line never shows local rank 1's loss."""
    clock, _display = manual
    monkeypatch.setenv("TRAINBAR_RANKS", "node")
    mine = ranks(1, world=4, local_world=2)
    assert not _leader.draws()  # local rank 0 may simply not have started yet
    with process_elsewhere(dict(mine, RANK="0", LOCAL_RANK="0")) as zero_leads:
        assert zero_leads
        clock.advance(_leader.ARRIVAL_GRACE + 1)
        assert not _leader.draws()


def test_a_higher_local_rank_leads_once_the_lower_ones_never_came(manual, ranks, monkeypatch):
    clock, _display = manual
    monkeypatch.setenv("TRAINBAR_RANKS", "node")
    ranks(1, world=4, local_world=2)
    assert not _leader.draws()
    clock.advance(_leader.ARRIVAL_GRACE / 2)
    assert not _leader.draws()
    clock.advance(_leader.ARRIVAL_GRACE / 2)
    assert _leader.draws()


def test_the_next_local_rank_leads_as_soon_as_the_leader_is_gone(manual, ranks, monkeypatch):
    """The lock dies with its holder, however it ends: the lowest local rank still alive leads."""
    clock, _display = manual
    monkeypatch.setenv("TRAINBAR_RANKS", "node")
    mine = ranks(2, world=4, local_world=4)
    with process_elsewhere(dict(mine, RANK="0", LOCAL_RANK="0")) as zero_leads:
        with process_elsewhere(dict(mine, RANK="1", LOCAL_RANK="1")) as one_leads:
            assert zero_leads and not one_leads
            assert not _leader.draws()
        clock.advance(_leader.RECHECK)
        assert not _leader.draws()  # local rank 1 is gone, but 0 still leads
    clock.advance(_leader.RECHECK)
    assert _leader.draws()


def test_node_leader_does_not_trust_local_rank_zero(manual, ranks, monkeypatch):
    """With --virtual-local-rank every worker has LOCAL_RANK=0: the local rank is worked out
    from the global rank, so rank 0 leads, not whichever asked first."""
    monkeypatch.setenv("TRAINBAR_RANKS", "node")
    mine = ranks(1, world=4, local_world=2, LOCAL_RANK=0)
    assert not _leader.draws()
    assert node_leader_elsewhere(dict(mine, RANK="0"))


def test_two_processes_claiming_one_local_rank_are_told_apart_by_the_lock(manual, ranks, monkeypatch):
    monkeypatch.setenv("TRAINBAR_RANKS", "node")
    mine = ranks(0, world=4, local_world=2)
    assert _leader.draws()
    assert not node_leader_elsewhere(mine)


def test_without_a_lock_local_rank_zero_leads(manual, ranks, monkeypatch):
    monkeypatch.setenv("TRAINBAR_RANKS", "node")
    monkeypatch.setattr(_leader, "_lock_dir", lambda: None)
    ranks(1, world=4, local_world=2)
    assert not _leader.draws()
    ranks(2, world=4, local_world=2)
    assert _leader.draws()


def test_each_node_has_its_own_leader(manual, ranks, monkeypatch):
    """Two simulated nodes on one machine (GROUP_RANK 0 and 1) each get a leader."""
    monkeypatch.setenv("TRAINBAR_RANKS", "node")
    ranks(0, world=4, local_world=2)
    assert _leader.draws()
    other_node = dict(os.environ, RANK="2", LOCAL_RANK="0", GROUP_RANK="1")
    assert node_leader_elsewhere(other_node)


def test_two_jobs_on_one_host_each_have_a_leader(manual, ranks, monkeypatch):
    """torchrun without --rdzv-id: both jobs have the run id "none", and different masters."""
    monkeypatch.setenv("TRAINBAR_RANKS", "node")
    mine = ranks(0, world=2, local_world=2, TORCHELASTIC_RUN_ID="none", MASTER_ADDR="127.0.0.1", MASTER_PORT="29500")
    assert _leader.draws()
    assert node_leader_elsewhere(dict(mine, MASTER_PORT="29501"))


def test_node_bars_carry_the_node(manual, ranks, monkeypatch):
    """TRAINBAR_RANKS=node with several nodes: lines are prefixed with [n<node>]."""
    monkeypatch.setenv("TRAINBAR_RANKS", "node")
    ranks(2, world=4, local_world=2)
    stream = io.StringIO()
    trainbar.bar(total=3, desc="train", file=stream).close()
    assert stream.getvalue().startswith("[n1] train:")


