"""Snapshot: a frozen picture of one bar, the only thing renderers ever see.

Taking a snapshot is where the live state is read (counters, clock, metric values); everything
after it is pure. Renderers can therefore be tested with hand-built snapshots.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Union

RUNNING = "running"
DONE = "done"
INTERRUPTED = "interrupted"

Number = Union[int, float]
Metrics = tuple[tuple[str, str], ...]  # (name, text) pairs; a name of "" is a free-standing note
History = tuple[tuple[str, tuple[float, ...]], ...]  # (metric name, points, oldest first)


class Snapshot(NamedTuple):
    """Immutable view of a bar at one instant.

    ``phase`` is the name of the pause in progress, ``data_share`` the share of step time spent
    waiting for data. ``where`` is where the loop was (``data``: waiting for the next item;
    ``body``: in the step), ``waiting`` is true until the first item arrives, ``stalled`` is how
    many seconds the watchdog has seen no progress for (``None`` when not stalled), and
    ``reason`` says why an interrupted bar stopped (``SIGTERM``), when trainbar knows.
    ``fields`` are extra ``bar_format`` fields as (name, value) pairs, read when the snapshot was
    taken: what a tqdm subclass's ``format_dict`` adds.
    """

    desc: str = ""
    n: Any = 0  # a number: int, float or a numpy/torch scalar, as the user counted
    total: Any = None
    elapsed: float = 0.0
    rate: float | None = None
    eta: float | None = None
    unit: str = "it"
    unit_scale: bool = False
    unit_divisor: Number = 1000
    metrics: Metrics = ()
    status: str = RUNNING
    depth: int = 0
    path: tuple[str, ...] = ()
    ascii: bool | str = False
    ncols: int | None = None
    bar_format: str | None = None
    desc_separator: str = ": "
    prefix: str = ""
    colour: str | None = None
    history: History = ()
    phase: str | None = None
    data_share: float | None = None
    where: str | None = None
    waiting: bool = False
    stalled: float | None = None
    reason: str | None = None
    fields: tuple[tuple[str, Any], ...] = ()

    def replace(self, **changes: Any) -> Snapshot:
        return self._replace(**changes)

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        try:
            return max(0.0, min(1.0, float(self.n) / float(self.total)))
        except (OverflowError, ValueError, TypeError):
            return None

    @property
    def stopped_as(self) -> str:
        """How an interrupted bar's line ends: ``interrupted``, or ``terminated (SIGTERM)``."""
        return f"terminated ({self.reason})" if self.reason else "interrupted"
