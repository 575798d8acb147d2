"""Every rank's record in, one view of the job out: who is stuck, gone, slow or behind.

Pure apart from ``Heartbeats``, which remembers, by the reader's clock (passed in), when each
rank's sequence number last moved, its last two records, and who was called behind. Whatever
the number of ranks, the text stays one short line: it names at most a few ranks and counts the
rest.

Ranks are compared by their position in the chain of nested bars (epoch, then step), folded into
a count of innermost items where the totals are known, so a rank at the end of epoch 2 is not
taken for one ahead of a rank at the start of epoch 3. Positions are compared at one moment:
the oldest of the ranks' latest records. A rank published later is brought back to that moment
between its last two records; one that cannot be (a single record, published well after) is not
placed. Nothing is ever carried forward beyond what a rank published.

In synchronous training a slow rank drags the others along, so positions cannot find it: time
can. Each rank publishes the share of its steps spent waiting (for data, and in a collective
marked with ``trainbar.waiting()``); the rank the others wait for is the one that waits least.
"""

from __future__ import annotations

import math
from typing import Any

from trainbar.distributed.record import EXITED, Record
from trainbar.render import fmt as _format

RUNNING, DONE, STOPPED, MISSING, STALE = "running", "done", "stopped", "missing", "stale"
STALE_INTERVALS = 2.5  # a record unchanged for this many publish intervals is stale: not placed
ALIGN_SLACK = 0.3  # seconds: records this close in time are taken as published together
NAMED = 3  # ranks named in a list before the rest are counted
DRIFT_SECONDS = 1.0  # lag, in seconds of the pack's pace, before a rank is called behind
DRIFT_ITEMS = 2  # ...and in items: synchronous ranks differ by a step or two anyway
SLOW_MARGIN = 0.15  # the others wait at least this much more of each step than the slow rank...
SLOW_WAIT = 0.2  # ...and at least this share in all


class Heartbeats:
    """What the reader remembers between reads: when each rank's record last changed (by this
    process's clock), its last two records, and which ranks it called behind, at each depth."""

    def __init__(self, started: float) -> None:
        self.started = started
        self._seen: dict = {}  # rank -> (seq, time it was first seen)
        self._records: dict = {}  # rank -> (previous record or None, latest record)
        self.behind: dict = {}  # depth -> ranks called behind at the last read

    def silent_for(self, rank: int, record: Record | None, now: float) -> float:
        """Seconds since ``rank`` last published something new (since we started, if never)."""
        if record is None:
            return now - self.started
        previous = self._seen.get(rank)
        if previous is None or previous[0] != record.seq:
            self._seen[rank] = (record.seq, now)
            kept = self._records.get(rank)
            self._records[rank] = (kept[1] if kept is not None else None, record)
            return 0.0
        return now - previous[1]

    def previous(self, rank: int, record: Record) -> Record | None:
        """The record ``rank`` published before ``record``, when we read it."""
        kept = self._records.get(rank)
        return kept[0] if kept is not None and kept[1] is record else None


class RankState:
    """One rank as the drawing rank sees it: its record and its state.

    ``state`` is ``running``; ``done`` (exited with its bars finished); ``exited`` (exited with a bar
    unfinished); ``stale`` (no new record for a few publish intervals: not compared until it
    publishes again); ``stopped`` (none for longer than the heartbeat timeout: the process died,
    or its interpreter is wedged); or ``missing`` (no record yet).
    """

    __slots__ = ("rank", "record", "state", "silent", "previous", "age")

    def __init__(self, rank: int, record: Record | None, state: str, silent: float,
                 previous: Record | None = None, age: float = 0.0) -> None:  # fmt: skip
        self.rank, self.record, self.state, self.silent = rank, record, state, silent
        self.previous = previous  # the record before, to bring this one back to a common moment
        self.age = age  # seconds since the record was taken, by the wall clock (0 where unknown)

    @property
    def phase(self) -> str | None:
        return self.record.phase if self.record is not None else None

    @property
    def idle(self) -> float | None:
        return self.record.idle if self.record is not None else None

    @property
    def stuck(self) -> float | None:
        """Seconds this rank's own watchdog has seen it stalled, while it is running."""
        if self.record is None or self.state != RUNNING:
            return None
        return self.record.stalled

    def __repr__(self) -> str:
        return f"RankState(r{self.rank}, {self.state}, {self.record!r})"


