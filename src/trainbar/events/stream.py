"""The event stream: every bar's life as JSON lines in a file, for programs and ``trainbar watch``.

Asked for with ``TRAINBAR_JSONL=path`` (read when a process's first bar opens) or
``trainbar.configure(jsonl=path)``. It is a display listener, so the training loop never sees
it: bars opening and closing, messages written above them, and every
``TRAINBAR_JSONL_INTERVAL`` seconds a ``progress`` event per open bar, written from the
display's ticker thread. A file that fails turns the stream off with one warning.
The format is in docs/events.md; the lines themselves are made by ``render/jsonl.py``.
"""

from __future__ import annotations

import functools
import itertools
import os
import time
import weakref

from trainbar.core import clock as _clock
from trainbar.runtime import environment as _env
from trainbar.core import metrics as _metrics
from trainbar.core.snapshot import RUNNING

DEFAULT_INTERVAL = 5.0
_IDLE_TICK = 1.0  # the ticker's own pace when nothing faster is drawn; progress is due on it
_UNSET = object()
_configured: object = _UNSET  # a path, None (off), or _UNSET: TRAINBAR_JSONL decides


def process_rank() -> int:
    """This process's rank in a distributed job (``trainbar.rank_info()``); 0 otherwise."""
    from trainbar.distributed.info import rank_info

    return rank_info().rank


def resolve_path(template: str, rank: int, pid: int) -> str:
    """The file for this process: ``{rank}`` and ``{pid}`` filled in; other braces kept as they are."""
    return template.replace("{rank}", str(rank)).replace("{pid}", str(pid))


def progress_interval() -> float:
    """Seconds between ``progress`` events of a bar (``TRAINBAR_JSONL_INTERVAL``, default 5)."""
    return _env.seconds("TRAINBAR_JSONL_INTERVAL", DEFAULT_INTERVAL)


def _guarded(method):
    """Run a listener method only while the stream is on; any failure turns the stream off."""

    @functools.wraps(method)
    def run(self, *args):
        if self._sink is None:
            return
        try:
            method(self, *args)
        except Exception as error:  # noqa: BLE001 - an event file must never reach training
            self.fail(error)

    return run


