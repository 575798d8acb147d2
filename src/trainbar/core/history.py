"""Metric history: the values a bar has shown, kept for sparklines, in bounded memory.

A point is added each time a frame reads a newly logged value (see ``_metrics``), so the
history is sampled at render cadence however fast the loop logs. When a series is full, pairs of
neighbouring points are averaged into one: the series always spans the whole run, at a
resolution that halves as the run doubles.
"""

from __future__ import annotations

MAX_POINTS = 128


class Series:
    """One metric's history: at most MAX_POINTS points, each the mean of ``stride`` readings."""

    __slots__ = ("points", "stride", "_sum", "_count")

    def __init__(self) -> None:
        self.points: list = []
        self.stride = 1
        self._sum = 0.0
        self._count = 0

    def add(self, value: float) -> None:
        self._sum += value
        self._count += 1
        if self._count < self.stride:
            return
        self.points.append(self._sum / self._count)
        self._sum, self._count = 0.0, 0
        if len(self.points) >= MAX_POINTS:
            pairs = zip(self.points[0::2], self.points[1::2])
            self.points = [(a + b) / 2 for a, b in pairs]
            self.stride *= 2


def history(bar) -> dict:
    """``{metric name: [values, oldest first]}`` for the numeric metrics ``bar`` has shown."""
    readout = getattr(bar, "_readout", None)
    if readout is None:
        return {}
    return {name: list(series.points) for name, series in list(readout.series.items()) if series.points}


def thin(values: list, most: int) -> list:
    """At most ``most`` of ``values``, evenly spaced, the last one kept: a picture's worth."""
    if len(values) <= most:
        return list(values)
    stride = len(values) / most
    return [values[int(i * stride)] for i in range(most - 1)] + [values[-1]]
