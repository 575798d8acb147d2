"""Channels: what the bars on one stream look like, in one mode. A channel renders; its output
(``sinks/writer.py``) decides on which thread the text is written.

* ``TerminalChannel``: a live region at the bottom of a terminal, redrawn in place;
* ``LogChannel``: plain lines, when a bar opens, every ``TRAINBAR_LOG_INTERVAL`` and at its close;
* ``NotebookChannel`` (``notebook.py``): HTML outputs in a Jupyter cell.

A channel draws ``Drawable``s: the runtime's ``Node`` for a bar of this process, and ``watch``'s
``RemoteBar`` for a bar rebuilt from another process's events. The runtime calls a channel with
its ``lock`` held; ``watch`` calls it from its one thread.
"""

from __future__ import annotations

import math
import threading
from functools import partial
from typing import Any, Protocol

from trainbar.core import clock as _clock
from trainbar.core.snapshot import Snapshot
from trainbar.render.ansi import terminal_line
from trainbar.render.fmt import sanitize, truncate
from trainbar.render.plain import log_line
from trainbar.runtime import environment as _env
from trainbar.sinks import encoder_for, put
from trainbar.sinks.stream import LineWriter
from trainbar.sinks.terminal import TerminalRegion
from trainbar.sinks.writer import Output

TTY_INTERVAL = 0.1  # at most ~10 redraws a second, whatever the caller does
IDLE_INTERVAL = 1.0


class Drawable(Protocol):
    """What a channel draws: a bar, seen through a snapshot."""

    lineage: tuple[int, ...]  # its place among the others: parents first, siblings in order

    @property
    def leave(self) -> bool: ...

    def snapshot(self, now: float) -> Snapshot | None: ...

    def visible(self, now: float) -> bool: ...


class Channel:
    """The bars drawn to one stream in one mode."""

    mode = ""
    interval = IDLE_INTERVAL

    def __init__(self, stream: Any, output: Output) -> None:
        self.stream = stream
        self.output = output
        self.lock = threading.RLock()  # the ticker and the caller's thread take turns
        self.items: list[Drawable] = []
        self.inline = False  # called on the caller's thread (its stream never blocks)
        self.dropped = False  # switched off: its stream failed, or its last bar left
        self.assigned = 0  # bars placed on it and not yet removed (the runtime counts, under its lock)

    def drawn(self) -> list[Drawable]:
        return sorted(self.items, key=_lineage)

    @property
    def empty(self) -> bool:
        return not self.items

    def add(self, item: Drawable, now: float) -> None:
        self.items.append(item)

    def remove(self, item: Drawable, now: float) -> None:
        if item in self.items:
            self.items.remove(item)

    def tick(self, now: float) -> None:
        pass

    def due_now(self, item: Drawable) -> None:
        """Draw ``item`` again at the next tick, whatever the interval (a frame already is)."""

    def write_above(self, text: str, stream: Any) -> None:
        """Put a message above the bars (on this channel's stream, or another of the terminal's)."""
        self.output.submit(partial(write_text, stream, encoder_for(stream)(text)), len(text), stream=stream)

    def release(self) -> None:
        """The channel's last bar has gone: leave the stream as it was found."""


def _lineage(item: Drawable) -> tuple[int, ...]:
    return item.lineage


def write_text(stream: Any, text: str) -> None:
    put(stream, text)


class TerminalChannel(Channel):
    mode = _env.TTY
    interval = TTY_INTERVAL

    def __init__(self, stream: Any, output: Output) -> None:
        super().__init__(stream, output)
        self.region = TerminalRegion(stream)  # used only by the output's actions
        self.unicode = _env.supports_unicode(stream)
        self.colour = _env.use_colour(stream)
        self.width = 0  # of the terminal when the region was last rendered
        self.foreign: dict[int, str] = {}  # id(stream) -> the frame another program is redrawing

    def show_foreign(self, key: int, frame: str | None) -> None:
        """Draw another program's ``\\r``-redrawn line under the bars, or stop (None, or blank)."""
        if frame:
            self.foreign[key] = sanitize(frame)
        else:
            self.foreign.pop(key, None)

    def _line(self, snap: Snapshot) -> str:
        return terminal_line(snap, max(self.width - 1, 1), unicode_ok=self.unicode, colour=self.colour)

    def frame(self, now: float) -> list[str]:
        """The region's lines now (one column is kept spare: a full line wraps on some terminals)."""
        self.width = _env.terminal_width(self.stream)
        lines = []
        for item in self.drawn():
            snap = item.snapshot(now) if item.visible(now) else None
            if snap is not None:
                lines.append(self._line(snap))
        lines.extend(truncate(frame, max(self.width - 1, 1)) for frame in list(self.foreign.values()))
        return lines

    def tick(self, now: float) -> None:
        self.output.submit_frame(partial(self.region.draw, self.frame(now)), stream=self.stream)

    def remove(self, item: Drawable, now: float) -> None:
        super().remove(item, now)
        snap = item.snapshot(now) if item.leave and item.visible(now) else None
        lines = self.frame(now)  # without the bar: redrawn under its own final line, it would flash
        if snap is None:
            self.output.submit_frame(partial(self.region.draw, lines), stream=self.stream)
            return
        final = self._line(snap.replace(depth=0)) + "\n"
        self.output.submit(partial(self.region.write_above, final, None, lines), len(final), stream=self.stream)

    def write_above(self, text: str, stream: Any) -> None:
        # Re-rendering costs more than the write itself, so the region is redrawn as it was last
        # drawn, unless the terminal was resized since: drawn again as it was, it would wrap.
        lines = self.frame(_clock.now()) if _env.terminal_width(self.stream) != self.width else None
        self.output.submit(partial(self.region.write_above, text, stream, lines), len(text), stream=self.stream)

    def release(self) -> None:
        self.output.submit(self.region.release, stream=self.stream)


class LogChannel(Channel):
    mode = _env.LOG

    def __init__(self, stream: Any, output: Output, every: float) -> None:
        super().__init__(stream, output)
        self.writer = LineWriter(stream)
        self.every = every
        self.interval = min(IDLE_INTERVAL, every)
        self._due: dict[int, float] = {}  # id(item) -> when its next periodic line is due

    def _line(self, item: Drawable, now: float) -> None:
        snap = item.snapshot(now)
        if snap is not None:
            text = log_line(snap)
            self.output.submit(partial(self.writer.line, text), len(text), stream=self.stream)

    def add(self, item: Drawable, now: float) -> None:
        super().add(item, now)
        delayed = not item.visible(now)
        self._due[id(item)] = now + (self.every if not delayed else _delay_left(item, now))
        if not delayed:
            first = getattr(item, "first", None)  # the state it opened in, when drawn later
            if first is not None:
                text = log_line(first)
                self.output.submit(partial(self.writer.line, text), len(text), stream=self.stream)
            else:
                self._line(item, now)

    def due_now(self, item: Drawable) -> None:
        if id(item) in self._due:
            self._due[id(item)] = -math.inf

    def tick(self, now: float) -> None:
        for item in self.drawn():
            if now >= self._due.get(id(item), now):
                self._due[id(item)] = now + self.every
                self._line(item, now)

    def remove(self, item: Drawable, now: float) -> None:
        super().remove(item, now)
        self._due.pop(id(item), None)
        if item.visible(now):
            self._line(item, now)


def _delay_left(item: Drawable, now: float) -> float:
    delay = getattr(item, "delay", None)
    seconds = delay() if callable(delay) else (delay or 0.0)
    return max(float(seconds), 0.0)
