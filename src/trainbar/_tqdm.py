"""A drop-in for tqdm's documented API on top of Bar: ``from trainbar import tqdm, trange``.

Differences a user can rely on: nothing here forces a redraw (``refresh=True`` and
``refresh()`` only mark the bar for the next frame), ``disable=None`` means "decide for me"
(a log file gets periodic lines rather than nothing), and arguments that mean nothing here
(``position``, ``lock_args``, ``smoothing``...) are accepted and ignored.
"""

from __future__ import annotations

import threading

from . import _clock, _format
from ._bar import Bar, _number
from ._output import write as _write
from ._state import RUNNING
from .renderers.ansi import terminal_line
from ._state import Snapshot


class tqdm(Bar):  # noqa: N801 - the name is the point
    """tqdm's constructor and methods, drawn by trainbar."""

    monitor_interval = 0  # tqdm's class attribute; we have no monitor thread to configure
    _lock = None

    def __init__(
        self,
        iterable=None,
        desc=None,
        total=None,
        leave=True,
        file=None,
        ncols=None,
        mininterval=0.1,
        maxinterval=10.0,
        miniters=None,
        ascii=None,
        disable=False,
        unit="it",
        unit_scale=False,
        dynamic_ncols=False,
        smoothing=0.3,
        bar_format=None,
        initial=0,
        position=None,
        postfix=None,
        unit_divisor=1000,
        write_bytes=False,
        lock_args=None,
        nrows=None,
        colour=None,
        delay=0.0,
        gui=False,
        **kwargs,
    ) -> None:
        if total is None and iterable is not None:
            try:
                total = len(iterable)
            except (TypeError, AttributeError):
                total = getattr(iterable, "shape", (None,))[0] if hasattr(iterable, "shape") else None
        if isinstance(unit_scale, (int, float)) and not isinstance(unit_scale, bool) and unit_scale not in (0, 1):
            scale = unit_scale  # tqdm multiplies counts by a numeric unit_scale
            total = None if total is None else total * scale
            initial = initial * scale
        super().__init__(
            iterable,
            total=total,
            desc=desc,
            unit=unit,
            leave=leave,
            # tqdm's default disable=False means "show it", not "override TRAINBAR_DISABLE".
            disable=True if disable else None,
            file=file,
            unit_scale=bool(unit_scale),
            unit_divisor=unit_divisor,
            initial=initial,
            ncols=ncols,
            ascii=ascii,
            delay=delay or 0.0,
            colour=colour,
            bar_format=bar_format,
        )
        self.disable = bool(disable)
        self.pos = 0 if position is None else position
        self.position = position
        self.mininterval, self.maxinterval, self.miniters = mininterval, maxinterval, miniters
        self.smoothing = smoothing
        self.dynamic_ncols = dynamic_ncols
        self.nrows = nrows
        self.fp = file
        self.last_print_n = self._initial
        if postfix is not None:
            if isinstance(postfix, dict):
                self.set_postfix(postfix)
            else:
                self.set_postfix_str(str(postfix))

    # --- attributes tqdm users assign ----------------------------------------------------

    @property
    def n(self):
        return self._n

    @n.setter
    def n(self, value) -> None:
        self._n = _number("n", value)

    @property
    def total(self):
        return self._total

    @total.setter
    def total(self, value) -> None:
        value = _number("total", value, minimum=0, allow_none=True)
        self._total = None if value is not None and value == float("inf") else value

    @property
    def iterable(self):
        return self._iterable

    @property
    def leave(self) -> bool:
        return self._leave

    @leave.setter
    def leave(self, value) -> None:
        self._leave = bool(value)

    @property
    def postfix(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self._postfix_items())

    def _postfix_items(self):
        from ._metrics import render

        return render(self._metrics)

    @property
    def start_t(self) -> float:
        return self._start

    @property
    def last_print_t(self) -> float:
        return _clock.now()

    @property
    def avg_time(self):
        rate = self.rate
        return 1.0 / rate if rate else None

    # --- methods --------------------------------------------------------------------------

    def update(self, n=1):
        """Count ``n`` more items (may be negative or a float, as in tqdm)."""
        try:
            self._n += n
        except TypeError:
            raise TypeError(f"update(n=...) must be a number, got {type(n).__name__} {n!r}") from None

    def refresh(self, nolock=False, lock_args=None) -> None:
        """Accepted for compatibility: the next frame (within ~0.1 s) shows the change."""

    def clear(self, nolock=False) -> None:
        """Accepted for compatibility: the display redraws the region itself."""

    def unpause(self) -> None:
        """Accepted for compatibility."""

    def display(self, msg=None, pos=None) -> None:
        """Accepted for compatibility: drawing belongs to the display thread."""

    def reset(self, total=None) -> None:
        """Start over at ``initial`` (0), optionally with a new total; metrics are kept."""
        self._n = self._initial if self._initial else 0
        if total is not None:
            self.total = total
        self._start = _clock.now()
        self._estimator.reset(self._start, self._n)
        self._data_wait = self._step_time = 0.0

    def set_description(self, desc=None, refresh=True) -> None:
        self.desc = desc
        self._desc_separator = ": "

    def set_description_str(self, desc=None, refresh=True) -> None:
        self.desc = desc
        self._desc_separator = " " if desc else ""

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs) -> None:
        """Replace the metrics shown after the bar (values are read when drawn, not now)."""
        metrics = dict(ordered_dict or {})
        for key in sorted(kwargs):  # tqdm sorts keyword arguments
            metrics[key] = kwargs[key]
        self._metrics = metrics

    def set_postfix_str(self, s="", refresh=True) -> None:
        self._metrics = {"": s} if s else {}

    def moveto(self, n) -> None:
        """Accepted for compatibility."""

    def close(self) -> None:
        if self._status == RUNNING:
            self.last_print_n = self._n
        super().close()

    def __len__(self) -> int:
        if self._iterable is None:
            if self._total is None:
                raise TypeError("object of type 'tqdm' has no len()")
            return int(self._total)
        if hasattr(self._iterable, "shape"):
            return self._iterable.shape[0]
        if hasattr(self._iterable, "__len__"):
            return len(self._iterable)
        if self._total is None:
            raise TypeError("object of type 'tqdm' has no len()")
        return int(self._total)

    def __bool__(self) -> bool:
        if self._total is not None:
            return self._total > 0
        if self._iterable is None:
            raise TypeError("bool() undefined when iterable == total == None")
        return bool(self._iterable)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other) -> bool:
        return self is other

    @property
    def format_dict(self) -> dict:
        """tqdm's ``format_dict``: the raw values a ``bar_format`` would see."""
        now = _clock.now()
        return {
            "n": self._n, "total": self._total, "elapsed": self.elapsed, "ncols": self._ncols,
            "nrows": self.nrows, "prefix": self._desc, "ascii": self._ascii, "unit": self._unit,
            "unit_scale": self._unit_scale, "rate": self._estimator.rate(now, self._n),
            "bar_format": self._bar_format, "postfix": self.postfix or None,
            "unit_divisor": self._unit_divisor, "initial": self._initial, "colour": self._colour,
        }  # fmt: skip

    def __str__(self) -> str:
        return self.format_meter(**self.format_dict)

    # --- class-level helpers tqdm users call --------------------------------------------

    @classmethod
    def write(cls, s, file=None, end="\n", nolock=False) -> None:
        """Print ``s`` above the bars (tqdm.write)."""
        _write(s, end=end, file=file)

    @classmethod
    def get_lock(cls):
        if cls._lock is None:
            cls._lock = threading.RLock()
        return cls._lock

    @classmethod
    def set_lock(cls, lock) -> None:
        cls._lock = lock

    @classmethod
    def external_write_mode(cls, file=None, nolock=False):
        import contextlib

        return contextlib.nullcontext()

    @staticmethod
    def format_sizeof(num, suffix="", divisor=1000) -> str:
        return _format.si(num, divisor) + suffix

    @staticmethod
    def format_interval(t) -> str:
        return _format.duration(t)

    @staticmethod
    def format_num(n) -> str:
        return _format.number(n)

    @staticmethod
    def format_meter(
        n, total, elapsed, ncols=None, prefix="", ascii=False, unit="it", unit_scale=False, rate=None,
        bar_format=None, postfix=None, unit_divisor=1000, initial=0, colour=None, **extra,
    ) -> str:  # fmt: skip
        """One bar line from raw values, as tqdm's ``format_meter``."""
        if rate is None and elapsed:
            rate = (n - initial) / elapsed
        eta = (total - n) / rate if rate and total is not None else None
        metrics = (("", str(postfix)),) if postfix else ()
        snap = Snapshot(
            desc=_format.sanitize(str(prefix or "")), n=n, total=total, elapsed=elapsed, rate=rate, eta=eta,
            unit=unit, unit_scale=bool(unit_scale), unit_divisor=unit_divisor, metrics=metrics, ascii=ascii,
            ncols=ncols, bar_format=bar_format,
        )  # fmt: skip
        return terminal_line(snap, ncols or 80)


def trange(*args, **kwargs) -> tqdm:
    """``tqdm(range(*args), **kwargs)``."""
    return tqdm(range(*args), **kwargs)
