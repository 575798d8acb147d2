"""A small, bounded history of each bar's numeric metrics, for pictures of a run (sparklines).

Points are taken from the metric texts a renderer already read, at render cadence, never on the
training thread and never with a second read of a tensor. A point is added only when the bar has
moved since the last one, so a paused bar does not flatten its curve, and a caller that renders
often (a terminal at 10 Hz) cannot crowd out the others. Each series keeps the shape of the whole
run in at most ``MAX_POINTS`` values: when full, every other point is dropped and from then on only
every second sample is kept (then every fourth, and so on).

    record(bar, snapshot.metrics, snapshot.n)   # wherever a frame is rendered
    history(bar) -> {"loss": [2.3, 1.9, ...]}    # oldest first
"""

from __future__ import annotations

import math
import threading
import weakref

MAX_POINTS = 64  # even, so halving always keeps the newest point


class _Series:
    __slots__ = ("values", "stride", "skipped")

    def __init__(self) -> None:
        self.values: list = []
        self.stride = 1  # keep one sample in `stride`
        self.skipped = 0

    def add(self, value: float) -> None:
        self.skipped += 1
        if self.skipped < self.stride:
            return
        self.skipped = 0
        self.values.append(value)
        if len(self.values) >= MAX_POINTS:
            # Halve, keeping the newest point: the end of the curve is what people look at.
            self.values = self.values[1::2]
            self.stride *= 2


class _BarHistory:
    __slots__ = ("last_n", "series")

    def __init__(self) -> None:
        self.last_n: object = None
        self.series: dict = {}


_histories: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _number(text: object) -> float | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        try:
            value = float(text)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
    return value if math.isfinite(value) else None


def record(bar, metrics, n) -> None:
    """Add a point for every numeric metric in ``metrics`` ((name, value or text) pairs), if the
    bar has advanced to ``n`` since the last point. Non-numbers, NaN and inf are left out."""
    with _lock:
        entry = _histories.get(bar)
        if entry is None:
            entry = _histories[bar] = _BarHistory()
        if entry.last_n is not None and n == entry.last_n:
            return
        entry.last_n = n
        for name, text in metrics:
            value = _number(text)
            if value is None:
                continue
            series = entry.series.get(name)
            if series is None:
                series = entry.series[name] = _Series()
            series.add(value)


def history(bar) -> dict:
    """The numeric metrics of ``bar`` seen so far: ``{name: [values, oldest first]}``."""
    with _lock:
        entry = _histories.get(bar)
        if entry is None:
            return {}
        return {name: list(series.values) for name, series in entry.series.items() if series.values}
