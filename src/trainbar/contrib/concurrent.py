"""``list(map(fn, *iterables))`` on a thread or process pool, with a bar: tqdm.contrib.concurrent.

    from trainbar.contrib.concurrent import process_map, thread_map
    sizes = thread_map(download, urls, max_workers=8, desc="download")
    features = process_map(extract, files, chunksize=16, desc="extract")

Keywords, as tqdm takes them: ``max_workers``, ``chunksize``, ``timeout``, ``buffersize``,
``thread_name_prefix`` (threads), ``max_tasks_per_child`` and ``mp_context`` (processes),
``tqdm_class`` (trainbar's ``tqdm`` by default), ``lock_name``; everything else goes to the bar.

The bar counts items as they finish, in whatever order the workers finish them; the results come
back in the order of the inputs. Differences from tqdm, on purpose: with ``chunksize`` the bar
counts the items of each finished chunk (tqdm counts chunks against a total of items), a failing
item is not counted, and an input of unknown length gives a bar of unknown total (not of 0).

trainbar's bars need no lock shared with the workers: nothing of trainbar's is sent to them, so
any start method works (``fork``, ``spawn``, ``forkserver``) with a function that pickles. A
tqdm class of another library gets its write lock lent to the workers, as tqdm does.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import threading
import time
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from operator import length_hint
from typing import Any, Callable

__all__ = ["process_map", "thread_map"]

_POOL_OPTIONS = ("thread_name_prefix", "max_tasks_per_child", "mp_context")


def thread_map(fn: Callable[..., Any], *iterables: Iterable[Any], **tqdm_kwargs: Any) -> list:
    """``list(map(fn, *iterables))`` on a ``concurrent.futures.ThreadPoolExecutor``, with a bar."""
    from concurrent.futures import ThreadPoolExecutor

    return _executor_map(ThreadPoolExecutor, fn, iterables, tqdm_kwargs)


def process_map(
    fn: Callable[..., Any], *iterables: Iterable[Any], lock_name: str = "mp_lock", **tqdm_kwargs: Any
) -> list:
    """``list(map(fn, *iterables))`` on a ``concurrent.futures.ProcessPoolExecutor``, with a bar.

    ``fn``, the items and the results must pickle. Without ``chunksize``, each item is sent on
    its own; past 1000 items that is slow, and a ``TqdmWarning`` says so, as tqdm's does.
    """
    from concurrent.futures import ProcessPoolExecutor

    if iterables and "chunksize" not in tqdm_kwargs:
        shortest = _shortest(iterables)
        if shortest is not None and shortest > 1000:
            from trainbar.compat.tqdm import TqdmWarning

            warnings.warn(
                f"Iterable length {shortest} > 1000 but `chunksize` is not set. This may seriously degrade "
                "multiprocess performance. Set `chunksize=1` or more.",
                TqdmWarning,
                stacklevel=2,
            )
    return _executor_map(ProcessPoolExecutor, fn, iterables, {**tqdm_kwargs, "lock_name": lock_name})


def _shortest(iterables: tuple) -> int | None:
    """The length ``zip`` will stop at, from the inputs that know theirs (None when none does)."""
    known = [n for n in (length_hint(it, -1) for it in iterables) if n >= 0]
    return min(known) if known else None


def _executor_map(pool_class: Any, fn: Callable[..., Any], iterables: tuple, tqdm_kwargs: dict) -> list:
    options = dict(tqdm_kwargs)
    max_workers = options.pop("max_workers", None)
    timeout = options.pop("timeout", None)
    chunksize = options.pop("chunksize", 1)
    buffersize = options.pop("buffersize", None)
    lock_name = options.pop("lock_name", "")
    tqdm_class = options.pop("tqdm_class", None)
    if tqdm_class is None:
        from trainbar.compat.tqdm import tqdm as tqdm_class
    pool_options = {name: options.pop(name) for name in _POOL_OPTIONS if name in options}
    if chunksize < 1:
        raise ValueError("chunksize must be >= 1.")
    if buffersize is not None and buffersize < 1:
        raise ValueError("buffersize must be None or > 0.")
    if "total" not in options:
        options["total"] = _shortest(iterables) if iterables else 0
    options.setdefault("smoothing", 0)  # tqdm's default here: the average rate, finishes come in bursts

    with contextlib.ExitStack() as stack:
        initializer = stack.enter_context(_lent_lock(tqdm_class, lock_name))
        pool = stack.enter_context(pool_class(max_workers=max_workers, **initializer, **pool_options))
        bar = stack.enter_context(tqdm_class(**options))
        try:
            return _collect(pool, fn, iterables, chunksize, buffersize, timeout, bar)
        except BaseException:
            # Nothing more is started; what runs already is waited for by the pool's exit.
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _collect(
    pool: Any, fn: Callable[..., Any], iterables: tuple, chunksize: int, buffersize: int | None, timeout: Any, bar: Any
) -> list:
    deadline = None if timeout is None else time.monotonic() + timeout
    counting = threading.Lock()  # done callbacks run on every worker thread (or the pool's own)
    open_ = [True]

    def finished(size: int, future: Any) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        with counting:
            if open_[0]:
                bar.update(size)

    chunks = _chunks(zip(*iterables), chunksize)
    pending: deque = deque()

    def submit_more() -> None:
        while buffersize is None or len(pending) < buffersize:
            chunk = next(chunks, None)
            if chunk is None:
                return
            future = pool.submit(_call_chunk, fn, chunk)
            future.add_done_callback(functools.partial(finished, len(chunk)))
            pending.append(future)

    results: list = []
    try:
        submit_more()
        while pending:
            future = pending.popleft()
            results.extend(future.result(None if deadline is None else deadline - time.monotonic()))
            submit_more()
    finally:
        with counting:
            open_[0] = False  # a worker finishing after an error no longer moves the closed bar
    return results


def _chunks(arguments: Iterator[tuple], size: int) -> Iterator[list]:
    while chunk := list(itertools.islice(arguments, size)):
        yield chunk


def _call_chunk(fn: Callable[..., Any], chunk: list) -> list:
    # Runs in the worker: a module-level function, so it pickles by name under any start method.
    return [fn(*arguments) for arguments in chunk]


@contextlib.contextmanager
def _lent_lock(cls: Any, lock_name: str) -> Iterator[dict]:
    """The pool's initializer keywords: none for trainbar's bars; for another library's tqdm, its
    write lock (or the ``lock_name`` member of it) lent to every worker and taken back after."""
    from trainbar.compat.tqdm import tqdm as ours

    tqdm_class: Any = cls
    if not isinstance(cls, type) or issubclass(cls, ours) or not hasattr(cls, "set_lock"):
        yield {}
        return
    previous = getattr(tqdm_class, "_lock", None)
    lock = previous or tqdm_class.get_lock()
    lock = getattr(lock, lock_name, lock)
    tqdm_class.set_lock(lock)
    try:
        yield {"initializer": tqdm_class.set_lock, "initargs": (lock,)}
    finally:
        if previous is None:
            with contextlib.suppress(AttributeError):
                del tqdm_class._lock
        else:
            tqdm_class.set_lock(previous)
