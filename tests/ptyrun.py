"""Run a Python snippet in a child process attached to a real pseudo-terminal, and see its screen.

    result = run_in_pty("import trainbar\\nfor _ in trainbar.bar(range(10)): pass", cols=60)
    assert "10/10" in result.text
    assert not result.screen.cursor.hidden

The child is the session leader of its own terminal (as a shell would make it), so it gets
SIGWINCH on resize and SIGINT for ``^C``. Its raw output is replayed through ``pyte``, an
in-memory VT100 emulator; ``result.screen`` is what a person would see when the child exited.
``triggers`` act on the child mid-run: each ``(marker, action)`` pair calls ``action(session)``
once, when ``marker`` first appears in the output.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import textwrap
import time

import pyte

_DROPPED = (
    "CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "TF_BUILD",  # would mean log mode
    "NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES",
)  # fmt: skip
REDRAW = b"\x1b[J"  # every frame of the live region clears what is below its last line


def child_environment(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED and not k.startswith("TRAINBAR_")}
    env.update(TERM="xterm-256color", PYTHONUTF8="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def _set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _become_terminal_owner() -> None:  # runs in the child, after setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class TrackingScreen(pyte.Screen):
    """A pyte screen that also notes every place a printed character ran into the right edge.

    ``overflows`` lists (row, text) for lines that filled or passed the last column: either the
    terminal wrapped them (tearing the live region) or, on xterm, the next ``ESC[K`` eats the
    last character. Trainbar promises to keep a column spare, so any entry is a bug.
    """

    def __init__(self, columns: int, lines: int) -> None:
        super().__init__(columns, lines)
        self.overflows: list = []

    def draw(self, data: str) -> None:
        for char in data:
            width = pyte.screens.wcwidth(char)
            if width > 0 and self.cursor.x + width > self.columns - 1:
                row = self.cursor.y
                super().draw(char)
                self.overflows.append((row, self._row_text(row)))
            else:
                super().draw(char)

    def _row_text(self, row: int) -> str:
        line = self.buffer[row]
        return "".join(line[x].data for x in range(self.columns)).rstrip()


class Session:
    """The running child, as the ``triggers`` see it."""

    def __init__(self, proc: subprocess.Popen, master: int, rows: int, cols: int) -> None:
        self.proc = proc
        self.master = master
        self.output = bytearray()
        self.resizes: list = []  # (offset into output, rows, cols)
        self.size = (rows, cols)

    def resize(self, rows: int, cols: int) -> None:
        """Change the terminal's size, as dragging the window edge would."""
        _set_size(self.master, rows, cols)
        self.resizes.append((len(self.output), rows, cols))
        self.size = (rows, cols)

    def send_signal(self, signum: int = signal.SIGINT) -> None:
        self.proc.send_signal(signum)

    def type(self, keys: bytes) -> None:
        """Send keystrokes, as a person typing at the terminal would (``b"\\x03"`` is ``^C``)."""
        os.write(self.master, keys)


class PtyResult:
    def __init__(self, session: Session, returncode: int, rows: int, cols: int, replay_resize_at=None) -> None:
        self.output = bytes(session.output)
        self.returncode = returncode
        self._size = (rows, cols)
        self._resizes = []
        offset = 0
        for at, new_rows, new_cols in session.resizes:
            if replay_resize_at is not None:
                found = self.output.find(replay_resize_at, offset)
                at = found if found >= 0 else at
            self._resizes.append((at, new_rows, new_cols))
            offset = at
        for screen in self._replay(()):
            self.screen = screen

    def _replay(self, stops, final=True):
        """Feed the output to a fresh screen, yielding it at each offset in ``stops`` (and at the end)."""
        rows, cols = self._size
        screen = TrackingScreen(cols, rows)
        stream = pyte.ByteStream(screen)
        events = sorted([(at, 1, (r, c)) for at, r, c in self._resizes] + [(at, 0, None) for at in stops])
        offset = 0
        for at, kind, size in events:
            stream.feed(self.output[offset:at])
            offset = at
            if kind:
                screen.resize(*size)
            else:
                yield screen
        if final:
            stream.feed(self.output[offset:])
            yield screen

    def screens_after(self, marker: bytes):
        """The screen as it stood right after each occurrence of ``marker`` (the same object, updated)."""
        stops, at = [], self.output.find(marker)
        while at >= 0:
            stops.append(at + len(marker))
            at = self.output.find(marker, at + 1)
        return self._replay(stops, final=False)

    @property
    def lines(self) -> list:
        """The screen's rows, trailing blanks stripped, trailing empty rows dropped."""
        rows = [row.rstrip() for row in self.screen.display]
        while rows and not rows[-1]:
            rows.pop()
        return rows

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def frames(self) -> int:
        return self.output.count(REDRAW)

    def __repr__(self) -> str:  # what pytest shows when an assertion fails
        raw = self.output[-3000:]
        return f"<PtyResult rc={self.returncode}>\n--- screen ---\n{self.text}\n--- raw (end) ---\n{raw!r}"


def run_in_pty(
    script: str,
    *,
    rows: int = 40,
    cols: int = 100,
    timeout: float = 15.0,
    triggers: list = (),
    env: dict | None = None,
    replay_resize_at: bytes | None = None,
) -> PtyResult:
    """Run ``script`` with ``python -c`` on a fresh ``rows`` x ``cols`` terminal until it exits.

    Never hangs: past ``timeout`` seconds the child is killed and AssertionError raised with
    what it had printed. ``replay_resize_at``: when replaying, apply each resize at the first
    occurrence of these bytes after it (a marker the child prints once it saw the new size),
    rather than where the test happened to be reading.
    """
    master, slave = pty.openpty()
    _set_size(slave, rows, cols)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=child_environment() if env is None else env,
            start_new_session=True,
            preexec_fn=_become_terminal_owner,
            close_fds=True,
        )
    finally:
        os.close(slave)  # the child holds it now; once it exits, reading the master ends
    session = Session(proc, master, rows, cols)
    pending = list(triggers)
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                proc.kill()
                proc.wait()
                raise AssertionError(f"child still running after {timeout}s; its output:\n{bytes(session.output)!r}")
            ready, _, _ = select.select([master], [], [], min(left, 0.05))
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every copy of the slave is closed, the child is gone
                    chunk = b""
                if not chunk:
                    break
                session.output += chunk
                for trigger in list(pending):
                    marker, action = trigger
                    if marker in session.output:
                        pending.remove(trigger)
                        action(session)
            elif proc.poll() is not None and not _readable(master):
                break
        returncode = proc.wait(timeout=max(deadline - time.monotonic(), 1.0))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    if pending:
        missing = [marker for marker, _ in pending]
        raise AssertionError(f"markers never seen: {missing}; output:\n{bytes(session.output)!r}")
    return PtyResult(session, returncode, rows, cols, replay_resize_at)


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])
