"""The stall watchdog: it says when a loop stops making progress, and where it is stuck.

One daemon thread per process (per display), started when a bar opens and gone once no bar is
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

import atexit
import os
import threading
import weakref
from collections import deque

from trainbar.core import clock as _clock
from trainbar.runtime import environment as _env

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
LOCK_WAIT = 1.0  # the display may be wedged (a metric read stuck in a GPU sync): don't wait on it

RUNNING = "running"

_UNSET = object()
_configured_stall = _UNSET  # trainbar.configure(stall=): wins over TRAINBAR_STALL
_configured_on_stall = None  # trainbar.configure(on_stall=): hears of every stall in the process


def configure(*, stall=_UNSET, on_stall=_UNSET) -> None:
    """The stall settings of ``trainbar.configure``; they take effect at once."""
    global _configured_stall, _configured_on_stall
    if stall is not _UNSET:
        if stall is not None and stall not in ("auto", "off"):
            if isinstance(stall, bool) or not isinstance(stall, (int, float)):
                raise TypeError(f"stall must be 'auto', 'off', a number of seconds or None, got {stall!r}")
            if not 0 < stall < float("inf"):
                raise ValueError(f"stall must be a positive number of seconds, got {stall!r}")
        _configured_stall = _UNSET if stall is None else stall
    if on_stall is not _UNSET:
        if on_stall is not None and not callable(on_stall):
            raise TypeError(f"on_stall must be a callable taking the stall report, got {type(on_stall).__name__}")
        _configured_on_stall = on_stall
    from trainbar.runtime import display as _display

    display = _display._current
    if display is not None and display.watchdog is not None:
        display.watchdog.settings = Settings.from_env()
        if display.watchdog._open_bars():
            display.watchdog.watch()


class Settings:
    """What the watchdog judges by: read from the environment when a display first opens a bar."""

    __slots__ = ("enabled", "threshold", "grace")

    def __init__(self, *, enabled: bool = True, threshold: float | None = None, grace: float = GRACE) -> None:
        self.enabled = enabled
        self.threshold = threshold  # fixed seconds, or None for the run's own pace
        self.grace = grace

    @classmethod
    def from_env(cls) -> "Settings":
        raw = os.environ.get("TRAINBAR_STALL", "").strip().lower()
        settings = cls(grace=_env.seconds("TRAINBAR_STALL_GRACE", GRACE))
        if _configured_stall is not _UNSET:
            settings.apply(_configured_stall)
        elif raw in ("off", "0", "false", "no", "none"):
            settings.enabled = False
        elif raw not in ("", "auto"):
            settings.threshold = _positive(raw)
            if settings.threshold is None:
                _env._warn_once(f"TRAINBAR_STALL={raw!r} is not a number of seconds, 'auto' or 'off'; using auto")
        return settings

    def apply(self, stall) -> None:
        """``"auto"``, ``"off"`` or a number of seconds, as ``trainbar.configure(stall=)`` takes."""
        self.enabled = stall != "off"
        self.threshold = None if stall in ("auto", "off") else float(stall)

    def dump_after(self, limit: float) -> float:
        """When the every-thread dump follows a stall reported at ``limit`` seconds."""
        if self.threshold is not None:
            return DUMP_FACTOR * limit
        return max(2 * limit, min(DUMP_FACTOR * limit, DUMP_CAP))


def _positive(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value > 0 and value != float("inf") else None


def _median(values) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


class _Seen:
    """What the watchdog last saw of one bar."""

    __slots__ = ("ref", "n", "stepped")

    def __init__(self, bar) -> None:
        self.ref = weakref.ref(bar)
        self.n = bar._initial  # a bar that stepped before it was first seen counts as progress
        self.stepped = False


class Episode:
    """One stall, from the last progress to the recovery."""

    __slots__ = ("since", "subject", "n", "phase", "limit", "dumped", "stream", "closed")

    def __init__(self, since: float, subject, phase: str | None, limit: float) -> None:
        self.since = since
        self.subject = weakref.ref(subject)
        self.n = subject._n
        # Where the report went, so the recovery follows it even once the bar has closed.
        self.stream = subject._channel.stream if subject._channel is not None else None
        self.closed = None  # the subject, once closed: kept until the episode ends, to report on it
        self.phase = phase
        self.limit = limit
        self.dumped = False


class Track:
    """The pace of the loops of one thread: what a stall is measured against."""

    def __init__(self, thread_id: int, now: float) -> None:
        self.thread_id = thread_id
        self.bars: dict = {}  # id(bar) -> _Seen
        self.last_activity = now  # last progress, or a bar opening or closing
        self.gaps: deque = deque(maxlen=64)  # seconds between progress seen, first items excluded
        self.first_waits: deque = deque(maxlen=16)  # seconds from a bar's start to its first item
        self.steps = 0  # progress events seen
        self.episode: Episode | None = None

    def observe(self, bars: list, now: float) -> tuple:
        """Compare the bars with the last look: (progressed, opened or closed)."""
        seen: dict = {}
        progressed = first = changed = False
        for bar in bars:
            prior = self.bars.get(id(bar))
            if prior is None or prior.ref() is not bar:
                prior = _Seen(bar)
                changed = True
                self.last_activity = max(self.last_activity, bar._start)
            if bar._n != prior.n:
                prior.n = bar._n
                progressed = True
                if not prior.stepped:
                    prior.stepped = first = True
            seen[id(bar)] = prior
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


def _innermost(bars: list):
    return max(bars, key=lambda bar: bar._lineage)


class Watchdog:
    """Judges the display's bars for stalls; a thread calls :meth:`check` about once a second.

    Tests drive it by hand: a display from ``trainbar.testing.manual_display()`` has a watchdog
    with no thread, and ``display.watchdog.check()`` runs one round at the fake clock's time.
    """

    def __init__(self, display, settings: Settings | None = None, *, threaded: bool = True) -> None:
        self.display = display
        self.settings = settings if settings is not None else Settings.from_env()
        self.threaded = threaded
        self.tracks: dict = {}  # thread id -> Track
        self._lock = threading.Lock()
        self._checking = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._warned_callbacks: set = set()

    # --- the thread ------------------------------------------------------------------------

    def watch(self) -> None:
        """A bar opened: make sure the thread runs (it leaves when no bar is open)."""
        if not self.threaded or not self.settings.enabled or self._stopped:
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="trainbar-watchdog", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop for good, without joining: the thread may be the one stuck."""
        self._stopped = True
        self._stop.set()

    def closed(self, bar) -> None:
        """The display closed ``bar``: a stalled loop that finished between two rounds is still
        reported on (the bar itself may be gone by the next round)."""
        for track in list(self.tracks.values()):
            episode = track.episode
            if episode is not None and episode.subject() is bar:
                episode.closed = bar

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
                _env.warn(f"trainbar: the stall watchdog failed ({type(error).__name__}: {error}); it is off, training goes on")
                return
            idle = 0 if busy else idle + 1
            if idle >= IDLE_ROUNDS:
                with self._lock:
                    if not self._open_bars():
                        self._thread = None  # idle: the next bar starts a new thread
                        return

    # --- the verdicts ----------------------------------------------------------------------

    def _open_bars(self) -> list:
        refs = list(self.display._open)  # a copy: the display swaps this list under its own lock
        return [bar for bar in (ref() for ref in refs) if bar is not None and bar._status == RUNNING]

    def check(self, now: float | None = None) -> bool:
        """One round: update each thread's pace, report stalls and recoveries. True while bars are open."""
        with self._checking:
            now = _clock.now() if now is None else now
            bars = self._open_bars()
            groups: dict = {}
            for bar in bars:
                groups.setdefault(bar._thread_id, []).append(bar)
            for thread_id, track in list(self.tracks.items()):
                if thread_id not in groups:
                    if track.bars:
                        track.observe([], now)
                    if track.episode is not None:
                        self._end(track, now, recovered=False)
            for thread_id, group in groups.items():
                track = self.tracks.get(thread_id)
                if track is None:
                    track = self.tracks[thread_id] = Track(thread_id, min(bar._start for bar in group))
                self._judge(track, group, now)
            self._forget_dead_threads(groups)
            return bool(bars)

    def _judge(self, track: Track, group: list, now: float) -> None:
        progressed, changed = track.observe(group, now)
        if track.episode is not None and (progressed or changed):
            self._end(track, now, recovered=progressed)
        subject = _innermost(group)
        if subject._phase is not None:
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
            track.episode = Episode(track.last_activity, subject, subject._where, limit)
            subject._stall_since = track.last_activity
            self._report(track, group, subject, now)
        episode = track.episode
        if episode is not None and not episode.dumped and idle >= self.settings.dump_after(episode.limit):
            episode.dumped = True
            self._dump(track, subject, now)

    def _forget_dead_threads(self, groups: dict) -> None:
        if len(self.tracks) <= len(groups):
            return
        alive = {thread.ident for thread in threading.enumerate()}
        for thread_id in [t for t in self.tracks if t not in groups and t not in alive]:
            del self.tracks[thread_id]

    # --- what is said ----------------------------------------------------------------------

    def _report(self, track: Track, group: list, subject, now: float) -> None:
        from trainbar.stall import diagnose as _diagnose

        episode = track.episode
        info = _diagnose.stall_info(
            subject, group, thread_id=track.thread_id, seconds=now - episode.since, limit=episode.limit,
            pace=track.pace() if self.settings.threshold is None else None, steps=track.steps,
            resolution=self._interval(),
        )  # fmt: skip
        info["report"] = _diagnose.stall_report(info)
        self._emit("on_stall", subject, info, info["report"], episode.stream)
        self._call_back(group, info)

    def _dump(self, track: Track, subject, now: float) -> None:
        from trainbar.stall import diagnose as _diagnose

        text = _diagnose.all_threads_report(subject._desc, now - track.episode.since)
        self._emit(None, subject, None, text, track.episode.stream)

    def _end(self, track: Track, now: float, *, recovered: bool) -> None:
        episode, track.episode = track.episode, None
        subject = episode.closed or episode.subject()
        if subject is not None:
            subject._stall_since = None
            # A loop that moved on and finished between two rounds recovered too.
            recovered = recovered or subject._n != episode.n
        if not recovered:
            return  # the bar closed where it stalled (an exception, a break): the traceback says the rest
        from trainbar.stall import diagnose as _diagnose

        info = _diagnose.recovery_info(subject, seconds=now - episode.since, phase=episode.phase, stalled_at=episode.n)
        if subject is not None:
            self._emit("on_recover", subject, info, _diagnose.recovery_report(info), episode.stream)

    def _emit(self, event: str | None, bar, info, text: str, stream) -> None:
        """Tell the listeners (the event stream) and print ``text`` to the bar's stream, above
        the live bars there; a bar that draws nothing reports on standard error."""
        display = self.display
        locked = display.lock.acquire(timeout=LOCK_WAIT)
        try:
            if locked and event is not None and display._listeners:
                display._notify(event, bar, info)
            if locked and stream is not None:
                display.write(text, stream)
            else:
                # A rank or bar that draws nothing still reports its own stall, and a display
                # wedged in a redraw must not silence the report.
                _write_plain(text, stream)
        except Exception as error:  # noqa: BLE001 - a report must never reach training
            _env._warn_once(f"trainbar: could not print a stall report ({type(error).__name__}: {error})")
        finally:
            if locked:
                display.lock.release()

    def _call_back(self, group: list, info: dict) -> None:
        callbacks = []
        for bar in sorted(group, key=lambda b: b._lineage, reverse=True):
            if bar._on_stall is not None and bar._on_stall not in callbacks:
                callbacks.append(bar._on_stall)
        if _configured_on_stall is not None and _configured_on_stall not in callbacks:
            callbacks.append(_configured_on_stall)
        for callback in callbacks:
            try:
                callback(info)
            except Exception as error:  # noqa: BLE001 - the user's callback must not stop the watchdog
                key = id(callback)
                if key not in self._warned_callbacks:
                    self._warned_callbacks.add(key)
                    _env.warn(f"trainbar: on_stall callback {callback!r} raised {type(error).__name__}: {error}")


