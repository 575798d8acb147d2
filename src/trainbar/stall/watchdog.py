"""The stall watchdog: it says when a loop stops making progress, and where it is stuck.

One daemon thread per process (per runtime), started when a bar opens and gone once no bar is
open. The training thread pays nothing for it: the watchdog reads the counters and the phase
that the bars already store, about once a second.

Verdicts are relative to the run's own pace, judged per thread (the thread that opened the
bars), so a new inner bar each epoch keeps the history of the ones before it:

* before the thread's first step, nothing but a long grace period (``TRAINBAR_STALL_GRACE``,
  10 minutes): compilation, worker start-up and NCCL initialisation all land there;
* after it, a stall is no progress for ``max(10 x the median step, 30 s)``; a new bar waiting
  for its first item (worker start-up again) also gets 3 x the usual first-item wait;
* ``TRAINBAR_STALL=<seconds>`` sets a fixed threshold instead (first batch included), and
  ``TRAINBAR_STALL=off`` turns detection off.

A stall is reported once per episode, a dump of every thread follows at a second, longer
threshold, and recovery is reported. Nothing is ever killed: ``on_stall=`` callbacks act.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any

from trainbar import _settings, _threads
from trainbar._warnings import warn, warn_once
from trainbar.core import clock as _clock
from trainbar.core import timing as _timing

if TYPE_CHECKING:
    from trainbar.core.bar import Bar
    from trainbar.runtime.node import Node
    from trainbar.runtime.runtime import Runtime

GRACE = 600.0
FLOOR = 30.0
FACTOR = 10.0
FIRST_ITEM_FACTOR = 3.0
MIN_SAMPLES = 5  # fewer step times than this give no median worth trusting: use the largest
DUMP_FACTOR = 5.0
# The every-thread dump should land before torch's NCCL watchdog kills the job at its default
# 10-minute collective timeout, so the automatic dump threshold is capped at half of that.
DUMP_CAP = 300.0
INTERVAL = 1.0
# Rounds with no open bar before the thread leaves: a loop that opens a bar per batch or per
# epoch has short gaps between bars, and must not start a new thread after each one.
IDLE_ROUNDS = 5

RUNNING = "running"


class Settings:
    """What the watchdog judges by: ``TRAINBAR_STALL`` and ``TRAINBAR_STALL_GRACE``, or
    ``trainbar.configure(stall=...)`` (see ``trainbar._settings``)."""

    __slots__ = ("enabled", "threshold", "grace")

    def __init__(self, *, enabled: bool = True, threshold: float | None = None, grace: float = GRACE) -> None:
        self.enabled = enabled
        self.threshold = threshold  # fixed seconds, or None for the run's own pace
        self.grace = grace

    @classmethod
    def from_env(cls) -> Settings:
        settings = _settings.current()
        stall = settings.stall
        return cls(enabled=stall != "off", threshold=None if isinstance(stall, str) else float(stall),
                   grace=settings.stall_grace)  # fmt: skip

    def dump_after(self, limit: float) -> float:
        """When the every-thread dump follows a stall reported at ``limit`` seconds."""
        if self.threshold is not None:
            return DUMP_FACTOR * limit
        return max(2 * limit, min(DUMP_FACTOR * limit, DUMP_CAP))


def _median(values: Any) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


class _Seen:
    """What the watchdog last saw of one bar."""

    __slots__ = ("node", "n", "stepped")

    def __init__(self, node: Node, bar: Bar[Any]) -> None:
        self.node = weakref.ref(node)
        self.n = bar.initial  # a bar that stepped before it was first seen counts as progress
        self.stepped = False


class Episode:
    """One stall, from the last progress to the recovery."""

    __slots__ = ("since", "subject", "n", "phase", "limit", "dumped", "stream", "closed")

    def __init__(self, since: float, subject: Node, bar: Bar[Any], phase: str | None, limit: float) -> None:
        self.since = since
        self.subject = subject
        self.n = bar.n
        # Where the report went, so the recovery follows it even once the bar has closed.
        self.stream = subject.stream
        self.closed: Bar[Any] | None = None  # the bar, once closed: kept until the episode ends
        self.phase = phase
        self.limit = limit
        self.dumped = False


class Track:
    """The pace of the loops of one thread: what a stall is measured against."""

    def __init__(self, thread_id: int, now: float) -> None:
        self.thread_id = thread_id
        self.bars: dict[int, _Seen] = {}  # id(node) -> what was seen of it
        self.last_activity = now  # last progress, or a bar opening or closing
        self.gaps: deque[float] = deque(maxlen=64)  # seconds between progress seen, first items excluded
        self.first_waits: deque[float] = deque(maxlen=16)  # seconds from a bar's start to its first item
        self.steps = 0  # progress events seen
        self.episode: Episode | None = None

    def observe(self, group: list, now: float) -> tuple[bool, bool]:
        """Compare the bars (``(node, bar)`` pairs) with the last look: (progressed, opened or closed)."""
        seen: dict[int, _Seen] = {}
        progressed = first = changed = False
        for node, bar in group:
            prior = self.bars.get(id(node))
            if prior is None or prior.node() is not node:
                prior = _Seen(node, bar)
                changed = True
                self.last_activity = max(self.last_activity, node.opened)
            if bar.n != prior.n:
                prior.n = bar.n
                progressed = True
                if not prior.stepped:
                    prior.stepped = first = True
            seen[id(node)] = prior
        closed = any(key not in seen for key in self.bars)
        self.bars = seen
        if progressed:
            gap = now - self.last_activity
            self.steps += 1
            if first:
                self.first_waits.append(gap)
            elif not changed and not closed:  # a bar coming or going makes the gap no step time
                self.gaps.append(gap)
            self.last_activity = now
        elif closed:
            self.last_activity = now
        return progressed, changed or closed

    def pace(self) -> float | None:
        """Seconds a step usually takes, or None before the first step."""
        if len(self.gaps) >= MIN_SAMPLES:
            return _median(self.gaps)
        if self.gaps:
            return max(self.gaps)
        return self.first_waits[0] if self.first_waits else None

    def first_item_pace(self) -> float | None:
        """Seconds a new bar usually waits for its first item (the run's very first wait aside)."""
        waits = list(self.first_waits)
        if len(waits) > 1:
            return _median(waits[1:])
        return waits[0] if waits else None

    def limit(self, settings: Settings, waiting_first: bool) -> float | None:
        """Seconds without progress that make a stall, or None when detection is off."""
        if not settings.enabled:
            return None
        if settings.threshold is not None:
            return settings.threshold
        pace = self.pace()
        if pace is None:
            return settings.grace
        limit = max(FACTOR * pace, FLOOR)
        first = self.first_item_pace()
        if waiting_first and first is not None:
            limit = max(limit, FIRST_ITEM_FACTOR * first)
        return limit


def _innermost(group: list) -> tuple:
    return max(group, key=lambda pair: pair[0].lineage)


class Watchdog:
    """Judges the runtime's bars for stalls; a thread calls :meth:`check` about once a second.

    Tests drive it by hand: a runtime from ``trainbar.testing.manual_display()`` has a watchdog
    with no thread, and ``display.watchdog.check()`` runs one round at the fake clock's time.
    """

    def __init__(self, runtime: Runtime, settings: Settings | None = None, *, threaded: bool = True) -> None:
        self.runtime = runtime
        self.settings = settings if settings is not None else Settings.from_env()
        self.threaded = threaded
        self.tracks: dict[int, Track] = {}  # thread id -> Track
        self._lock = threading.Lock()
        self._checking = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._warned_callbacks: set[int] = set()
        self._published = False

    # --- the thread ------------------------------------------------------------------------

    def watch(self) -> None:
        """A bar opened: make sure the thread runs (it leaves when no bar is open)."""
        if not self._published:
            self._published = True
            _publish_phase()
        if not self.threaded or not self.settings.enabled or self._stopped:
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = _threads.start(self._run, "trainbar-watchdog")

    def reconfigure(self) -> None:
        """``trainbar.configure(stall=...)`` changed the settings: judge by the new ones now."""
        self.settings = Settings.from_env()
        if self._open():
            self.watch()

    def stop(self) -> None:
        """Stop for good, without joining: the thread may be the one stuck."""
        self._stopped = True
        self._stop.set()

    def closed(self, node: Node) -> None:
        """The runtime closed ``node``'s bar: a stalled loop that finished between two rounds is
        still reported on (the bar itself may be gone by the next round)."""
        for track in list(self.tracks.values()):
            episode = track.episode
            if episode is not None and episode.subject is node:
                episode.closed = node.target()

    def _interval(self) -> float:
        fixed = self.settings.threshold
        return min(INTERVAL, fixed / 4) if fixed is not None else INTERVAL

    def _run(self) -> None:
        idle = 0
        while not self._stop.wait(self._interval()):
            if not self.settings.enabled:  # turned off by configure(stall="off")
                with self._lock:
                    self._thread = None
                    return
            try:
                busy = self.check()
            except Exception as error:  # noqa: BLE001 - the watchdog must never reach training
                self.settings.enabled = False
                warn(
                    f"trainbar: the stall watchdog failed ({type(error).__name__}: {error}); "
                    "it is off, training goes on"
                )
                return
            idle = 0 if busy else idle + 1
            if idle >= IDLE_ROUNDS:
                with self._lock:
                    if not self._open():
                        self._thread = None  # idle: the next bar starts a new thread
                        return

    # --- the verdicts ----------------------------------------------------------------------

    def _open(self) -> list:
        """(node, bar) for every open, running bar."""
        pairs = []
        for node in self.runtime.open_nodes():
            bar = node.bar()
            if bar is not None and bar.status == RUNNING:
                pairs.append((node, bar))
        return pairs

    def check(self, now: float | None = None) -> bool:
        """One round: update each thread's pace, report stalls and recoveries. True while bars are open."""
        with self._checking:
            now = _clock.now() if now is None else now
            pairs = self._open()
            groups: dict[int, list] = {}
            for node, bar in pairs:
                groups.setdefault(node.thread_id, []).append((node, bar))
            for thread_id, track in list(self.tracks.items()):
                if thread_id not in groups:
                    if track.bars:
                        track.observe([], now)
                    if track.episode is not None:
                        self._end(track, now, recovered=False)
            for thread_id, group in groups.items():
                found = self.tracks.get(thread_id)
                if found is None:
                    found = self.tracks[thread_id] = Track(thread_id, min(node.opened for node, _ in group))
                track = found
                self._judge(track, group, now)
            self._forget_dead_threads(groups)
            return bool(pairs)

    def _judge(self, track: Track, group: list, now: float) -> None:
        progressed, changed = track.observe(group, now)
        if track.episode is not None and (progressed or changed):
            self._end(track, now, recovered=progressed)
        subject, bar = _innermost(group)
        if bar.phase is not None:
            # Inside `with bar.pause("checkpoint")`: a long stretch was announced. The idle clock
            # starts again when the pause ends.
            track.last_activity = now
            return
        seen = track.bars.get(id(subject))
        limit = track.limit(self.settings, waiting_first=seen is not None and not seen.stepped)
        if limit is None:
            return
        idle = now - track.last_activity
        if track.episode is None and idle >= limit:
            track.episode = Episode(track.last_activity, subject, bar, bar.where, limit)
            subject.stall_since = track.last_activity
            _timing.stall_reported()
            self._report(track, group, subject, bar, now)
        episode = track.episode
        if episode is not None and not episode.dumped and idle >= self.settings.dump_after(episode.limit):
            episode.dumped = True
            self._dump(track, bar, now)

    def _forget_dead_threads(self, groups: dict) -> None:
        if len(self.tracks) <= len(groups):
            return
        alive = {thread.ident for thread in threading.enumerate()}
        for thread_id in [t for t in self.tracks if t not in groups and t not in alive]:
            del self.tracks[thread_id]

    # --- what is said ----------------------------------------------------------------------

    def _report(self, track: Track, group: list, subject: Node, bar: Bar[Any], now: float) -> None:
        from trainbar.stall import diagnose

        episode = track.episode
        assert episode is not None
        info = diagnose.stall_info(
            bar, [b for _, b in group], thread_id=track.thread_id, seconds=now - episode.since, limit=episode.limit,
            pace=track.pace() if self.settings.threshold is None else None, steps=track.steps,
            resolution=self._interval(),
        )  # fmt: skip
        info["report"] = diagnose.stall_report(info)
        self.runtime.notify("on_stall", bar, info)
        # In a job, one report per job: a rank that does not draw sends its report to the one
        # that does, or says one line when it cannot, rather than every rank printing its own.
        outcome = self.runtime.relay(info["report"])
        if outcome is None:
            self.runtime.report(info["report"], episode.stream)
        elif outcome == "unreachable":
            self.runtime.report(
                info["report"].splitlines()[0] + " (its full report: no job store to send it to the drawing rank)",
                episode.stream,
            )
        self._call_back(group, info)

    def _dump(self, track: Track, bar: Bar[Any], now: float) -> None:
        from trainbar.stall import diagnose

        episode = track.episode
        assert episode is not None
        if bar.where == "collective":
            return  # waiting for another rank: that rank's threads are the ones worth reading
        text = diagnose.all_threads_report(bar.desc, now - episode.since)
        if self.runtime.relay(text, "other") is None:
            self.runtime.report(text, episode.stream)

    def _end(self, track: Track, now: float, *, recovered: bool) -> None:
        episode, track.episode = track.episode, None
        assert episode is not None
        episode.subject.stall_since = None
        bar = episode.closed or episode.subject.bar()
        if bar is not None:
            # A loop that moved on and finished between two rounds recovered too.
            recovered = recovered or bar.n != episode.n
        if not recovered or bar is None:
            return  # the bar closed where it stalled (an exception, a break): the traceback says the rest
        from trainbar.stall import diagnose

        info = diagnose.recovery_info(bar, seconds=now - episode.since, phase=episode.phase, stalled_at=episode.n)
        self.runtime.notify("on_recover", bar, info)
        text = diagnose.recovery_report(info)
        if self.runtime.relay(text, "other") is None:
            self.runtime.report(text, episode.stream)

    def _call_back(self, group: list, info: dict) -> None:
        callbacks: list = []
        for node, _ in sorted(group, key=lambda pair: pair[0].lineage, reverse=True):
            if node.on_stall is not None and node.on_stall not in callbacks:
                callbacks.append(node.on_stall)
        configured = _settings.current().on_stall
        if configured is not None and configured not in callbacks:
            callbacks.append(configured)
        for callback in callbacks:
            try:
                callback(info)
            except Exception as error:  # noqa: BLE001 - the user's callback must not stop the watchdog
                key = id(callback)
                if key not in self._warned_callbacks:
                    self._warned_callbacks.add(key)
                    warn(f"trainbar: on_stall callback {callback!r} raised {type(error).__name__}: {error}")


def _publish_phase() -> None:
    """In a distributed job, each rank publishes where its loop is, so the drawing rank can tell
    the one rank in ``data`` from the others waiting in ``collective``."""
    try:
        from trainbar.distributed import info as _rank

        if _rank.rank_info().world_size <= 1:
            return
        from trainbar import distributed
        from trainbar.stall import diagnose

        distributed.set_phase_source(diagnose.published_phase)
    except Exception:  # noqa: BLE001 - the ranks' default phase (the pause) stays
        warn_once("trainbar: could not publish this rank's phase; the other ranks see its pauses only")
