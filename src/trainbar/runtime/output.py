"""Module-level functions that talk to the display: write, print and log."""

from __future__ import annotations

import sys
import weakref

from trainbar.runtime import display as _display
from trainbar.runtime import environment as _env
from trainbar.distributed import leader as _leader
from trainbar.sinks.redirect import unwrap


def write(*objects, sep: str = " ", end: str = "\n", file=None) -> None:
    """Print ``objects`` above the live bars, as ``print`` would, without tearing them.

    Goes to standard output unless ``file`` says otherwise. A failing stream is reported once
    and otherwise ignored: a message must never stop training. In a distributed job only the
    ranks that draw bars print (``TRAINBAR_RANKS``), so a message appears once, not once per rank.
    """
    text = sep.join(str(o) for o in objects) + end
    if not _env.rank_draws():
        _display.current().record_write(text)  # not printed here, but event files still get it
        return
    prefix = _leader.line_prefix()
    if prefix:
        text = "".join(prefix + line for line in text.splitlines(keepends=True))
    stream = unwrap(sys.stdout if file is None else file)
    if stream is None or _has_failed(stream):
        return
    try:
        _display.current().write(text, stream)
    except Exception as error:  # noqa: BLE001
        _warn_stream_once(stream, error)


# The streams themselves, weakly: an id() would be reused by a new stream once the failed one
# is gone, and messages to that new stream would be dropped without a word.
_failed_streams: "weakref.WeakSet" = weakref.WeakSet()
_failed_ids: set = set()  # streams that cannot be weakly referenced


def _has_failed(stream) -> bool:
    try:
        return stream in _failed_streams
    except TypeError:
        return id(stream) in _failed_ids


def _warn_stream_once(stream, error: Exception) -> None:
    if _has_failed(stream):
        return
    try:
        _failed_streams.add(stream)
    except TypeError:
        _failed_ids.add(id(stream))
    from trainbar.runtime.environment import warn

    warn(f"trainbar.write: could not write ({type(error).__name__}: {error}); further messages there are dropped")


print = write  # noqa: A001 - `trainbar.print(...)` reads as what it is


def log(**metrics) -> None:
    """Attach metrics to the innermost live bar (of this thread if it has one)."""
    target = _display.current().innermost()
    if target is not None:
        target.log(**metrics)
