"""One rank's published progress: what it holds, and its bytes in the store (pure).

``Level`` is one bar (n, total, rate, status); ``Record`` is a rank's chain of bars, outermost
first, with who the rank is and its heartbeat.

A record is small (about 120 bytes) because the drawing rank reads every rank's record once a
second: 1,024 ranks make one request of about 120 KB.
"""

from __future__ import annotations

import json
import math
from collections import namedtuple

RUNNING, EXITED = "running", "exited"
_STATUS_CODES = {"running": "r", "done": "d", "interrupted": "i"}
_STATUS_NAMES = {code: name for name, code in _STATUS_CODES.items()}
VERSION = 2


class Level(namedtuple("Level", "n total rate status")):
    """One bar of a rank's chain of nested bars, outermost first: its counter, total, rate, status."""

    __slots__ = ()


class Record:
    """A rank's progress as published: its bars, its phase, and who it is.

    ``seq`` goes up by one at every publication: the reader tells a live rank from a dead one by
    watching it move, on its own clock, so clocks of different hosts never need to agree.
    ``idle`` is the seconds since this rank's innermost counter last moved, by its own clock.
    ``time`` is when the counters were read (``time.time()``), only to bring ranks read at
    slightly different moments to a common one before they are compared. ``wait`` is the share
    of its steps the rank spent waiting (for data, in a marked collective), or None where it is
    not measured; ``stalled`` the seconds its own watchdog has seen it stalled, or None.
    """

    __slots__ = ("seq", "host", "pid", "node", "state", "phase", "idle", "levels", "time", "wait", "stalled")

    def __init__(self, *, seq: int = 0, host: str = "", pid: int = 0, node: str = "", state: str = RUNNING,
                 phase: str | None = None, idle: float = 0.0, levels: tuple = (), time: float = 0.0,
                 wait: float | None = None, stalled: float | None = None) -> None:  # fmt: skip
        self.seq, self.host, self.pid, self.node = seq, host, pid, node
        self.state, self.phase, self.idle, self.levels = state, phase, idle, tuple(levels)
        self.time, self.wait, self.stalled = time, wait, stalled

    @property
    def innermost(self) -> Level | None:
        return self.levels[-1] if self.levels else None

    def __repr__(self) -> str:
        return f"Record(seq={self.seq}, state={self.state}, levels={list(self.levels)})"


def _short(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.4g}")


def _plain(value):
    # Counters may be numpy or torch integers: JSON wants Python numbers.
    if isinstance(value, (int, float)) or value is None:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def encode(record: Record) -> bytes:
    # A JSON array, not an object: a fifth smaller and quicker to parse, and the drawing rank
    # parses one per rank per read.
    levels = [
        [_plain(level.n), _plain(level.total), _short(level.rate), _STATUS_CODES.get(level.status, "r")]
        for level in record.levels
    ]
    data = [VERSION, record.seq, record.host, record.pid, record.node, record.state, record.phase,
            _short(record.idle), round(record.time, 3), levels,
            _short(record.wait), _short(record.stalled)]  # fmt: skip
    return json.dumps(data, separators=(",", ":")).encode()


_NUMBERS = (int, float)  # exact types: JSON gives nothing else, and a bool is no count
_OPTIONAL = (int, float, type(None))


def decode(raw: bytes) -> Record | None:
    """The record in ``raw``, or None for a placeholder, another version, or anything unreadable."""
    if not raw or raw[:3] != b"[%d," % VERSION:
        return None
    try:
        _, seq, host, pid, node, state, phase, idle, when, levels, wait, stalled = json.loads(raw)
        if type(wait) not in _OPTIONAL or type(stalled) not in _OPTIONAL:
            return None
        # Slots set directly: the drawing rank decodes a record per rank per read, and the
        # keyword constructor would cost more than parsing the JSON.
        record = Record.__new__(Record)
        record.seq, record.host, record.pid, record.node = int(seq), str(host), int(pid), str(node)
        record.state, record.phase, record.idle, record.time = str(state), phase, float(idle or 0.0), float(when or 0.0)
        record.wait, record.stalled = wait, stalled
        built = []
        for n, total, rate, status in levels:
            if type(n) not in _NUMBERS or type(total) not in _OPTIONAL or type(rate) not in _OPTIONAL:
                return None  # a record the summary could not do arithmetic on is no record
            built.append(Level(n, total, rate, _STATUS_NAMES.get(status, "running")))
        record.levels = tuple(built)
        return record
    except (ValueError, TypeError):
        return None
