"""The per-step hot path of a bar: the count, and ``update`` that adds to it.

``Counter`` is what :class:`trainbar.Bar` builds on. It is the compiled twin in
``_speedups.c`` when that was built (it needs a C compiler at install time) and
``TRAINBAR_PURE_PYTHON`` is not set, and :class:`PyCounter` otherwise. Both behave the same:
the compiled one does only the common call, ``update(1)`` with no metrics, and hands every
other call to :meth:`PyCounter.update`.
"""

from __future__ import annotations

from trainbar.runtime import environment as _env
from trainbar.core import metrics as _metrics


class PyCounter:
    """The pure-Python counter. It also defines ``update`` for the compiled one."""

    __slots__ = ("_n",)

    def update(self, n=1, **metrics) -> None:
        """Count ``n`` more items; keyword arguments are metrics, kept by reference."""
        try:
            self._n += n
        except TypeError:
            raise TypeError(f"update(n=...) must be a number, got {type(n).__name__} {n!r}") from None
        if metrics:
            _metrics.keep(self._metrics, metrics)  # type: ignore[attr-defined]  # Bar's slot


def _compiled_base() -> type | None:
    if _env._flag("TRAINBAR_PURE_PYTHON"):
        return None
    try:
        from trainbar.core._speedups import Counter as compiled
    except ImportError:  # built without a compiler, or on an interpreter it does not support
        return None
    return compiled


_CompiledBase = _compiled_base()

if _CompiledBase is not None:

    class CompiledCounter(_CompiledBase):  # type: ignore[misc, valid-type]
        __slots__ = ()
        _update_fallback = PyCounter.update  # every call but update(number) with no metrics

    Counter: type = CompiledCounter
else:
    Counter = PyCounter

COMPILED = Counter is not PyCounter
