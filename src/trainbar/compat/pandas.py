"""``tqdm.pandas()``: ``progress_apply`` and its siblings on pandas objects, counted on a bar.

    from trainbar import tqdm
    tqdm.pandas(desc="rows")
    df.progress_apply(f, axis=1)            # df.apply(f, axis=1), with a bar over the rows
    df.groupby("key").progress_apply(g)     # one step per group

What is registered, as tqdm registers it: ``progress_apply`` on ``DataFrame``, ``Series``, their
``GroupBy`` objects, ``Rolling`` and ``Expanding``; ``progress_map`` on ``Series`` and
``DataFrame`` (and on a GroupBy where pandas has ``map``); ``progress_applymap`` on
``DataFrame`` (``DataFrame.map`` where pandas has it, since ``applymap`` is deprecated, then gone
in pandas 3); ``progress_aggregate`` and ``progress_transform`` on GroupBy objects.

Each call makes a new bar of the class ``pandas`` was called on, with the options given to it,
and closes it when pandas returns: complete (n set to the total, whatever number of calls pandas
needed), or interrupted when the function raised. Where tqdm differs, on purpose:

- positional arguments after the function reach pandas, meaning what they mean to ``apply``
  (tqdm drops them with a warning);
- ``total=`` given to ``tqdm.pandas`` holds for every call, not only the first;
- a function pandas must see as it is (a name such as ``"sum"``, a list or dict of them, a
  mapping given to ``map``, anything run with ``engine="numba"``) is passed unwrapped, and the bar
  counts the whole call at its end;
- ``Rolling`` and ``Expanding`` bars have a total (the windows there can be), not none.

pandas is imported by ``tqdm.pandas()`` only, never by ``import trainbar``.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

_APPLY = "apply"


def _module(name: str) -> Any:
    # pandas is imported by name: it is optional, untyped for mypy, and its layout moves between
    # versions, so every lookup here is checked at run time instead.
    return importlib.import_module(name)


def register(tqdm_class: Callable[..., Any], **tqdm_kwargs: Any) -> None:
    """Add the ``progress_*`` methods to pandas' classes, drawing bars of ``tqdm_class``."""
    try:
        pandas = _module("pandas")
    except ImportError as error:
        raise ImportError(f"tqdm.pandas() needs pandas ({error}): pip install pandas") from error
    _generic = _module("pandas.core.groupby.generic")
    _groupby = _module("pandas.core.groupby.groupby")

    frame, series = pandas.DataFrame, pandas.Series
    frame_groupby, series_groupby = _generic.DataFrameGroupBy, _generic.SeriesGroupBy
    groupby = _groupby.GroupBy
    options = dict(tqdm_kwargs)
    # tqdm's deprecated tqdm_pandas(bar) hands its bar over this way: it counts the next call.
    deprecated = options.pop("deprecated_t", None)
    handed = [] if deprecated is None else [deprecated]

    def method(name: str) -> Callable[..., Any]:
        def progress(obj: Any, func: Any, *args: Any, **kwargs: Any) -> Any:
            return _run(tqdm_class, options, obj, name, func, args, kwargs, handed)

        progress.__name__ = progress.__qualname__ = f"progress_{name}"
        progress.__doc__ = f"``{name}`` with a progress bar (registered by ``tqdm.pandas()``)."
        return progress

    cell_map = "map" if hasattr(frame, "map") else "applymap"  # applymap: deprecated in 2.1, gone in 3
    table: list[tuple[type, str, str]] = [
        (series, "progress_apply", _APPLY),
        (series, "progress_map", "map"),
        (frame, "progress_apply", _APPLY),
        (frame, "progress_applymap", cell_map),
        (frame, "progress_map", "map"),
        (series_groupby, "progress_apply", _APPLY),
        (series_groupby, "progress_map", "map"),
        (frame_groupby, "progress_apply", _APPLY),
        (frame_groupby, "progress_map", "map"),
        (groupby, "progress_apply", _APPLY),
        (groupby, "progress_aggregate", "aggregate"),
        (groupby, "progress_transform", "transform"),
    ]
    for cls in _windows():
        table.append((cls, "progress_apply", _APPLY))
    for cls, registered, name in table:
        # Where pandas has no such method (a GroupBy's map) there is no progress_ twin that would
        # fail when called. The base GroupBy of pandas 3 lacks transform, but every GroupBy
        # object is a DataFrameGroupBy or SeriesGroupBy, which have it.
        if hasattr(cls, name) or (cls is groupby and name == "transform"):
            setattr(cls, registered, method(name))