def _write_plain(text: str, stream) -> None:
    import sys

    from trainbar.sinks.redirect import unwrap

    stream = stream if stream is not None else unwrap(sys.stderr)
    if stream is None:
        return
    stream.write(text)
    stream.flush()


# --- one watchdog per display, stopped at exit, forgotten in a forked child -----------------

_all: "weakref.WeakSet[Watchdog]" = weakref.WeakSet()


def watch(display) -> None:
    """Called by the display for each bar it opens: attach a watchdog once, keep it running."""
    watchdog = display.watchdog
    if watchdog is None:
        watchdog = display.watchdog = Watchdog(display, threaded=display.threaded)
        _all.add(watchdog)
        _publish_phase()
    watchdog.watch()


def _publish_phase() -> None:
    """In a distributed job, each rank publishes where its loop is, so the drawing rank can tell
    the one rank in ``data`` from the others waiting in ``collective``."""
    from trainbar.distributed import info as _rank

    try:
        if _rank.rank_info().world_size <= 1:
            return
        from trainbar.stall import diagnose as _diagnose
        from trainbar import distributed

        distributed.set_phase_source(_diagnose.published_phase)
    except Exception:  # noqa: BLE001 - the ranks' default phase (the pause) stays
        pass


def _stop_all() -> None:
    for watchdog in list(_all):
        watchdog.stop()


def _forget_threads_in_child() -> None:
    # The child has none of the parent's threads, and a lock held at the fork stays held in it:
    # every watchdog starts over, and starts a thread only when the child opens a bar.
    for watchdog in list(_all):
        watchdog._lock = threading.Lock()
        watchdog._checking = threading.Lock()
        watchdog._stop = threading.Event()
        watchdog._thread = None


atexit.register(_stop_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_threads_in_child)
