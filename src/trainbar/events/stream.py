"""The event stream: every bar's life as JSON lines in a file, for programs and ``trainbar watch``.

Asked for with ``TRAINBAR_JSONL=path`` (read when a process's first bar opens) or
``trainbar.configure(jsonl=path)``. It is a runtime listener, so the training loop never sees
it: bars opening and closing, messages written above them, stalls, and every
``TRAINBAR_JSONL_INTERVAL`` seconds a ``progress`` event per open bar. Lines are made on the
ticker thread and written by a writer thread of the stream's own, which also opens the file: a
FIFO nobody reads or a hung network file system stops only that thread. A file that fails turns
the stream off with one warning. The format is in docs/events.md; the lines themselves are made
by ``render/jsonl.py``.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import weakref
from functools import partial
from typing import TYPE_CHECKING, Any

from trainbar import _settings
from trainbar._warnings import warn
from trainbar.core import clock as _clock
from trainbar.core import metrics as _metrics
from trainbar.render.jsonl import bar_event, display_options, encode, header, json_value, write_event
from trainbar.runtime.listener import Listener
from trainbar.sinks.writer import DirectOutput, Output, QueuedOutput

if TYPE_CHECKING:
    from trainbar.core.bar import Bar
    from trainbar.core.snapshot import Snapshot
    from trainbar.runtime.runtime import Runtime
    from trainbar.sinks.file import AppendFile

_IDLE_TICK = 1.0  # the ticker's own pace when nothing faster is drawn; progress is due on it


def process_rank() -> int:
    """This process's rank in a distributed job (``trainbar.rank_info()``); 0 otherwise."""
    from trainbar.distributed.info import rank_info

    return rank_info().rank


def resolve_path(template: str, rank: int, pid: int) -> str:
    """The file for this process: ``{rank}`` and ``{pid}`` filled in; other braces kept as they are."""
    return template.replace("{rank}", str(rank)).replace("{pid}", str(pid))


