"""The process's display: the live bars, one channel per output stream, and the ticker thread.

Bars never draw. Their hot path only stores counters; this module's ticker thread samples them
at redraw cadence, asks the pure renderers for text and hands it to a sink. Every channel is
isolated: an error while rendering or writing disables that channel with one warning, and the
training loop never sees it.
"""

from __future__ import annotations

import atexit
import itertools
import os
import sys
import threading
import weakref

from trainbar.core import clock as _clock
from trainbar.runtime import environment as _env
from trainbar.core import rate as _rate
from trainbar.stall import watchdog as _watchdog
from trainbar.core.snapshot import DONE, INTERRUPTED
from trainbar.render.ansi import terminal_line
from trainbar.render.plain import log_line
from trainbar.sinks import flush
from trainbar.sinks.stream import LineWriter
from trainbar.sinks.terminal import TerminalRegion

TTY_INTERVAL = 0.1  # at most ~10 redraws a second, whatever the caller does
_IDLE_INTERVAL = 1.0


class _Channel:
    """The bars drawn to one stream in one mode."""

    interval = _IDLE_INTERVAL

    def __init__(self, display: "Display", stream) -> None:
        self.display = display
        self.stream = stream
        self.refs: list = []  # weak references, so a dropped, unclosed bar can be collected

    def bars(self) -> list:
        alive = [bar for bar in (ref() for ref in self.refs) if bar is not None]
        alive.sort(key=_tree_order)
        return alive

    def add(self, bar, now: float) -> None:
        self.refs.append(weakref.ref(bar))

    def remove(self, bar, now: float) -> None:
        self.refs = [ref for ref in self.refs if ref() is not None and ref() is not bar]

    @property
    def empty(self) -> bool:
        return not any(ref() is not None for ref in self.refs)


def _tree_order(bar) -> tuple:
    return bar._lineage


def _visible(bar, now: float) -> bool:
    return bar._delay <= 0 or now - bar._start >= bar._delay


class TerminalChannel(_Channel):
    mode = _env.TTY
    interval = TTY_INTERVAL

    def __init__(self, display: "Display", stream) -> None:
        super().__init__(display, stream)
        self.sink = TerminalRegion(stream)
        self.unicode = _env.supports_unicode(stream)
        self.colour = _env.use_colour(stream)
        self.width = 0  # of the terminal when the region was last drawn

    def _line(self, bar, now: float, width: int) -> str:
        return terminal_line(bar._snapshot(now), width, unicode_ok=self.unicode, colour=self.colour)

    def _frame(self, now: float) -> list:
        self.width = _env.terminal_width(self.stream)
        # One column spare: a line that exactly fills the terminal wraps on some emulators.
        width = max(self.width - 1, 1)
        return [self._line(bar, now, width) for bar in self.bars() if _visible(bar, now)]

    def tick(self, now: float) -> None:
        self.sink.draw(self._frame(now))

    def remove(self, bar, now: float) -> None:
        super().remove(bar, now)
        if bar._leave and _visible(bar, now):
            lines = self._frame(now)  # without the bar: redrawn under its own final line, it would flash
            final = self._line(bar, now, max(self.width - 1, 1)).replace("  " * bar._depth, "", 1)
            self.sink.write_above(final + "\n", lines=lines)
        self.tick(now)

    def write_above(self, text: str, stream) -> None:
        # Re-rendering costs more than the write itself, so the last frame is reused, unless the
        # terminal was resized since: drawn again as it was, it would wrap and tear the region.
        lines = self._frame(_clock.now()) if _env.terminal_width(self.stream) != self.width else None
        self.sink.write_above(text, stream, lines)

    def release(self) -> None:
        self.sink.release()


class LogChannel(_Channel):
    mode = _env.LOG

    def __init__(self, display: "Display", stream) -> None:
        super().__init__(display, stream)
        self.sink = LineWriter(stream)
        self.every = _env.log_interval()
        self.interval = min(_IDLE_INTERVAL, self.every)

    def add(self, bar, now: float) -> None:
        super().add(bar, now)
        bar._next_log = now + (bar._delay if bar._delay > 0 else self.every)
        if bar._delay <= 0:
            self.sink.line(log_line(bar._snapshot(now)))

    def tick(self, now: float) -> None:
        for bar in self.bars():
            if now >= bar._next_log:
                bar._next_log = now + self.every
                self.sink.line(log_line(bar._snapshot(now)))

    def remove(self, bar, now: float) -> None:
        super().remove(bar, now)
        if _visible(bar, now):
            self.sink.line(log_line(bar._snapshot(now)))

    def write_above(self, text: str, stream) -> None:
        self.sink.write_above(text, stream)

    def release(self) -> None:
        pass


