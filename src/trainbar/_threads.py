"""trainbar's own threads: daemons that leave the signals ending a process to the program.

The kernel hands a signal sent to the process to any thread that does not block it. Taken by
one of ours, SIGTERM or Ctrl-C only sets Python's flag: a main thread asleep in a long C call
(``time.sleep``, a blocking read) runs the handler when that call ends, minutes later perhaps.
Each of our threads blocks them first, so the kernel gives them to a thread of the program.

A process started from such a thread would inherit the mask: threads that run the user's code
(metric callables, the doctor's loader) are plain threads.
"""

from __future__ import annotations

import signal
import threading
from typing import Any, Callable

_LEFT_TO_THE_PROGRAM = tuple(
    number for number in (getattr(signal, name, None) for name in ("SIGTERM", "SIGHUP", "SIGINT")) if number is not None
)


def start(target: Callable[[], Any], name: str) -> threading.Thread:
    """Start ``target`` on a daemon thread called ``name`` that never takes a terminating signal.

    The signals are blocked around the start, so the new thread is born with them blocked: a
    thread blocking them only once it runs could take one in between."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    if not hasattr(signal, "pthread_sigmask"):
        thread.start()
        return thread
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _LEFT_TO_THE_PROGRAM)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return thread
