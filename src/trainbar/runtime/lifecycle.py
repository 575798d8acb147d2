"""What happens to trainbar when the process forks, exits or is told to terminate: one place.

* **Fork** (a DataLoader worker, ``multiprocessing`` with fork): before it, the runtime's lock
  and its outputs are held, so the child inherits none of them half-way through a change. The
  child starts over: a runtime of its own (none of the parent's threads exist there), fresh
  locks in every module and every bar. It can still read and close the bars it inherited; it
  never draws them, since they are the parent's.
* **Exit**: open bars are closed (done if they reached their total, interrupted otherwise),
  their final lines written, the terminal's cursor given back, the event files closed and the
  node-leader lock file removed. A stream that does not take writes gets ``EXIT_DRAIN`` seconds.
* **SIGTERM and SIGHUP** (a batch scheduler's time limit, ``scancel``, ``kill``, torchrun
  tearing down its workers, a closed terminal): as at exit, but every open bar is marked
  ``terminated (SIGTERM)``. Then the signal is raised again with its default action, so the
  process still dies by it, with the exit status its parent expects. A handler is installed only
  where the default one is in place (never over the user's, never over ``SIG_IGN``), from the
  main thread. SIGINT is left alone: Ctrl-C raises ``KeyboardInterrupt``, which the loops report.
"""

from __future__ import annotations

import _thread
import atexit
import os
import signal
import threading
from typing import Any

from trainbar import _warnings
from trainbar.runtime import runtime as _runtime

TERMINATING = ("SIGTERM", "SIGHUP")

_handled: dict[int, Any] = {}  # signal number -> the handler that was there before ours
_held: list = []  # what before_fork holds, for after_fork_in_parent to release


def install_signal_handlers() -> None:
    """Install ours for SIGTERM and SIGHUP where the default is in place (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return  # signal.signal() works only there; a later bar opened on it will try again
    for name in TERMINATING:
        number = getattr(signal, name, None)
        if number is None or number in _handled:
            continue
        try:
            if signal.getsignal(number) is not signal.SIG_DFL:
                _handled[number] = None  # the user's, SIG_IGN, or one set outside Python: theirs
                continue
            signal.signal(number, _on_terminate)
        except (ValueError, OSError, RuntimeError):
            continue
        _handled[number] = signal.SIG_DFL


def _on_terminate(number: int, frame: Any) -> None:
    # The handler runs on the main thread between two bytecodes, possibly in the middle of some
    # trainbar call holding a lock. The closing work therefore runs on a thread of its own, and
    # the main thread waits for it a bounded time: the worst case is a missing final line, never
    # a signal swallowed by a deadlock.
    # The thread is started with _thread, not threading: Thread.start() takes threading's own
    # lock and waits, without a limit, for the thread to start, and the interrupted code may be
    # holding that lock (starting a thread of its own): the process would never die.
    runtime = _runtime.existing()
    if runtime is not None and not runtime.stopping:
        done = _thread.allocate_lock()  # a new one: no thread can be holding it
        done.acquire()

        def close_down() -> None:
            try:
                runtime.shutdown(reason=signal.Signals(number).name)
                _release_process_files()
            except Exception:  # noqa: BLE001 - never in the way of the signal
                pass
            finally:
                done.release()

        try:
            _thread.start_new_thread(close_down, ())
        except RuntimeError:  # no thread to be had: go without the final lines
            pass
        else:
            done.acquire(timeout=_runtime.EXIT_DRAIN + 1.0)
    # Hand over to the default action and let it happen: the process dies by the signal.
    signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)


def _at_exit() -> None:
    try:
        runtime = _runtime.existing()
        if runtime is not None:
            runtime.shutdown()
    finally:
        _release_process_files()


def _release_process_files() -> None:
    from trainbar.distributed import leader

    leader.release()


def _before_fork() -> None:
    runtime = _runtime.existing()
    if runtime is not None:
        _held.append((runtime, runtime.before_fork()))


def _after_fork_in_parent() -> None:
    while _held:
        runtime, outputs = _held.pop()
        runtime.after_fork_in_parent(outputs)


def _after_fork_in_child() -> None:
    _held.clear()
    from trainbar.core import bar, metrics
    from trainbar.distributed import leader
    from trainbar.sinks import redirect

    _runtime.forget_in_child()
    bar.after_fork_in_child()
    metrics.after_fork_in_child()
    redirect.after_fork_in_child()
    leader.after_fork_in_child()
    _warnings.forget_in_child()


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)