def _notebook_channel(display: "Display", stream) -> _Channel:
    from trainbar.runtime.notebook import NotebookChannel  # only notebooks pay for importing it

    return NotebookChannel(display, stream)


_CHANNEL_TYPES = {_env.TTY: TerminalChannel, _env.LOG: LogChannel, _env.NOTEBOOK: _notebook_channel}


class Display:
    """All live bars of this process and the channels they are drawn to."""

    def __init__(self, *, threaded: bool = True) -> None:
        self.lock = threading.RLock()
        self.threaded = threaded
        self._open: list = []  # weak references to open bars, in creation order
        self._channels: dict = {}  # (id(stream), mode) -> channel
        self._sequence = itertools.count()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()  # cuts the ticker's sleep short (see _start_ticker)
        self._sleeping = 0.0  # the interval the ticker is sleeping now
        self._listeners: list = []
        self.watchdog: _watchdog.Watchdog | None = None  # stall detection, from the first bar on
        self._outputs_started = False

    # --- listeners: other outputs that follow the bars (event files, rank publishing) -------
    # A listener may define any of on_open(bar, now), on_close(bar, now), on_tick(now),
    # on_write(text) and an `interval` in seconds. It is called under the display lock, on the
    # ticker thread for on_tick; one that raises is removed with one warning.

    def subscribe(self, listener) -> None:
        with self.lock:
            if listener not in self._listeners:
                self._listeners.append(listener)
                self._start_ticker()

    def unsubscribe(self, listener) -> None:
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _notify(self, event: str, *args) -> None:
        for listener in list(self._listeners):
            method = getattr(listener, event, None)
            if method is None:
                continue
            try:
                method(*args)
            except Exception as error:  # noqa: BLE001 - a listener fault must never reach training
                self._listeners.remove(listener)
                _env.warn(f"trainbar: {type(listener).__name__} failed ({type(error).__name__}: {error}); it is off, training goes on")

    # --- bars arriving and leaving ---------------------------------------------------------

    def open(self, bar, stream, mode: str) -> None:
        with self.lock:
            if not self._outputs_started:
                self._outputs_started = True
                from trainbar.events import stream as _events

                _events.attach(self)  # TRAINBAR_JSONL is read once, when the first bar opens
                _follow_ranks(self)
            parent = self._innermost(threading.get_ident())
            bar._parent = parent
            bar._depth = parent._depth + 1 if parent is not None else 0
            bar._lineage = (parent._lineage if parent is not None else ()) + (next(self._sequence),)
            self._open.append(weakref.ref(bar))
            _watchdog.watch(self)
            if self._listeners:
                self._notify("on_open", bar, _clock.now())
                self._start_ticker()
            if mode == _env.OFF:
                return
            key = (id(stream), mode)
            channel = self._channels.get(key)
            new_channel = channel is None
            if new_channel:
                channel = self._channels[key] = _CHANNEL_TYPES[mode](self, stream)
                if mode == _env.TTY:
                    from trainbar.sinks import redirect as _redirect

                    _redirect.install()
            bar._channel = channel
            self._guard(channel, channel.add, bar, _clock.now())
            self._start_ticker(wake=new_channel)

    def close(self, bar) -> None:
        with self.lock:
            self._open = [ref for ref in self._open if ref() is not None and ref() is not bar]
            if self._listeners:
                self._notify("on_close", bar, _clock.now())
            if self.watchdog is not None:
                self.watchdog.closed(bar)
            channel = bar._channel
            bar._channel = None
            if channel is None or self._channels.get((id(channel.stream), channel.mode)) is not channel:
                return  # drawn nowhere, or by the display of the process this one forked from
            self._guard(channel, channel.remove, bar, _clock.now())
            if channel.empty:
                self._drop(channel)

    def _innermost(self, thread_id: int):
        for ref in reversed(self._open):
            bar = ref()
            if bar is not None and bar._thread_id == thread_id:
                return bar
        return None

    def innermost(self):
        """The most recently opened live bar of the calling thread, or of any thread."""
        with self.lock:
            bar = self._innermost(threading.get_ident())
            if bar is not None:
                return bar
            for ref in reversed(self._open):
                if ref() is not None:
                    return ref()
            return None

    # --- drawing ---------------------------------------------------------------------------

    def tick(self) -> None:
        """Redraw whatever is due. The ticker thread calls this; tests call it by hand."""
        with self.lock:
            now = _clock.now()
            _rate.observe_bars([bar for bar in (ref() for ref in self._open) if bar is not None], now)
            for channel in list(self._channels.values()):
                self._guard(channel, channel.tick, now)
            if self._listeners:
                self._notify("on_tick", now)

    def record_write(self, text: str) -> None:
        """Tell listeners of a message this process does not print (a rank that does not draw)."""
        with self.lock:
            if self._listeners:
                self._notify("on_write", text)

    def write(self, text: str, stream) -> None:
        """Put ``text`` on ``stream`` above any live region, without tearing it."""
        with self.lock:
            if self._listeners:
                self._notify("on_write", text)
            regions = [c for c in self._channels.values() if c.mode == _env.TTY]
            if not regions:
                stream.write(text)
                flush(stream)
                return
            if _env.is_terminal(stream):
                from trainbar.render.fmt import sanitize_message

                text = sanitize_message(text)
            channel = regions[0]
            self._guard(channel, channel.write_above, text, stream)
            if self._channels.get((id(channel.stream), channel.mode)) is not channel:
                stream.write(text)  # the region just failed: the message still goes out
                flush(stream)

    # --- failure isolation -----------------------------------------------------------------

    def _guard(self, channel, method, *args) -> None:
        try:
            method(*args)
        except Exception as error:  # noqa: BLE001 - a display fault must never reach training
            self._drop(channel, error)

    def _drop(self, channel, error: Exception | None = None) -> None:
        self._channels.pop((id(channel.stream), channel.mode), None)
        if error is not None:
            for bar in channel.bars():
                bar._channel = None
            _env.warn(
                f"trainbar: output to {getattr(channel.stream, 'name', channel.stream)!r} failed "
                f"({type(error).__name__}: {error}); the progress display there is off, training goes on"
            )
        try:
            channel.release()
        except Exception:
            pass
        if not any(c.mode == _env.TTY for c in self._channels.values()):
            from trainbar.sinks import redirect as _redirect

            _redirect.uninstall()

    # --- the ticker thread -----------------------------------------------------------------

    def _interval(self) -> float:
        intervals = [c.interval for c in self._channels.values()]
        intervals += [getattr(listener, "interval", _IDLE_INTERVAL) for listener in self._listeners]
        return min(intervals, default=_IDLE_INTERVAL)

    def _start_ticker(self, wake: bool = False) -> None:
        if not self.threaded:
            return
        if self._thread is not None and self._thread.is_alive():
            if wake and self._interval() < self._sleeping:
                # A ticker started for a listener sleeps the idle interval: a new terminal
                # channel must not wait that long for its first frame.
                self._wake.set()
            return
        self._stop.clear()
        self._wake.clear()
        self._thread = threading.Thread(target=self._run, name="trainbar-display", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._sleeping = self._interval()
            self._wake.wait(self._sleeping)
            self._wake.clear()
            if self._stop.is_set():
                return
            with self.lock:
                if not self._channels and not any(ref() is not None for ref in self._open):
                    self._thread = None  # idle: a new bar starts a new ticker
                    return
            self.tick()

    def shutdown(self) -> None:
        """At interpreter exit: close what was left open and leave the terminal clean."""
        self._stop.set()
        self._wake.set()
        if self.watchdog is not None:
            self.watchdog.stop()
        if not self.lock.acquire(timeout=1.0):
            return
        try:
            for ref in list(self._open):
                bar = ref()
                if bar is not None:
                    complete = bar._total is not None and bar._n >= bar._total
                    bar._finish(DONE if complete else INTERRUPTED)
            for channel in list(self._channels.values()):
                self._drop(channel)
        finally:
            self.lock.release()


def _follow_ranks(display: Display) -> None:
    # In a distributed job every rank publishes its progress and the drawing rank reads them all
    # (trainbar.distributed); a single process never imports any of it.
    from trainbar.distributed import info as _rank

    if _rank.rank_info().world_size <= 1:
        return
    try:
        from trainbar.distributed import attach

        attach(display)
    except Exception as error:  # noqa: BLE001 - progress of other ranks is never worth a crash
        _env.warn(f"trainbar: could not follow the other ranks ({type(error).__name__}: {error})")


_current: Display | None = None
_create_lock = threading.Lock()


def current() -> Display:
    """The display of this process, created on first use."""
    global _current
    display = _current
    if display is None:
        with _create_lock:
            if _current is None:
                _current = Display()
                atexit.register(_at_exit)
            display = _current
    return display


def replace(display: Display | None) -> Display | None:
    """Swap the process display (used by ``trainbar.testing``); returns the previous one."""
    global _current
    previous, _current = _current, display
    return previous


def _at_exit() -> None:
    if _current is not None:
        _current.shutdown()


def _forget_in_child() -> None:
    # A forked child (a DataLoader worker) must never draw the parent's bars, and must not wait
    # on a lock some parent thread held at the fork: it starts over with a display of its own.
    global _current, _create_lock
    _current = None
    _create_lock = threading.Lock()
    from trainbar.sinks import redirect as _redirect

    _redirect.forget_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def stdout():
    """The real standard output, even while it is redirected above the bars."""
    from trainbar.sinks import redirect as _redirect

    return _redirect.unwrap(sys.stdout)
