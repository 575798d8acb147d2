"""Snapshot: a frozen picture of one bar, the only thing renderers ever see.

Taking a snapshot is where the live state is read (counters, clock, metric values); everything
after it is pure. Renderers can therefore be tested with hand-built snapshots.
"""

from __future__ import annotations

RUNNING = "running"
DONE = "done"
INTERRUPTED = "interrupted"

_FIELDS = (
    "desc",
    "n",
    "total",
    "elapsed",
    "rate",
    "eta",
    "unit",
    "unit_scale",
    "unit_divisor",
    "metrics",
    "status",
    "depth",
    "path",
    "ascii",
    "ncols",
    "bar_format",
    "desc_separator",
    "prefix",
    "colour",
    "history",
    "phase",
    "data_share",
    "where",
    "waiting",
    "stalled",
)


class Snapshot:
    """Immutable view of a bar at one instant. ``metrics`` is a tuple of (name, text) pairs,
    ``history`` a tuple of (name, points) for metrics with a history, ``phase`` the name of the
    pause in progress, ``data_share`` the share of step time spent waiting for data.

    ``where`` is where the loop was (``data``: waiting for the next item; ``body``: in the step),
    ``waiting`` is true until the first item arrives, and ``stalled`` is how many seconds the
    watchdog has seen no progress for (``None`` when the bar is not stalled).
    """

    __slots__ = _FIELDS

    def __init__(
        self,
        *,
        desc: str = "",
        n: float = 0,
        total: float | None = None,
        elapsed: float = 0.0,
        rate: float | None = None,
        eta: float | None = None,
        unit: str = "it",
        unit_scale: bool = False,
        unit_divisor: int = 1000,
        metrics: tuple = (),
        status: str = RUNNING,
        depth: int = 0,
        path: tuple = (),
        ascii: bool | str = False,
        ncols: int | None = None,
        bar_format: str | None = None,
        desc_separator: str = ": ",
        prefix: str = "",
        colour: str | None = None,
        history: tuple = (),
        phase: str | None = None,
        data_share: float | None = None,
        where: str | None = None,
        waiting: bool = False,
        stalled: float | None = None,
    ) -> None:
        values = locals()
        for name in _FIELDS:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Snapshot is immutable")

    def replace(self, **changes: object) -> "Snapshot":
        values = {name: getattr(self, name) for name in _FIELDS}
        values.update(changes)
        return Snapshot(**values)  # type: ignore[arg-type]

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return max(0.0, min(1.0, self.n / self.total))

    def __repr__(self) -> str:
        return f"Snapshot(desc={self.desc!r}, n={self.n}, total={self.total}, status={self.status})"
