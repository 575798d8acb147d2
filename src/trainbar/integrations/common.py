"""What the framework integrations share: loading the framework, the bars a callback owns, and
hooks that can never be the reason training dies."""

from __future__ import annotations

import functools
import importlib
import sys
from typing import Any

from trainbar._warnings import warn
from trainbar.core.bar import Bar

# Validation inside a training run gets a bar that goes away when done (``leave=False``). It shows
# only once it has run this long, so short validations add no lines to a log file and no flicker to a terminal.
TRANSIENT_DELAY = 1.0


def require(module: str, *, extra: str, what: str):
    """Import ``module``; if its package is not installed, say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        top = module.partition(".")[0]
        if error.name not in (top, module):
            raise  # the framework is there but broken (a missing backend, say): its own error says more
        raise ImportError(
            f"trainbar.{extra} needs {what}, which is not installed: python3 -m pip install {extra} "
            f"(or, in a trainbar checkout, python3 -m pip install '.[{extra}]' for the tested versions)"
        ) from None


def guarded(hook):
    """Run a callback hook; the first error switches the callback's bars off with one warning."""

    @functools.wraps(hook)
    def run(self, *args, **kwargs):
        bars = self._bars
        if bars.failed:
            return None
        try:
            return hook(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - a progress bar must never stop training
            bars.fail(f"{type(self).__name__}.{hook.__name__}", error)
            return None

    return run


class Bars:
    """The bars one callback has open, by role (``"epochs"``, ``"steps"``, ``"eval"`` ...).

    Opening a role that is still open closes the old bar first, so a run that died without its
    end hook never leaves a bar behind for the next one to nest under.
    """

    def __init__(self, file=None) -> None:
        if file is not None and not callable(getattr(file, "write", None)):
            raise TypeError(f"file must be a writable text stream, got {type(file).__name__}")
        self.file = file
        self.failed = False
        self._open: dict = {}

    def open(
        self, role: str, *, total=None, desc: str, unit: str = "step", leave: bool = True, delay: float = 0.0
    ) -> Bar:
        self.close(role, interrupted=True)
        if total is not None and not total < float("inf"):
            total = None  # an endless loader
        bar: Bar[Any] = Bar(total=total, desc=desc, unit=unit, leave=leave, delay=delay, file=self.file)
        self._open[role] = bar
        return bar

    def get(self, role: str):
        return self._open.get(role)

    def in_notebook(self) -> bool:
        """Whether this callback's bars are drawn in a notebook's output: the runtime's own choice
        of mode for their stream (``TRAINBAR_MODE`` may send them to log lines in a kernel)."""
        from trainbar.runtime import environment
        from trainbar.sinks.redirect import unwrap

        return environment.choose_mode(unwrap(sys.stderr if self.file is None else self.file)) == environment.NOTEBOOK

    def close(self, role: str, *, interrupted: bool = False) -> None:
        bar = self._open.pop(role, None)
        if bar is None:
            return
        bar.close(interrupted=interrupted)

    def close_all(self, *, interrupted: bool = False) -> None:
        for role in reversed(list(self._open)):  # innermost first
            self.close(role, interrupted=interrupted)

    def fail(self, where: str, error: Exception) -> None:
        self.failed = True
        try:
            self.close_all(interrupted=True)
        except Exception:  # noqa: BLE001
            self._open.clear()
        warn(f"trainbar: {where} failed ({type(error).__name__}: {error}); its bars are off, training goes on")


def advance(bar, n) -> None:
    """Move ``bar`` forward to ``n``, never back: batch hooks may run out of order on a thread pool."""
    if bar is not None and n > bar.n:
        bar.set(n)
