"""Following one file as another process appends to it, the way ``tail -F`` does.

Only complete lines come out: a partial last line waits for the rest. A file cut shorter
(``copytruncate``) is read again from the start; a file renamed away and replaced by a new one
(rotation) is read to its end, once more at the next poll for a last straggling line, then
dropped, while the new one is read from its start. A file that is not there yet is waited for.
"""

from __future__ import annotations

import os

MAX_LINE = 1 << 20  # a "line" longer than this is not an event: dropped, not kept in memory
_CHUNK = 1 << 20


class _OpenFile:
    """One open file and the start of a line it has not finished yet."""

    def __init__(self, handle) -> None:
        self.handle = handle
        stat = os.fstat(handle.fileno())
        self.identity = (stat.st_dev, stat.st_ino)
        self.pending = b""
        self.skipping = False  # inside an over-long line: everything up to its newline goes

    def read(self, lines: list) -> int:
        """Append the new complete lines to ``lines``; return how many lines were lost."""
        lost = 0
        if os.fstat(self.handle.fileno()).st_size < self.handle.tell():
            lost += self.discard()  # truncated in place: the half-read line is gone
            self.handle.seek(0)
        while True:
            chunk = self.handle.read(_CHUNK)
            if not chunk:
                return lost
            parts = (self.pending + chunk).split(b"\n")
            self.pending = parts.pop()
            for part in parts:
                if self.skipping:
                    self.skipping = False  # the end of an over-long line, counted when it began
                else:
                    lines.append(part)
            if len(self.pending) > MAX_LINE:
                lost += 0 if self.skipping else 1
                self.pending, self.skipping = b"", True

    def discard(self) -> int:
        lost = 1 if self.pending and not self.skipping else 0
        self.pending, self.skipping = b"", False
        return lost

    def close(self) -> int:
        self.handle.close()
        return self.discard()


class Follower:
    """The complete lines appended to ``path`` since the last :meth:`poll`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.dropped = 0  # lines lost: too long, or cut off by a truncation or a rotation
        self.exists = False  # whether a file was ever found at the path
        self._current: _OpenFile | None = None
        self._retired: _OpenFile | None = None

    def poll(self) -> list:
        """New complete lines (bytes, without their newline), oldest first."""
        lines: list = []
        if self._retired is not None:
            self.dropped += self._retired.read(lines) + self._retired.close()
            self._retired = None
        current = self._current or self._open()
        if current is None:
            return lines
        self.dropped += current.read(lines)
        try:
            stat = os.stat(self.path)
        except OSError:
            return lines  # renamed away and not replaced yet: the old file may still grow
        if (stat.st_dev, stat.st_ino) != current.identity:
            self._retired, self._current = current, None
            replacement = self._open()
            if replacement is not None:
                self.dropped += replacement.read(lines)
        return lines

    def close(self) -> None:
        for open_file in (self._retired, self._current):
            if open_file is not None:
                open_file.close()
        self._retired = self._current = None

    def _open(self) -> _OpenFile | None:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - held open across polls on purpose
        except OSError:
            return None
        self._current, self.exists = _OpenFile(handle), True
        return self._current
