"""Publishing and gathering through a store: what goes in, what the drawing rank shows, failures."""

import io
import threading
import time
import warnings

import pytest

import trainbar
from trainbar.distributed import info as _rank
from trainbar.distributed import attach
from trainbar.distributed import gather
from trainbar.distributed import store as keys
from trainbar.distributed.gather import RankGatherer
from trainbar.distributed.record import Level, Record, decode, encode

from fakestore import FakeStore

INFO = _rank.RankInfo(0, 4, 0, 4, 0, "torchrun")


def gatherer(display, clock, store, *, info=INFO, reads=True, connect=None):
    g = RankGatherer(display, info, connect=connect or (lambda: store), reads=reads, threaded=False, timeout=5.0,
                     wall=lambda: clock.time)  # fmt: skip
    display.subscribe(g)
    return g


def publish_as(store, rank, n, clock, *, seq=1, total=100, rate=10.0):
    record = Record(seq=seq, host="h", pid=rank, node="h", levels=(Level(n, total, rate, "running"),), time=clock.time)
    store.set(keys.rank_key(rank), encode(record))


def test_a_rank_publishes_its_bar_under_its_number(manual):
    """After a tick and a publication, r<rank> holds the bar's counters."""
    clock, display = manual
    store = FakeStore()
    g = gatherer(display, clock, store, info=INFO._replace(rank=2), reads=False)
    b = trainbar.bar(total=50, file=io.StringIO())
    b.update(7)
    display.tick()
    g.step()
    record = decode(store.data["r2"])
    assert [(level.n, level.total) for level in record.levels] == [(7, 50)]


def test_nested_bars_are_published_outermost_first(manual):
    """The chain of open bars goes out as levels, epoch before step."""
    clock, display = manual
    store = FakeStore()
    g = gatherer(display, clock, store, reads=False)
    epochs = trainbar.bar(total=3, file=io.StringIO())
    epochs.update(1)
    steps = trainbar.bar(total=10, file=io.StringIO())
    steps.update(4)
    display.tick()
    g.step()
    assert [level.n for level in decode(store.data["r0"]).levels] == [1, 4]


def test_each_publication_moves_the_heartbeat(manual):
    """Every publication carries a higher sequence number, even when the counters stand still."""
    clock, display = manual
    store = FakeStore()
    g = gatherer(display, clock, store, reads=False)
    b = trainbar.bar(total=5, file=io.StringIO())  # noqa: F841 - kept open
    display.tick()
    g.step()
    first = decode(store.data["r0"]).seq
    display.tick()
    g.step()
    assert decode(store.data["r0"]).seq == first + 1


def test_the_drawing_rank_shows_the_job_on_its_bar(manual):
    """The drawing rank's line names the slowest and fastest ranks and the one behind."""
    clock, display = manual
    store = FakeStore()
    g = gatherer(display, clock, store)
    stream = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=stream)
    b.update(50)
    for other, n in ((1, 50), (2, 20), (3, 52)):
        publish_as(store, other, n, clock)
    display.tick()
    g.step()
    display.tick()
    b.close()
    assert stream.getvalue().splitlines()[-1] == (
        "train: 50% 50/100 elapsed 00:00 ?it/s 4 ranks; behind: r2; slowest r2 -30, fastest r3 +2 done"
    )


def test_other_notes_on_the_bar_are_kept(manual):
    """The summary takes its own place on the bar: another listener's note (a stall) stays."""
    clock, display = manual
    store = FakeStore()
    g = gatherer(display, clock, store)
    stream = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=stream)
    display.note(b, "stall", "stalled 40s")
    publish_as(store, 1, 0, clock)
    display.tick()
    g.step()
    display.tick()
    b.close()
    assert stream.getvalue().splitlines()[-1].endswith("?it/s stalled 40s 4 ranks; all in step done")


def test_the_read_is_one_request(manual):
    """The drawing rank reads all ranks with one multi_get per publication interval."""
    clock, display = manual
    store = FakeStore()
    g = gatherer(display, clock, store)
    b = trainbar.bar(total=10, file=io.StringIO())  # noqa: F841 - kept open
    for other in (1, 2, 3):
        publish_as(store, other, 1, clock)
    display.tick()
    g.step()
    store.calls.clear()
    g.step()
    assert store.operations() == ["set", "multi_get"]


