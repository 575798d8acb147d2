"""Every setting trainbar reads, in one place: the environment, then ``trainbar.configure()``.

``current()`` returns a frozen ``Settings``. It is computed again only when one of the variables
it reads, or a ``configure()`` value, has changed, so a bad value is warned about once and every
caller sees the same numbers. Intervals have floors: a value below one is raised to it, with one
warning, because ``1e-4`` would make a thread spin and write thousands of lines a second.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Union

from ._warnings import warn_once

MODES = ("auto", "tty", "log", "notebook", "off")
NOTEBOOK_FORMATS = ("auto", "html", "markdown")
# Set in a kernel that VS Code started (VSCODE_CWD where VSCODE_PID is not, as under WSL).
VSCODE_VARIABLES = ("VSCODE_PID", "VSCODE_CWD")
CI_VARIABLES = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "TF_BUILD")
_OFF_WORDS = ("0", "off", "false", "no", "none")

# name: (default, floor) for every setting given in seconds
SECONDS = {
    "TRAINBAR_LOG_INTERVAL": (30.0, 1.0),
    "TRAINBAR_JSONL_INTERVAL": (5.0, 1.0),
    "TRAINBAR_STALL_GRACE": (600.0, 1.0),
    "TRAINBAR_HEARTBEAT_TIMEOUT": (10.0, 1.0),
}
STALL_FLOOR = 1.0  # a fixed stall threshold below this would report every scheduler hiccup

VARIABLES = (
    "TRAINBAR_MODE", "TRAINBAR_DISABLE", "TRAINBAR_STALL", "TRAINBAR_JSONL", "TRAINBAR_RANKS",
    "TRAINBAR_GATHER", "TRAINBAR_PURE_PYTHON", "TRAINBAR_NOTEBOOK_FORMAT", "NO_COLOR", "FORCE_COLOR", "TERM",
    *SECONDS, *CI_VARIABLES, *VSCODE_VARIABLES,
)  # fmt: skip

Stall = Union[str, float]  # "auto", "off" or a fixed threshold in seconds


class Settings:
    """What the environment and ``trainbar.configure()`` ask for, already checked. Frozen."""

    # A plain class rather than a NamedTuple: this module is loaded by `import trainbar`, and
    # building a NamedTuple class costs as much as the rest of the module.
    __slots__ = (
        "mode", "disable", "log_interval", "jsonl", "jsonl_interval", "stall", "stall_grace", "on_stall", "ranks",
        "heartbeat_timeout", "gather", "no_colour", "force_colour", "dumb_terminal", "ci", "notebook_format",
    )  # fmt: skip

    mode: str  # one of MODES
    disable: bool  # TRAINBAR_DISABLE
    log_interval: float
    jsonl: str | None  # the event file's path template, or None
    jsonl_interval: float
    stall: Stall
    stall_grace: float
    on_stall: Callable[[dict], object] | None
    ranks: str  # TRAINBAR_RANKS as given (the rank rule is read in distributed.leader)
    heartbeat_timeout: float
    gather: bool
    no_colour: bool
    force_colour: bool
    dumb_terminal: bool
    ci: bool
    notebook_format: str  # "html" or "markdown": what a notebook output carries ("auto" is decided)

    def __init__(self, **values: Any) -> None:
        for name in self.__slots__:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Settings are read-only: set a variable or call trainbar.configure()")

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__) + ")"


def flag(name: str) -> bool:
    """A yes/no variable: anything but empty, 0, false, no and off means yes."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


class _Overrides:
    """The values ``trainbar.configure()`` set; each wins over its variable."""

    UNSET = object()

    def __init__(self) -> None:
        self.jsonl: object = self.UNSET
        self.stall: object = self.UNSET
        self.on_stall: Callable[[dict], object] | None = None
        self.notebook_format: object = self.UNSET
        self.generation = 0


_overrides = _Overrides()
_cache: tuple[tuple, Settings] | None = None


def _environment_key() -> tuple:
    # Every bar asks, so this must be cheap: os.environ.get decodes each value on each call,
    # while the encoded mapping behind it (CPython's os.environ._data) is a plain dict.
    raw = getattr(os.environ, "_data", None)
    if isinstance(raw, dict) and _ENCODED is not None:
        return tuple(map(raw.get, _ENCODED))
    return tuple(os.environ.get(name) for name in VARIABLES)


try:
    _ENCODED: tuple | None = tuple(os.environ.encodekey(name) for name in VARIABLES)
except AttributeError:  # an os.environ without encodekey: read it the plain way
    _ENCODED = None


def current() -> Settings:
    """The settings now (cheap: recomputed only when an input changed)."""
    global _cache
    key = (_environment_key(), _overrides.generation)
    cached = _cache
    if cached is not None and cached[0] == key:
        return cached[1]
    settings = _read()
    _cache = (key, settings)
    return settings


