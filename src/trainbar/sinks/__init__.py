"""Sinks own the I/O: they take finished text and put it on a stream. No formatting here."""

from __future__ import annotations


def flush(stream) -> None:
    """Flush when the stream can: an object with only ``write()`` is a valid stream too."""
    method = getattr(stream, "flush", None)
    if method is not None:
        method()


def encoder_for(stream):
    """A function that makes text fit the stream's encoding, replacing what cannot be written.

    A description in Japanese must not switch the display off on an ASCII-only log.
    """
    encoding = getattr(stream, "encoding", None)
    if not isinstance(encoding, str) or encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf16", "utf32"):
        return _unchanged
    try:
        "".encode(encoding)
    except LookupError:
        return _unchanged

    def fit(text: str) -> str:
        return text.encode(encoding, "replace").decode(encoding)

    return fit


def _unchanged(text: str) -> str:
    return text