class EventStream(Listener):
    """A runtime listener that appends one JSON line per event to a file."""

    def __init__(self, runtime: Runtime, path: str, *, every: float, identity: dict, wall_offset: float) -> None:
        self.runtime = runtime
        self.path = path
        self.every = every
        self.interval = min(_IDLE_TICK, every)
        self.identity = identity
        self._wall_offset = wall_offset  # Unix time minus trainbar's clock, fixed at the start
        self._file: AppendFile | None = None  # opened by the first write, on the writer's thread
        self._output: Output
        if runtime.threaded:
            self._output = QueuedOutput("events", on_error=self._failed, on_dropped=self._dropped)
        else:
            self._output = DirectOutput(on_error=self._failed)
        self._lock = threading.RLock()
        self._ids: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self._live: dict[int, list] = {}  # bar id -> [weak reference, when its next progress is due]
        self._next_id = itertools.count(1)
        self.on = True

    # --- writing, on the output's thread -----------------------------------------------------

    def _emit(self, event: dict) -> None:
        if self.on:
            line = encode(event)
            self._output.submit(partial(self._write, line), len(line), stream=self.path)

    def _write(self, line: str) -> None:
        if self._file is None:
            from trainbar.sinks.file import AppendFile

            self._file = AppendFile(self.path)
        self._file.line(line)

    def _dropped(self, count: int) -> None:
        self._write(encode({**header("dropped", self._wall_offset + _clock.now(), self.identity), "count": count}))

    def _failed(self, error: Exception, stream: Any = None) -> None:
        self.on = False
        self.runtime.unsubscribe(self)
        warn(f"trainbar: writing events to {self.path!r} failed ({type(error).__name__}: {error}); "
             "the event stream is off, training goes on")  # fmt: skip

    # --- the events -------------------------------------------------------------------------

    def _bar_event(self, kind: str, bar: Bar[Any], now: float, snap: Any = None, **extra: Any) -> dict:
        parent = bar.parent
        return bar_event(
            kind,
            snap if snap is not None else bar.snapshot(now),
            time=self._wall_offset + now,
            identity=self.identity,
            bar=self._ids[bar],
            parent=self._ids.get(parent) if parent is not None else None,
            metrics=_metrics.values(bar),
            **extra,
        )

    def on_open(self, bar: Bar[Any] | None, now: float, first: Snapshot | None = None) -> None:
        if bar is None:
            return
        with self._lock:
            bar_id = self._ids[bar] = next(self._next_id)
            self._live[bar_id] = [weakref.ref(bar), now + self.every]
        snap = first if first is not None else bar.snapshot(now)
        options = display_options(snap, leave=bar.leave, delay=bar.delay)
        self._emit(self._bar_event("open", bar, now, snap, interval=self.every, display=options))

    def on_tick(self, now: float) -> None:
        with self._lock:
            due = []
            for bar_id, entry in list(self._live.items()):
                bar = entry[0]()
                if bar is None:
                    del self._live[bar_id]
                elif now >= entry[1]:
                    entry[1] = now + self.every
                    due.append(bar)
        for bar in due:
            self._emit(self._bar_event("progress", bar, now))

    def on_close(self, bar: Bar[Any], now: float) -> None:
        with self._lock:
            bar_id = self._ids.get(bar)
            if bar_id is None or self._live.pop(bar_id, None) is None:
                return  # opened before the stream started and never announced
        self._emit(self._bar_event("close", bar, now))

    def on_write(self, text: str) -> None:
        self._emit(write_event(text, time=self._wall_offset + _clock.now(), identity=self.identity))

    # From the stall watchdog (``bar`` is the stalled bar, or None for the whole process; ``info``
    # a dict such as {"seconds": 73.0, "phase": "waiting for data", "report": "..."}; docs/events.md).

    def on_stall(self, bar: Bar[Any] | None, info: Any) -> None:
        self._emit(self._stall_event("stall", bar, info))

    def on_recover(self, bar: Bar[Any] | None, info: Any) -> None:
        self._emit(self._stall_event("recover", bar, info))

    def _stall_event(self, kind: str, bar: Bar[Any] | None, info: Any) -> dict:
        if info is None:
            info = {}
        elif not isinstance(info, dict):
            info = dict(info) if hasattr(info, "keys") else {"report": str(info)}
        now = _clock.now()
        if bar is not None and bar in self._ids:
            return self._bar_event(kind, bar, now, stall=info)
        event = header(kind, self._wall_offset + now, self.identity)
        event["stall"] = json_value(info)
        return event

    # --- lifetime --------------------------------------------------------------------------

    def drain(self, timeout: float) -> bool:
        return self._output.drain(timeout)

    def finish(self, timeout: float) -> None:
        """At exit: write what is queued (within ``timeout``), then close the file."""
        self.stop()
        self._output.drain(timeout)

    def stop(self) -> None:
        """No more events; the file is closed once what was queued has been written."""
        if not self.on:
            return
        self.on = False
        self.runtime.unsubscribe(self)
        self._output.submit(self._close, stream=self.path)

    def _close(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()


# --- starting and stopping the stream --------------------------------------------------------


def streams(runtime: Runtime) -> list[EventStream]:
    return [listener for listener in runtime.listeners() if isinstance(listener, EventStream)]


def start(runtime: Runtime, template: str, *, wall_clock: Any = time.time) -> EventStream:
    """Write events of ``runtime``'s bars to the file ``template`` names (opened when first written).

    Bars already open are announced with an ``open`` event each, parents first.
    """
    rank, pid = process_rank(), os.getpid()
    from trainbar.distributed.info import hostname

    identity = {"rank": rank, "host": hostname(), "pid": pid}
    now = _clock.now()
    stream = EventStream(runtime, resolve_path(str(template), rank, pid), every=_settings.current().jsonl_interval,
                         identity=identity, wall_offset=wall_clock() - now)  # fmt: skip
    runtime.subscribe(stream)
    for node in runtime.open_nodes():
        stream.on_open(node.bar(), now)
    return stream


def attach(runtime: Runtime) -> None:
    """At a runtime's first bar: start the event stream if one is asked for and none runs."""
    template = _settings.current().jsonl
    if template is None or streams(runtime):
        return
    try:
        start(runtime, template)
    except Exception as error:  # noqa: BLE001 - the bar being opened must open regardless
        warn(f"trainbar: the event stream could not start ({type(error).__name__}: {error}); training goes on")


def reattach(runtime: Runtime) -> None:
    """The configured file changed: stop the streams that write elsewhere, start the one asked for."""
    template = _settings.current().jsonl
    running = streams(runtime)
    wanted = None if template is None else resolve_path(template, process_rank(), os.getpid())
    for stream in running:
        if stream.path != wanted:
            stream.stop()
    if wanted is not None and not any(stream.path == wanted and stream.on for stream in running):
        start(runtime, template)  # type: ignore[arg-type]
