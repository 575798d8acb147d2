"""``itertools`` with a bar: ``for x, y in product(xs, ys, desc="grid")``, as tqdm.contrib.itertools.

Each function returns a bar over the ``itertools`` iterator, its total the number of items
computed from the inputs' lengths (no total where an input has no length); ``total=`` overrides
it, ``tqdm_class=`` picks the bar's class, and other keywords go to the bar.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["batched", "chain", "combinations", "combinations_with_replacement", "permutations", "product"]


def _tqdm(tqdm_class: Any) -> Any:
    if tqdm_class is not None:
        return tqdm_class
    from trainbar.compat.tqdm import tqdm

    return tqdm


def _length(iterable: Any) -> int | None:
    try:
        return len(iterable)
    except (TypeError, AttributeError):
        return None


def chain(*iterables: Iterable[Any], total: Any = None, tqdm_class: Any = None, **tqdm_kwargs: Any) -> Any:
    """``itertools.chain(*iterables)``."""
    if total is None:
        lengths = [_length(it) for it in iterables]
        total = None if None in lengths else sum(lengths)
    return _tqdm(tqdm_class)(itertools.chain(*iterables), total=total, **tqdm_kwargs)


def product(
    *iterables: Iterable[Any], repeat: int = 1, total: Any = None, tqdm_class: Any = None, **tqdm_kwargs: Any
) -> Any:
    """``itertools.product(*iterables, repeat=repeat)``."""
    if total is None:
        lengths = [_length(it) for it in iterables]
        if None not in lengths:
            total = math.prod(lengths) ** repeat  # type: ignore[arg-type]  # no None left
    return _tqdm(tqdm_class)(itertools.product(*iterables, repeat=repeat), total=total, **tqdm_kwargs)


def permutations(
    iterable: Iterable[Any], r: int | None = None, total: Any = None, tqdm_class: Any = None, **tqdm_kwargs: Any
) -> Any:
    """``itertools.permutations(iterable, r)``."""
    n = _length(iterable)
    if total is None and n is not None:
        size = n if r is None else r
        total = 0 if size > n else math.perm(n, size)
    return _tqdm(tqdm_class)(itertools.permutations(iterable, r), total=total, **tqdm_kwargs)


def combinations(iterable: Iterable[Any], r: int, total: Any = None, tqdm_class: Any = None, **tqdm_kwargs: Any) -> Any:
    """``itertools.combinations(iterable, r)``."""
    n = _length(iterable)
    if total is None and n is not None:
        total = math.comb(n, r)  # 0 when r > n
    return _tqdm(tqdm_class)(itertools.combinations(iterable, r), total=total, **tqdm_kwargs)


def combinations_with_replacement(
    iterable: Iterable[Any], r: int, total: Any = None, tqdm_class: Any = None, **tqdm_kwargs: Any
) -> Any:
    """``itertools.combinations_with_replacement(iterable, r)``."""
    n = _length(iterable)
    if total is None and n is not None:
        total = math.comb(n + r - 1, r) if n else int(r == 0)
    return _tqdm(tqdm_class)(itertools.combinations_with_replacement(iterable, r), total=total, **tqdm_kwargs)


def batched(iterable: Iterable[Any], n: int, total: Any = None, tqdm_class: Any = None, **tqdm_kwargs: Any) -> Any:
    """``itertools.batched(iterable, n)`` (on any Python): tuples of ``n`` items, the last shorter.

    As in tqdm, ``total`` counts items, and the bar counts batches shown as items (``unit_scale=n``).
    """
    if n < 1:
        raise ValueError("n must be at least one")
    if total is None:
        total = _length(iterable)
    batches = None if total is None else (total + n - 1) // n
    return _tqdm(tqdm_class)(_batched(iterable, n), unit_scale=n, total=batches, **tqdm_kwargs)


def _batched(iterable: Iterable[Any], n: int) -> Iterator[tuple]:
    native = getattr(itertools, "batched", None)  # Python 3.12+
    if native is not None:
        yield from native(iterable, n)
        return
    items = iter(iterable)
    while batch := tuple(itertools.islice(items, n)):
        yield batch
