"""A drop-in for tqdm's documented API on top of Bar: ``from trainbar import tqdm, trange``.

Differences a user can rely on: nothing here forces a redraw (``refresh=True`` and
``refresh()`` only mark the bar for the next frame), ``disable=None`` means "decide for me"
(a log file gets periodic lines rather than nothing), and arguments that mean nothing here
(``position``, ``lock_args``, ``smoothing``...) are accepted and ignored.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import warnings

from trainbar.core import clock as _clock
from trainbar.core import metrics as _metrics
from trainbar.core.arguments import length
from trainbar.core.bar import Bar, check_colour
from trainbar.core.snapshot import Snapshot
from trainbar.render import fmt as _format
from trainbar.runtime.output import write as _write


class TqdmWarning(Warning):
    """Base of tqdm's warnings, so a filter written for tqdm's works here too.

    As in tqdm, ``fp_write`` (a ``write`` function) gets the message as a line of its own.
    """

    def __init__(self, msg, fp_write=None, *args, **kwargs) -> None:
        if fp_write is not None:
            fp_write("\n" + self.__class__.__name__ + ": " + str(msg).rstrip() + "\n")
        else:
            super().__init__(msg, *args, **kwargs)


class TqdmExperimentalWarning(TqdmWarning, FutureWarning):
    pass


class TqdmDeprecationWarning(TqdmWarning, DeprecationWarning):
    pass


class TqdmMonitorWarning(TqdmWarning, RuntimeWarning):
    pass


class TqdmTypeError(TypeError):
    pass


class TqdmKeyError(KeyError, TypeError):
    """An unknown keyword argument: a KeyError as in tqdm, and a TypeError as Python's own."""


