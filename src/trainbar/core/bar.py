"""Bar: the object users hold. Its hot path stores numbers; the display does everything else."""

from __future__ import annotations

import math
import sys
import threading

from trainbar.core import clock as _clock
from trainbar.runtime import display as _display
from trainbar.runtime import environment as _env
from trainbar.render import fmt as _format
from trainbar.distributed import leader as _leader
from trainbar.core import metrics as _metrics
from trainbar.core import timing as _timing
from trainbar.core.counter import Counter
from trainbar.core.iterate import iterate
from trainbar.core.rate import RateEstimator
from trainbar.core.snapshot import DONE, INTERRUPTED, RUNNING, Snapshot


def _number(name: str, value: object, *, minimum: float | None = None, allow_none: bool = False):
    """Validate a numeric argument at the call, naming it in the error."""
    if value is None and allow_none:
        return None
    if isinstance(value, (str, bytes, bool)) or not hasattr(value, "__float__"):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    as_float = float(value)  # type: ignore[arg-type]
    if math.isnan(as_float):
        raise ValueError(f"{name} must be a number, got NaN")
    if minimum is not None and as_float < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    if isinstance(value, int):
        return value
    index = getattr(value, "__index__", None)  # numpy integers stay integers
    return index() if index is not None else as_float


def _columns(value: object) -> int:
    columns = _number("ncols", value, minimum=1)
    if math.isinf(columns):
        raise ValueError(f"ncols must be a finite number of columns, got {value!r}")
    return int(columns)


def _text(name: str, value: object, *, allow_none: bool = True) -> str | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__} {value!r}")
    return value


