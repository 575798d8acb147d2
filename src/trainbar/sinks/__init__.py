"""Sinks own the I/O: they take finished text and put it on a stream. No formatting here."""

from __future__ import annotations

import codecs
import io
import os
from typing import Any, Callable


def flush(stream: Any) -> None:
    """Flush when the stream can: an object with only ``write()`` is a valid stream too."""
    method = getattr(stream, "flush", None)
    if method is not None:
        method()


def put(stream: Any, text: str) -> None:
    """Write ``text`` to ``stream`` whole, then flush.

    On a writer thread (``sinks/writer.py``), a text file over a file descriptor (a terminal, a
    pipe) is written with ``os.write``, past the stream's own buffer: a write that waits for a
    reader then holds none of Python's locks on the stream, so it can neither stall another
    thread's print() nor make the interpreter abort at exit ("could not acquire lock ... at
    interpreter shutdown"); and a partial line the program left in that buffer is not cut in
    two by ours. Anywhere else (a stream that never blocks, written on the caller's thread),
    ``write()`` and ``flush()`` keep the order of everything written to the stream.
    """
    from trainbar.sinks.writer import on_writer_thread

    descriptor = _descriptor(stream) if on_writer_thread() else None
    if descriptor is None:
        stream.write(text)
        flush(stream)
        return
    data = text.encode(getattr(stream, "encoding", None) or "utf-8", "replace")
    while data:
        try:
            written = os.write(descriptor, data)
        except BlockingIOError:  # a descriptor someone made non-blocking: wait until it takes more
            import select

            select.select([], [descriptor], [], 1.0)
            continue
        data = data[written:]


def _descriptor(stream: Any) -> int | None:
    if not isinstance(stream, io.TextIOWrapper) or type(stream).__module__.startswith("ipykernel"):
        return None
    try:
        return stream.fileno()
    except (OSError, ValueError):  # no descriptor (memory), or closed: write() says what is wrong
        return None


def encoder_for(stream: Any) -> Callable[[str], str]:
    """A function that makes text fit the stream's encoding, replacing what cannot be written.

    A description in Japanese must not switch the display off on an ASCII-only log, and a lone
    surrogate (a badly decoded file name) must not lose a line in a UTF-8 file: what cannot be
    encoded becomes ``?``, on that line only.
    """
    encoding = getattr(stream, "encoding", None)
    if not isinstance(encoding, str):
        encoding = "utf-8"  # a stream with only write(): it will most likely encode as UTF-8
    try:
        codecs.lookup(encoding)
    except LookupError:
        return _unchanged

    def fit(text: str) -> str:
        try:
            text.encode(encoding)
        except UnicodeEncodeError:
            return text.encode(encoding, "replace").decode(encoding, "replace")
        return text

    return fit


def _unchanged(text: str) -> str:
    return text
