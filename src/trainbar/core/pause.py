"""``with bar.pause("eval"):``: a stretch of time left out of a bar's rate, shown by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trainbar.core import clock as _clock
from trainbar.core.snapshot import RUNNING

if TYPE_CHECKING:
    from trainbar.core.bar import Bar


class Pause:
    """Pauses the bar and the bars it is nested in; restores their previous phase on exit."""

    __slots__ = ("_bar", "_phase", "_paused")

    def __init__(self, bar: Bar[Any], phase: str) -> None:
        self._bar = bar
        self._phase = phase
        self._paused: list = []  # (bar, the phase it showed before)

    def __enter__(self) -> Pause:
        now = _clock.now()
        bar: Bar[Any] | None = self._bar
        while bar is not None:
            if bar._status == RUNNING:
                bar._estimator.pause(now)
                self._paused.append((bar, bar._phase))
                bar._phase = self._phase
            bar = bar.parent
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        now = _clock.now()
        for bar, previous in self._paused:
            bar._estimator.resume(now)
            bar._phase = previous
        self._paused = []
