"""One rank's published progress: what it holds, and its bytes in the store (pure).

A record is small (about 150 bytes) because the drawing rank reads every rank's record once a
second: 1,024 ranks make one request of about 150 KB.
"""

from __future__ import annotations

import json
import math

RUNNING, EXITED = "running", "exited"
_STATUS_CODES = {"running": "r", "done": "d", "interrupted": "i"}
_STATUS_NAMES = {code: name for name, code in _STATUS_CODES.items()}
VERSION = 1


class Level:
    """One bar of a rank's chain of nested bars, outermost first."""

    __slots__ = ("n", "total", "rate", "status")

    def __init__(self, n: float, total: float | None, rate: float | None, status: str) -> None:
        self.n, self.total, self.rate, self.status = n, total, rate, status

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Level) and (self.n, self.total, self.rate, self.status) == (
            other.n, other.total, other.rate, other.status)  # fmt: skip

    def __repr__(self) -> str:
        return f"Level({self.n}/{self.total}, {self.rate}, {self.status})"


class Record:
    """A rank's progress as published: its bars, its phase, and who it is.

    ``seq`` goes up by one at every publication: the reader tells a live rank from a dead one by
    watching it move, on its own clock, so clocks of different hosts never need to agree.
    ``idle`` is the seconds since this rank's innermost counter last moved, by its own clock.
    ``time`` is when the counters were read (``time.time()``), only to bring ranks read at
    slightly different moments to a common one before they are compared.
    """

    __slots__ = ("seq", "host", "pid", "node", "state", "phase", "idle", "levels", "time")

    def __init__(self, *, seq: int = 0, host: str = "", pid: int = 0, node: str = "", state: str = RUNNING,
                 phase: str | None = None, idle: float = 0.0, levels: tuple = (), time: float = 0.0) -> None:  # fmt: skip
        self.seq, self.host, self.pid, self.node = seq, host, pid, node
        self.state, self.phase, self.idle, self.levels = state, phase, idle, tuple(levels)
        self.time = time

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
    levels = [
        [_plain(level.n), _plain(level.total), _short(level.rate), _STATUS_CODES.get(level.status, "r")]
        for level in record.levels
    ]
    data = {"v": VERSION, "s": record.seq, "h": record.host, "p": record.pid, "k": record.node,
            "x": record.state, "ph": record.phase, "i": _short(record.idle), "t": round(record.time, 3),
            "b": levels}  # fmt: skip
    return json.dumps(data, separators=(",", ":")).encode()


def decode(raw: bytes) -> Record | None:
    """The record in ``raw``, or None for a placeholder or anything unreadable."""
    if not raw or raw[:1] != b"{":
        return None
    try:
        data = json.loads(raw)
        levels = tuple(
            Level(n, total, rate, _STATUS_NAMES.get(status, "running")) for n, total, rate, status in data["b"]
        )
        return Record(seq=int(data["s"]), host=str(data["h"]), pid=int(data["p"]), node=str(data["k"]),
                      state=str(data["x"]), phase=data.get("ph"), idle=float(data.get("i") or 0.0),
                      levels=levels, time=float(data.get("t") or 0.0))  # fmt: skip
    except (ValueError, KeyError, TypeError):
        return None