class tqdm(Bar):
    """tqdm's constructor and methods, drawn by trainbar."""

    monitor_interval = 0  # tqdm's class attribute; we have no monitor thread to configure
    _stable_numbers = False  # postfix numbers as tqdm users know them: 0.5, not 0.5000
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
        if "nested" in kwargs:  # tqdm's answer to its old argument, whatever else is passed
            raise TqdmDeprecationWarning(
                "`nested` is deprecated and automated.\nUse `position` instead for manual control.\n",
                fp_write=getattr(file, "write", sys.stderr.write),
            )
        if kwargs:
            raise TqdmKeyError(f"tqdm: unknown argument(s): {', '.join(sorted(kwargs))}")
        if total is None and iterable is not None:
            total = length(iterable)
            if total is None and hasattr(iterable, "shape"):
                total = getattr(iterable, "shape", (None,))[0]
        try:
            colour = check_colour(colour)
        except (TypeError, ValueError):
            # tqdm's warning, in its class (a filter for TqdmWarning catches it) and its words.
            warnings.warn(
                f"Unknown colour ({colour}); valid choices: [hex (#00ff00), BLACK, RED, GREEN, YELLOW, BLUE, "
                "MAGENTA, CYAN, WHITE]; the bar is drawn in the default colour",
                TqdmWarning,
                stacklevel=2,
            )
            colour = None
        self._ascii_given = ascii
        self._scale = _numeric_scale(unit_scale)
        self._raw_postfix = None
        super().__init__(
            iterable,
            total=total,
            desc=desc,
            unit=unit,
            leave=leave,
            # tqdm's default disable=False means "show it", not "override TRAINBAR_DISABLE".
            disable=True if disable else None,
            file=file,
            # A numeric unit_scale multiplies what is shown, in plain digits, as tqdm does.
            unit_scale=bool(unit_scale) and self._scale == 1,
            unit_divisor=unit_divisor,
            initial=initial,
            # tqdm documents ncols=0 as "stats only"; here it is accepted as "no fixed width".
            ncols=ncols or None,
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
        self.gui, self.lock_args = gui, lock_args
        self.dynamic_miniters = miniters is None
        if postfix is not None:
            if isinstance(postfix, dict) and all(isinstance(key, str) for key in postfix):
                self.set_postfix(**postfix)  # keywords, sorted as tqdm sorts them
            elif isinstance(postfix, dict):
                self.set_postfix(postfix)
            else:
                self.postfix = postfix

    # --- attributes tqdm users assign ----------------------------------------------------

    @property
    def n(self):
        return self._n

    @n.setter
    def n(self, value) -> None:
        self.set(value)

    @property
    def total(self):
        return self._total

    @total.setter
    def total(self, value) -> None:
        self._set_total(value)

    @property
    def iterable(self):
        return self._iterable

    @property
    def leave(self) -> bool:
        return self._leave

    @leave.setter
    def leave(self, value) -> None:
        self._set_leave(value)

    # What tqdm users read back of the constructor's arguments.
    @property
    def ascii(self):
        if self._ascii_given is None:
            # tqdm's ascii=None: decided by the stream, as the bar is drawn (no unicode: ASCII).
            from trainbar.runtime.environment import supports_unicode

            return not supports_unicode(self.fp if self.fp is not None else sys.stderr)
        return self._ascii

    @property
    def ncols(self):
        return self._ncols

    @property
    def unit_scale(self):
        return self._scale if self._scale != 1 else self._unit_scale

    @property
    def unit_divisor(self):
        return self._unit_divisor

    @property
    def bar_format(self):
        return self._bar_format

    @property
    def colour(self):
        return self._colour

    @property
    def postfix(self):
        if self._raw_postfix is not None:
            return self._raw_postfix
        return ", ".join(f"{k}={v}" if k else v for k, v in self._postfix_items())

    @postfix.setter
    def postfix(self, value) -> None:
        # tqdm keeps the very object (README: postfix=["Batch", dict(value=0)]) and scripts then
        # mutate it in place, so it is kept by reference and read when drawn.
        self._raw_postfix = value
        self._replace_metrics({} if _blank(value) else {"": _AsText(value)})

    def _postfix_items(self) -> tuple:
        return _metrics.render(self)

    @property
    def last_print_n(self):
        # What was last drawn: every frame shows the count as it is, within a redraw.
        return self._n

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

    # update(n=1) is Bar's: n may be negative or a float, as in tqdm, and metrics are accepted.

    def refresh(self, nolock=False, lock_args=None) -> None:
        """Accepted for compatibility: the next frame (within ~0.1 s) shows the change."""

    def clear(self, nolock=False) -> None:
        """Accepted for compatibility: the display redraws the region itself."""

    def unpause(self) -> None:
        """Accepted for compatibility."""

    def display(self, msg=None, pos=None) -> None:
        """Accepted for compatibility: drawing belongs to the display thread."""

    def reset(self, total=None) -> None:
        """Start over at 0 (as tqdm does, whatever ``initial`` was), optionally with a new total."""
        if total is not None:
            self.total = total
        self._restart()

    def set_description(self, desc=None, refresh=True) -> None:
        self.desc = desc
        self._set_separator(": ")

    def set_description_str(self, desc=None, refresh=True) -> None:
        self.desc = desc
        self._set_separator(" " if desc else "")

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs) -> None:
        """Replace the metrics shown after the bar (values are read when drawn, not now)."""
        metrics = dict(ordered_dict or {})
        for key in sorted(kwargs):  # tqdm sorts keyword arguments
            metrics[key] = kwargs[key]
        self._raw_postfix = None
        self._replace_metrics(metrics)  # tensors detached, nothing read

    def set_postfix_str(self, s="", refresh=True) -> None:
        self._raw_postfix = None
        self._replace_metrics({"": str(s)} if s else {})

    def moveto(self, n) -> None:
        """Accepted for compatibility."""

    def __len__(self) -> int:
        if self._iterable is None:
            if self._total is None:
                raise TypeError("object of type 'tqdm' has no len()")
            return int(self._total)
        if hasattr(self._iterable, "shape"):
            return self._iterable.shape[0]
        if hasattr(self._iterable, "__len__"):
            return len(self._iterable)  # type: ignore[arg-type]  # it has one: checked just above
        if hasattr(self._iterable, "__length_hint__"):
            return self._iterable.__length_hint__()
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

    def __reversed__(self):
        if self._iterable is None or (
            not hasattr(self._iterable, "__reversed__") and not hasattr(self._iterable, "__getitem__")
        ):
            raise TypeError("'tqdm' object is not reversible")
        forwards = self._iterable
        self._iterable = reversed(forwards)  # type: ignore[call-overload]  # checked just above
        try:
            return self.__iter__()  # binds the reversed iterable now, before it is put back
        finally:
            self._iterable = forwards

    def __contains__(self, item) -> bool:
        # The iterable answers: testing membership must not count steps on the bar.
        if self._iterable is None:
            raise TypeError("argument of type 'tqdm' is not iterable")
        return item in self._iterable

    # tqdm orders bars by their screen position.
    def __lt__(self, other) -> bool:
        return self.pos < other.pos

    def __le__(self, other) -> bool:
        return self.pos <= other.pos

    def __gt__(self, other) -> bool:
        return self.pos > other.pos

    def __ge__(self, other) -> bool:
        return self.pos >= other.pos

    def __eq__(self, other) -> bool:
        return self is other

    @property
    def format_dict(self) -> dict:
        """tqdm's ``format_dict``: the raw values a ``bar_format`` would see."""
        now = _clock.now()
        unit_scale = self._scale if self._scale != 1 else self._unit_scale
        postfix = self.postfix
        return {
            "n": self._n, "total": self._total, "elapsed": self.elapsed, "ncols": self._ncols,
            "nrows": self.nrows, "prefix": self._desc, "ascii": self._ascii, "unit": self._unit,
            "unit_scale": unit_scale, "rate": self._estimator.rate(now, self._estimator.known_progress(self._n)),
            "bar_format": self._bar_format, "postfix": None if _blank(postfix) else postfix,
            "unit_divisor": self._unit_divisor, "initial": self._initial, "colour": self._colour,
        }  # fmt: skip

    def __str__(self) -> str:
        return self.format_meter(**self.format_dict)

    def snapshot(self, now: float | None = None) -> Snapshot:
        snap = super().snapshot(now)
        if self._scale != 1:
            snap = _scaled(snap, self._scale)
        if snap.bar_format and self._raw_postfix is not None and not isinstance(self._raw_postfix, str):
            snap = snap.replace(bar_format=_bind_postfix(snap.bar_format, self._raw_postfix))
        if snap.bar_format and type(self).format_dict is not tqdm.format_dict:
            snap = snap.replace(fields=self._own_fields(snap.bar_format))
        return snap

    def _own_fields(self, bar_format: str) -> tuple:
        """The fields a subclass's ``format_dict`` adds (tqdm's way to extend ``bar_format``),
        read now, on the drawing thread: if that code raises, its fields show as ``?``."""
        try:
            return _extra_fields(self.format_dict)
        except Exception:  # noqa: BLE001 - the user's code must never stop the drawing thread
            from trainbar.render.ansi import FIELD_NAMES, UNKNOWN

            return tuple((name, UNKNOWN) for name in _template_names(bar_format) if name not in FIELD_NAMES)

    # --- class-level helpers tqdm users call --------------------------------------------

    @classmethod
    def write(cls, s, file=None, end="\n", nolock=False) -> None:
        """Print ``s`` above the bars (tqdm.write)."""
        _write(s, end=end, file=file)

    @classmethod
    def get_lock(cls):
        # tqdm.contrib.concurrent deletes `_lock` from the class when it is done with it.
        if getattr(cls, "_lock", None) is None:
            cls._lock = threading.RLock()
        return cls._lock

    @classmethod
    def set_lock(cls, lock) -> None:
        cls._lock = lock

    @classmethod
    @contextlib.contextmanager
    def external_write_mode(cls, file=None, nolock=False):
        """Holds tqdm's lock (made again if it was deleted, as tqdm does) while the caller
        writes; trainbar's display keeps its bars clear of the text by itself."""
        if nolock:
            yield
            return
        with cls.get_lock():
            yield

    @staticmethod
    def format_sizeof(num, suffix="", divisor=1000) -> str:
        if abs(num) >= 999.5 * float(divisor) ** 7:  # past zetta tqdm writes one decimal of yotta
            return f"{num / float(divisor) ** 8:3.1f}Y{suffix}"
        return _format.si(num, divisor) + suffix

    @staticmethod
    def format_interval(t) -> str:
        """``[H:]MM:SS`` with tqdm's sign for a negative span; from a day on, ``1d 01:00:00``."""
        return ("-" if t < 0 else "") + _format.duration(abs(t))

    @staticmethod
    def format_num(n) -> str:
        """tqdm's compact number: three significant digits where that is shorter than ``str``."""
        short = f"{n:.3g}".replace("e+0", "e+").replace("e-0", "e-")
        full = str(n)
        return short if len(short) < len(full) else full

    @staticmethod
    def format_meter(
        n, total, elapsed, ncols=None, prefix="", ascii=False, unit="it", unit_scale=False, rate=None,
        bar_format=None, postfix=None, unit_divisor=1000, initial=0, colour=None, **extra,
    ) -> str:  # fmt: skip
        """One bar line from raw values, as tqdm's ``format_meter``; ``extra`` keywords (what a
        subclass's ``format_dict`` adds) are fields a ``bar_format`` may name."""
        if total is not None and total == float("inf"):
            total = None  # tqdm's "unknown", as for the constructor
        if rate is None and elapsed:
            rate = (n - initial) / elapsed
        eta = (total - n) / rate if rate and total is not None else None
        metrics = () if _blank(postfix) else (("", str(postfix)),)
        prefix = str(prefix or "")
        if prefix.endswith(": "):
            prefix = prefix[:-2]  # a desc from tqdm's own set_description carries its colon already
        if bar_format and postfix is not None and not isinstance(postfix, str):
            bar_format = _bind_postfix(bar_format, postfix)
        from trainbar.render.ansi import terminal_line

        scale = _numeric_scale(unit_scale)
        snap = Snapshot(
            desc=_format.sanitize(prefix), n=n, total=total, elapsed=elapsed, rate=rate, eta=eta,
            unit=unit, unit_scale=bool(unit_scale) and scale == 1, unit_divisor=unit_divisor, metrics=metrics,
            ascii=ascii, ncols=ncols, bar_format=bar_format, fields=_extra_fields(extra),
        )  # fmt: skip
        return terminal_line(_scaled(snap, scale) if scale != 1 else snap, ncols or 80)

    @classmethod
    @contextlib.contextmanager
    def wrapattr(cls, stream, method, total=None, bytes=True, **tqdm_kwargs):
        """``with tqdm.wrapattr(stream, "read"/"write", total=...) as f``: count what passes."""
        if bytes:
            tqdm_kwargs = {"unit": "B", "unit_scale": True, "unit_divisor": 1024, **tqdm_kwargs}
        with cls(total=total, **tqdm_kwargs) as t:
            yield _CallbackIO(t.update, stream, method)

    @classmethod
    def pandas(cls, **tqdm_kwargs) -> None:
        """``tqdm.pandas(**options)``: ``progress_apply``, ``progress_map``... on pandas objects,
        each call counted on a bar of this class (see ``trainbar.compat.pandas``)."""
        from trainbar.compat.pandas import register

        register(cls, **tqdm_kwargs)


