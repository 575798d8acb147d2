"""tqdm.contrib's helpers, drawing trainbar's bars: ``from trainbar.contrib import tenumerate``.

``tenumerate``, ``tzip`` and ``tmap`` are ``enumerate``, ``zip`` and ``map`` counted on a bar;
``trainbar.contrib.itertools`` has ``product`` and its siblings, ``trainbar.contrib.concurrent``
``thread_map`` and ``process_map``, ``trainbar.contrib.logging`` ``logging_redirect_tqdm``. Each
takes ``tqdm_class`` (trainbar's ``tqdm`` by default) and passes other keywords to the bar.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, Callable

__all__ = ["DummyTqdmFile", "tenumerate", "tmap", "tzip"]


def _tqdm() -> Any:
    from trainbar.compat.tqdm import tqdm

    return tqdm


def tenumerate(
    iterable: Iterable[Any], start: int = 0, total: Any = None, tqdm_class: Any = None, **tqdm_kwargs: Any
) -> Iterator[Any]:
    """``enumerate(iterable, start)`` with a bar; a numpy array is walked as ``numpy.ndenumerate``."""
    tqdm_class = tqdm_class or _tqdm()
    numpy = sys.modules.get("numpy")  # an array means numpy is loaded already: never import it here
    if numpy is not None and isinstance(iterable, numpy.ndarray):
        return tqdm_class(numpy.ndenumerate(iterable), total=total or iterable.size, **tqdm_kwargs)
    return enumerate(tqdm_class(iterable, total=total, **tqdm_kwargs), start)


def tzip(iter1: Iterable[Any], *iter2plus: Iterable[Any], **tqdm_kwargs: Any) -> Iterator[tuple]:
    """``zip`` with a bar counting ``iter1``; ``tqdm_class=`` picks the bar's class."""
    options = dict(tqdm_kwargs)
    tqdm_class = options.pop("tqdm_class", None) or _tqdm()
    yield from zip(tqdm_class(iter1, **options), *iter2plus)


def tmap(function: Callable[..., Any], *sequences: Iterable[Any], **tqdm_kwargs: Any) -> Iterator[Any]:
    """``map`` with a bar counting the first sequence; ``tqdm_class=`` picks the bar's class."""
    for arguments in tzip(*sequences, **tqdm_kwargs):
        yield function(*arguments)


class DummyTqdmFile:
    """A file that writes each whole line through ``tqdm.write`` (above the bars), as tqdm's does.

    trainbar already keeps ``print`` from tearing its bars, so this is for scripts written for
    tqdm: ``sys.stdout = DummyTqdmFile(sys.stdout)``. What follows the last newline is kept until
    the next one, or until the wrapper goes.
    """

    def __init__(self, wrapped: Any) -> None:
        self._wrapped = wrapped
        self._buffer: list = []

    def write(self, text: Any, nolock: bool = False) -> None:
        newline = b"\n" if isinstance(text, bytes) else "\n"
        head, found, tail = text.rpartition(newline)
        if found:
            self._emit(newline[:0].join([*self._buffer, head, found]))
            self._buffer = [tail] if tail else []
        else:
            self._buffer.append(text)

    def _emit(self, text: Any) -> None:
        if isinstance(text, bytes):
            text = text.decode(getattr(self._wrapped, "encoding", None) or "utf-8", "replace")
        _tqdm().write(text, file=self._wrapped, end="")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)

    def __del__(self) -> None:
        try:
            if self._buffer:
                self._emit(self._buffer[0][:0].join(self._buffer))
                self._buffer = []
        except Exception:  # noqa: BLE001 - a finaliser must never raise
            pass
