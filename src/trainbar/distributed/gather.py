"""Publishing this rank's progress to the store, and reading every rank's on the drawing rank.

``RankGatherer`` is a runtime listener with a thread of its own:

* on the runtime's ticker (no I/O, no runtime lock held) it takes this rank's record from its
  bars, and puts the latest job summary on the bars that the drawing rank shows;
* on its own thread, about once a second, it makes every store request: one ``set`` of this
  rank's record, and on the drawing rank one ``multi_get`` of every rank's.

The training thread never touches the store. Every request has the store's timeout. The first
failure turns gathering off for good, with one notice on the drawing rank (the other ranks draw
nothing, so they stay quiet), and the bars go on as if it had never started.
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import TYPE_CHECKING, Any

from trainbar import _settings, _threads
from trainbar._warnings import warn
from trainbar.core import clock as _clock
from trainbar.core.snapshot import DONE
from trainbar.distributed import info as _rank
from trainbar.distributed import leader as _leader
from trainbar.distributed import store as _store
from trainbar.distributed.record import EXITED, RUNNING, Level, Record, decode, encode
from trainbar.distributed.summary import Heartbeats, JobView, build, suspects
from trainbar.runtime.listener import Listener

if TYPE_CHECKING:
    from trainbar.core.bar import Bar
    from trainbar.runtime.runtime import Runtime

PUBLISH_INTERVAL = 1.0  # seconds between publications, and between reads on the drawing rank
READ_SHARE = 0.02  # at most this share of one core goes to reading: large jobs read less often
FIRST_WAIT = 0.2  # seconds before the first publication: enough for the display to sample the bars
MEMBERS_REFRESH = 10  # reads between refreshes of a node's member list
DEFAULT_TIMEOUT = 10.0
NOTE = "ranks"  # our note on a bar's line (Node.note), beside other listeners'
SAME_HOST_CHECKS = 64  # ranks of this host looked up at each read, at most: each is a syscall
# Seconds a stall report waits on the drawing rank for the other stuck ranks' reports, so that
# the job prints one report, not one per rank: their watchdogs see the stall within a publication
# or two of each other.
HOLD = 2.5
REPORT, OTHER = "report", "other"  # what a relayed text is: a stall report, or a dump or recovery
_ENTRY, _KIND = "\x1e", "\x1f"  # separators of relayed texts (sanitised: they never contain them)


def heartbeat_timeout() -> float:
    """Seconds without a new record before a rank is reported (``TRAINBAR_HEARTBEAT_TIMEOUT``)."""
    return _settings.current().heartbeat_timeout


def _default_phase(chain: list) -> str | None:
    # A bar's phase is the pause in progress (``with bar.pause("eval")``), the innermost one that
    # has one; the stall watchdog may publish a finer phase through set_phase_source.
    for bar in reversed(chain):
        phase = bar.phase
        if phase is not None:
            return phase
    return None


phase_source = _default_phase  # chain of open bars (outermost first) -> phase text, or None


class RankGatherer(Listener):
    """This rank's publisher, and on the drawing rank the reader of every rank."""

    interval = PUBLISH_INTERVAL

    def __init__(self, runtime: Runtime, info: _rank.RankInfo, *, connect: Any = None, reads: bool | None = None,
                 threaded: bool = True, timeout: float | None = None, wall: Any = None) -> None:  # fmt: skip
        self.runtime = runtime
        self._sampling = threading.Lock()  # the ticker and our own thread both sample the bars
        self.info = info
        self.job = _rank.job_id()
        self.connect = connect if connect is not None else (lambda: _store.connect(self.job))
        self.reads = _leader.gathers() if reads is None else reads
        self.by_node = _leader.policy()[0] == _leader.NODE
        self.node = _rank.node_key(info)
        self.host, self.pid = _rank.hostname(), os.getpid()
        self.timeout = heartbeat_timeout() if timeout is None else timeout
        self.wall = wall if wall is not None else time.time  # to compare ranks at one moment
        self.view: JobView | None = None  # the latest picture of the job (drawing rank only)
        self.off = False
        self._outbox: Record | None = None
        self._texts: dict = {}  # depth -> summary shown on the bar at that depth
        self._urgent = False  # the alarms changed at the last read: a log line at the next tick
        self._records: dict | None = None  # every rank's record at the last read (drawing rank)
        self._viewing = threading.Lock()  # the reads, and a closing bar's last look
        self._relaying = threading.Lock()
        self._relay_out: list = []  # (kind, text): this rank's reports, for the drawing rank to print
        self._relay_seq = 0
        self._relayed: dict = {}  # rank -> the last report number printed here (drawing rank)
        self._held: dict = {}  # rank -> stall report waiting to go out in the job's one report
        self._held_since: float | None = None
        self._closed: tuple | None = None  # (depth, Level, parent lineage) of the last bar closed
        self._moved = (None, _clock.now())  # (innermost n, when it last changed)
        self._heartbeats = Heartbeats(_clock.now())
        self._store: Any = None  # our client of the job's store (a torch.distributed.Store)
        self._seq = 0
        self._seeded: set = set()
        self._members: tuple = ()
        self._reads = 0
        self._next_read = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = _threads.start(self._run, "trainbar-ranks")

    # --- on the runtime's ticker: no I/O ----------------------------------------------------

    def on_open(self, bar: Bar[Any] | None, now: float, first: Any = None) -> None:
        if bar is not None and self._closed is not None and self._closed[0] >= bar.depth:
            self._closed = None  # the new bar takes the finished one's place

    def on_close(self, bar: Bar[Any], now: float) -> None:
        self._closed = (bar.depth, _level(bar, now), bar.parent)

    def on_tick(self, now: float) -> None:
        with self._sampling:
            self._take_record(now)

    def _take_record(self, now: float) -> None:
        chain = self._chain()
        if self.off:
            for bar in chain:
                self.runtime.note(bar, NOTE, None)
            self.runtime.unsubscribe(self)
            return
        levels = [_level(bar, now) for bar in chain]
        closed = self._closed
        if closed is not None and closed[0] == len(chain) and closed[2] is (chain[-1] if chain else None):
            levels.append(closed[1])
        innermost = levels[-1].n if levels else None
        if innermost != self._moved[0]:
            self._moved = (innermost, now)
        try:
            phase = phase_source(chain)
        except Exception:  # noqa: BLE001 - a faulty phase source must not stop publishing
            phase = None
        inner = chain[-1] if chain else None
        stall_since = inner._node.stall_since if inner is not None else None
        self._outbox = Record(host=self.host, pid=self.pid, node=self.node, state=RUNNING,
                              phase=None if phase is None else str(phase)[:40], idle=now - self._moved[1],
                              levels=tuple(levels), time=self.wall(),
                              wait=inner.wait_share if inner is not None else None,
                              stalled=None if stall_since is None else max(now - stall_since, 0.0))  # fmt: skip
        texts, view = self._texts, self.view
        # Who is stuck or gone changed: a log gets a line now, not at its next periodic one.
        urgent, self._urgent = self._urgent, False
        for depth, bar in enumerate(chain):
            self.runtime.note(bar, NOTE, texts.get(depth), urgent=urgent and bar is inner)
            self.runtime.hold_eta(bar, view is not None and view.stalled)

    def _chain(self) -> list:
        bar = self.runtime.innermost()
        chain = []
        while bar is not None:
            chain.append(bar)
            bar = bar.parent
        chain.reverse()
        return chain

    # --- on our own thread: every store request -------------------------------------------

    def _run(self) -> None:
        wait = FIRST_WAIT  # soon after the first bar: a rank that dies early is still seen once
        while not self._stop.wait(wait):
            wait = self.interval * random.uniform(0.9, 1.1)  # jitter: ranks spread their requests out
            from trainbar.runtime import runtime as _runtime

            if _runtime.existing() is not self.runtime or not self.step():
                return  # a runtime that was replaced (by tests) has nothing left to publish

    def step(self) -> bool:
        """Connect if needed, publish, and read on the drawing rank. False once gathering is off."""
        if self.off:
            return False
        try:
            if self._store is None:
                self._store = self.connect()
                if self._store is None:
                    return True  # no store reachable yet: a process group may come later
                if self.by_node:
                    self._store.append(_store.members_key(self.node), f"{self.info.rank},")
            if self._outbox is None:
                self._sample()  # the display has not ticked yet: the first record should not wait
            self._publish(self._outbox)
            self._send_reports()
            began = _clock.now()
            if self.reads and began >= self._next_read:
                self._gather()
                # Reading and summing up thousands of records holds the GIL the training thread
                # needs: the interval stretches so that this never costs more than READ_SHARE.
                took = _clock.now() - began
                self._next_read = began + took / READ_SHARE - self.interval / 2
        except Exception as error:  # noqa: BLE001 - a store fault must never reach training
            self._fail(error)
            return False
        return True

    def _sample(self) -> None:
        self.on_tick(_clock.now())

    def _publish(self, record: Record | None) -> None:
        if record is None:
            return  # nothing sampled yet
        self._seq += 1
        record.seq = self._seq
        self._store.set(_store.rank_key(self.info.rank), encode(record))

    def _send_reports(self) -> None:
        with self._relaying:
            reports, self._relay_out = self._relay_out, []
        if reports:
            self._relay_seq += 1
            entries = _ENTRY.join(f"{kind}{_KIND}{text}" for kind, text in reports)
            self._store.set(_store.report_key(self.info.rank), f"{self._relay_seq}\n{entries}")

    def _receive_reports(self, ranks: tuple, values: list) -> None:
        """The other ranks' reports, each taken once: stall reports are held for the job's one
        report, the rest (dumps, recoveries) printed above this rank's bars at once."""
        for rank, raw in zip(ranks, values):
            number, _, entries = raw.decode("utf-8", "replace").partition("\n")
            if not number.isdigit() or int(number) <= self._relayed.get(rank, 0) or rank == self.info.rank:
                continue
            self._relayed[rank] = int(number)
            for entry in entries.split(_ENTRY):
                kind, _, text = entry.partition(_KIND)
                if kind == REPORT:
                    self._hold(rank, text)
                else:
                    self._flush_held(force=True)  # a recovery never comes before its stall
                    self._print(text)

    def _hold(self, rank: int, text: str) -> None:
        with self._relaying:
            again = rank in self._held
        if again:  # a second stall of that rank before the first went out
            self._flush_held(force=True)
        with self._relaying:
            if self._held_since is None:
                self._held_since = _clock.now()
            self._held[rank] = text

    def _flush_held(self, force: bool = False) -> None:
        """Print the held stall reports as one, once they tell the whole story (or ``HOLD``
        seconds have passed, or ``force``)."""
        with self._relaying:
            if not self._held:
                return
            view = self.view
            since = self._held_since if self._held_since is not None else _clock.now()
            if not force and _clock.now() - since < HOLD and not self._explained(view):
                return
            held, self._held, self._held_since = self._held, {}, None
        from trainbar.stall import diagnose

        phases = {s.rank: s.phase for s in view.ranks} if view is not None else {}
        self._print(diagnose.combined_report(held, phases, diagnose.ranks_line() if len(held) > 1 else None))

    def _explained(self, view: JobView | None) -> bool:
        """Whether the held reports say why the job stalls: every rank seen stuck has sent its
        own and they tell the rank the others wait on, or a rank is gone (it sends nothing)."""
        if view is None or view.stopped or view.exited:
            return True
        if not set(view.stuck) <= self._held.keys():
            return False
        return bool(suspects({rank: view.by_rank[rank].phase for rank in self._held if rank in view.by_rank}))

    def _print(self, text: str) -> None:
        bar = self.runtime.innermost()
        self.runtime.report(text, bar._node.stream if bar is not None else None)

    def _expected(self) -> tuple:
        if not self.by_node:
            return tuple(range(self.info.world_size))
        expected = self.info.local_world_size or 0
        if len(self._members) < expected or self._reads % MEMBERS_REFRESH == 0:
            listed = self._store.get(_store.members_key(self.node)).decode().split(",")
            self._members = tuple(sorted({int(rank) for rank in listed if rank.strip().isdigit()}))
        return self._members

    def _gather(self) -> None:
        ranks = self._expected()
        keys = [_store.rank_key(rank) for rank in ranks] + [_store.report_key(rank) for rank in ranks]
        new = [key for key in keys if key not in self._seeded]
        if new and not self._store.check(new):
            for key in new:  # only where missing: compare_set never overwrites a record
                self._store.compare_set(key, "", _store.PLACEHOLDER)
        self._seeded.update(new)
        values = self._store.multi_get(keys)
        values, reports = values[: len(ranks)], values[len(ranks) :]
        self._receive_reports(ranks, reports)
        self._reads += 1
        records = {rank: decode(value) for rank, value in zip(ranks, values)}
        if self.info.rank in records and self._outbox is not None:
            records[self.info.rank] = self._outbox  # our own, fresher than its copy in the store
        self._records = records
        self._view(records)
        self._flush_held()

    def _view(self, records: dict) -> JobView:
        with self._viewing:
            view = build(records, self._heartbeats, _clock.now(), self.timeout, self.info.rank, self.interval,
                         self._gone(records), self.wall())  # fmt: skip
            depths = len(self._outbox.levels) if self._outbox is not None else 0
            self._texts = {depth: view.text(depth) for depth in range(depths)}
            if self.view is not None and view.alarms != self.view.alarms:
                self._urgent = True
            self.view = view
            return view

    def _gone(self, records: dict) -> frozenset:
        """Ranks on this host whose process has ended (a SIGKILL publishes nothing): no need to
        wait for their heartbeat to time out."""
        mine = [(rank, r.pid) for rank, r in records.items() if r is not None and r.host == self.host]
        if len(mine) > SAME_HOST_CHECKS:
            return frozenset()
        return frozenset(rank for rank, pid in mine if pid != self.pid and _process_gone(pid))

    def relay(self, text: str, kind: str = REPORT) -> str | None:
        """A report of this rank's watchdog (``kind``: a stall report, or ``other``: a dump or
        a recovery). On a rank that does not draw it goes to the drawing rank through the store
        ("sent"), or, with no store to reach, is not printed at all ("unreachable"). On the
        drawing rank a stall report waits for the other ranks' ("held"), to go out as the job's
        one report; anything else is for the caller to print (None)."""
        if _leader.draws():
            if kind != REPORT:
                self._flush_held(force=True)
                return None
            if not self.reads or self.off or self._store is None:
                return None
            self._hold(self.info.rank, text)
            return "held"
        if self.off or self._store is None:
            return "unreachable"
        with self._relaying:
            self._relay_out.append((kind, text))
        return "sent"

    def before_final(self, bar: Bar[Any]) -> None:
        """A bar's last line. Finished, it leaves out who was stuck: the job has moved on since
        the last read. Interrupted, it names the ranks gone meanwhile (a collective fails the
        moment a peer is killed, long before its heartbeat times out): no store request, only a
        look at this host's processes."""
        self._flush_held(force=True)  # the loop is ending: a held report goes out now
        records = self._records
        if not self.reads or records is None or self.off:
            return
        if bar.status == DONE:
            if self.view is not None:
                self.runtime.note(bar, NOTE, self.view.text(bar.depth, final=True))
            return
        view = self._view(records)
        self.runtime.note(bar, NOTE, view.text(bar.depth))

    def _fail(self, error: Exception) -> None:
        self.off = True
        self._flush_held(force=True)
        self.view = None
        self._texts = {}
        if self.reads:
            warn(
                f"trainbar: reading the other ranks' progress failed ({type(error).__name__}: "
                f"{str(error).splitlines()[0] if str(error) else ''}); gathering is off, this rank's bars go on"
            )

    # --- at exit ----------------------------------------------------------------------------

    def finish(self, wait: float = 1.0) -> None:
        """Publish a last record marked ``exited``, waiting at most ``wait`` seconds."""
        self._stop.set()
        deadline = time.monotonic() + wait
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            # A request of ours still in flight when the interpreter exits is a thread inside
            # the store's C++ client while it is torn down: let it end first.
            thread.join(wait)
        if self.off or self._store is None:
            return
        self._sample()
        record = self._outbox
        if record is None:
            return
        record.state = EXITED

        def publish() -> None:
            try:
                self._publish(record)
            except Exception:  # noqa: BLE001 - the job is ending; a lost last record is harmless
                pass

        last = _threads.start(publish, "trainbar-ranks-exit")
        last.join(max(deadline - time.monotonic(), 0.1))

    def stop(self) -> None:
        self._stop.set()


def _process_gone(pid: int) -> bool:
    """Whether process ``pid`` of this host has ended (a zombie not yet reaped has too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[:1] in ([b"Z"], [b"X"])
    except OSError:
        return False


def _level(bar: Bar[Any], now: float) -> Level:
    try:
        rate = bar.rate
    except Exception:  # noqa: BLE001
        rate = None
    return Level(bar.n, bar.total, rate, bar.status)
