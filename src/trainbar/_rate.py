"""Rate and ETA estimation: pure arithmetic on (time, count) samples, the clock passed in.

The display samples each bar's counter at redraw cadence, so the training loop never pays for
estimation. The estimate is windowed (recent speed matters more than the start of the run) and
ignores the first step, which often includes compilation, warm-up or the first data fetch.
"""

from __future__ import annotations

from collections import deque

WINDOW_SECONDS = 30.0
_MAX_SAMPLES = 64


class RateEstimator:
    """Items per second over a sliding window, with the slow first step left out."""

    __slots__ = ("_samples", "_start_t", "_start_n", "_first_step")

    def __init__(self, start_t: float, start_n: float = 0) -> None:
        self._start_t = start_t
        self._start_n = start_n
        self._samples: deque = deque(maxlen=_MAX_SAMPLES)
        # (t, n) once the first item has completed: the run's own pace starts there.
        self._first_step: tuple | None = None

    def reset(self, start_t: float, start_n: float = 0) -> None:
        self.__init__(start_t, start_n)  # type: ignore[misc]

    def observe(self, t: float, n: float) -> None:
        """Record the counter at time ``t``; cheap, and a no-op when called too often."""
        if self._first_step is None:
            if n > self._start_n:
                self._first_step = (t, n)
                self._samples.append((t, n))
            return
        samples = self._samples
        if samples and t - samples[-1][0] < WINDOW_SECONDS / _MAX_SAMPLES and n >= samples[-1][1]:
            return
        samples.append((t, n))

    def rate(self, t: float, n: float) -> float | None:
        """Items per second, or None before there is anything to go on."""
        self.observe(t, n)
        if self._first_step is None:
            return None
        reference = None
        for sample in self._samples:
            if t - sample[0] <= WINDOW_SECONDS:
                reference = sample
                break
        if reference is None or reference[0] >= t or n <= reference[1]:
            # Only the first step has finished (or nothing in the window): use the whole run.
            span = t - self._start_t
            done = n - self._start_n
            return done / span if span > 0 and done > 0 else None
        return (n - reference[1]) / (t - reference[0])

    def eta(self, t: float, n: float, total: float | None) -> float | None:
        """Seconds left, or None when the total or the rate is unknown."""
        if total is None:
            return None
        if n >= total:
            return 0.0
        per_second = self.rate(t, n)
        if not per_second:
            return None
        return (total - n) / per_second
