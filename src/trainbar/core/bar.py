"""Bar: the object users hold. Its hot path stores numbers; the runtime does everything else."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar, overload

from trainbar.core import clock as _clock
from trainbar.core import metrics as _metrics
from trainbar.core import timing as _timing
from trainbar.core.arguments import columns, count, length, number, text
from trainbar.core.counter import Counter
from trainbar.core.iterate import iterate, settle
from trainbar.core.rate import RateEstimator
from trainbar.core.snapshot import DONE, INTERRUPTED, RUNNING, Snapshot
from trainbar.render import fmt

if TYPE_CHECKING:
    from trainbar.core.pause import Pause
    from trainbar.runtime.node import Node

T = TypeVar("T")
B = TypeVar("B", bound="Bar[Any]")

MAX_DESC_CHARS = 512  # a description is cut to this before any width work: frames stay cheap
_COLOUR_NAMES = frozenset(("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"))

# Every bar alive in this process, so that a forked child can give each fresh locks.
_alive: weakref.WeakSet[Bar[Any]] = weakref.WeakSet()
_alive_lock = threading.Lock()


def _check_ascii(value: object) -> bool | str:
    if value is None or isinstance(value, bool):
        return bool(value)
    if not isinstance(value, str):
        raise TypeError(f"ascii must be True, False or a string of fill characters, got {type(value).__name__}")
    if len(value) < 2 or not value.isprintable() or fmt.width(value) != len(value):
        raise ValueError(f"ascii must be at least two printable, single-width characters, got {value!r}")
    return value


def check_colour(value: object) -> str | None:
    """``colour`` as given, when it is a colour name (``red``) or a hex colour (``#00ff00``)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"colour must be a colour name or a hex colour such as '#00ff00', got {type(value).__name__}")
    lowered = value.lower()
    if lowered in _COLOUR_NAMES or fmt.hex_colour(lowered) is not None:
        return lowered
    raise ValueError(
        f"colour must be one of {', '.join(sorted(_COLOUR_NAMES))} or a hex colour such as '#00ff00', got {value!r}"
    )


class Bar(Counter, Generic[T]):
    """A progress bar over an iterable, or counted by hand with :meth:`update`.

    Create one with :func:`trainbar.bar`. All drawing happens off the training thread, at most
    about ten times a second on a terminal and every ``TRAINBAR_LOG_INTERVAL`` seconds in a log.
    """

    __slots__ = (
        "_total", "_desc", "_clean_desc", "_unit", "_unit_scale", "_unit_divisor", "_initial", "_ncols",
        "_ascii", "_colour", "_bar_format", "_desc_separator", "_delay", "_leave", "_prefix", "_iterable",
        "_metrics", "_readout", "_phase", "_start", "_end", "_status", "_reason", "_estimator",
        "_data_wait", "_step_time", "_waited", "_where", "_source", "_walk", "_node", "__weakref__",
    )  # fmt: skip

    def __init__(
        self,
        iterable: Iterable[T] | None = None,
        *,
        total: Any = None,
        desc: str | None = None,
        unit: str = "it",
        leave: bool = True,
        disable: bool | None = None,
        file: Any = None,
        unit_scale: bool = False,
        unit_divisor: float = 1000,
        initial: Any = 0,
        ncols: int | None = None,
        ascii: bool | str | None = None,
        delay: float = 0.0,
        colour: str | None = None,
        bar_format: str | None = None,
        on_stall: Callable[[dict], object] | None = None,
    ) -> None:
        if total is None and iterable is not None:
            total = length(iterable)
        total = number("total", total, minimum=0, allow_none=True)
        self._total = None if total is not None and total == float("inf") else total  # tqdm's "unknown"
        self._desc = "" if desc is None else str(desc)
        self._clean_desc: str | None = None
        self._unit: str = text("unit", unit, allow_none=False)  # type: ignore[assignment]
        self._unit_scale = bool(unit_scale)
        self._unit_divisor = number("unit_divisor", unit_divisor, minimum=1)
        self._initial = count("initial", initial)
        self._ncols = None if ncols is None else columns(ncols)
        self._delay = float(number("delay", delay, minimum=0))
        self._leave = True if leave is None else bool(leave)
        self._ascii = _check_ascii(ascii)
        self._colour = check_colour(colour)
        self._bar_format = text("bar_format", bar_format)
        self._desc_separator = ": "
        if file is not None and not callable(getattr(file, "write", None)):
            raise TypeError(f"file must be a writable text stream, got {type(file).__name__}")
        if on_stall is not None and not callable(on_stall):
            raise TypeError(f"on_stall must be a callable taking the stall report, got {type(on_stall).__name__}")
        self._where: str | None = None  # where the loop is: "data", "body" (see iterate.py)
        self._source: weakref.ref | None = None  # the iterator being walked, for the stall report
        self._walk: Any = None  # the iteration in progress (iterate.py), to count a chunk in flight
        self._iterable = iterable
        self._n = self._initial
        self._metrics: dict = {}
        self._readout = _metrics.Readout(self)
        self._phase: str | None = None  # the name of the pause in progress
        self._start = _clock.now()
        self._end: float | None = None
        self._status = RUNNING
        self._reason: str | None = None
        self._estimator = RateEstimator(self._start, self._initial)
        self._data_wait = 0.0
        self._waited = 0.0  # seconds inside trainbar.waiting(): a collective, another rank
        self._step_time = 0.0
        with _alive_lock:
            _alive.add(self)

        from trainbar.runtime import runtime

        self._node: Node = runtime.current().open(self, file=file, disable=disable, on_stall=on_stall)
        self._prefix = self._node.prefix
        runtime.current().show(self._node)

    # --- the hot path: plain stores, nothing else ----------------------------------------

    # update(n=1, **metrics), the call made every step, is Counter's (see counter.py).

    def log(self, **metrics: Any) -> None:
        """Attach metrics (numbers, numpy values, torch tensors on any device, or callables).

        Nothing is read now: values are read when a frame is drawn, a CUDA tensor without any
        device synchronisation, a callable on the display thread with a time budget.
        """
        _metrics.keep(self._metrics, metrics)

    def pause(self, phase: str = "paused") -> Pause:
        """``with bar.pause("eval"):`` leaves that stretch out of the rate, and shows ``phase``.

        The bars this one is nested in pause too. Paused time still counts in the ETA: a
        periodic evaluation is expected again at its average cost and spacing.
        """
        from trainbar.core.pause import Pause

        return Pause(self, text("phase", phase, allow_none=False))  # type: ignore[arg-type]

    def set(self, n: Any) -> None:
        """Move to the absolute position ``n`` (for framework callbacks that know the step)."""
        self._n = count("n", n)

    def __iter__(self) -> Iterator[T]:
        if self._iterable is None:
            raise TypeError("this bar wraps no iterable; pass one to trainbar.bar() or count with update()")
        return iterate(self, self._iterable)

    # --- for subclasses (the tqdm drop-in): changes a bar's owner makes, never another module

    def _set_total(self, total: Any) -> None:
        total = number("total", total, minimum=0, allow_none=True)
        self._total = None if total is not None and total == float("inf") else total

    def _set_leave(self, leave: object) -> None:
        self._leave = bool(leave)

    def _set_separator(self, separator: str) -> None:
        self._desc_separator = separator

    def _replace_metrics(self, metrics: dict) -> None:
        """Show exactly these metrics from now on (kept by reference, read when drawn)."""
        kept: dict = {}
        _metrics.keep(kept, metrics)
        self._metrics = kept

    def _restart(self) -> None:
        """Count from 0 again, the clock and the rate with it."""
        self._n = 0
        self._start = _clock.now()
        self._estimator.reset(self._start, 0)
        self._data_wait = self._step_time = self._waited = 0.0

    # --- lifetime --------------------------------------------------------------------------

    def close(self, *, interrupted: bool = False, reason: str | None = None) -> None:
        """Finish the bar and draw its final state. Safe to call more than once.

        ``interrupted=True`` marks it as stopped before its end (red in a notebook), and
        ``reason`` says why (``terminated (SIGTERM)``); a ``with`` block does this on an exception.
        A bar over an iterable that was not walked to its end is marked so too.
        """
        self._finish(INTERRUPTED if interrupted or reason or self._walk_unfinished() else DONE, reason)

    def _walk_unfinished(self) -> bool:
        # A loop walked to its end has finished the bar itself (iterate.py): still running here
        # means never iterated, or left half-way. 0/3 is not "done".
        return self._iterable is not None and not (self._total is not None and self._n >= self._total)

    def _finish(self, status: str, reason: str | None = None) -> None:
        if self._status != RUNNING:
            return
        settle(self)
        self._end = _clock.now()
        self._status = status
        self._reason = reason
        _metrics.settle(self)  # the closing line shows the last logged value exactly
        from trainbar.runtime import runtime

        runtime.current().close(self._node, self)

    def __enter__(self: B) -> B:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._finish(INTERRUPTED if exc_type is not None or self._walk_unfinished() else DONE)

    def __del__(self) -> None:
        try:
            if self._status == RUNNING:
                self._finish(DONE if self.complete else INTERRUPTED)
        except Exception:  # noqa: BLE001 - a finaliser must never raise
            pass

    # --- read-only state -------------------------------------------------------------------

    @property
    def n(self) -> Any:
        """Items completed so far."""
        return self._n

    @property
    def total(self) -> Any:
        return self._total

    @property
    def initial(self) -> Any:
        """Where the count started (``initial=``)."""
        return self._initial

    @property
    def complete(self) -> bool:
        """Whether the bar reached its total (a bar with no total is complete whenever it ends)."""
        return self._total is None or self._n >= self._total

    @property
    def desc(self) -> str:
        return self._desc

    @desc.setter
    def desc(self, value: object) -> None:
        self._desc = "" if value is None else str(value)
        self._clean_desc = None

    @property
    def unit(self) -> str:
        return self._unit

    @property
    def leave(self) -> bool:
        """Whether the finished bar stays on screen as a line."""
        return self._leave

    @property
    def delay(self) -> float:
        """Seconds before the bar is first shown."""
        return self._delay

    @property
    def status(self) -> str:
        """``running``, ``done`` or ``interrupted``."""
        return self._status

    @property
    def metrics(self) -> dict:
        """The metrics as logged (values unread, tensors detached)."""
        return _metrics.logged(self._metrics)

    @property
    def elapsed(self) -> float:
        """Seconds since the bar started (frozen once it is closed)."""
        end = self._end if self._end is not None else _clock.now()
        return end - self._start

    @property
    def rate(self) -> float | None:
        """Items per second: over the recent window while running, and once finished, the average
        over the steps it timed (the first one left out). None before the first item."""
        now = self._end if self._end is not None else _clock.now()
        return self._rate(now, self._estimator.known_progress(self._n))

    def _rate(self, now: float, progress: float) -> float | None:
        # Running: the recent speed. Finished: the average over the steps it timed, so a bar's
        # final rate is the same whatever drew it, and however often.
        if self._status == RUNNING:
            return self._estimator.rate(now, progress)
        return self._estimator.average_rate(now, progress)

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, or None when the total or rate is unknown."""
        now = self._end if self._end is not None else _clock.now()
        return self._estimator.eta(now, self._estimator.known_progress(self._n), self._total)

    @property
    def data_wait(self) -> float | None:
        """Share of step time spent waiting for the next item (timed loops only), or None."""
        if self._step_time <= 0:
            return None
        return min(1.0, self._data_wait / self._step_time)

    @property
    def wait_share(self) -> float | None:
        """Share of the loop's time spent waiting: for its next item, and inside
        ``trainbar.waiting()`` (a collective: the other ranks). None where nothing measures it."""
        if self._step_time > 0:
            return min(1.0, (self._data_wait + self._waited) / self._step_time)
        elapsed = self.elapsed
        return min(1.0, self._waited / elapsed) if self._waited and elapsed > 0 else None

    @property
    def data_time(self) -> float | None:
        """Seconds spent waiting for the next item (timed loops only), or None."""
        return self._data_wait if self._step_time > 0 else None

    @property
    def compute_time(self) -> float | None:
        """Seconds spent in the loop body, between items (timed loops only), or None."""
        return max(self._step_time - self._data_wait, 0.0) if self._step_time > 0 else None

    @property
    def phase(self) -> str | None:
        """The name of the pause in progress (``with bar.pause("eval")``), or None."""
        return self._phase

    @property
    def where(self) -> str | None:
        """Where the wrapped loop is now: ``data`` (inside ``next()``), ``body`` (in the step),
        or None when that is not followed (a fast loop, or a bar counted by hand)."""
        return self._where

    @property
    def iterator(self) -> Any:
        """The iterator the bar is walking (held weakly; None once gone, or before iterating)."""
        return self._source() if self._source is not None else None

    @property
    def parent(self) -> Bar[Any] | None:
        """The bar this one is nested in, while that one is alive."""
        parent = self._node.parent
        return parent.bar() if parent is not None else None

    @property
    def depth(self) -> int:
        """0 for a top-level bar, 1 for a bar nested in it, and so on."""
        return self._node.depth

    def __len__(self) -> int:
        if self._total is None:
            raise TypeError("this bar has no total")
        return int(self._total)

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        total = "?" if self._total is None else self._total
        return f"<trainbar.Bar {self._desc[:60]!r} {self._n}/{total} {self._status}>"

    # --- what the display draws ------------------------------------------------------------

    def title(self) -> str:
        """The description as it may be shown: cut to a bounded length, control sequences out."""
        clean = self._clean_desc
        if clean is None:
            clean = self._clean_desc = fmt.sanitize(self._desc[:MAX_DESC_CHARS])
        return clean

    def snapshot(self, now: float | None = None) -> Snapshot:
        """A frozen picture of the bar, as the display draws it (at ``now`` on trainbar's clock)."""
        if now is None:
            now = _clock.now()
        if self._end is not None:
            now = self._end
        node = self._node
        progress = self._estimator.known_progress(self._n)
        stall_since = node.stall_since
        return Snapshot(
            desc=self.title(),
            n=self._n,
            total=self._total,
            elapsed=now - self._start,
            rate=self._rate(now, progress),
            # While this loop, or another rank of the job, is stuck, no end can be foreseen.
            eta=None if stall_since is not None or node.eta_held else self._estimator.eta(now, progress, self._total),
            unit=fmt.sanitize(self._unit[:MAX_DESC_CHARS]),
            unit_scale=self._unit_scale,
            unit_divisor=self._unit_divisor,
            metrics=_metrics.render(self) + node.notes(),
            history=_metrics.series(self),
            phase=None
            if self._phase is None or self._status != RUNNING
            else fmt.sanitize(self._phase[:MAX_DESC_CHARS]),
            data_share=_timing.share(self),
            status=self._status,
            depth=node.depth,
            path=node.path(),
            ascii=self._ascii,
            ncols=self._ncols,
            bar_format=self._bar_format,
            desc_separator=self._desc_separator,
            prefix=self._prefix,
            colour=self._colour,
            where=self._where,
            waiting=self._where == "data" and self._n == self._initial and self._status == RUNNING,
            stalled=None if stall_since is None or self._end is not None else now - stall_since,
            reason=self._reason,
        )


def after_fork_in_child() -> None:
    """Every bar gets fresh locks: a thread of the parent may have held one at the fork."""
    global _alive_lock
    _alive_lock = threading.Lock()
    for alive in list(_alive):
        alive._estimator.after_fork_in_child()
        alive._readout.after_fork_in_child()


@overload
def bar(iterable: Iterable[T], *, total: Any = ..., desc: str | None = ..., unit: str = ..., leave: bool = ...,
        disable: bool | None = ..., file: Any = ..., **options: Any) -> Bar[T]: ...  # fmt: skip
@overload
def bar(iterable: None = ..., *, total: Any = ..., desc: str | None = ..., unit: str = ..., leave: bool = ...,
        disable: bool | None = ..., file: Any = ..., **options: Any) -> Bar[Any]: ...  # fmt: skip
def bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: Any = None,
    desc: str | None = None,
    unit: str = "it",
    leave: bool = True,
    disable: bool | None = None,
    file: Any = None,
    **options: Any,
) -> Bar[Any]:
    """A progress bar over ``iterable`` (its total from ``len()``), or counted by hand.

    ``options``: ``unit_scale``, ``unit_divisor``, ``initial``, ``ncols``, ``ascii``, ``delay``,
    ``colour``, ``bar_format``, ``on_stall`` (called with the stall report when this bar's loop
    stalls; see the README's "When training stalls").
    """
    return Bar(iterable, total=total, desc=desc, unit=unit, leave=leave, disable=disable, file=file, **options)
