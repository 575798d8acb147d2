"""Where are we: the one place that decides how a stream is drawn to, and reads the environment.

Precedence, highest first: the call's own argument (``disable=``), then ``TRAINBAR_*`` variables
and the rank rule (only the drawing ranks of a distributed job draw), then a Jupyter kernel's own
output streams, then common standards (``NO_COLOR``, ``FORCE_COLOR``,
``TERM=dumb``, ``CI``), then ``isatty()``.
"""

from __future__ import annotations

import os
import sys
import warnings

MODES = ("tty", "log", "off", "notebook")
TTY, LOG, OFF, NOTEBOOK = MODES
DEFAULT_LOG_INTERVAL = 30.0
_CI_VARIABLES = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "TF_BUILD")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def choose_mode(stream: object, disable: bool | None = None) -> str:
    """Decide how bars on ``stream`` are drawn: ``tty``, ``log``, ``notebook`` or ``off``."""
    if disable:
        return OFF
    if disable is None and (_flag("TRAINBAR_DISABLE") or not rank_draws()):
        return OFF
    forced = os.environ.get("TRAINBAR_MODE", "auto").strip().lower()
    if forced in MODES:
        if forced == OFF and disable is False:
            return _detect(stream)
        return forced
    if forced not in ("", "auto"):
        _warn_once(f"TRAINBAR_MODE={forced!r} is not one of auto, tty, log, notebook, off; using auto")
    return _detect(stream)


def rank_draws() -> bool:
    """Whether this process is one of the ranks that draw (``TRAINBAR_RANKS``); see ``_leader``."""
    from trainbar.distributed.leader import draws

    return draws()


def _detect(stream: object) -> str:
    # Before CI and TERM: a kernel run in CI (nbclient, papermill) still writes a notebook.
    if is_notebook_stream(stream):
        return NOTEBOOK
    if not is_terminal(stream):
        return LOG
    if os.environ.get("TERM", "") == "dumb" or any(_flag(v) for v in _CI_VARIABLES):
        return LOG
    return TTY


def is_terminal(stream: object) -> bool:
    """True only for a stream that really is a terminal; any failure to tell means no."""
    isatty = getattr(stream, "isatty", None)
    if not callable(isatty):
        return False
    try:
        return bool(isatty())
    except Exception:
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
    except Exception:
        return False


def is_notebook_stream(stream: object) -> bool:
    """A kernel's own stdout or stderr: what is written there lands in the running cell.
    A file the user opened, even inside a notebook, is not one."""
    module = getattr(type(stream), "__module__", "") or ""
    return module.startswith("ipykernel.") and in_notebook_kernel()


def terminal_width(stream: object, default: int = 80) -> int:
    """Columns of the terminal behind ``stream``, read fresh so resizes are followed."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or default  # type: ignore[attr-defined]
    except Exception:
        pass
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        return default


def use_colour(stream: object) -> bool:
    if "NO_COLOR" in os.environ:
        return False
    if _flag("FORCE_COLOR"):
        return True
    return os.environ.get("TERM", "") != "dumb"


def supports_unicode(stream: object) -> bool:
    """Whether block characters survive the stream's encoding (an ASCII locale gets ``#``)."""
    encoding = getattr(stream, "encoding", None)
    if not encoding:
        return True
    try:
        "█▏…›".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def log_interval() -> float:
    """Seconds between periodic log lines (``TRAINBAR_LOG_INTERVAL``, default 30)."""
    return seconds("TRAINBAR_LOG_INTERVAL", DEFAULT_LOG_INTERVAL)


def seconds(name: str, default: float) -> float:
    """A positive number of seconds from the variable ``name``; ``default`` (with one warning) otherwise."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        _warn_once(f"{name}={raw!r} is not a positive number of seconds; using {default:g}")
        return default
    return value


_warned: set = set()


def _warn_once(message: str) -> None:
    if message in _warned:
        return
    _warned.add(message)
    warn(message)


def warn(message: str) -> None:
    """Emit a trainbar warning without ever raising: the output it goes to may be broken."""
    try:
        warnings.warn(message, RuntimeWarning, stacklevel=3)
    except Exception:
        pass
