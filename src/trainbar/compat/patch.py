"""``patch_tqdm()``: every tqdm bar in the process is drawn by trainbar, including the ones in
libraries (datasets, huggingface_hub, transformers, accelerate, Lightning) that the user never wrote.

The mechanism: tqdm's classes are rewritten in place, not replaced. Its base class
``tqdm.std.tqdm`` gets the constructor and methods below, so a name a library bound before the
call (``from tqdm.auto import tqdm``) and every subclass reach them. Each patched bar holds a
``trainbar.tqdm`` and hands it every call; the hot ``update`` is that bar's own bound method,
stored on the instance, so a step costs what a trainbar step costs.

tqdm's own drawing classes (notebook widgets, rich, matplotlib, Tk) also lose their drawing: their
constructor keeps only the ``super()`` call, and their overrides of the methods below give way to
trainbar's. A class of theirs defined after the call (``tqdm.notebook`` imported later) is rewritten
as it is defined, through ``__init_subclass__``.

Limits, by design:
- a subclass outside tqdm keeps the methods it defines itself; one that draws by itself, without
  calling ``super()``, still draws (Lightning's, huggingface_hub's and datasets' do not);
- trainbar formats the line: a subclass's ``format_meter``/``format_num``/``format_dict`` is not used;
- tqdm's private state (screen positions, the monitor thread) is not kept;
- ``unpatch_tqdm()`` closes the patched bars still open: they belong to the patched classes.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import weakref
from typing import Any

from trainbar.compat.tqdm import tqdm as TrainbarTqdm
from trainbar.runtime.output import write as _write

_MISSING = object()
_DRAWING_MODULES = ("tqdm.notebook", "tqdm.rich", "tqdm.gui", "tqdm.tk")
# What only tqdm's drawing classes accept (the widget's display, rich's options, Tk's window).
_DRAWING_ARGUMENTS = ("display", "progress", "options", "grab", "tk_parent", "cancel_callback")

_lock = threading.Lock()
_saved: dict[tuple[type, str], Any] = {}  # (class, name) -> what its own __dict__ had there
_open: weakref.WeakSet[Any] = weakref.WeakSet()  # patched bars not closed yet


def _inner(bar: Any) -> TrainbarTqdm:
    inner = bar.__dict__.get("_trainbar")
    if inner is None:  # a constructor that raised, or a subclass's attribute read before ours ran
        raise AttributeError("this tqdm bar was not constructed")
    return inner


class _Patched:
    """What tqdm's base class gets: every method hands the call to the bar's trainbar.tqdm."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        instance = object.__new__(cls)
        cls._instances.add(instance)  # type: ignore[attr-defined]  # tqdm's registry, read by user code
        return instance

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        inner = TrainbarTqdm(*args, **kwargs)
        self.__dict__["_trainbar"] = inner
        if type(self).update is _Patched.update:
            self.__dict__["update"] = inner.update  # the per-step call, with no hop through us
        _open.add(self)

    def __getattr__(self, name: str) -> Any:
        # Everything tqdm's instances carry (pos, fp, unit, iterable, disable...) is the inner bar's.
        if name.startswith("__") or name == "_trainbar":
            raise AttributeError(name)
        return getattr(_inner(self), name)

    def update(self, n: Any = 1) -> None:
        _inner(self).update(n)

    def __iter__(self) -> Any:
        return iter(_inner(self))

    def close(self) -> None:
        inner = self.__dict__.get("_trainbar")
        if inner is not None:
            inner.close()
        _open.discard(self)
        type(self)._instances.discard(self)  # type: ignore[attr-defined]

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        _inner(self).__exit__(exc_type, exc, traceback)
        self.close()

    def __del__(self) -> None:
        # The inner bar decides, when it goes with us: closed if complete, interrupted if not.
        pass

    def refresh(self, nolock: bool = False, lock_args: Any = None) -> None:
        pass  # the next frame shows the change

    def display(self, msg: Any = None, pos: Any = None) -> None:
        pass  # drawing belongs to trainbar's thread

    def clear(self, nolock: bool = False) -> None:
        pass

    def moveto(self, n: Any) -> None:
        pass

    def unpause(self) -> None:
        pass

    def reset(self, total: Any = None) -> None:
        _inner(self).reset(total)

    def set_description(self, desc: Any = None, refresh: bool = True) -> None:
        _inner(self).set_description(desc)

    def set_description_str(self, desc: Any = None, refresh: bool = True) -> None:
        _inner(self).set_description_str(desc)

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True, **kwargs: Any) -> None:
        _inner(self).set_postfix(ordered_dict, **kwargs)

    def set_postfix_str(self, s: Any = "", refresh: bool = True) -> None:
        _inner(self).set_postfix_str(s)

    def __len__(self) -> int:
        return len(_inner(self))

    def __bool__(self) -> bool:
        return bool(_inner(self))

    def __contains__(self, item: Any) -> bool:
        return item in _inner(self)

    def __reversed__(self) -> Any:
        return reversed(_inner(self))

    def __str__(self) -> str:
        return str(_inner(self))

    @property
    def format_dict(self) -> dict:
        return _inner(self).format_dict

    @classmethod
    def write(cls, s: Any, file: Any = None, end: str = "\n", nolock: bool = False) -> None:
        _write(s, end=end, file=file)

    @classmethod
    def external_write_mode(cls, file: Any = None, nolock: bool = False) -> Any:
        return contextlib.nullcontext()  # other output already goes above the bars


