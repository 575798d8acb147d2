"""How ``for x in bar`` walks the iterable: per item when steps are slow, in C when they are fast.

The loop iterates over ``chain.from_iterable(segments)``, and the segments generator decides,
piece by piece, what the next stretch of items is:

* a *timed* generator (per item, two clock reads): used first to probe the step time, and kept
  for slow steps (a training step), where it also tells data-wait time apart from compute;
* an ``islice`` of the underlying iterator: for fast steps over a built-in iterator whose
  remaining length is known exactly. Iteration then stays in C and Python runs once per chunk;
  ``n`` is recovered exactly from the iterator's remaining length;
* a *counted* generator (per item, no clock): fast steps over anything else.

``n`` counts completed items: it is exact at chunk boundaries, after the loop and at close.
An item in hand when the loop is abandoned (``break``, an exception) is not counted.

The timed generator also stores where the loop is in ``bar._where`` (``data`` inside ``next()``,
``body`` in the step) for the stall watchdog; the fast paths store it once per segment, never
per item.
"""

from __future__ import annotations

import itertools
import operator
import weakref
from collections import deque
from typing import Any

from trainbar.core import clock as _clock
from trainbar.core.snapshot import DONE, INTERRUPTED

FAST_STEP = 50e-6  # below this, two clock reads per item would cost more than ~1%
PROBE_ITEMS = 32  # items timed one by one before choosing a strategy
RECHECK_ITEMS = 4096  # per-item stretches end after this many, so speed changes are followed
CHUNK_SECONDS = 0.01  # a chunk's target duration: keeps display lag far below one redraw
MIN_CHUNK, MAX_CHUNK = 16, 1 << 20


class _SeqLike:
    def __getitem__(self, index: int) -> None:
        raise IndexError


# Iterators whose length_hint is the exact number of items left. Only these can be handed to
# islice, because n is then recovered from the hint; any other hint may be an estimate.
_EXACT_LENGTH: frozenset[type] = frozenset(
    map(type, (
        iter([]), iter(()), iter(range(0)), iter(range(1 << 70)), iter({}), iter({}.values()),
        iter({}.items()), iter(set()), iter(frozenset()), iter(""), iter("é"), iter(b""),
        iter(bytearray()), reversed([]), reversed(range(0)), iter(_SeqLike()),
    ))
)  # fmt: skip


class _Walk:
    """What the segments learn as they go, shared between them."""

    __slots__ = ("exhausted", "step", "chunk_left", "iterator")

    def __init__(self) -> None:
        self.iterator: Any = None
        self.exhausted = False
        self.step: float | None = None  # median seconds per item in the last timed stretch
        self.chunk_left: int | None = None  # items the iterator had when the current chunk began


def settle(bar) -> None:
    """Count the items of a chunk in flight into ``n`` (the item in hand did not complete).

    ``n`` is otherwise updated when a chunk ends; a bar closed in the middle of one (the loop
    abandoned, or the process told to stop) is drawn at the exact item it stopped at.
    """
    walk = bar._walk
    if walk is None or walk.chunk_left is None or walk.iterator is None:
        return
    delivered = walk.chunk_left - operator.length_hint(walk.iterator)
    walk.chunk_left = None
    bar._n += max(delivered - 1, 0)


def iterate(bar, iterable) -> itertools.chain:
    iterator = iter(iterable)
    try:
        # Weak: a strong reference would keep a DataLoader iterator, and its worker processes,
        # alive after the loop. The watchdog follows it to report on those workers.
        bar._source = weakref.ref(iterator)
    except TypeError:
        pass  # built-in iterators take no weak references, and have no workers to report on
    return itertools.chain.from_iterable(_segments(bar, iterator))


def _segments(bar, iterator):
    walk = _Walk()
    walk.iterator = iterator
    bar._walk = walk
    exact_length = type(iterator) in _EXACT_LENGTH
    try:
        limit = PROBE_ITEMS
        while not walk.exhausted:
            yield _timed(bar, iterator, walk, limit)
            if walk.exhausted:
                break
            fast = walk.step is not None and walk.step < FAST_STEP
            if fast and exact_length:
                yield from _chunks(bar, iterator, walk)
                limit = PROBE_ITEMS
            elif fast:
                yield _counted(bar, iterator, walk, RECHECK_ITEMS)
                limit = PROBE_ITEMS
            else:
                limit = RECHECK_ITEMS
    except GeneratorExit:
        bar._finish(INTERRUPTED)  # which settles a chunk in flight
        raise
    bar._finish(DONE)


def _chunks(bar, iterator, walk: _Walk):
    """Yield islices sized to take about CHUNK_SECONDS each, until the steps turn slow."""
    now = _clock.now
    size = max(MIN_CHUNK, min(MAX_CHUNK, int(CHUNK_SECONDS / max(walk.step or 0.0, 1e-9))))
    bar._where = "body"  # a built-in sequence never blocks: the time goes to the loop body
    while True:
        left = operator.length_hint(iterator)
        if left <= 0:
            walk.exhausted = True
            return
        started = now()
        walk.chunk_left = left
        yield itertools.islice(iterator, size)
        delivered = left - operator.length_hint(iterator)
        walk.chunk_left = None
        bar._n += delivered
        took = now() - started
        if delivered and took > delivered * FAST_STEP:
            return  # the loop body got slow: go back to per-item timing
        # Resize towards CHUNK_SECONDS so display lag stays bounded whatever the speed.
        if took > 2 * CHUNK_SECONDS:
            size = max(MIN_CHUNK, size // 2)
        elif took < CHUNK_SECONDS / 2:
            size = min(MAX_CHUNK, size * 2)


def _timed(bar, iterator, walk: _Walk, limit: int):
    """Per item, with the time spent waiting for the iterator kept apart from the loop body."""
    now = _clock.now
    steps: deque = deque(maxlen=PROBE_ITEMS)  # only recent steps decide the next strategy
    previous = previous_wait = None
    for _ in range(limit):
        asked = now()
        if previous is not None:
            # A step runs from one request for an item to the next: its wait, then its body.
            steps.append(asked - previous)
            done = bar._n - bar._initial
            # The first step (workers starting up) is left out, and so are steps too short to
            # time: two clock reads would be a good part of what they measure.
            if done > 1 and asked - previous >= FAST_STEP:
                bar._step_time += asked - previous
                bar._data_wait += previous_wait
            elif done == 1:
                bar._estimator.first_step(asked, bar._n)
        bar._where = "data"
        try:
            item = next(iterator)
        except StopIteration:
            walk.exhausted = True
            break
        previous, previous_wait = asked, now() - asked
        bar._where = "body"
        yield item
        bar._n += 1
    if steps:
        walk.step = sorted(steps)[len(steps) // 2]


def _counted(bar, iterator, walk: _Walk, limit: int):
    """Per item, counting only: fast steps over an iterator of unknown length."""
    bar._where = None  # not followed per item here: a stall in this stretch has no known phase
    taken = 0
    for item in itertools.islice(iterator, limit):
        taken += 1
        yield item
        bar._n += 1
    if taken < limit:
        walk.exhausted = True