@pytest.mark.reliability(
    "Distributed",
    "reading every rank is slow (a huge job, a loaded machine)",
    "reads are spaced out to stay within 2% of a core",
)
def test_slow_reads_are_spaced_out(manual):
    """A read that takes 0.1 s is not repeated for 5 s: reading stays within 2% of a core."""
    clock, display = manual
    store = FakeStore()
    slow_read = store.multi_get
    store.multi_get = lambda keys: clock.advance(0.1) and slow_read(keys)
    g = gatherer(display, clock, store)
    b = trainbar.bar(total=10, file=io.StringIO())  # noqa: F841 - kept open
    reads = []
    for _ in range(12):
        display.tick()
        g.step()
        reads.append(store.operations().count("multi_get"))
        clock.advance(1.0)
    assert reads == [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3]


def test_ranks_that_do_not_draw_never_read(manual):
    """A rank that draws nothing only publishes."""
    clock, display = manual
    store = FakeStore()
    g = gatherer(display, clock, store, info=INFO._replace(rank=1), reads=False)
    b = trainbar.bar(total=10, file=io.StringIO())  # noqa: F841 - kept open
    display.tick()
    g.step()
    assert store.operations() == ["set"]


def test_missing_keys_are_seeded_without_overwriting(manual):
    """Keys of ranks that have not published are seeded, so the read never waits; others are kept."""
    clock, display = manual
    store = FakeStore()
    publish_as(store, 1, 9, clock)
    g = gatherer(display, clock, store)
    b = trainbar.bar(total=10, file=io.StringIO())  # noqa: F841 - kept open
    display.tick()
    g.step()
    assert store.data["r2"] == store.data["r3"] == keys.PLACEHOLDER
    assert decode(store.data["r1"]).levels[0].n == 9


def test_no_store_yet_is_not_an_error(manual):
    """While no store is reachable, gathering waits quietly and starts once one appears."""
    clock, display = manual
    store = FakeStore()
    reachable = []
    g = gatherer(display, clock, store, connect=lambda: store if reachable else None)
    b = trainbar.bar(total=10, file=io.StringIO())  # noqa: F841 - kept open
    display.tick()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert g.step()
    reachable.append(True)
    g.step()
    assert "r0" in store.data


def test_a_failing_store_turns_gathering_off_with_one_notice(manual):
    """The first store error stops gathering with one warning on the drawing rank."""
    clock, display = manual
    store = FakeStore()
    g = gatherer(display, clock, store)
    b = trainbar.bar(total=10, file=io.StringIO())  # noqa: F841 - kept open
    display.tick()
    store.broken = ConnectionError("Broken pipe")
    with pytest.warns(RuntimeWarning, match="gathering is off") as caught:
        assert not g.step()
        assert not g.step()
    assert len(caught) == 1 and g.off


def test_after_a_store_failure_no_more_requests(manual):
    """Once gathering is off, the store is never asked again."""
    clock, display = manual
    store = FakeStore()
    g = gatherer(display, clock, store)
    b = trainbar.bar(total=10, file=io.StringIO())  # noqa: F841 - kept open
    display.tick()
    store.broken = ConnectionError("Broken pipe")
    with pytest.warns(RuntimeWarning):
        g.step()
    store.calls.clear()
    g.step()
    assert store.calls == []


def test_the_bar_goes_on_without_the_summary_after_a_failure(manual):
    """After a store failure the bar keeps drawing, without the other ranks."""
    clock, display = manual
    store = FakeStore()
    g = gatherer(display, clock, store)
    stream = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=stream)
    publish_as(store, 1, 0, clock)
    display.tick()
    g.step()
    display.tick()
    store.broken = ConnectionError("Broken pipe")
    with pytest.warns(RuntimeWarning):
        g.step()
    display.tick()
    b.update(10)
    b.close()
    assert stream.getvalue().splitlines()[-1] == "train: 10% 10/100 elapsed 00:00 ?it/s done"


@pytest.mark.reliability(
    "Distributed",
    "the store fails on a rank that does not draw",
    "that rank stops publishing, silently; its loop goes on",
)
def test_ranks_that_do_not_draw_fail_quietly(manual):
    """A non-drawing rank whose store fails stops publishing without printing anything."""
    clock, display = manual
    store = FakeStore()
    g = gatherer(display, clock, store, reads=False)
    b = trainbar.bar(total=10, file=io.StringIO())  # noqa: F841 - kept open
    display.tick()
    store.broken = ConnectionError("Broken pipe")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not g.step()


