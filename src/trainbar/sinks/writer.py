"""Where a stream's I/O runs: at once, for a stream that cannot block, or on a writer thread.

Everything trainbar writes to one stream goes through one ``Output``, as actions (functions
that do the writing), in the order they were submitted:

* ``DirectOutput`` runs each action at once, on the caller's thread. It is for streams that
  never block: memory (``io.StringIO``) and a Jupyter kernel's streams, whose writes are queued
  to the kernel's own I/O thread. Output there is ready the moment a call returns.
* ``QueuedOutput`` hands actions to a thread of its own, for everything else: a terminal
  nobody reads (Ctrl-S, a paused tmux), a pipe nobody drains, a FIFO, a hung network file
  system. A caller never waits. The queue is bounded: when it is full, new actions are dropped
  and counted, and once the stream takes writes again the owner is told how many were lost.
  A live region's redraw is a *frame*: a frame replaces the one before it unless an action came
  between them, so a frozen terminal costs one frame of memory, not one per redraw.

Several streams may share one output: standard output and standard error on one terminal, so
that what is written to each comes out in the order it was written. An action names the stream
it writes to; when it raises, ``on_error(error, stream)`` is called (on the thread that ran it) so
the owner can switch that stream off, and the other actions go on.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from functools import partial
from typing import Any, Callable, Protocol

from trainbar import _threads

Action = Callable[[], None]
ErrorHandler = Callable[[Exception, Any], None]  # (the error, the stream the action wrote to)

_on_writer = threading.local()  # marks writer threads (sinks.put writes to the descriptor there)

MAX_ACTIONS = 10_000  # waiting actions per stream, and...
MAX_CHARS = 4 << 20  # ...characters: a stream that stopped taking writes holds at most this much
IDLE_EXIT = 5.0  # seconds with nothing to write before the writer thread leaves


def on_writer_thread() -> bool:
    return getattr(_on_writer, "active", False)


class Output(Protocol):
    """One stream's writes, in order."""

    def submit(self, action: Action, size: int = 1, *, stream: Any = None) -> bool:
        """Run ``action`` (which writes to ``stream``) in turn; False when it was dropped."""

    def submit_frame(self, action: Action, *, stream: Any = None) -> None:
        """Like ``submit``, but replacing a frame submitted earlier that has not run yet."""

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every submitted action to have run."""

    def hold(self, timeout: float) -> bool:
        """Keep actions from running (before a fork), for at most ``timeout`` to get hold."""

    def release(self) -> None:
        """Let actions run again after ``hold``."""


class DirectOutput:
    """Runs every action at once on the caller's thread: for streams that never block."""

    def __init__(self, on_error: ErrorHandler) -> None:
        self._on_error = on_error
        self._lock = threading.RLock()  # two threads writing to one region take turns

    def submit(self, action: Action, size: int = 1, *, stream: Any = None) -> bool:
        with self._lock:
            try:
                action()
            except Exception as error:  # noqa: BLE001 - handed to the owner, never to training
                self._on_error(error, stream)
                return False
        return True

    def submit_frame(self, action: Action, *, stream: Any = None) -> None:
        self.submit(action, stream=stream)

    def drain(self, timeout: float) -> bool:
        return True

    def hold(self, timeout: float) -> bool:
        return self._lock.acquire(timeout=timeout)

    def release(self) -> None:
        self._lock.release()


class QueuedOutput:
    """Runs actions on a writer thread of its own, so that no caller ever waits for the stream."""

    def __init__(self, name: str, on_error: ErrorHandler, on_dropped: Callable[[int], None] | None = None) -> None:
        self.name = name
        self._on_error = on_error
        self._on_dropped = on_dropped
        self._changed = threading.Condition(threading.Lock())
        self._actions: deque[tuple[Action, int, Any]] = deque()
        self._chars = 0
        self._frame: tuple[Action, Any] | None = None
        self._running = False  # the writer is running actions now
        self._io = threading.Lock()  # held while actions run; a fork takes it (see hold)
        self._thread: threading.Thread | None = None
        self._unreported = 0
        self.dropped = 0

    def submit(self, action: Action, size: int = 1, *, stream: Any = None) -> bool:
        with self._changed:
            if len(self._actions) >= MAX_ACTIONS or self._chars + size > MAX_CHARS:
                self.dropped += 1
                self._unreported += 1
                return False
            if self._frame is not None:  # a frame drawn before this action stays before it
                self._actions.append((self._frame[0], 1, self._frame[1]))
                self._frame = None
            self._actions.append((action, size, stream))
            self._chars += size
            self._wake()
        return True

    def submit_frame(self, action: Action, *, stream: Any = None) -> None:
        with self._changed:
            self._frame = (action, stream)
            self._wake()

    def _wake(self) -> None:  # called with self._changed held
        if self._thread is None:
            self._thread = _threads.start(self._run, f"trainbar-writer-{self.name}")
        self._changed.notify_all()

    def _run(self) -> None:
        _on_writer.active = True  # put() writes to descriptors here: see sinks.put
        while True:
            with self._changed:
                while not self._actions and self._frame is None:
                    if not self._changed.wait(IDLE_EXIT) and not self._actions and self._frame is None:
                        self._thread = None  # idle: the next submit starts a new writer
                        return
                batch = list(self._actions)
                self._actions.clear()
                self._chars = 0
                frame, self._frame = self._frame, None
                lost, self._unreported = self._unreported, 0
                self._running = True
            with self._io:
                for action, _, stream in batch:
                    self._attempt(action, stream)
                if lost and self._on_dropped is not None:
                    self._attempt(partial(self._on_dropped, lost), None)
                if frame is not None:
                    self._attempt(*frame)
            with self._changed:
                self._running = False
                self._changed.notify_all()

    def _attempt(self, action: Action, stream: Any) -> None:
        try:
            action()
        except Exception as error:  # noqa: BLE001 - handed to the owner, never to training
            self._on_error(error, stream)
        except BaseException as error:  # noqa: BLE001 - a stream's write raising KeyboardInterrupt
            self._on_error(RuntimeError(f"the stream raised {type(error).__name__}"), stream)

    def idle(self) -> bool:
        """Nothing waiting and nothing being written now."""
        with self._changed:
            return not (self._actions or self._frame is not None or self._running)

    def drain(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._actions or self._frame is not None or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def hold(self, timeout: float) -> bool:
        return self._io.acquire(timeout=timeout)

    def release(self) -> None:
        self._io.release()
