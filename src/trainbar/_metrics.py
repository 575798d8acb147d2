"""Metric values, read only when a frame is drawn.

Bars keep whatever the user logged by reference; nothing is converted on the training thread.
At render time each value becomes short text: numbers compactly, callables called, anything
else through ``str``, all of it sanitised.
"""

from __future__ import annotations

from . import _format


def read(value: object) -> object:
    """The plain value behind a logged metric (a number where there is one)."""
    if callable(value) and not hasattr(value, "__float__"):
        value = value()
    if isinstance(value, (int, float, str)):
        return value
    to_float = getattr(value, "__float__", None)
    if to_float is not None:
        try:
            return float(value)  # numpy scalars and 0-d arrays; read at render cadence only
        except (TypeError, ValueError):
            pass
    return value


def render(metrics: dict) -> tuple:
    """(name, text) pairs for every metric; a value that fails to read shows as ``?``."""
    out = []
    for name, value in list(metrics.items()):
        try:
            text = _format.number(read(value))
        except Exception:  # noqa: BLE001 - a broken metric must not break the frame
            text = "?"
        out.append((_format.sanitize(str(name)), text))
    return tuple(out)
