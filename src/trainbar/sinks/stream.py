"""Whole lines to a plain text stream: log files, pipes, CI consoles."""

from __future__ import annotations

from typing import Any

from trainbar.sinks import encoder_for, put


class LineWriter:
    """Writes complete lines and flushes each, so a crash never leaves half a line behind."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._fit = encoder_for(stream)

    def line(self, text: str) -> None:
        put(self.stream, self._fit(text + "\n"))
