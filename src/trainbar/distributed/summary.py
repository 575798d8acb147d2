"""Every rank's record in, one view of the job out: who is slowest, who is behind, who went quiet.

Pure apart from ``Heartbeats``, which remembers when each rank's sequence number last moved, by
the reader's clock (passed in). Whatever the number of ranks, the text stays one short line: it
names at most a few ranks and counts the rest.

Ranks are compared by their position in the chain of nested bars (epoch, then step), folded into
a count of innermost items where the totals are known, so a rank at the end of epoch 2 is not
taken for one ahead of a rank at the start of epoch 3.
"""

from __future__ import annotations

import math
from typing import Any

from trainbar.distributed.record import EXITED, Record
from trainbar.render import fmt as _format

RUNNING, DONE, STOPPED, MISSING = "running", "done", "stopped", "missing"
MAX_CARRY_SECONDS = 3.0  # a record older than this is not carried further (clocks may disagree)
NAMED = 3  # ranks named in a list before the rest are counted
DRIFT_SECONDS = 1.0  # lag, in seconds of the pack's pace, before a rank is called behind
DRIFT_ITEMS = 2  # ...and in items: synchronous ranks differ by a step or two anyway


class Heartbeats:
    """When each rank's record last changed, by this process's clock."""

    def __init__(self, started: float) -> None:
        self.started = started
        self._seen: dict = {}  # rank -> (seq, time it was first seen)

    def silent_for(self, rank: int, seq: int | None, now: float) -> float:
        """Seconds since ``rank`` last published something new (since we started, if never)."""
        if seq is None:
            return now - self.started
        previous = self._seen.get(rank)
        if previous is None or previous[0] != seq:
            self._seen[rank] = (seq, now)
            return 0.0
        return now - previous[1]


class RankState:
    """One rank as the drawing rank sees it: its record and its state.

    ``state`` is ``running``; ``done`` (exited with its bars finished); ``exited`` (exited with a bar
    unfinished); ``stopped`` (no new record for longer than the heartbeat timeout: the process
    died, or its interpreter is wedged); or ``missing`` (no record yet).
    """

    __slots__ = ("rank", "record", "state", "silent")

    def __init__(self, rank: int, record: Record | None, state: str, silent: float) -> None:
        self.rank, self.record, self.state, self.silent = rank, record, state, silent

    @property
    def phase(self) -> str | None:
        return self.record.phase if self.record is not None else None

    @property
    def idle(self) -> float | None:
        return self.record.idle if self.record is not None else None

    def __repr__(self) -> str:
        return f"RankState(r{self.rank}, {self.state}, {self.record!r})"


class LevelSummary:
    """The job at one nesting depth: slowest and fastest rank, and the ranks that are behind.

    ``values`` holds each rank's counter at this depth as published. ``position(rank)`` is where
    it stands now, in items of this depth (outer bars folded in), or a tuple of counters where
    a total is unknown; ``offset(a, b)`` is how many items ``a`` is ahead of ``b``, or None.
    """

    __slots__ = ("depth", "slowest", "fastest", "behind", "values", "positions", "folded")

    def __init__(self, depth: int, slowest: int, fastest: int, behind: tuple, values: dict, positions: dict,
                 folded: bool) -> None:  # fmt: skip
        self.depth, self.slowest, self.fastest, self.behind = depth, slowest, fastest, behind
        self.values, self.positions, self.folded = values, positions, folded

    def offset(self, rank: int, other: int) -> float | None:
        mine, theirs = self.positions.get(rank), self.positions.get(other)
        if mine is None or theirs is None:
            return None
        if self.folded:
            return mine - theirs
        return mine[-1] - theirs[-1] if mine[:-1] == theirs[:-1] else None


class JobView:
    """The latest picture of every rank, built by the drawing rank once a second.

    ``ranks`` holds a ``RankState`` per expected rank. ``stopped``, ``exited`` and ``missing``
    are rank numbers. ``level(depth)`` compares ranks at one nesting depth and ``text(depth)``
    is the one-line summary shown on the bar at that depth.
    """

    def __init__(self, ranks: tuple, time: float, timeout: float, started: float, wall: float | None = None,
                 reader: int | None = None) -> None:  # fmt: skip
        self.ranks = ranks
        self.reader = reader  # the rank that built this view: offsets in the text are from it
        self.time = time
        self.wall = wall
        self.by_rank = {state.rank: state for state in ranks}
        self.stopped = tuple(s.rank for s in ranks if s.state == STOPPED)
        self.exited = tuple(s.rank for s in ranks if s.state == EXITED)
        # Ranks are given one heartbeat timeout to show up before they are called missing.
        late = time - started > timeout
        self.missing = tuple(s.rank for s in ranks if s.state == MISSING) if late else ()

    def level(self, depth: int) -> LevelSummary | None:
        return compare(self.ranks, depth, self.wall)

    def text(self, depth: int) -> str:
        return describe(self, depth)

    @property
    def behind(self) -> tuple:
        """Ranks behind the pack at the innermost depth every live rank reports."""
        depths = [len(s.record.levels) for s in self.ranks if s.state in (RUNNING, DONE) and s.record.levels]
        if not depths:
            return ()
        summary = self.level(min(depths) - 1)
        return summary.behind if summary is not None else ()


