"""``trainbar.configure``: process-wide settings from code, where an environment variable would do."""

from __future__ import annotations

import os

_UNSET = object()


def configure(*, jsonl=_UNSET, stall=_UNSET, on_stall=_UNSET) -> None:
    """Change process-wide settings; an argument left out keeps its setting.

    ``jsonl``: the file to append events to, one JSON object per line (docs/events.md), or
    ``None`` to stop. ``{rank}`` in the path becomes the process's rank, for one file per rank.
    Takes effect at once, for bars already open too, and wins over ``TRAINBAR_JSONL``.

    ``stall``: ``"auto"``, ``"off"`` or a fixed threshold in seconds, as ``TRAINBAR_STALL``, which
    it wins over (``None``: back to the variable). ``on_stall``: a callable given every stall
    report of the process (a dict), or ``None``. Both take effect at once.
    """
    if stall is not _UNSET or on_stall is not _UNSET:
        from trainbar.stall import watchdog as _watchdog

        _watchdog.configure(
            stall=_watchdog._UNSET if stall is _UNSET else stall,
            on_stall=_watchdog._UNSET if on_stall is _UNSET else on_stall,
        )
    if jsonl is not _UNSET:
        if jsonl is not None and not isinstance(jsonl, (str, os.PathLike)):
            raise TypeError(f"jsonl must be a path or None, got {type(jsonl).__name__} {jsonl!r}")
        if jsonl is not None and not os.fspath(jsonl):
            raise ValueError("jsonl must not be empty; pass None to turn the event stream off")
        from trainbar.events import stream as _events

        _events.configure_jsonl(jsonl)
