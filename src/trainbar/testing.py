"""Helpers for testing code that uses trainbar, and for trainbar's own tests.

from trainbar.testing import FakeClock, manual_display

with manual_display() as (clock, display):
    b = trainbar.bar(total=10, file=stream)
    clock.advance(1.0); b.update(5); display.tick()
"""

from __future__ import annotations

import contextlib

from trainbar.core import clock as _clock
from trainbar.runtime import runtime as _runtime


class FakeClock:
    """A clock that moves only when told to, so every rate, ETA and throttle is exact."""

    def __init__(self, start: float = 1000.0) -> None:
        self.time = float(start)

    def __call__(self) -> float:
        return self.time

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self.time += seconds
        return self.time


@contextlib.contextmanager
def manual_display(clock: FakeClock | None = None):
    """Install a fake clock and a runtime with no threads: call ``display.tick()`` yourself.

    Everything happens on the calling thread, and is drawn when ``tick()`` says so: bars opening
    and closing, messages, the event file. ``display.watchdog.check()`` runs one round of the
    stall watchdog. Everything is restored on exit, the bars' streams released.
    """
    clock = clock if clock is not None else FakeClock()
    previous_now = _clock.now
    display = _runtime.Runtime(threaded=False)
    previous_runtime = _runtime.replace(display)
    _clock.now = clock
    try:
        yield clock, display
    finally:
        try:
            display.shutdown()
        finally:
            _clock.now = previous_now
            _runtime.replace(previous_runtime)