class LevelSummary:
    """The job at one nesting depth: slowest and fastest rank, and the ranks that are behind.

    ``values`` holds each placed rank's counter at this depth as published. ``positions`` is
    where each stands at the common moment, in items of this depth (outer bars folded in), or
    a tuple of counters where a total is unknown; ``offset(a, b)`` is how many items ``a`` is
    ahead of ``b``, or None.
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

    ``ranks`` holds a ``RankState`` per expected rank. ``stopped``, ``exited``, ``stale``,
    ``missing`` and ``stuck`` are rank numbers. ``level(depth)`` compares ranks at one nesting
    depth, ``slow`` names the rank the others wait for, and ``text(depth)`` is the one-line
    summary shown on the bar at that depth.
    """

    def __init__(self, ranks: tuple, time: float, timeout: float, started: float, reader: int | None = None,
                 levels: dict | None = None) -> None:  # fmt: skip
        self.ranks = ranks
        self.reader = reader  # the rank that built this view: offsets in the text are from it
        self.time = time
        self.by_rank = {state.rank: state for state in ranks}
        self.stopped = tuple(s.rank for s in ranks if s.state == STOPPED)
        self.exited = tuple(s.rank for s in ranks if s.state == EXITED)
        self.stale = tuple(s.rank for s in ranks if s.state == STALE)
        self.stuck = tuple(s.rank for s in ranks if s.stuck is not None)
        # Ranks are given one heartbeat timeout to show up before they are called missing.
        late = time - started > timeout
        self.missing = tuple(s.rank for s in ranks if s.state == MISSING) if late else ()
        self._levels = levels if levels is not None else {}

    def level(self, depth: int) -> LevelSummary | None:
        if depth not in self._levels:
            self._levels[depth] = compare(self.ranks, depth)
        return self._levels[depth]

    def text(self, depth: int, final: bool = False) -> str:
        return describe(self, depth, final)

    @property
    def alarms(self) -> tuple:
        """Who is stuck, silent or gone: what a log writes a line for as soon as it changes."""
        return (self.stuck, self.stopped, self.exited, self.missing)

    @property
    def stalled(self) -> bool:
        """No end can be foreseen while a rank is stuck or silent: the remaining time is unknown."""
        return bool(self.stuck or self.stopped)

    @property
    def slow(self) -> tuple | None:
        """(the rank the others wait for, the share of their steps they wait), or None."""
        waits = {s.rank: s.record.wait for s in self.ranks
                 if s.state == RUNNING and s.record is not None and s.record.wait is not None}  # fmt: skip
        if len(waits) < 2:
            return None
        slowest = min(waits, key=lambda rank: (waits[rank], rank))
        others = sorted(wait for rank, wait in waits.items() if rank != slowest)
        typical = others[len(others) // 2]
        if typical - waits[slowest] >= SLOW_MARGIN and typical >= SLOW_WAIT:
            return slowest, typical
        return None

    @property
    def behind(self) -> tuple:
        """Ranks behind the pack at the innermost depth every live rank reports."""
        depths = [len(s.record.levels) for s in self.ranks if s.state in (RUNNING, DONE) and s.record.levels]
        if not depths:
            return ()
        summary = self.level(min(depths) - 1)
        return summary.behind if summary is not None else ()


def build(records: dict, heartbeats: Heartbeats, now: float, timeout: float, reader: int | None = None,
          interval: float = 1.0, gone: frozenset = frozenset(), wall: float | None = None) -> JobView:  # fmt: skip
    """The view of ``records`` (rank -> Record or None) at ``now``; ranks publish every ``interval``.
    ``gone``: ranks whose process is known to have ended (on this host), whatever they published.
    ``wall``: the wall clock now, to tell how old each record is."""
    states = []
    for rank in sorted(records):
        record = records[rank]
        silent = heartbeats.silent_for(rank, record, now)
        if record is None:
            state = MISSING
        elif record.state == EXITED or rank in gone:
            finished = all(level.status == "done" for level in record.levels)
            state = DONE if finished and record.state == EXITED else EXITED
        elif silent > timeout:
            state = STOPPED
        elif silent > STALE_INTERVALS * interval:
            state = STALE
        else:
            state = RUNNING
        previous = heartbeats.previous(rank, record) if record is not None else None
        age = max(wall - record.time, 0.0) if wall is not None and record is not None else 0.0
        states.append(RankState(rank, record, state, silent, previous, age))
    ranks = tuple(states)
    depths = max((len(s.record.levels) for s in ranks if s.record is not None), default=0)
    levels = {}
    for depth in range(depths):
        # Once per read, here, so that who was behind carries over to the next read only.
        summary = levels[depth] = compare(ranks, depth, heartbeats.behind.get(depth, ()))
        heartbeats.behind[depth] = summary.behind if summary is not None else ()
    return JobView(ranks, now, timeout, heartbeats.started, reader, levels)


def _common(values: list):
    values = [v for v in values if v]
    return max(set(values), key=values.count) if values else None


def _key(record: Record, depth: int) -> tuple:
    return tuple(level.n for level in record.levels[: depth + 1])


def _at(record: Record, previous: Record | None, depth: int, moment: float, totals: list) -> tuple | None:
    """(key, folded position) of a rank at ``moment``, between its last two records (``previous``
    and ``record``), never beyond the newer; None when it cannot be brought back that far."""
    key = _key(record, depth)
    if record.time - moment <= ALIGN_SLACK:
        return key, _fold(key, totals)
    if previous is None or len(previous.levels) <= depth or not previous.time <= moment < record.time:
        return None
    share = (moment - previous.time) / (record.time - previous.time)
    old = _key(previous, depth)
    new_fold, old_fold = _fold(key, totals), _fold(old, totals)
    folded = None if new_fold is None or old_fold is None else old_fold + share * (new_fold - old_fold)
    if old[:-1] == key[:-1]:
        return (*key[:-1], old[-1] + share * (key[-1] - old[-1])), folded
    return old, folded  # an epoch turned over in between: never ahead of what was published


def compare(ranks, depth: int, was_behind: tuple = ()) -> LevelSummary | None:
    """Slowest, fastest and behind among the placed live ranks that have a bar at ``depth``.

    A rank is called behind when it lags the pack by more than the tolerance, and stays so
    until it is back within half of it (``was_behind``: the last read's), so it does not flicker.
    """
    live = [s for s in ranks if s.state in (RUNNING, DONE) and len(s.record.levels) > depth]
    if len(live) < 2:
        return None
    totals = [_common([s.record.levels[i].total for s in live]) for i in range(depth + 1)]
    moment = min(s.record.time for s in live)
    rates = sorted(s.record.levels[depth].rate or 0.0 for s in live)
    pace = rates[len(rates) // 2]
    positions, folded = {}, {}
    for s in live:
        levels = s.record.levels
        placed = _at(s.record, s.previous, depth, moment, [levels[i].total or totals[i] for i in range(depth + 1)])
        if placed is not None:
            positions[s.rank], folded[s.rank] = placed
    if len(positions) < 2:
        return None
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
        if lag > (tolerance / 2 if rank in was_behind else tolerance):
            behind.append(rank)
    values = {s.rank: s.record.levels[depth].n for s in live if s.rank in order}
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


def suspects(phases: dict) -> list:
    """The ranks the others wait on, from where each stuck rank is (rank -> phase): those stuck
    anywhere but in a collective, when some are in one; when none are, those in a phase fewer
    than half of them share (one rank in ``data`` while the rest are in the ``step``, where an
    unmarked all-reduce waits). Empty when nothing tells them apart."""
    outside = sorted(rank for rank, phase in phases.items() if phase != "collective")
    if len(outside) < len(phases):
        return outside
    counts: dict = {}
    for phase in phases.values():
        counts[phase] = counts.get(phase, 0) + 1
    common = max(counts.values())
    odd = sorted(rank for rank, phase in phases.items() if phase is not None and counts[phase] < common)
    return odd if len(odd) < len(phases) / 2 else []


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


def _idle(state: RankState) -> float:
    """Seconds the rank's counter has stood still: as it published, and since (at least: the
    record's age where the clocks tell it, else since this reader first saw it)."""
    return (state.idle or 0.0) + max(state.age, state.silent)


def _stuck_text(view: JobView, rank: int) -> str:
    state = view.by_rank[rank]
    where = f" in {state.phase}" if state.phase else ""
    seconds = state.stuck if state.stuck is not None else _idle(state)  # not yet seen stuck by itself
    return f"r{rank}{where} {_seconds(seconds or 0.0)}"


def _culprits(view: JobView) -> list:
    """The stuck ranks worth naming: the ones the others wait on, where that can be told. A rank
    that has not moved for about as long as the stuck ones counts too: its own watchdog may speak
    a publication or two after theirs."""
    found = suspects({rank: view.by_rank[rank].phase for rank in view.stuck})
    if found:
        return found
    shortest = min(view.by_rank[rank].stuck or 0.0 for rank in view.stuck)
    idle = {s.rank: s.phase for s in view.ranks
            if s.state == RUNNING and s.stuck is None and _idle(s) >= shortest / 2}  # fmt: skip
    if idle:
        found = suspects({**{rank: view.by_rank[rank].phase for rank in view.stuck}, **idle})
        if found:
            return found
    return list(view.stuck)


def describe(view: JobView, depth: int, final: bool = False) -> str:
    """``4 ranks; stuck: r2 in data 59s (3 waiting on it); no heartbeat: r1 14s; r3 slow (others wait 38%)``.

    ``final``: a finished bar's last line, which leaves out who was stuck (the job has moved on
    since the last read).

    Alarms come first, so a narrow terminal cuts the comparison rather than them. Offsets are in
    items of the bar at ``depth`` and relative to the reader's own bar, on whose line the text is
    shown, both taken at the same moment.
    """
    count = len(view.ranks)
    if count < 2:
        return ""
    summary = view.level(depth)
    parts = [f"{count} ranks"]
    if view.stuck and not final:  # a finished bar's last line: the job moved on since
        # Ranks stuck waiting on another are not where to look: only the ones they wait on are
        # named, and the rest counted.
        culprits = _culprits(view)
        text = "stuck: " + ", ".join(_stuck_text(view, rank) for rank in culprits[:NAMED])
        if len(culprits) > NAMED:
            text += f" +{len(culprits) - NAMED}"
        waiting = len(set(view.stuck) - set(culprits))
        if waiting:
            text += f" ({waiting} waiting on {'it' if len(culprits) == 1 else 'them'})"
        parts.append(text)
    if view.stopped:
        silent = sorted(view.stopped, key=lambda rank: -view.by_rank[rank].silent)
        parts.append("no heartbeat: " + _names(silent, lambda rank: _seconds(view.by_rank[rank].silent)))
    if view.exited:
        parts.append("exited: " + _names(view.exited))
    if view.missing:
        parts.append("not reporting: " + _names(view.missing))
    if view.stale:
        parts.append("stale: " + _names(view.stale, lambda rank: _seconds(view.by_rank[rank].silent)))
    if summary is not None and summary.behind:
        parts.append("behind: " + _names(summary.behind))
    slow = view.slow
    if slow is not None:
        parts.append(f"r{slow[0]} slow (others wait {slow[1]:.0%})")
    spread = None if summary is None else summary.offset(summary.fastest, summary.slowest)
    if spread is not None and round(spread) == 0:
        parts.append("all in step")
    elif summary is not None:
        slowest = _where(summary, summary.slowest, view.reader)
        fastest = _where(summary, summary.fastest, view.reader)
        parts.append(f"slowest {slowest}, fastest {fastest}")
    return "; ".join(parts)
