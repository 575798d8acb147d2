"""Module-level functions that talk to the runtime: write, print, log, waiting and flush."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

# The runtime, the rank rule and the stream proxies are loaded on first use: `import trainbar`
# stays cheap, and a program that never draws a bar never loads them.


def write(*objects: Any, sep: str = " ", end: str = "\n", file: Any = None) -> None:
    """Print ``objects`` above the live bars, as ``print`` would, without tearing them.

    Goes to standard output unless ``file`` says otherwise. It never waits for the stream: the
    text is written by trainbar's thread for that stream, in order with everything else written
    there, and a failing stream is reported once and otherwise ignored. In a distributed job only
    the ranks that draw bars print (``TRAINBAR_RANKS``), so a message appears once, not once per rank.
    """
    from trainbar.distributed import leader as _leader
    from trainbar.runtime import environment as _env
    from trainbar.runtime import runtime as _runtime
    from trainbar.sinks.redirect import unwrap

    text = sep.join(str(o) for o in objects) + end
    if not _env.rank_draws():
        _runtime.current().record_write(text)  # not printed here, but event files still get it
        return
    prefix = _leader.line_prefix()
    if prefix:
        text = "".join(prefix + line for line in text.splitlines(keepends=True))
    stream = unwrap(sys.stdout if file is None else file)
    if stream is None:
        return
    try:
        _runtime.current().write(text, stream)
    except Exception:  # noqa: BLE001 - a message must never stop training
        pass


print = write


def log(**metrics: Any) -> None:
    """Attach metrics to the innermost live bar (of this thread if it has one)."""
    from trainbar.runtime import runtime as _runtime

    target = _runtime.current().innermost()
    if target is not None:
        target.log(**metrics)


@contextlib.contextmanager
def waiting(where: str = "collective") -> Iterator[None]:
    """``with trainbar.waiting(): dist.all_reduce(t)``: the time inside is time this rank waits
    for the others (or a device). It counts, with the time waiting for data, in the share each
    rank publishes: in a distributed job the rank the others wait for is named (``r3 slow
    (others wait 38%)``). A stall inside is reported as ``in a collective``. Costs two clock reads.
    """
    from trainbar.core import clock as _clock
    from trainbar.runtime import runtime as _runtime

    bar = _runtime.current().innermost()
    if bar is None:
        yield
        return
    previous, bar._where = bar._where, where
    started = _clock.now()
    try:
        yield
    finally:
        if bar._n != bar._initial:  # the first step is left out, as from the data wait
            bar._waited += _clock.now() - started
        bar._where = previous


def flush(timeout: float = 5.0) -> bool:
    """Wait until everything trainbar was asked to draw or write so far is out, for at most
    ``timeout`` seconds; True when it all is.

    Training never needs this: output is written by trainbar's own threads, and at exit what is
    left is written then. It is for a program that reads its own log file or event file back,
    or hands the terminal to something else, and wants the last lines there first.
    """
    from trainbar.runtime import runtime as _runtime

    return _runtime.current().flush(timeout)