def _forwarded(name: str) -> property:
    """An attribute tqdm users assign (``bar.n = 5``, ``bar.total = 100``) that the inner bar keeps."""
    return property(
        lambda self: getattr(_inner(self), name),
        lambda self, value: setattr(_inner(self), name, value),
    )


_BASE_ATTRIBUTES: dict[str, Any] = {
    name: value
    for name, value in vars(_Patched).items()
    if callable(value) or isinstance(value, (property, classmethod, staticmethod))
    if name not in ("__dict__", "__weakref__", "__module__", "__qualname__", "__doc__")
}
_BASE_ATTRIBUTES.update({name: _forwarded(name) for name in ("n", "total", "desc", "postfix", "leave", "colour")})


def _stripped_constructor(cls: type) -> Any:
    """A drawing class's constructor without its drawing: the rest of the chain still runs."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        for name in _DRAWING_ARGUMENTS:
            kwargs.pop(name, None)
        super(cls, self).__init__(*args, **kwargs)  # type: ignore[arg-type]  # cls is a class

    return __init__


def _set(cls: type, name: str, value: Any) -> None:
    if (cls, name) not in _saved:
        _saved[(cls, name)] = cls.__dict__.get(name, _MISSING)
    setattr(cls, name, value)


def _patch_subclass(cls: type) -> None:
    if not cls.__module__.startswith(_DRAWING_MODULES):
        return
    _set(cls, "__init__", _stripped_constructor(cls))
    for name in list(vars(cls)):
        if name in _BASE_ATTRIBUTES and name not in ("__init__", "__new__"):
            _set(cls, name, _BASE_ATTRIBUTES[name])


def _on_new_subclass(cls: type, **kwargs: Any) -> None:
    with _lock:
        _patch_subclass(cls)


def _all_subclasses(root: type) -> list[type]:
    found: list[type] = []
    todo: list[type] = list(root.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls not in found:
            found.append(cls)
            todo.extend(cls.__subclasses__())
    return found


def patch_tqdm() -> bool:
    """Draw every tqdm bar in this process with trainbar, from now on. Idempotent.

    Returns False (and changes nothing) when tqdm is not installed.
    """
    try:
        std = importlib.import_module("tqdm.std")
    except ImportError:
        return False
    root = std.tqdm
    with _lock:
        if _saved:
            return True
        for name, value in _BASE_ATTRIBUTES.items():
            _set(root, name, value)
        _set(root, "__init_subclass__", classmethod(_on_new_subclass))
        for cls in _all_subclasses(root):
            _patch_subclass(cls)
    return True


def unpatch_tqdm() -> None:
    """Put tqdm back as it was. Patched bars still open are closed first."""
    for bar in list(_open):
        with contextlib.suppress(Exception):
            bar.close()
    with _lock:
        for (cls, name), original in reversed(list(_saved.items())):
            if original is _MISSING:
                with contextlib.suppress(AttributeError):
                    delattr(cls, name)
            else:
                setattr(cls, name, original)
        _saved.clear()


def patched() -> bool:
    """Whether tqdm's classes draw through trainbar now."""
    return bool(_saved)