def test_node_leader_reads_only_its_node(manual, monkeypatch):
    """TRAINBAR_RANKS=node: the leader reads the ranks registered on its node, not the job."""
    monkeypatch.setenv("TRAINBAR_RANKS", "node")
    clock, display = manual
    store = FakeStore()
    info = _rank.RankInfo(2, 8, 0, 2, 1, "torchrun")
    g = gatherer(display, clock, store, info=info)
    store.append(keys.members_key(g.node), "3,")
    b = trainbar.bar(total=10, file=io.StringIO())  # noqa: F841 - kept open
    publish_as(store, 3, 1, clock)
    display.tick()
    g.step()
    assert [state.rank for state in g.view.ranks] == [2, 3]


def test_exit_publishes_a_last_record(manual):
    """At exit a rank marks its record exited, so it is not taken for a dead one."""
    clock, display = manual
    store = FakeStore()
    g = gatherer(display, clock, store, reads=False)
    b = trainbar.bar(total=10, file=io.StringIO())  # noqa: F841 - kept open
    display.tick()
    g.step()
    g.finish()
    assert decode(store.data["r0"]).state == "exited"


def test_a_pause_is_published_as_the_phase(manual):
    """``with bar.pause("eval")`` makes this rank's published phase ``eval``."""
    clock, display = manual
    store = FakeStore()
    g = gatherer(display, clock, store, reads=False)
    b = trainbar.bar(total=10, file=io.StringIO())
    with b.pause("eval"):
        display.tick()
        g.step()
    assert decode(store.data["r0"]).phase == "eval"


def test_phase_source_is_published(manual, monkeypatch):
    """A phase source (the stall watchdog's) puts this rank's phase in its record."""
    monkeypatch.setattr(gather, "phase_source", lambda chain: f"data:{len(chain)}")
    clock, display = manual
    store = FakeStore()
    g = gatherer(display, clock, store, reads=False)
    b = trainbar.bar(total=10, file=io.StringIO())  # noqa: F841 - kept open
    display.tick()
    g.step()
    assert decode(store.data["r0"]).phase == "data:1"


def test_gathering_can_be_turned_off(manual, monkeypatch):
    """TRAINBAR_GATHER=off: no publisher is attached, even in a distributed job."""
    monkeypatch.setenv("TRAINBAR_GATHER", "off")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    _rank.forget()
    assert attach(manual[1]) is None


@pytest.mark.reliability(
    "Distributed",
    "every rank's progress gathered while the loop runs",
    "no store request ever runs on the training thread",
)
def test_store_calls_never_run_on_the_training_thread(monkeypatch):
    """With the real threads, every store request comes from trainbar's own thread."""
    monkeypatch.setattr(RankGatherer, "interval", 0.01)
    display = trainbar.runtime.runtime.current()
    store = FakeStore()
    g = RankGatherer(display, INFO, connect=lambda: store, reads=True, threaded=True, timeout=5.0)
    display.subscribe(g)
    b = trainbar.bar(total=10**9, file=io.StringIO())
    deadline = time.monotonic() + 10
    while store.operations().count("multi_get") < 3 and time.monotonic() < deadline:
        b.update(1)
        time.sleep(0.001)
    g.stop()
    b.close()
    assert store.operations().count("multi_get") >= 3
    assert threading.get_ident() not in {thread for _, thread in store.calls}


OWN_REPORT = (
    'trainbar: stall in "train" (rank 0, pid 10): no progress for 2.0s at 10/40 (threshold 2s)\n'
    "  phase: in a collective (all-reduce, barrier...): another rank may be behind\n"
    "  other ranks: none behind\n"
    "  try: py-spy dump --pid 10 --native\n"
    "  try: TORCH_NCCL_DUMP_ON_TIMEOUT=1 records the last collectives\n"
)
RANK_1_REPORT = (
    'trainbar: stall in "train" (rank 1, pid 11): no progress for 2.0s at 10/40 (threshold 2s)\n'
    "  phase: waiting for data: inside next() on the loop's iterator\n"
    "  try: py-spy dump --pid 11 --native\n"
    "  try: TORCH_NCCL_DUMP_ON_TIMEOUT=1 records the last collectives\n"
)