def override(*, jsonl: object = _Overrides.UNSET, stall: object = _Overrides.UNSET,
             on_stall: object = _Overrides.UNSET, notebook_format: object = _Overrides.UNSET) -> None:  # fmt: skip
    """Record ``configure()``'s values (already validated by it); ``None`` for ``stall`` or
    ``notebook_format`` gives the decision back to its variable."""
    if jsonl is not _Overrides.UNSET:
        _overrides.jsonl = jsonl
    if stall is not _Overrides.UNSET:
        _overrides.stall = _Overrides.UNSET if stall is None else stall
    if on_stall is not _Overrides.UNSET:
        _overrides.on_stall = on_stall  # type: ignore[assignment]
    if notebook_format is not _Overrides.UNSET:
        _overrides.notebook_format = _Overrides.UNSET if notebook_format is None else notebook_format
    _overrides.generation += 1


def reset() -> None:
    """Forget every ``configure()`` value (for tests)."""
    global _overrides, _cache
    _overrides = _Overrides()
    _cache = None


def _read() -> Settings:
    environ = os.environ
    mode = environ.get("TRAINBAR_MODE", "auto").strip().lower() or "auto"
    if mode not in MODES:
        warn_once(f"trainbar: TRAINBAR_MODE={mode!r} is not one of {', '.join(MODES)}; using auto")
        mode = "auto"
    if _overrides.jsonl is _Overrides.UNSET:
        jsonl = environ.get("TRAINBAR_JSONL", "").strip() or None
    else:
        jsonl = _overrides.jsonl  # type: ignore[assignment]
    stall = _stall(environ.get("TRAINBAR_STALL", "")) if _overrides.stall is _Overrides.UNSET else _overrides.stall
    return Settings(
        mode=mode,
        disable=flag("TRAINBAR_DISABLE"),
        log_interval=seconds("TRAINBAR_LOG_INTERVAL"),
        jsonl=jsonl,
        jsonl_interval=seconds("TRAINBAR_JSONL_INTERVAL"),
        stall=stall,
        stall_grace=seconds("TRAINBAR_STALL_GRACE"),
        on_stall=_overrides.on_stall,
        ranks=environ.get("TRAINBAR_RANKS", "").strip().lower(),
        heartbeat_timeout=seconds("TRAINBAR_HEARTBEAT_TIMEOUT"),
        gather=environ.get("TRAINBAR_GATHER", "").strip().lower() not in _OFF_WORDS,
        no_colour="NO_COLOR" in environ,
        force_colour=flag("FORCE_COLOR"),
        dumb_terminal=environ.get("TERM", "") == "dumb",
        ci=any(flag(name) for name in CI_VARIABLES),
        notebook_format=_notebook_format(environ),
    )


def _notebook_format(environ: Any) -> str:
    chosen = _overrides.notebook_format
    if chosen is _Overrides.UNSET:
        chosen = environ.get("TRAINBAR_NOTEBOOK_FORMAT", "").strip().lower() or "auto"
        if chosen not in NOTEBOOK_FORMATS:
            warn_once(
                f"trainbar: TRAINBAR_NOTEBOOK_FORMAT={chosen!r} is not one of {', '.join(NOTEBOOK_FORMATS)}; using auto"
            )
            chosen = "auto"
    if chosen == "auto":
        # A notebook written in VS Code is mostly opened in VS Code again, where a folder not
        # trusted (Restricted Mode) draws nothing for text/html but does draw Markdown's HTML.
        return "markdown" if any(environ.get(name, "").strip() for name in VSCODE_VARIABLES) else "html"
    return str(chosen)


def seconds(name: str) -> float:
    """The variable ``name`` as seconds: its default when unset or not a positive number, and
    never below its floor (each with one warning)."""
    default, floor = SECONDS[name]
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = _positive(raw)
    if value is None:
        warn_once(f"trainbar: {name}={raw!r} is not a positive number of seconds; using {default:g}")
        return default
    return at_least(value, floor, name)


def at_least(value: float, floor: float, name: str) -> float:
    """``value`` raised to ``floor``, saying so once."""
    if value < floor:
        warn_once(f"trainbar: {name}={value:g} is below the floor of {floor:g}s; using {floor:g}s")
        return floor
    return value


def _positive(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if 0 < value < math.inf else None


def _stall(raw: str) -> Stall:
    raw = raw.strip().lower()
    if raw in ("", "auto"):
        return "auto"
    if raw in _OFF_WORDS:
        return "off"
    value = _positive(raw)
    if value is None:
        warn_once(f"trainbar: TRAINBAR_STALL={raw!r} is not a number of seconds, 'auto' or 'off'; using auto")
        return "auto"
    return at_least(value, STALL_FLOOR, "TRAINBAR_STALL")