class _AsText:
    """A raw postfix object: shown through ``str`` when drawn, as tqdm does, never as a number."""

    __slots__ = ("value",)

    def __init__(self, value) -> None:
        self.value = value

    def __str__(self) -> str:
        return str(self.value)


# tqdm's own format_dict keys: the inputs of format_meter, never extra bar_format fields.
_FORMAT_DICT_KEYS = frozenset((
    "n", "total", "elapsed", "ncols", "nrows", "prefix", "ascii", "unit", "unit_scale", "rate", "bar_format",
    "postfix", "unit_divisor", "initial", "colour",
))  # fmt: skip


def _extra_fields(values) -> tuple:
    return tuple((str(k), v) for k, v in values.items() if k not in _FORMAT_DICT_KEYS)


def _template_names(template: str) -> list:
    """The field names a format string uses (``total_time`` for ``{total_time[0]:>8}``)."""
    import string

    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template) if field]
    except ValueError:
        return []
    return [field.split(".")[0].split("[")[0] for field in fields]


def _blank(postfix) -> bool:
    # Not truthiness: a raw postfix may be an array, whose truth value raises.
    return postfix is None or (isinstance(postfix, str) and not postfix)


def _numeric_scale(unit_scale) -> float:
    """The factor a numeric ``unit_scale`` multiplies shown counts by (True and False mean 1)."""
    if isinstance(unit_scale, bool) or not isinstance(unit_scale, (int, float)) or unit_scale in (0, 1):
        return 1
    return unit_scale


