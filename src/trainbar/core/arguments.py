"""Checking what users pass, at the call, with errors that name the argument.

A bad argument is the user's to fix: it gets a ``TypeError`` or ``ValueError`` at once, never a
crash later on the display thread. Counts are kept as ``int`` or ``float`` so that every later
piece of arithmetic (rates, fractions, JSON) is plain.
"""

from __future__ import annotations

import math
from typing import Any

COUNT_LIMIT = 2**63  # counts are exact integers below this (as the compiled counter's fast path)


def _described(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= COUNT_LIMIT:
        return f"an integer of {value.bit_length()} bits"  # repr() of 10**5000 itself raises
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        text = "<unprintable>"
    return f"{type(value).__name__} {text[:80]}"


def number(name: str, value: Any, *, minimum: float | None = None, allow_none: bool = False) -> Any:
    """``value`` as an ``int`` (integers, numpy integers) or a ``float`` (anything else real)."""
    if value is None and allow_none:
        return None
    if isinstance(value, (str, bytes, bool, complex)) or not (
        hasattr(value, "__float__") or hasattr(value, "__index__")
    ):
        raise TypeError(f"{name} must be a number, got {_described(value)}")
    index = getattr(type(value), "__index__", None)
    try:
        result = int(index(value)) if index is not None else float(value)
    except (TypeError, ValueError, OverflowError) as error:
        raise TypeError(f"{name} must be a number, got {_described(value)} ({error})") from None
    if isinstance(result, int):
        if not -COUNT_LIMIT < result < COUNT_LIMIT:
            raise ValueError(f"{name} must be below 2**63 in size, got {_described(value)}")
    elif math.isnan(result):
        raise ValueError(f"{name} must be a number, got NaN")
    if minimum is not None and result < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return result


def count(name: str, value: Any) -> int | float:
    """A finite count or step (``update(n)``, ``initial``, ``bar.n = ...``)."""
    result = number(name, value)
    if isinstance(result, float) and math.isinf(result):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return result


def columns(value: Any) -> int:
    result = number("ncols", value, minimum=1)
    if isinstance(result, float) and math.isinf(result):
        raise ValueError(f"ncols must be a finite number of columns, got {value!r}")
    return int(result)


def text(name: str, value: Any, *, allow_none: bool = True) -> str | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {_described(value)}")
    return value


def length(iterable: Any) -> int | None:
    """``len(iterable)``, or None (unknown) when it has none or fails in any way: a ``__len__``
    that raises, returns a negative number or overflows (``range(2**70)``) is no reason to stop."""
    try:
        size = len(iterable)
    except Exception:  # noqa: BLE001 - any failure means an unknown total
        return None
    return size if 0 <= size < COUNT_LIMIT else None
