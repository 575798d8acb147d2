"""Rate and ETA estimation: pure arithmetic on (time, progress) samples, the clock passed in.

The display samples each bar's progress at redraw cadence, so the training loop never pays for
estimation. Each time progress has moved, the stretch since the previous move becomes an
*interval* (seconds, items). From the intervals:

* the first step is left out (compilation, warm-up, the first data fetch): the timeline
  starts when the first item completes;
* time inside ``bar.pause(...)`` is left out of every interval;
* the speed is items over seconds across a window of recent intervals (the last
  ``WINDOW_SECONDS`` of running time, hiccups left out, and never fewer than
  ``MIN_INTERVALS``), so noise averages out instead of whipsawing the estimate as an
  exponential average does;
* an interval far slower than the window's median (an evaluation or checkpoint nobody
  declared) is a *hiccup*: left out of the speed, its extra time counted as overhead. A slow
  step that comes back (every 10th step 10x slower, say) is part of the pace that way: its cost
  is spread over the items, never dropped;
* when the recent intervals are consistently faster or slower than the window (a robust test
  in log space against the window's own spread), the speed has changed: the window restarts
  there, so the estimate follows a real change within a few steps. Hiccups among the recent
  intervals are no evidence of a change (only a run of nothing but hiccups is), and when the
  samples hold several steps each, a step more or less per sample is the sampling's grain: a
  periodic slow step or the 0.1 s sampling does not restart the window;
* the ETA is the items left times (seconds per item + overhead per item). The overhead is the
  paused and hiccup time so far, spread over the progress up to the latest of those events,
  or over the progress so far less one average gap between events once that is larger: a
  periodic evaluation is expected again at its average cost and spacing, without ever
  spiking the estimate, and a pause that does not come back fades out of the ETA;
* time already spent on the current step (or pause) counts down from the ETA, up to what the
  step (or a pause) usually takes, so the ETA moves between updates.
* a finished bar's rate is its average from the first completed item to its end (pauses
  left out, hiccups in): one number, the same whatever drew the bar and how often. A loop
  tells the estimator exactly when its first item completed (``first_step``).

An outer bar's progress includes the progress of its innermost open child bar (epoch 3 of 10
plus 40% of the current epoch is 3.4), so an epoch bar's ETA moves during an epoch.
"""

from __future__ import annotations

import math
import threading

WINDOW_SECONDS = 60.0
MIN_INTERVALS = 16
MAX_INTERVALS = 512
HICCUP_FACTOR = 4.0  # this many times the median seconds per item, and...
HICCUP_MIN_SECONDS = 0.5  # ...at least this long: shorter blips simply average out
CHANGE_Z = 4.0  # how many spreads a recent stretch must differ by to count as a speed change
NOISE_FLOOR = math.log(1.1)  # changes of less than ~10% never restart the window
_CHANGE_SPANS = (2, 4, 8, 16)
_HICCUP_LOG = math.log(HICCUP_FACTOR)


class _Interval:
    __slots__ = ("end", "seconds", "items", "excess")

    def __init__(self, end: float, seconds: float, items: float, excess: float) -> None:
        self.end = end  # running time (pauses left out) when it ended
        self.seconds = seconds
        self.items = items
        self.excess = excess  # > 0 for a hiccup: the time beyond what its items usually take


def _median(values: list) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