class EventStream:
    """A display listener that appends one JSON line per event to a sink."""

    def __init__(self, display, sink, *, every: float, identity: dict, wall_offset: float) -> None:
        self.display = display
        self._sink = sink
        self.every = every
        self.interval = min(_IDLE_TICK, every)
        self.identity = identity
        self._wall_offset = wall_offset  # Unix time minus trainbar's clock, fixed at the start
        self._ids: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._live: dict = {}  # bar id -> [weak reference, when its next progress is due]
        self._next_id = itertools.count(1)

    @property
    def on(self) -> bool:
        return self._sink is not None

    def _emit(self, event: dict) -> None:
        from trainbar.render.jsonl import encode

        self._sink.line(encode(event))

    def _bar_event(self, kind: str, bar, now: float, snap=None, **extra) -> dict:
        from trainbar.render.jsonl import bar_event

        parent = bar._parent
        return bar_event(
            kind,
            snap if snap is not None else bar._snapshot(now),
            time=self._wall_offset + now,
            identity=self.identity,
            bar=self._ids[bar],
            parent=self._ids.get(parent) if parent is not None else None,
            metrics=_metrics.values(bar, final=bar._status != RUNNING),
            **extra,
        )

    # --- the listener interface (Display.subscribe) ----------------------------------------

    @_guarded
    def on_open(self, bar, now: float) -> None:
        from trainbar.render.jsonl import display_options

        bar_id = self._ids[bar] = next(self._next_id)
        self._live[bar_id] = [weakref.ref(bar), now + self.every]
        snap = bar._snapshot(now)
        options = display_options(snap, leave=bar._leave, delay=bar._delay)
        self._emit(self._bar_event("open", bar, now, snap, interval=self.every, display=options))

    @_guarded
    def on_tick(self, now: float) -> None:
        for bar_id, entry in list(self._live.items()):
            bar = entry[0]()
            if bar is None:
                del self._live[bar_id]
            elif now >= entry[1]:
                entry[1] = now + self.every
                self._emit(self._bar_event("progress", bar, now))

    @_guarded
    def on_close(self, bar, now: float) -> None:
        bar_id = self._ids.get(bar)
        if bar_id is None or self._live.pop(bar_id, None) is None:
            return  # opened before the stream started and never announced
        self._emit(self._bar_event("close", bar, now))

    @_guarded
    def on_write(self, text: str) -> None:
        from trainbar.render.jsonl import write_event

        self._emit(write_event(text, time=self._wall_offset + _clock.now(), identity=self.identity))

    # Called by the stall watchdog through display._notify("on_stall", bar, info), from any
    # thread: ``bar`` is the stalled bar (or None for the whole process), ``info`` a dict such as
    # {"seconds": 73.0, "phase": "waiting for data", "report": "..."}; docs/events.md has the fields.

    @_guarded
    def on_stall(self, bar, info) -> None:
        self._emit(self._stall_event("stall", bar, info))

    @_guarded
    def on_recover(self, bar, info) -> None:
        self._emit(self._stall_event("recover", bar, info))

    def _stall_event(self, kind: str, bar, info) -> dict:
        from trainbar.render.jsonl import header, json_value

        if info is None:
            info = {}
        elif not isinstance(info, dict):
            info = dict(info) if hasattr(info, "keys") else {"report": str(info)}
        with self.display.lock:  # bars are read under the lock, whichever thread reports
            now = _clock.now()
            if bar is not None and bar in self._ids:
                return self._bar_event(kind, bar, now, stall=info)
        event = header(kind, self._wall_offset + now, self.identity)
        event["stall"] = json_value(info)
        return event

    # --- lifetime --------------------------------------------------------------------------

    def fail(self, error: Exception) -> None:
        path = getattr(self._sink, "path", self._sink)
        self.stop()
        _env.warn(
            f"trainbar: writing events to {path!r} failed ({type(error).__name__}: {error}); "
            "the event stream is off, training goes on"
        )

    def stop(self) -> None:
        sink, self._sink = self._sink, None
        self.display.unsubscribe(self)
        if sink is not None:
            try:
                sink.close()
            except Exception:  # noqa: BLE001 - already failing or already closed: nothing to save
                pass


# --- starting and stopping the stream --------------------------------------------------------


def _streams(display) -> list:
    return [listener for listener in display._listeners if isinstance(listener, EventStream)]


def start(display, template: str, *, wall_clock=time.time) -> EventStream | None:
    """Write events of ``display``'s bars to the file ``template`` names; None if it cannot be opened.

    Bars already open are announced with an ``open`` event each, parents first.
    """
    from trainbar.sinks.file import AppendFile

    rank, pid = process_rank(), os.getpid()
    path = resolve_path(str(template), rank, pid)
    try:
        sink = AppendFile(path)
    except OSError as error:
        _env.warn(f"trainbar: cannot write events to {path!r} ({type(error).__name__}: {error}); the event stream is off, training goes on")
        return None
    import socket

    identity = {"rank": rank, "host": socket.gethostname(), "pid": pid}
    with display.lock:
        now = _clock.now()
        stream = EventStream(display, sink, every=progress_interval(), identity=identity, wall_offset=wall_clock() - now)
        display.subscribe(stream)
        for ref in list(display._open):
            bar = ref()
            if bar is not None:
                stream.on_open(bar, now)
    return stream


def attach(display) -> None:
    """At a display's first bar: start the event stream if one is asked for and none runs."""
    if _configured is _UNSET:
        template = os.environ.get("TRAINBAR_JSONL", "").strip() or None
    else:
        template = _configured
    if template is None or _streams(display):
        return
    try:
        start(display, template)
    except Exception as error:  # noqa: BLE001 - the bar being opened must open regardless
        _env.warn(f"trainbar: the event stream could not start ({type(error).__name__}: {error}); training goes on")


def configure_jsonl(path) -> None:
    """Write events to ``path`` from now on (None: stop), for this process and its children."""
    global _configured
    from trainbar.runtime import display as _display

    _configured = None if path is None else os.fspath(path)
    display = _display.current()
    with display.lock:
        for stream in _streams(display):
            stream.stop()
        if _configured is not None:
            start(display, _configured)
