"""Console logging above the bars: ``with logging_redirect_tqdm():``, as tqdm.contrib.logging.

    logging.basicConfig(level=logging.INFO)
    with logging_redirect_tqdm():
        for batch in tqdm(loader):
            log.info("checkpoint saved")   # one whole line above the bar, never through it

Within the block, each given logger's console handlers (those writing to standard output or
standard error) are replaced by one that hands each formatted record to ``tqdm_class.write``:
trainbar's ``write`` by default, so records come out in order with the bars' own lines. The
first console handler's formatter, filters and level are kept; other handlers (log files) are
left alone. The handlers are put back when the block ends, however it ends.

Like ``trainbar.write``, the records are printed only by the ranks that draw bars in a
distributed job (``TRAINBAR_RANKS``); a log file handler still gets every rank's records.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["logging_redirect_tqdm", "tqdm_logging_redirect"]


def _tqdm() -> Any:
    from trainbar.compat.tqdm import tqdm

    return tqdm


class _TqdmLoggingHandler(logging.StreamHandler):
    """Writes each record through ``tqdm_class.write`` to the stream of the handler it replaced."""

    def __init__(self, tqdm_class: Any = None) -> None:
        super().__init__()
        self.tqdm_class = tqdm_class or _tqdm()
        self._ours = isinstance(self.tqdm_class, type) and issubclass(self.tqdm_class, _tqdm())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.tqdm_class.write(self.format(record), file=self.stream)
            if not self._ours:
                self.flush()  # another library's write is done now; trainbar's writer thread flushes its own
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - logging's rule: a failing handler reports, never raises
            self.handleError(record)

    def flush(self) -> None:
        if not self._ours:
            super().flush()


def _is_console(handler: logging.Handler) -> bool:
    from trainbar.sinks.redirect import unwrap

    if not isinstance(handler, logging.StreamHandler):
        return False
    # While trainbar draws, sys.stdout and sys.stderr may be its proxies: compare what is behind.
    stream = unwrap(handler.stream)
    return stream is not None and any(stream is unwrap(console) for console in (sys.stdout, sys.stderr))


@contextlib.contextmanager
def logging_redirect_tqdm(loggers: Sequence[logging.Logger] | None = None, tqdm_class: Any = None) -> Iterator[None]:
    """Send the console output of ``loggers`` (the root logger by default) through
    ``tqdm_class.write`` (trainbar's ``write`` by default) for the duration of the block."""
    if loggers is None:
        loggers = [logging.root]
    saved = [(logger, logger.handlers) for logger in loggers]
    try:
        for logger in loggers:
            handler = _TqdmLoggingHandler(tqdm_class)
            console: Any = next((h for h in logger.handlers if _is_console(h)), None)
            if console is not None:
                handler.setFormatter(console.formatter)
                handler.setLevel(console.level)
                handler.stream = console.stream
                for log_filter in console.filters:
                    handler.addFilter(log_filter)
            logger.handlers = [h for h in logger.handlers if not _is_console(h)] + [handler]
        yield
    finally:
        for logger, handlers in saved:
            logger.handlers = handlers


@contextlib.contextmanager
def tqdm_logging_redirect(*args: Any, **kwargs: Any) -> Iterator[Any]:
    """``with tqdm_logging_redirect(total=n, loggers=[...]) as bar:``: a bar, and the loggers'
    console output redirected above it, for the block (``tqdm_class=`` picks the bar's class)."""
    options = dict(kwargs)
    loggers = options.pop("loggers", None)
    tqdm_class = options.pop("tqdm_class", None) or _tqdm()
    with tqdm_class(*args, **options) as bar, logging_redirect_tqdm(loggers=loggers, tqdm_class=tqdm_class):
        yield bar
