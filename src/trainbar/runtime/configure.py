"""``trainbar.configure``: process-wide settings from code, where an environment variable would do."""

from __future__ import annotations

import math
import os
from typing import Any

from trainbar import _settings

_UNSET: Any = object()


def configure(
    *, jsonl: Any = _UNSET, stall: Any = _UNSET, on_stall: Any = _UNSET, notebook_format: Any = _UNSET
) -> None:
    """Change process-wide settings; an argument left out keeps its setting.

    ``jsonl``: the file to append events to, one JSON object per line (docs/events.md), or
    ``None`` to stop. ``{rank}`` in the path becomes the process's rank, for one file per rank.
    Takes effect at once, for bars already open too, and wins over ``TRAINBAR_JSONL``.

    ``stall``: ``"auto"``, ``"off"`` or a fixed threshold in seconds (at least 1), as
    ``TRAINBAR_STALL``, which it wins over (``None``: back to the variable). ``on_stall``: a
    callable given every stall report of the process (a dict), or ``None``. Both take effect at once.

    ``notebook_format``: what a notebook output carries beside its plain text, as
    ``TRAINBAR_NOTEBOOK_FORMAT``, which it wins over (``None``: back to the variable). ``"html"``
    is ``text/html``. ``"markdown"`` is the same HTML as ``text/markdown``, which VS Code draws
    even in Restricted Mode, where it draws no ``text/html``. ``"auto"`` (the default) is
    ``"markdown"`` in a kernel that VS Code started, else ``"html"``. Takes effect at the next redraw.
    """
    changes: dict = {}
    if jsonl is not _UNSET:
        if jsonl is not None and not isinstance(jsonl, (str, os.PathLike)):
            raise TypeError(f"jsonl must be a path or None, got {type(jsonl).__name__} {jsonl!r}")
        if jsonl is not None and not os.fspath(jsonl):
            raise ValueError("jsonl must not be empty; pass None to turn the event stream off")
        changes["jsonl"] = None if jsonl is None else os.fspath(jsonl)
    if stall is not _UNSET:
        if stall is not None and stall not in ("auto", "off"):
            if isinstance(stall, bool) or not isinstance(stall, (int, float)):
                raise TypeError(f"stall must be 'auto', 'off', a number of seconds or None, got {stall!r}")
            if not 0 < stall < math.inf:
                raise ValueError(f"stall must be a positive number of seconds, got {stall!r}")
            stall = _settings.at_least(float(stall), _settings.STALL_FLOOR, "configure(stall=...)")
        changes["stall"] = stall
    if on_stall is not _UNSET:
        if on_stall is not None and not callable(on_stall):
            raise TypeError(f"on_stall must be a callable taking the stall report, got {type(on_stall).__name__}")
        changes["on_stall"] = on_stall
    if notebook_format is not _UNSET:
        if notebook_format is not None:
            if not isinstance(notebook_format, str):
                raise TypeError(f"notebook_format must be a string or None, got {type(notebook_format).__name__}")
            chosen = str(notebook_format).strip().lower()  # as the variable is read
            if chosen not in _settings.NOTEBOOK_FORMATS:
                formats = ", ".join(map(repr, _settings.NOTEBOOK_FORMATS))
                raise ValueError(f"notebook_format must be one of {formats} or None, got {notebook_format!r}")
            notebook_format = chosen
        changes["notebook_format"] = notebook_format
    if not changes:
        return
    _settings.override(**changes)
    from trainbar.runtime import runtime

    runtime.current().reconfigure()