def _scaled(snap: Snapshot, scale: float) -> Snapshot:
    # tqdm counts raw items (n, total stay as given) and scales only the text.
    return snap.replace(
        n=snap.n * scale,
        total=None if snap.total is None else snap.total * scale,
        rate=None if snap.rate is None else snap.rate * scale,
    )


def _bind_postfix(template: str, postfix) -> str:
    """Fill the ``{postfix...}`` fields of a bar_format with a raw postfix object now, leaving
    the other fields for the renderer; unchanged when the object does not fit the fields."""
    import string

    out = []
    try:
        for literal, field, spec, conversion in string.Formatter().parse(template):
            out.append(literal.replace("{", "{{").replace("}", "}}"))
            if field is None:
                continue
            tail = (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            if field == "postfix" or field.startswith(("postfix[", "postfix.")):
                text = ("{0" + field[len("postfix") :] + tail).format(postfix)
                out.append(text.replace("{", "{{").replace("}", "}}"))
            else:
                out.append("{" + field + tail)
    except (KeyError, ValueError, IndexError, AttributeError, TypeError):
        return template
    return "".join(out)


class _CallbackIO:
    """tqdm's CallbackIOWrapper: the stream, with ``method`` reporting each chunk's length."""

    def __init__(self, callback, stream, method: str) -> None:
        self._stream, self._callback, self._method = stream, callback, method

    def __getattr__(self, name: str):
        attribute = getattr(self._stream, name)
        if name != self._method:
            return attribute

        def counted(*args, **kwargs):
            result = attribute(*args, **kwargs)
            self._callback(len(args[0]) if name == "write" else len(result))
            return result

        return counted


def trange(*args, **kwargs) -> tqdm:
    """``tqdm(range(*args), **kwargs)``."""
    return tqdm(range(*args), **kwargs)
