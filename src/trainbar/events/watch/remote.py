"""Bars of another process, rebuilt from its events: what they need to be drawn as trainbar draws.

A ``RemoteBar`` is a ``Drawable`` (``runtime/channels.py``: ``lineage``, ``leave``, ``snapshot``,
``visible``), so the very same terminal and log channels that draw this process's bars draw it.
Everything read from a file is checked and sanitised here: a line that does not hold up raises
``Malformed``.
"""

from __future__ import annotations

import json
import math
import re

from trainbar.core.snapshot import DONE, INTERRUPTED, RUNNING, Snapshot
from trainbar.render import fmt as _format
from trainbar.render.jsonl import NON_FINITE, VERSION

BAR_EVENTS = ("open", "progress", "close", "stall", "recover")
_STATUSES = (RUNNING, DONE, INTERRUPTED)
# A format spec with a huge width ("{n:999999999}") would make str.format build a gigabyte.
_HUGE_FORMAT = re.compile(r"\{[^}]*:[^}]*\d{4,}")


class Malformed(ValueError):
    """A line that is not a trainbar event."""


def parse(raw: bytes) -> dict:
    """The event on one line; raises ``Malformed`` for anything else."""
    try:
        event = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise Malformed(f"not JSON: {error}") from None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        raise Malformed("not an event object")
    version = event.get("v", VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version > VERSION:
        raise Malformed(f"format version {version!r} is newer than this reader's ({VERSION})")
    if event["event"] in BAR_EVENTS and "bar" in event:
        key = event["bar"]
        if not isinstance(key, (int, str)) or isinstance(key, bool):
            raise Malformed("bar must be an id")
        if event.get("parent") is not None and not isinstance(event["parent"], (int, str)):
            raise Malformed("parent must be an id or null")
    return event


def number(value, default=None, *, name: str = "value"):
    """A number from an event: JSON numbers, or the names NaN and the infinities are written as."""
    if value is None:
        return default
    if isinstance(value, bool):
        raise Malformed(f"{name} must be a number")
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        if abs(value) > 2**53:  # past what a float holds exactly: ratios and rates would overflow
            raise Malformed(f"{name} is out of range")
        return value
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    raise Malformed(f"{name} must be a number")


def metric_text(value) -> str:
    """A metric value as the writer's own display would show it."""
    if value is None:
        return "?"
    if isinstance(value, str) and value in NON_FINITE:
        value = NON_FINITE[value]
    if isinstance(value, (dict, list)):
        value = json.dumps(value)
    return _format.number(value)


def _finite(value):
    return value if value is not None and math.isfinite(value) else None


def _share(value):
    """A fraction in [0, 1], or None for anything else: an old writer simply has no such field."""
    share = _finite(number(value, name="data"))
    return share if share is not None and 0.0 <= share <= 1.0 else None


def _text(value, default: str = "") -> str:
    if value is None:
        return default
    return _format.sanitize(value if isinstance(value, str) else str(value))


def _fill_characters(value: object) -> bool:
    """``ascii`` as a bar would accept it: True/False, or two or more printable single-width
    characters (a crafted ``"c\x1bX"`` would reset the terminal)."""
    if isinstance(value, bool):
        return True
    return isinstance(value, str) and len(value) >= 2 and value.isprintable() and _format.width(value) == len(value)


def _colour(value: object) -> bool:
    from trainbar.core.bar import check_colour

    try:
        check_colour(value)
    except (TypeError, ValueError):
        return False
    return True


class RemoteBar:
    """One bar of a followed file, as of its latest event."""

    def __init__(self, source, key, parent: RemoteBar | None, lineage: tuple, *, top: bool) -> None:
        self.source = source
        self.key = key
        self.top = top  # its writer opened it with no parent
        self._parent = parent
        self._depth: int = parent._depth + 1 if parent is not None else 0
        self.lineage = lineage
        self.leave = True
        self.delay = 0.0  # the writer's: the watcher shows the bar only once it is due
        self.closed = False
        self.ended = False  # its writer went silent and is gone: said in a message, no line drawn
        self.anchor = 0.0  # watcher-clock time the latest event describes
        self.stall: tuple | None = None  # (seconds stalled at anchor, anchor, info) while stalled
        self._fields: dict = {
            "desc": "",
            "n": 0,
            "total": None,
            "elapsed": 0.0,
            "rate": None,
            "eta": None,
            "unit": "it",
            "status": RUNNING,
            "phase": "",
            "data_share": None,
        }
        self._options: dict = {}
        self._metrics: tuple = ()

    def update(self, event: dict, anchor: float) -> None:
        """Take the state an event reports (raises ``Malformed`` before changing anything)."""
        n = number(event.get("n"), 0, name="n")
        if not math.isfinite(n):
            raise Malformed("n must be finite")
        total = number(event.get("total"), name="total")
        fields = {
            "desc": _text(event.get("desc")),
            "n": n,
            "total": total if total is not None and 0 <= total < math.inf else None,
            "elapsed": max(0.0, _finite(number(event.get("elapsed"), 0.0, name="elapsed")) or 0.0),
            "rate": _finite(number(event.get("rate"), name="rate")),
            "eta": _finite(number(event.get("eta"), name="eta")),
            "unit": _text(event.get("unit"), "it"),
            "status": event.get("status") if event.get("status") in _STATUSES else RUNNING,
            "phase": _text(event.get("phase")),
            "data_share": _share(event.get("data")),
        }
        metrics = event.get("metrics") or {}
        if not isinstance(metrics, dict):
            raise Malformed("metrics must be an object")
        options = event.get("display")
        self._fields = fields
        self._metrics = tuple((_text(name), metric_text(value)) for name, value in metrics.items())
        if isinstance(options, dict):
            self._take_options(options)
        self.anchor = anchor

    def _take_options(self, options: dict) -> None:
        def pick(name, kinds, default, valid=lambda v: True):
            value = options.get(name, default)
            ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
            return value if ok and valid(value) else default

        self.leave = pick("leave", (bool,), True)
        self.delay = pick("delay", (int, float), 0.0, lambda v: 0 <= v < math.inf)
        bar_format = pick("bar_format", (str, type(None)), None)
        self._options = {
            "unit_scale": pick("unit_scale", (bool,), False),
            "unit_divisor": pick("unit_divisor", (int, float), 1000, lambda v: 1 <= v < math.inf),
            "ascii": pick("ascii", (bool, str), False, _fill_characters),
            "ncols": pick("ncols", (int, type(None)), None, lambda v: v is None or v > 0),
            "bar_format": None if bar_format is None or _HUGE_FORMAT.search(bar_format) else bar_format,
            "desc_separator": _text(pick("desc_separator", (str,), ": ")),
            "colour": pick("colour", (str, type(None)), None, _colour),
        }

    @property
    def status(self) -> str:
        return self._fields["status"]

    def names(self) -> list:
        """Its parents' descriptions and its own, outermost first, as log lines name a bar."""
        names: list[str] = []
        bar: RemoteBar | None = self
        while bar is not None:
            if bar._fields["desc"] or bar is self:
                names.append(bar._fields["desc"] or bar._fields["unit"])
            bar = bar._parent
        return names[::-1]

    def elapsed(self, now: float) -> float:
        """Seconds since the bar started: still counting while it runs, as the writer's display does."""
        if self.status != RUNNING:
            return self._fields["elapsed"]
        return self._fields["elapsed"] + max(0.0, now - self.anchor)

    def position(self) -> str:
        """Where it stands, as its line shows it: ``96/1000``, or ``96it`` with no total."""
        options = self._options
        scale, divisor = options.get("unit_scale", False), options.get("unit_divisor", 1000)
        n = _format.count(self._fields["n"], scale, divisor)
        total = self._fields["total"]
        if total is None:
            return f"{n}{self._fields['unit']}"
        return f"{n}/{_format.count(total, scale, divisor)}"

    def visible(self, now: float) -> bool:
        # The watcher adds a bar to its channel once its delay has passed. One taken as ended
        # without a close has its end said in a message: no final line of it is drawn.
        return not self.ended

    def snapshot(self, now: float) -> Snapshot:
        # The channels pass their own idea of "now"; the watcher's is the one that counts, and
        # only up to the writer's last event while the writer is stale (see Source.held).
        now = self.source.held(self, self.source.watcher.now)
        path = []
        parent = self._parent
        while parent is not None:
            path.append(parent._fields["desc"])
            parent = parent._parent
        fields = dict(self._fields, elapsed=self.elapsed(now))
        return Snapshot(
            **fields,
            **self._options,
            metrics=self._metrics,
            depth=self._depth,
            path=tuple(reversed(path)),
            prefix=self.source.prefix(self, self.source.watcher.now),
        )
