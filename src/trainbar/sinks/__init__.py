"""Sinks own the I/O: they take finished text and put it on a stream. No formatting here."""

from __future__ import annotations

import codecs
from typing import Any, Callable


def flush(stream: Any) -> None:
    """Flush when the stream can: an object with only ``write()`` is a valid stream too."""
    method = getattr(stream, "flush", None)
    if method is not None:
        method()


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
