"""Calling users' metric callables where a slow or stuck one can hurt nothing.

``tb.log(lr=lambda: scheduler.get_last_lr()[0])`` hands trainbar a function to call when it
draws. That is user code: it may be slow, or never return (a lock, a remote call). It runs on a
worker thread of its own, and the display waits for it at most ``BUDGET`` seconds. One that
overruns is reported as such; the worker stuck in it is abandoned (it is a daemon) and the next
call gets a fresh one, so the other bars and metrics keep being drawn.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable

BUDGET = 0.1  # seconds: a metric is a quick read; anything slower would hold up every frame


class Overrun(Exception):
    """The callable did not return within the budget."""


class _Call:
    __slots__ = ("function", "done", "value", "error")

    def __init__(self, function: Callable[[], Any]) -> None:
        self.function = function
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class _Worker:
    def __init__(self) -> None:
        self.calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self.abandoned = False
        self.thread = threading.Thread(target=self._run, name="trainbar-metrics", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.abandoned:
            try:
                call = self.calls.get(timeout=5.0)
            except queue.Empty:
                self.abandoned = True  # idle: the next call starts a new worker
                return
            try:
                call.value = call.function()
            except BaseException as error:  # noqa: BLE001 - handed back to the caller to show "?"
                call.error = error
            call.done.set()


class Caller:
    """Calls functions on a worker thread, each within ``budget`` seconds."""

    def __init__(self, budget: float = BUDGET) -> None:
        self.budget = budget
        self._worker: _Worker | None = None
        self._lock = threading.Lock()

    def call(self, function: Callable[[], Any]) -> Any:
        """``function()``'s value; its exception re-raised; ``Overrun`` when it is too slow."""
        with self._lock:
            worker = self._worker
            if worker is None or worker.abandoned or not worker.thread.is_alive():
                worker = self._worker = _Worker()
        call = _Call(function)
        worker.calls.put(call)
        if not call.done.wait(self.budget):
            worker.abandoned = True  # it is stuck in this call: nothing else is queued behind it
            with self._lock:
                if self._worker is worker:
                    self._worker = None
            raise Overrun(f"did not return within {self.budget:g}s")
        if isinstance(call.error, Exception):
            raise call.error
        if call.error is not None:  # SystemExit and friends belong to the thread that raised them
            raise RuntimeError(f"the callable raised {type(call.error).__name__}")
        return call.value

    def after_fork_in_child(self) -> None:
        self._worker = None  # the worker thread did not survive the fork
        self._lock = threading.Lock()
