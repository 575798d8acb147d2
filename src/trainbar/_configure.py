"""``trainbar.configure``: process-wide settings from code, where an environment variable would do."""

from __future__ import annotations

import os

_UNSET = object()


def configure(*, jsonl=_UNSET) -> None:
    """Change process-wide settings; an argument left out keeps its setting.

    ``jsonl``: the file to append events to, one JSON object per line (docs/events.md), or
    ``None`` to stop. ``{rank}`` in the path becomes the process's rank, for one file per rank.
    Takes effect at once, for bars already open too, and wins over ``TRAINBAR_JSONL``.
    """
    if jsonl is not _UNSET:
        if jsonl is not None and not isinstance(jsonl, (str, os.PathLike)):
            raise TypeError(f"jsonl must be a path or None, got {type(jsonl).__name__} {jsonl!r}")
        if jsonl is not None and not os.fspath(jsonl):
            raise ValueError("jsonl must not be empty; pass None to turn the event stream off")
        from . import _events

        _events.configure_jsonl(jsonl)
