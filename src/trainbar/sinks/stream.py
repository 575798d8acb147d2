"""Whole lines to a plain text stream: log files, pipes, CI consoles."""

from __future__ import annotations


class LineWriter:
    """Writes complete lines and flushes each, so a crash never leaves half a line behind."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def write_above(self, text: str, stream=None) -> None:
        target = self.stream if stream is None else stream
        target.write(text)
        target.flush()

    def release(self) -> None:
        pass