def _windows() -> list[type]:
    try:
        return [_module("pandas.core.window.rolling").Rolling, _module("pandas.core.window.expanding").Expanding]
    except (ImportError, AttributeError):  # pandas before 1.2 kept both in one private class
        mixed = getattr(_module("pandas.core.window.rolling"), "_Rolling_and_Expanding", None)
        return [] if mixed is None else [mixed]


def _run(
    tqdm_class: Callable[..., Any],
    options: dict,
    obj: Any,
    name: str,
    func: Any,
    args: tuple,
    kwargs: dict,
    handed: list | None = None,
) -> Any:
    total = options["total"] if "total" in options else _total(obj, name, args, kwargs)
    if handed:
        bar = handed.pop()
        if bar.total is None:
            bar.total = total
    else:
        bar = tqdm_class(**{**options, "total": total})
    with bar:  # an exception closes it as interrupted, and reaches the caller
        if _wrappable(func, kwargs):
            func = _counted(bar, total, _as_pandas_would(func))
        result = getattr(obj, name)(func, *args, **kwargs)
        if total is not None and bar.n < total:
            bar.n = total  # pandas skipped some calls (a window too short, an empty frame...)
        elif total is None:
            bar.total = bar.n
    return result


def _wrappable(func: Any, kwargs: dict) -> bool:
    # Names ("sum"), lists and dicts of them, and a mapping for map() mean something to pandas
    # that a wrapper would hide; a numba engine compiles the function, and cannot compile ours.
    return callable(func) and kwargs.get("engine") != "numba"


def _counted(bar: Any, total: Any, func: Callable[..., Any]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        # pandas may call the function twice on the first group or row (to choose a fast path):
        # the count stops at the total rather than run past it.
        if total is None or bar.n < total:
            bar.update(1)
        return func(*args, **kwargs)

    return counted


def _as_pandas_would(func: Any) -> Any:
    """pandas before 3 swaps builtins (``sum``, ``max``) for numpy's; once wrapped it no longer
    can, so the swap is made here, to give the result plain ``apply`` gives."""
    swap = getattr(_module("pandas.core.common"), "is_builtin_func", None)  # pandas < 3
    if swap is None:
        return func
    try:
        return swap(func)
    except TypeError:  # an unhashable callable
        return func


_AXES = {0: 0, "index": 0, "rows": 0, 1: 1, "columns": 1}


def _total(obj: Any, name: str, args: tuple, kwargs: dict) -> Any:
    """How many times pandas will call the function (at most), or None when it cannot be known."""
    pandas = _module("pandas")
    groups = getattr(obj, "ngroups", None)
    if groups is not None:
        return groups
    if isinstance(obj, pandas.Series):
        return len(obj)
    if isinstance(obj, pandas.DataFrame):
        if name in ("map", "applymap"):
            return obj.size
        axis = kwargs.get("axis", args[0] if args and name == _APPLY else 0)
        # axis 0 calls the function once per column, axis 1 once per row.
        return obj.shape[1] if _AXES.get(axis, 0) == 0 else obj.shape[0]
    return _windows_total(obj)


def _windows_total(obj: Any) -> Any:
    # A rolling or expanding apply calls the function once per window with enough rows, for each
    # column (or once per window with method="table"): at most rows x columns times.
    data = getattr(obj, "_selected_obj", None)
    if data is None:
        data = getattr(obj, "obj", None)
    shape = getattr(data, "shape", None)
    if not shape:
        return None
    columns = 1 if len(shape) == 1 or getattr(obj, "method", "single") == "table" else shape[1]
    return shape[0] * columns
