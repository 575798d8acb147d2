"""The per-step hot path of a bar: the count, and ``update`` that adds to it.

``Counter`` is what :class:`trainbar.Bar` builds on. It is the compiled twin in
``_speedups.c`` when that was built (it needs a C compiler at install time) and
``TRAINBAR_PURE_PYTHON`` is not set, and :class:`PyCounter` otherwise. Both behave the same:
the compiled one does only the common call, ``update(n)`` with a plain ``int`` (below 2**63 in
size) or a finite ``float`` and no metrics, and hands every other call to
:meth:`PyCounter.update`, which checks the step and keeps the metrics.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from trainbar._settings import flag
from trainbar.core import metrics as _metrics
from trainbar.core.arguments import COUNT_LIMIT, count


class PyCounter:
    """The pure-Python counter. It also defines ``update`` for the compiled one."""

    __slots__ = ("_n",)
    _n: Any
    _metrics: dict

    def update(self, n: Any = 1, **metrics: Any) -> None:
        """Count ``n`` more items; keyword arguments are metrics, kept by reference."""
        kind = n.__class__
        if not ((kind is int and -COUNT_LIMIT < n < COUNT_LIMIT) or (kind is float and math.isfinite(n))):
            n = count("update(n=...)", n)  # numpy integers, Decimal, Fraction; or a clear error
        self._n += n
        if metrics:
            _metrics.keep(self._metrics, metrics)


def _compiled_base() -> type | None:
    if flag("TRAINBAR_PURE_PYTHON"):
        return None
    try:
        from trainbar.core._speedups import Counter as compiled
    except ImportError:  # built without a compiler, or on an interpreter it does not support
        return None
    return compiled


if TYPE_CHECKING:
    Counter = PyCounter
    COMPILED = False
else:
    _CompiledBase = _compiled_base()
    if _CompiledBase is not None:

        class CompiledCounter(_CompiledBase):
            __slots__ = ()
            _update_fallback = PyCounter.update  # every call but update(plain number) with no metrics

        Counter = CompiledCounter
    else:
        Counter = PyCounter
    COMPILED = Counter is not PyCounter
