"""trainbar's own warnings: never raised into training, each distinct one said once."""

from __future__ import annotations

import threading
import warnings

_said: set[str] = set()
_said_lock = threading.Lock()


def warn(message: str) -> None:
    """Emit a trainbar warning without ever raising: the output it goes to may be broken."""
    try:
        warnings.warn(message, RuntimeWarning, stacklevel=3)
    except Exception:  # noqa: BLE001 - `-W error` or a broken stderr must not reach training
        pass


def warn_once(message: str) -> None:
    """``warn``, unless this very message was already given in this process."""
    with _said_lock:
        if message in _said:
            return
        _said.add(message)
    warn(message)


def forget_in_child() -> None:
    """After a fork: the lock may have been held by a thread the child does not have."""
    global _said_lock
    _said_lock = threading.Lock()