def build(records: dict, heartbeats: Heartbeats, now: float, timeout: float, wall: float | None = None,
          reader: int | None = None) -> JobView:  # fmt: skip
    """The view of ``records`` (rank -> Record or None) at ``now`` (and ``wall``, see ``compare``)."""
    states = []
    for rank in sorted(records):
        record = records[rank]
        silent = heartbeats.silent_for(rank, None if record is None else record.seq, now)
        if record is None:
            state = MISSING
        elif record.state == EXITED:
            finished = all(level.status == "done" for level in record.levels)
            state = DONE if finished else EXITED
        elif silent > timeout:
            state = STOPPED
        else:
            state = RUNNING
        states.append(RankState(rank, record, state, silent))
    return JobView(tuple(states), now, timeout, heartbeats.started, wall, reader)


def _common(values: list):
    values = [v for v in values if v]
    return max(set(values), key=values.count) if values else None


def compare(ranks, depth: int, wall: float | None = None) -> LevelSummary | None:
    """Slowest, fastest and behind among the live ranks that have a bar at ``depth``.

    With ``wall`` (the reader's ``time.time()``), each rank's position is first carried forward at
    its own rate to that moment: records are read up to a second or two apart, and a fast loop
    covers many items in that time.
    """
    live = [s for s in ranks if s.state in (RUNNING, DONE) and len(s.record.levels) > depth]
    if len(live) < 2:
        return None
    totals = [_common([s.record.levels[i].total for s in live]) for i in range(depth + 1)]
    rates = sorted(s.record.levels[depth].rate or 0.0 for s in live)
    pace = rates[len(rates) // 2]
    positions, folded = {}, {}
    for s in live:
        levels = s.record.levels
        ahead = 0.0
        if wall is not None and s.state == RUNNING and levels[depth].status == "running":
            ahead = (levels[depth].rate or 0.0) * min(max(wall - s.record.time, 0.0), MAX_CARRY_SECONDS)
        key = (*tuple(levels[i].n for i in range(depth)), levels[depth].n + ahead)
        own_totals = [levels[i].total or totals[i] for i in range(depth + 1)]
        positions[s.rank] = key
        folded[s.rank] = _fold(key, own_totals)
    use_fold = all(value is not None for value in folded.values())
    order: dict[int, Any] = folded if use_fold else positions
    ranked = sorted(order, key=lambda rank: (order[rank], rank))
    reference = order[ranked[len(ranked) // 2]]  # the upper median: the pack
    tolerance = max(DRIFT_ITEMS, DRIFT_SECONDS * pace)
    behind = []
    for rank in ranked:
        mine = order[rank]
        if use_fold:
            lag = reference - mine
        elif mine[:-1] == reference[:-1]:
            lag = reference[-1] - mine[-1]
        else:
            lag = math.inf if mine < reference else -math.inf
        if lag > tolerance:
            behind.append(rank)
    values = {s.rank: s.record.levels[depth].n for s in live}
    fastest = min(rank for rank in ranked if order[rank] == order[ranked[-1]])
    return LevelSummary(depth, ranked[0], fastest, tuple(behind), values, order, use_fold)


def _fold(key: tuple, totals: list):
    """The position as a count of innermost items, or None where a total is unknown."""
    position = key[0]
    for n, total in zip(key[1:], totals[1:]):
        if not total:
            return None
        position = position * total + n
    return position


def _names(ranks, extra=None) -> str:
    shown = [f"r{rank}" + (f" {extra(rank)}" if extra else "") for rank in ranks[:NAMED]]
    more = len(ranks) - NAMED
    return ", ".join(shown) + (f" +{more}" if more > 0 else "")


def _seconds(value: float) -> str:
    return f"{int(value)}s" if value < 100 else _format.duration(value)


def _where(summary: LevelSummary, rank: int, reader: int | None) -> str:
    """``r3 -30``: how far ``rank`` is from the reader's own bar; its counter if that is unknown."""
    offset = None if reader is None else summary.offset(rank, reader)
    if offset is None:
        return f"r{rank} {_format.number(summary.values[rank])}"
    offset = round(offset)
    return f"r{rank} {'+' if offset >= 0 else '-'}{abs(offset)}"


def describe(view: JobView, depth: int) -> str:
    """``4 ranks; behind: r3; no heartbeat: r2 14s; slowest r3 -35, fastest r1 +2``.

    Alarms come first, so a narrow terminal cuts the comparison rather than them. Offsets are in
    items of the bar at ``depth`` and relative to the reader's own bar, on whose line the text is
    shown: they stay true between two reads, where the counters themselves would not.
    """
    count = len(view.ranks)
    if count < 2:
        return ""
    summary = view.level(depth)
    parts = [f"{count} ranks"]
    if summary is not None and summary.behind:
        parts.append("behind: " + _names(summary.behind))
    if view.stopped:
        silent = sorted(view.stopped, key=lambda rank: -view.by_rank[rank].silent)
        parts.append("no heartbeat: " + _names(silent, lambda rank: _seconds(view.by_rank[rank].silent)))
    if view.exited:
        parts.append("exited: " + _names(view.exited))
    if view.missing:
        parts.append("not reporting: " + _names(view.missing))
    spread = None if summary is None else summary.offset(summary.fastest, summary.slowest)
    if spread is not None and round(spread) == 0:
        parts.append("all in step")
    elif summary is not None:
        slowest = _where(summary, summary.slowest, view.reader)
        fastest = _where(summary, summary.fastest, view.reader)
        parts.append(f"slowest {slowest}, fastest {fastest}")
    return "; ".join(parts)