def send_as_rank_1(store, clock, monkeypatch, *kinds_and_texts, phase="data", stalled=2.0, seq=1):
    """Rank 1 publishes a record stuck in ``phase`` and sends its reports, through the wire."""
    one = RankGatherer(trainbar.runtime.runtime.current(), INFO._replace(rank=1, world_size=2),
                       connect=lambda: store, reads=False, threaded=False)  # fmt: skip
    with monkeypatch.context() as patch:
        patch.setattr(gather._leader, "draws", lambda: False)
        one._store = store
        for kind, text in kinds_and_texts:
            assert one.relay(text, kind) == "sent"
        one._send_reports()
    record = Record(seq=seq, host="h", pid=11, node="h", phase=phase, stalled=stalled,
                    levels=(Level(10, 40, 5.0, "running"),), time=clock.time)  # fmt: skip
    store.set(keys.rank_key(1), encode(record))


class DrawingRank:
    """Rank 0 of two, its bar at 10/40: ``later()`` is a publication and a read one second on."""

    def __init__(self, manual):
        self.clock, self.display = manual
        self.store = FakeStore()
        self.stream = io.StringIO()
        self.gatherer = gatherer(self.display, self.clock, self.store, info=INFO._replace(world_size=2))
        self.bar = trainbar.bar(total=40, desc="train", file=self.stream)
        self.bar.update(10)
        self.later(seconds=0)

    def later(self, seconds=1):
        self.clock.advance(seconds)
        self.display.tick()
        self.gatherer.step()

    @property
    def text(self):
        return self.stream.getvalue()


@pytest.mark.reliability(
    "Distributed",
    "two ranks stall at once, the drawing rank in an all-reduce and the other in its loader",
    "one report for the job: the rank in its loader first, under one header that says to look there",
)
def test_the_job_prints_one_stall_report_with_the_rank_others_wait_on_first(manual, monkeypatch):
    monkeypatch.setattr(gather, "phase_source", lambda chain: "collective")  # rank 0 waits in an all-reduce
    rank0 = DrawingRank(manual)
    assert rank0.gatherer.relay(OWN_REPORT) == "held"
    rank0.later()
    assert "stall" not in rank0.text  # the rank it waits on has not reported yet
    send_as_rank_1(rank0.store, rank0.clock, monkeypatch, (gather.REPORT, RANK_1_REPORT))
    rank0.later()
    text = rank0.text
    assert text.count("trainbar: stall") == 1, text
    assert "trainbar: stall in the job: 2 ranks report no progress; the others wait on r1 (in data): look there first" in text
    assert text.index('stall in "train" (rank 1, pid 11)') < text.index('stall in "train" (rank 0, pid 10)')
    assert "other ranks: none behind" not in text
    assert text.count("TORCH_NCCL_DUMP_ON_TIMEOUT") == 1 and text.count("py-spy dump") == 2
    rank0.later()
    assert rank0.text == text  # printed once


def test_a_held_report_goes_out_alone_when_no_other_rank_reports(manual, monkeypatch):
    monkeypatch.setattr(gather, "phase_source", lambda chain: "collective")  # rank 0 waits in an all-reduce
    rank0 = DrawingRank(manual)
    assert rank0.gatherer.relay(OWN_REPORT) == "held"
    for _ in range(int(gather.HOLD)):
        rank0.later()
        assert "stall" not in rank0.text
    rank0.later()
    assert OWN_REPORT in rank0.text


def test_another_ranks_recovery_follows_its_report(manual, monkeypatch):
    """A rank that stalled briefly sends its report and its recovery together: both are
    printed, the report first."""
    rank0 = DrawingRank(manual)
    recovery = 'trainbar: "train" recovered after 2.5s (it was waiting for data)\n'
    send_as_rank_1(rank0.store, rank0.clock, monkeypatch, (gather.REPORT, RANK_1_REPORT), (gather.OTHER, recovery),
                   stalled=None)  # fmt: skip
    rank0.later()
    text = rank0.text
    assert RANK_1_REPORT in text and text.index(RANK_1_REPORT) < text.index(recovery)