class RateEstimator:
    """Items per second and seconds left for one bar; every method takes the time explicitly."""

    def __init__(self, start_t: float, start_n: float = 0) -> None:
        self._lock = threading.Lock()  # the display thread and a user reading bar.eta
        self._start(start_t, start_n)

    def _start(self, start_t: float, start_n: float) -> None:
        self._start_t = start_t
        self._start_n = start_n
        self._last_p = start_n
        self._first: tuple | None = None  # (running time, progress) when the first item completed
        self._moved: tuple | None = None  # (running time, progress) at the last move
        self._intervals: list = []
        self._per_item: float | None = None  # seconds per item over the window
        self._median: float | None = None
        self._overhead = 0.0  # paused and hiccup seconds so far
        self._events = 0  # pauses and hiccups so far
        self._last_event = start_n  # progress at the latest of them
        self._paused = 0.0  # seconds spent in finished pauses
        self._pause_since: float | None = None
        self._pause_depth = 0
        self._pauses = 0  # finished pauses, for their typical length
        self._inner: tuple = (None, 0.0)  # (own n, fraction of the current child bar done)

    def after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # a parent's thread may have held it at the fork

    def reset(self, start_t: float, start_n: float = 0) -> None:
        with self._lock:
            self._start(start_t, start_n)

    # --- time that does not count ------------------------------------------------------------

    def pause(self, t: float) -> None:
        with self._lock:
            self._pause_depth += 1
            if self._pause_depth == 1:
                self._pause_since = t

    def resume(self, t: float) -> None:
        with self._lock:
            if self._pause_depth == 0:
                return
            self._pause_depth -= 1
            if self._pause_depth == 0 and self._pause_since is not None:
                took = max(t - self._pause_since, 0.0)
                self._paused += took
                self._overhead += took
                self._pauses += 1
                self._events += 1
                self._last_event = self._last_p
                self._pause_since = None

    @property
    def paused(self) -> bool:
        return self._pause_depth > 0

    def _running(self, t: float) -> float:
        """Seconds since the start with every pause left out."""
        now = self._pause_since if self._pause_since is not None else t
        return now - self._start_t - self._paused

    # --- progress of nested bars ---------------------------------------------------------------

    def progress(self, n: float, child: tuple | None = None) -> float:
        """``n`` plus the fraction done of the open bar nested in this one, given as ``child``:
        its (progress, total).

        The fraction is remembered while ``n`` stays the same, so progress never goes back when
        the child closes before this bar counts its item, or when a second child (evaluation)
        starts within the same item.
        """
        own, fraction = self._inner
        if own != n:
            fraction = 0.0
        if child is not None and child[1]:
            done = child[0] / child[1]
            fraction = max(fraction, min(max(done, 0.0), 1.0))
        self._inner = (n, fraction)
        return n + fraction

    def known_progress(self, n: float) -> float:
        """``n`` plus the child fraction last seen by the display (for ``bar.eta`` and friends)."""
        own, fraction = self._inner
        return n + fraction if own == n else n

    # --- samples -------------------------------------------------------------------------------

    def observe(self, t: float, p: float) -> None:
        """Record progress ``p`` at time ``t``; cheap when nothing moved."""
        with self._lock:
            self._observe(t, p)

    def _observe(self, t: float, p: float) -> None:
        if p == self._last_p:
            return
        if p < self._last_p:  # moved back (reset, set to an earlier step): start over from here
            self._start(t, p)
            return
        self._last_p = p
        running = self._running(t)
        moved = self._moved
        if self._first is None or moved is None:
            self._first = self._moved = (running, p)
            return
        seconds = running - moved[0]
        items = p - moved[1]
        self._moved = (running, p)
        if seconds <= 0:
            if self._intervals:  # moved twice at one instant: the same interval
                self._intervals[-1].items += items
            return
        self._add(_Interval(running, seconds, items, 0.0))

    def _add(self, interval: _Interval) -> None:
        window = self._intervals
        median = self._median
        if (
            median is not None
            and interval.seconds >= HICCUP_MIN_SECONDS
            and interval.seconds > HICCUP_FACTOR * median * interval.items
        ):
            interval.excess = interval.seconds - median * interval.items
            self._overhead += interval.excess
            self._events += 1
            self._last_event = self._last_p
        window.append(interval)
        # The window spans WINDOW_SECONDS of steady time: a long hiccup (a 50 s evaluation step)
        # does not push out the steps that tell its speed and spread.
        span = sum(i.seconds for i in window[1:] if not i.excess)
        while len(window) > MIN_INTERVALS and span > WINDOW_SECONDS:
            window.pop(0)
            if not window[0].excess:
                span -= window[0].seconds
        if len(window) > MAX_INTERVALS:
            del window[: len(window) - MAX_INTERVALS]
        self._detect_change()
        self._summarise()

    def _detect_change(self) -> None:
        """Restart the window at the last few intervals when they are consistently off."""
        window = self._intervals
        logs = [math.log(i.seconds / i.items) for i in window]
        for span in _CHANGE_SPANS:
            if len(window) < span + max(span, 4):
                return
            older = [x for x, i in zip(logs[:-span], window[:-span]) if not i.excess]
            if len(older) < 4:
                return
            centre = _median(older)
            deviations = [abs(x - centre) for x in older]
            # The median deviation is 0 when most intervals read the same few ticks of the
            # display's clock (steps near its 0.1 s cadence): the mean deviation sees the rest.
            spread = max(1.4826 * _median(deviations), 1.2533 * sum(deviations) / len(deviations), NOISE_FLOOR)
            # A hiccup among the recent points says nothing about the speed of the others (a
            # periodic evaluation step, or the short stretch sampled just before it): the test
            # is on the rest. Only when every one of them is that slow is that the new speed.
            recent = [(x - centre, i) for x, i in zip(logs[-span:], window[-span:])]
            usual = [(x, i) for x, i in recent if x <= _HICCUP_LOG and not i.excess]
            if usual:
                recent = usual
            if len(recent) < 2:
                continue
            offs = [x for x, _ in recent]
            if len(recent) == 2:  # two points: both must be off, on the same side
                off = min(offs) if offs[0] > 0 else -max(offs)
                same_side = (offs[0] > 0) == (offs[1] > 0)
                limit = CHANGE_Z * spread / math.sqrt(2)
            else:  # a median shrugs off a single outlier among the recent points
                off = abs(_median(offs))
                same_side = True
                limit = CHANGE_Z * 1.25 * spread / math.sqrt(len(recent))
            items = sum(i.items for _, i in recent)
            if _median([i.items for i in window[:-span]]) > 1:
                # Samples hold several steps each (fast steps sampled every 0.1 s), counted to the
                # step: one step more or less in a sample is the sampling's grain. The stretch is
                # judged as a whole, one step more or less at its ends allowed for.
                if len(recent) > 2:
                    off = abs(math.log(sum(i.seconds for _, i in recent) / items) - centre)
                limit += math.log(1 + 1 / items)
            if same_side and off > limit:
                del window[:-span]
                # A hiccup is measured against the new speed: what looked like hiccups may have
                # been the new speed itself, while an evaluation step stays one.
                per_item = math.exp(centre + _median(offs))
                for kept in window:
                    if not kept.excess:
                        continue
                    self._overhead -= kept.excess
                    kept.excess = 0.0
                    if kept.seconds > HICCUP_FACTOR * per_item * kept.items:
                        kept.excess = kept.seconds - per_item * kept.items
                        self._overhead += kept.excess
                    else:
                        self._events -= 1
                return

    def _summarise(self) -> None:
        steady = [i for i in self._intervals if not i.excess]
        items = sum(i.items for i in steady)
        self._per_item = sum(i.seconds for i in steady) / items if items > 0 else None
        if len(steady) >= 4:
            self._median = _median([i.seconds / i.items for i in steady])
        else:
            self._median = None

    # --- estimates -----------------------------------------------------------------------------

    def _sample(self, t: float, p: float) -> None:
        # A reader may pass a coarser progress than the display saw (the whole count, without the
        # child bar's share): only the display's observe() may take the estimate back to zero.
        if p >= self._last_p:
            self._observe(t, p)

    def _overhead_per_item(self, p: float) -> float:
        if not self._overhead:
            return 0.0
        first_p = self._first[1]  # type: ignore[index]
        until_last = self._last_event - first_p
        gap = until_last / self._events if self._events else 0.0
        spread = max(until_last, p - first_p - gap)
        return self._overhead / spread if spread > 0 else 0.0

    def rate(self, t: float, p: float) -> float | None:
        """Items per second while running (pauses and hiccups left out), or None before there
        is anything to go on."""
        with self._lock:
            self._sample(t, p)
            per_item = self._per_item
            if per_item is None and self._first is not None:
                # Only the first step has finished: its speed is all there is.
                running, done = self._first[0], self._first[1] - self._start_n
                per_item = running / done if running > 0 and done > 0 else None
            return 1.0 / per_item if per_item else None

    def first_step(self, t: float, p: float) -> None:
        """The loop itself saw its first item complete at ``t``: the timeline starts there,
        exactly, rather than at the display's next sample of it."""
        with self._lock:
            if self._first is None and p > self._last_p:
                self._observe(t, p)

    def average_rate(self, t: float, p: float) -> float | None:
        """Items per second from the first completed item to ``t``, pauses left out, hiccups in:
        the one rate a finished bar reports, whatever its display's cadence was."""
        with self._lock:
            self._sample(t, p)
            first = self._first
            if first is None:
                return None
            running = self._running(t)
            if p > first[1] and running > first[0]:
                return (p - first[1]) / (running - first[0])
            done = first[1] - self._start_n  # only the first step is known: its speed is all there is
            return done / first[0] if first[0] > 0 and done > 0 else None

    def eta(self, t: float, p: float, total: float | None) -> float | None:
        """Seconds left, or None when the total or the speed is unknown."""
        if total is None:
            return None
        with self._lock:
            self._sample(t, p)
            if p >= total:
                return 0.0
            per_item = self._per_item
            if per_item is None:
                return None
            left = (total - p) * (per_item + self._overhead_per_item(p))
            # Time already spent on the step in progress, up to what a step usually takes.
            running = self._running(t)
            left -= min(running - self._moved[0], per_item * min(total - p, 1.0))  # type: ignore[index]
            if self._pause_since is not None and self._pauses:
                left -= min(t - self._pause_since, self._paused / self._pauses)
            return max(left, 0.0)


def observe_bars(pairs: list, now: float) -> None:
    """Sample every open bar, each outer bar with the progress of its innermost open child.

    ``pairs`` holds (bar, the bar it is nested in or None), in the order the bars opened.
    """
    child_of: dict = {}
    for bar, parent in pairs:
        if parent is not None:
            child_of[id(parent)] = bar  # the most recently opened child wins
    for bar, _ in pairs:
        estimator = bar._estimator
        child = child_of.get(id(bar))
        inner = None
        if child is not None and child._total:
            inner = (child._estimator.known_progress(child._n), child._total)
        estimator.observe(now, estimator.progress(bar._n, inner))
