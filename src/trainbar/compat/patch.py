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
- tqdm's private state (screen positions, the monitor thread) is not kept.

A bar made before the patch keeps tqdm's behaviour (each method falls back to tqdm's own when
the bar holds no trainbar.tqdm), and one made while patched keeps trainbar's after
``unpatch_tqdm()``: its class is swapped for a subclass that keeps trainbar's methods.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import threading
import weakref
from typing import Any

from trainbar.compat.tqdm import TqdmKeyError
from trainbar.compat.tqdm import tqdm as TrainbarTqdm
from trainbar.runtime.output import write as _write

_MISSING = object()
_DRAWING_MODULES = ("tqdm.notebook", "tqdm.rich", "tqdm.gui", "tqdm.tk")
# What only tqdm's drawing classes accept (the widget's display, rich's options, Tk's window).
_DRAWING_ARGUMENTS = ("display", "progress", "options", "grab", "tk_parent", "cancel_callback")

_lock = threading.Lock()
_saved: dict[tuple[type, str], Any] = {}  # (class, name) -> what its own __dict__ had there
_made: weakref.WeakSet[Any] = weakref.WeakSet()  # bars made while patched, to keep working after


def _native(bar: Any, name: str) -> Any:
    """tqdm's own ``name`` for ``bar``, as its class had it before the patch: a bar made before
    the patch keeps working as tqdm made it."""
    for cls in type(bar).__mro__:
        original = _saved.get((cls, name), _MISSING) if (cls, name) in _saved else cls.__dict__.get(name, _MISSING)
        if original is not _MISSING:
            return original.__get__(bar, type(bar)) if hasattr(original, "__get__") else original
    raise AttributeError(name)


def _delegating(method: Any) -> Any:
    """``method(self, inner, ...)`` for a patched bar; tqdm's own method for a bar made before."""
    name = method.__name__

    @functools.wraps(method)
    def dispatch(self: Any, *args: Any, **kwargs: Any) -> Any:
        inner = self.__dict__.get("_trainbar")
        if inner is None:
            return _native(self, name)(*args, **kwargs)
        return method(self, inner, *args, **kwargs)

    return dispatch