class Bar(Counter):
    """A progress bar over an iterable, or counted by hand with :meth:`update`.

    Create one with :func:`trainbar.bar`. All drawing happens off the training thread, at most
    about ten times a second on a terminal and every ``TRAINBAR_LOG_INTERVAL`` seconds in a log.
    """

    __slots__ = (
        "_total", "_desc", "_unit", "_unit_scale", "_unit_divisor", "_leave", "_iterable",
        "_metrics", "_start", "_end", "_status", "_estimator", "_initial", "_ascii", "_ncols",
        "_bar_format", "_desc_separator", "_colour", "_delay", "_prefix",
        "_parent", "_depth", "_lineage", "_channel", "_thread_id", "_next_log",
        "_data_wait", "_step_time", "_clean_desc", "_readout", "_phase", "_notes", "_where", "_stall_since",
        "_on_stall", "_source", "__weakref__",
    )  # fmt: skip

    def __init__(
        self,
        iterable=None,
        *,
        total=None,
        desc: str | None = None,
        unit: str = "it",
        leave: bool = True,
        disable: bool | None = None,
        file=None,
        unit_scale: bool = False,
        unit_divisor: int = 1000,
        initial=0,
        ncols: int | None = None,
        ascii=None,
        delay: float = 0.0,
        colour: str | None = None,
        bar_format: str | None = None,
        on_stall=None,
    ) -> None:
        if total is None and iterable is not None:
            try:
                total = len(iterable)
            except (TypeError, AttributeError, NotImplementedError):
                total = None
        total = _number("total", total, minimum=0, allow_none=True)
        if total is not None and math.isinf(total):
            total = None  # tqdm's idiom for "unknown"
        self._total = total
        self._desc = "" if desc is None else str(desc)
        self._clean_desc = None
        self._unit = _text("unit", unit, allow_none=False)
        self._unit_scale = bool(unit_scale)
        self._unit_divisor = _number("unit_divisor", unit_divisor, minimum=1)
        self._initial = _number("initial", initial)
        self._ncols = None if ncols is None else _columns(ncols)
        self._delay = float(_number("delay", delay, minimum=0))
        self._leave = bool(leave) if leave is not None else True
        self._ascii = ascii if isinstance(ascii, str) else bool(ascii)
        self._colour = colour
        self._bar_format = _text("bar_format", bar_format)
        self._desc_separator = ": "
        self._prefix = _leader.line_prefix()
        self._notes: dict = {}  # listener name -> text shown after the metrics (the ranks' summary)
        if file is not None and not callable(getattr(file, "write", None)):
            raise TypeError(f"file must be a writable text stream, got {type(file).__name__}")
        if on_stall is not None and not callable(on_stall):
            raise TypeError(f"on_stall must be a callable taking the stall report, got {type(on_stall).__name__}")
        self._on_stall = on_stall
        self._where: str | None = None  # where the loop is: "data", "body" (see _iterate), or set by integrations
        self._stall_since: float | None = None  # set by the watchdog while this bar is stalled
        self._source = None  # a weak reference to the iterator being walked, for the stall report

        self._iterable = iterable
        self._n = self._initial
        self._metrics: dict = {}
        self._readout = _metrics.Readout(self)
        self._phase: str | None = None  # the name of the pause in progress
        self._start = _clock.now()
        self._end: float | None = None
        self._status = RUNNING
        self._estimator = RateEstimator(self._start, self._initial)
        self._data_wait = 0.0
        self._step_time = 0.0
        self._channel = None
        self._parent = None
        self._depth = 0
        self._lineage: tuple = ()
        self._next_log = 0.0
        self._thread_id = threading.get_ident()

        from trainbar.sinks.redirect import unwrap

        stream = unwrap(sys.stderr if file is None else file)
        mode = _env.choose_mode(stream, disable) if stream is not None else _env.OFF
        _display.current().open(self, stream, mode)

    # --- the hot path: plain stores, nothing else ----------------------------------------

    # update(n=1, **metrics), the call made every step, is Counter's (see counter.py).

    def log(self, **metrics) -> None:
        """Attach metrics (numbers, numpy values, torch tensors on any device, or callables).

        Nothing is read now: values are read when a frame is drawn, a CUDA tensor without any
        device synchronisation.
        """
        _metrics.keep(self._metrics, metrics)

    def pause(self, phase: str = "paused"):
        """``with bar.pause("eval"):`` leaves that stretch out of the rate, and shows ``phase``.

        The bars this one is nested in pause too. Paused time still counts in the ETA: a
        periodic evaluation is expected again at its average cost and spacing.
        """
        from trainbar.core.pause import Pause

        return Pause(self, _text("phase", phase, allow_none=False))

    def set(self, n) -> None:
        """Move to the absolute position ``n`` (for framework callbacks that know the step)."""
        self._n = _number("n", n)

    def __iter__(self):
        if self._iterable is None:
            raise TypeError("this bar wraps no iterable; pass one to trainbar.bar() or count with update()")
        return iterate(self, self._iterable)

    # --- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        """Finish the bar and draw its final state. Safe to call more than once."""
        self._finish(DONE)

    def _finish(self, status: str) -> None:
        if self._status != RUNNING:
            return
        self._end = _clock.now()
        self._status = status
        _display.current().close(self)

    def __enter__(self) -> "Bar":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._finish(INTERRUPTED if exc_type is not None else DONE)

    def __del__(self) -> None:
        try:
            if self._status == RUNNING:
                self._finish(DONE)
        except Exception:
            pass

    # --- read-only state -------------------------------------------------------------------

    @property
    def n(self):
        """Items completed so far."""
        return self._n

    @property
    def total(self):
        return self._total

    @property
    def desc(self) -> str:
        return self._desc

    @desc.setter
    def desc(self, value) -> None:
        self._desc = "" if value is None else str(value)
        self._clean_desc = None

    @property
    def unit(self) -> str:
        return self._unit

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
        """Items per second over the recent window, or None before the first item."""
        now = self._end if self._end is not None else _clock.now()
        return self._estimator.rate(now, self._estimator.known_progress(self._n))

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

    def __len__(self) -> int:
        if self._total is None:
            raise TypeError("this bar has no total")
        return int(self._total)

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        total = "?" if self._total is None else self._total
        return f"<trainbar.Bar {self._desc!r} {self._n}/{total} {self._status}>"

    # --- what the display reads ------------------------------------------------------------

    def _snapshot(self, now: float) -> Snapshot:
        if self._end is not None:
            now = self._end
        progress = self._estimator.known_progress(self._n)
        n = self._n
        if self._clean_desc is None:
            self._clean_desc = _format.sanitize(self._desc)
        path = []
        parent = self._parent
        while parent is not None:
            path.append(parent._clean_desc if parent._clean_desc is not None else _format.sanitize(parent._desc))
            parent = parent._parent
        return Snapshot(
            desc=self._clean_desc,
            n=n,
            total=self._total,
            elapsed=now - self._start,
            rate=self._estimator.rate(now, progress),
            eta=self._estimator.eta(now, progress, self._total),
            unit=_format.sanitize(self._unit),
            unit_scale=self._unit_scale,
            unit_divisor=self._unit_divisor,
            metrics=_metrics.render(self, final=self._status != RUNNING)
            + tuple(("", text) for text in self._notes.values()),
            history=_metrics.series(self),
            phase=None if self._phase is None or self._status != RUNNING else _format.sanitize(self._phase),
            data_share=_timing.share(self),
            status=self._status,
            depth=self._depth,
            path=tuple(reversed(path)),
            ascii=self._ascii,
            ncols=self._ncols,
            bar_format=self._bar_format,
            desc_separator=self._desc_separator,
            prefix=self._prefix,
            colour=self._colour,
            where=self._where,
            waiting=self._where == "data" and n == self._initial and self._status == RUNNING,
            stalled=None if self._stall_since is None or self._end is not None else now - self._stall_since,
        )


def bar(
    iterable=None,
    *,
    total=None,
    desc: str | None = None,
    unit: str = "it",
    leave: bool = True,
    disable: bool | None = None,
    file=None,
    **options,
) -> Bar:
    """A progress bar over ``iterable`` (its total from ``len()``), or counted by hand.

    ``options``: ``unit_scale``, ``unit_divisor``, ``initial``, ``ncols``, ``ascii``, ``delay``,
    ``colour``, ``bar_format``, ``on_stall`` (called with the stall report when this bar's loop
    stalls; see the README's "When training stalls").
    """
    return Bar(iterable, total=total, desc=desc, unit=unit, leave=leave, disable=disable, file=file, **options)
