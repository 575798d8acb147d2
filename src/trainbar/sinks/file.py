"""Whole lines appended to a file that other processes read while it grows."""

from __future__ import annotations

import os


class AppendFile:
    """Each line goes out in one ``write`` on an ``O_APPEND`` descriptor, with no buffer between.

    A reader therefore never sees half a line except while that one call is under way, a crash
    loses at most the line being written, and a second writer (a forked child) cannot land in
    the middle of one of ours. A file renamed or deleted under us (log rotation) is replaced by
    a new one at the path before the next line, as ``logging.handlers.WatchedFileHandler`` does.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._identity: tuple | None = None
        self._open()

    def _open(self) -> None:
        folder = os.path.dirname(self.path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(self.path, flags, 0o644)
        stat = os.fstat(self._fd)
        self._identity = (stat.st_dev, stat.st_ino)

    def _moved(self) -> bool:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return True
        return (stat.st_dev, stat.st_ino) != self._identity

    def line(self, text: str) -> None:
        if self._fd is None:
            raise ValueError(f"{self.path} is closed")
        if self._moved():  # one stat per line: lines come seconds apart, never per step
            os.close(self._fd)
            self._fd = None
            self._open()
        fd = self._fd
        assert fd is not None  # _open() sets it or raises
        data = (text + "\n").encode("utf-8", "replace")
        written = os.write(fd, data)
        while written < len(data):  # a short write (a signal, a nearly full disk): finish the line
            written += os.write(fd, data[written:])

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