class _Patched:
    """What tqdm's base class gets: every method hands the call to the bar's trainbar.tqdm."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        instance = object.__new__(cls)
        cls._instances.add(instance)  # type: ignore[attr-defined]  # tqdm's registry, read by user code
        return instance

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        try:
            inner = TrainbarTqdm(*args, **kwargs)
        except TqdmKeyError as error:  # what tqdm's users catch is tqdm's own class
            raise importlib.import_module("tqdm.std").TqdmKeyError(str(error)) from None
        self.__dict__["_trainbar"] = inner
        if type(self).update is _Patched.update:
            self.__dict__["update"] = inner.update  # the per-step call, with no hop through us
        _made.add(self)

    def __getattr__(self, name: str) -> Any:
        # Everything tqdm's instances carry (pos, fp, unit, iterable, disable...) is the inner bar's.
        inner = self.__dict__.get("_trainbar")
        if inner is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(inner, name)

    def update(self, n: Any = 1) -> Any:
        inner = self.__dict__.get("_trainbar")
        if inner is None:
            return _native(self, "update")(n)
        inner.update(n)
        return None

    @_delegating
    def __iter__(self, inner: TrainbarTqdm) -> Any:
        return iter(inner)

    @_delegating
    def close(self, inner: TrainbarTqdm) -> None:
        inner.close()
        type(self)._instances.discard(self)  # type: ignore[attr-defined]

    @_delegating
    def __exit__(self, inner: TrainbarTqdm, exc_type: Any, exc: Any, traceback: Any) -> None:
        inner.__exit__(exc_type, exc, traceback)
        type(self)._instances.discard(self)  # type: ignore[attr-defined]

    @_delegating
    def __del__(self, inner: TrainbarTqdm) -> None:
        pass  # the inner bar decides, when it goes with us: closed if complete, interrupted if not

    @_delegating
    def refresh(self, inner: TrainbarTqdm, nolock: bool = False, lock_args: Any = None) -> None:
        pass  # the next frame shows the change

    @_delegating
    def display(self, inner: TrainbarTqdm, msg: Any = None, pos: Any = None) -> None:
        pass  # drawing belongs to trainbar's thread

    @_delegating
    def clear(self, inner: TrainbarTqdm, nolock: bool = False) -> None:
        pass

    @_delegating
    def moveto(self, inner: TrainbarTqdm, n: Any) -> None:
        pass

    @_delegating
    def unpause(self, inner: TrainbarTqdm) -> None:
        pass

    @_delegating
    def reset(self, inner: TrainbarTqdm, total: Any = None) -> None:
        inner.reset(total)

    @_delegating
    def set_description(self, inner: TrainbarTqdm, desc: Any = None, refresh: bool = True) -> None:
        inner.set_description(desc)

    @_delegating
    def set_description_str(self, inner: TrainbarTqdm, desc: Any = None, refresh: bool = True) -> None:
        inner.set_description_str(desc)

    @_delegating
    def set_postfix(self, inner: TrainbarTqdm, ordered_dict: Any = None, refresh: bool = True, **kwargs: Any) -> None:
        inner.set_postfix(ordered_dict, **kwargs)

    @_delegating
    def set_postfix_str(self, inner: TrainbarTqdm, s: Any = "", refresh: bool = True) -> None:
        inner.set_postfix_str(s)

    @_delegating
    def __len__(self, inner: TrainbarTqdm) -> int:
        return len(inner)

    @_delegating
    def __bool__(self, inner: TrainbarTqdm) -> bool:
        return bool(inner)

    @_delegating
    def __contains__(self, inner: TrainbarTqdm, item: Any) -> bool:
        return item in inner

    @_delegating
    def __reversed__(self, inner: TrainbarTqdm) -> Any:
        return reversed(inner)

    @_delegating
    def __str__(self, inner: TrainbarTqdm) -> str:
        return str(inner)

    @property
    def format_dict(self) -> dict:
        inner = self.__dict__.get("_trainbar")
        return _native(self, "format_dict") if inner is None else inner.format_dict

    @classmethod
    def write(cls, s: Any, file: Any = None, end: str = "\n", nolock: bool = False) -> None:
        _write(s, end=end, file=file)

    @classmethod
    def external_write_mode(cls, file: Any = None, nolock: bool = False) -> Any:
        return contextlib.nullcontext()  # other output already goes above the bars


def _forwarded(name: str) -> property:
    """An attribute tqdm users assign (``bar.n = 5``, ``bar.total = 100``) that the inner bar
    keeps; a bar made before the patch keeps it where tqdm does, in its own ``__dict__``."""

    def get(self: Any) -> Any:
        inner = self.__dict__.get("_trainbar")
        if inner is None:
            try:
                return self.__dict__[name]
            except KeyError:
                raise AttributeError(name) from None
        return getattr(inner, name)

    def set(self: Any, value: Any) -> None:
        inner = self.__dict__.get("_trainbar")
        if inner is None:
            self.__dict__[name] = value
        else:
            setattr(inner, name, value)

    return property(get, set)


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
    """Put tqdm back as it was, for the bars made from now on. A bar made while patched (a
    library's, still running) goes on drawing through trainbar until it is closed."""
    with _lock:
        for (cls, name), original in reversed(list(_saved.items())):
            if original is _MISSING:
                with contextlib.suppress(AttributeError):
                    delattr(cls, name)
            else:
                setattr(cls, name, original)
        _saved.clear()
        detached: dict[type, type] = {}
        for bar in list(_made):
            cls = type(bar)
            if cls not in detached:
                # The same class for the user's isinstance() checks, with trainbar's methods kept.
                detached[cls] = type(cls.__name__, (cls,), {**_BASE_ATTRIBUTES, "__module__": cls.__module__})
            bar.__class__ = detached[cls]
        _made.clear()


def patched() -> bool:
    """Whether tqdm's classes draw through trainbar now."""
    return bool(_saved)
