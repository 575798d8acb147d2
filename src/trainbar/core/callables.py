"""Calling users' metric callables where a slow or stuck one can hurt nothing.

``tb.log(lr=lambda: scheduler.get_last_lr()[0])`` hands trainbar a function to call when it
draws. That is user code: it may be slow, or never return (a lock, a remote call). It runs on a
worker thread of its own, and the display waits for it at most ``BUDGET`` seconds. One that
overruns is reported as such; the worker stuck in it is abandoned (it is a daemon) and the next
call gets a fresh one, so the other bars and metrics keep being drawn.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

BUDGET = 0.1  # seconds: a metric is a quick read; anything slower would hold up every frame
MAX_STUCK = 8  # workers left behind in callables that never returned; past this, nothing is called


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
        import queue  # here, not at the top: most programs log no callable, and `import trainbar` stays light

        self.calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._empty = queue.Empty
        self.abandoned = False
        # Not one of trainbar._threads: the user's callables run here, and a process one starts
        # would inherit a mask that blocks SIGTERM and Ctrl-C.
        self.thread = threading.Thread(target=self._run, name="trainbar-metrics", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.abandoned:
            try:
                call = self.calls.get(timeout=5.0)
            except self._empty:
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
        self.stuck = 0  # workers abandoned in a call that overran
        self._worker: _Worker | None = None
        self._calling = threading.Lock()  # one call at a time: each gets the whole budget

    def call(self, function: Callable[[], Any]) -> Any:
        """``function()``'s value; its exception re-raised; ``Overrun`` when it is too slow."""
        with self._calling:
            if self.stuck >= MAX_STUCK:
                raise Overrun("too many metric callables never returned: no more are called")
            worker = self._worker
            if worker is None or worker.abandoned or not worker.thread.is_alive():
                worker = self._worker = _Worker()
            call = _Call(function)
            worker.calls.put(call)
            if not call.done.wait(self.budget):
                worker.abandoned = True  # it is stuck in this call: nothing else is queued behind it
                self._worker = None
                self.stuck += 1
                raise Overrun(f"did not return within {self.budget:g}s")
        if isinstance(call.error, Exception):
            raise call.error
        if call.error is not None:  # SystemExit and friends belong to the thread that raised them
            raise RuntimeError(f"the callable raised {type(call.error).__name__}")
        return call.value

    def after_fork_in_child(self) -> None:
        self._worker = None  # the worker thread did not survive the fork
        self.stuck = 0
        self._calling = threading.Lock()


_caller: Caller | None = None


def caller() -> Caller:
    """The process's one caller of metric callables."""
    global _caller
    if _caller is None:
        _caller = Caller()
    return _caller
