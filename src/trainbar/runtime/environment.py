"""Where are we: the one place that decides how a stream is drawn to.

Precedence, highest first: the call's own argument (``disable=``), then ``TRAINBAR_*`` settings
and the rank rule (only the drawing ranks of a distributed job draw), then a Jupyter kernel's own
output streams, then common standards (``NO_COLOR``, ``FORCE_COLOR``, ``TERM=dumb``, ``CI``),
then ``isatty()``.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from typing import Any

from trainbar import _settings

TTY, LOG, OFF, NOTEBOOK = "tty", "log", "off", "notebook"


def choose_mode(stream: Any, disable: bool | None = None) -> str:
    """Decide how bars on ``stream`` are drawn: ``tty``, ``log``, ``notebook`` or ``off``."""
    if disable:
        return OFF
    settings = _settings.current()
    if disable is None and (settings.disable or not rank_draws()):
        return OFF
    if settings.mode != "auto":
        if settings.mode == OFF and disable is False:
            return _detect(stream, settings)
        return settings.mode
    return _detect(stream, settings)


def rank_draws() -> bool:
    """Whether this process is one of the ranks that draw (``TRAINBAR_RANKS``)."""
    from trainbar.distributed.leader import draws

    return draws()


def _detect(stream: Any, settings: _settings.Settings) -> str:
    # Before CI and TERM: a kernel run in CI (nbclient, papermill) still writes a notebook.
    if is_notebook_stream(stream):
        return NOTEBOOK
    if not _is_terminal_cached(stream):
        return LOG
    if settings.dumb_terminal or settings.ci:
        return LOG
    return TTY


def is_terminal(stream: Any) -> bool:
    """True only for a stream that really is a terminal; any failure to tell means no."""
    isatty = getattr(stream, "isatty", None)
    if not callable(isatty):
        return False
    try:
        return bool(isatty())
    except Exception:  # noqa: BLE001
        return False


_last_asked: tuple = (None, None, False)  # (stream, its isatty, the answer): bars share a stream


def _is_terminal_cached(stream: Any) -> bool:
    # isatty() is a system call (tens of microseconds on a pseudo-terminal) that every bar would
    # make on the same stream; the answer is kept while the stream and its isatty are the same.
    global _last_asked
    isatty = getattr(stream, "isatty", None)
    if _last_asked[0] is stream and _last_asked[1] == isatty:
        return _last_asked[2]
    answer = is_terminal(stream)
    _last_asked = (stream, isatty, answer)
    return answer


def never_blocks(stream: Any) -> bool:
    """Whether a write to ``stream`` is done as soon as it is made, so trainbar may write it on
    the caller's thread: memory, a Jupyter kernel's own stream (its writes are queued to the
    kernel's I/O thread), and a regular file (the write lands in the page cache; a file system
    that hangs holds up every write of the program, not ours alone). Anything else may wait
    for a reader: a terminal nobody reads (Ctrl-S, a paused tmux), a full pipe, a FIFO, a socket."""
    if isinstance(stream, (io.StringIO, io.BytesIO)):
        return True
    if isinstance(stream, io.TextIOWrapper) and isinstance(getattr(stream, "buffer", None), io.BytesIO):
        return True  # text over memory, as pytest's capsys
    if is_notebook_stream(stream):
        return True
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except Exception:  # noqa: BLE001 - no file descriptor: an object we cannot see through
        return False


def in_notebook_kernel() -> bool:
    """True inside a Jupyter kernel (Notebook, JupyterLab, VS Code, Colab), False in a terminal
    IPython or plain Python. Looks only at what is already imported: importing IPython here would
    cost a second, and its presence alone says nothing."""
    if "ipykernel" not in sys.modules:
        return False
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    if get_ipython is None:
        return False
    try:
        shell = get_ipython()
        if shell is None:
            return False
        if any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__):
            return True
        return "IPKernelApp" in shell.config  # kernels whose shell class has another name
    except Exception:  # noqa: BLE001
        return False


def is_notebook_stream(stream: Any) -> bool:
    """A kernel's own stdout or stderr: what is written there lands in the running cell.
    A file the user opened, even inside a notebook, is not one."""
    module = getattr(type(stream), "__module__", "") or ""
    return module.startswith("ipykernel.") and in_notebook_kernel()


def terminal_width(stream: Any, default: int = 80) -> int:
    """Columns of the terminal behind ``stream``, read fresh so resizes are followed."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or default
    except Exception:  # noqa: BLE001
        pass
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        return default


def use_colour(stream: Any) -> bool:
    settings = _settings.current()
    if settings.no_colour:
        return False
    if settings.force_colour:
        return True
    return not settings.dumb_terminal


def supports_unicode(stream: Any) -> bool:
    """Whether block characters survive the stream's encoding (an ASCII locale gets ``#``)."""
    encoding = getattr(stream, "encoding", None)
    if not encoding:
        return True
    try:
        "█▏…›".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True
