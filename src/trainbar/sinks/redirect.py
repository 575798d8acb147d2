"""Keep other output above the live bars: ``print``, ``sys.stderr`` writes and logging handlers.

While a terminal region is live, ``sys.stdout`` and ``sys.stderr`` are replaced by proxies that
hand what is written to a route: the runtime, which prints it above the live region, or in order
with its own lines in a log. Logging ``StreamHandler``s that wrote to the real streams are
pointed at the proxies. Everything is put back when the last bar drawn there closes.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from trainbar.sinks import flush

Route = Callable[[str, Any], None]  # (complete lines, the real stream they were written to)


class StreamProxy:
    """Looks like the stream it replaces; what is written goes to the route, in order."""

    def __init__(self, original: Any, route: Route) -> None:
        self._original = original
        self._route = route

    def write(self, text: Any) -> int:
        if not isinstance(text, str):
            return self._original.write(text)  # let the real stream raise
        if text:
            self._route(text, self._original)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        # Never waits for what was handed on: training never waits on output. (A partial line
        # above a live region goes out with its end, or when the region closes.)
        pass

    @property
    def original(self) -> Any:
        return self._original

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


_handlers: list = []  # (handler, the stream it had) for handlers we re-pointed


def unwrap(stream: Any) -> Any:
    while isinstance(stream, StreamProxy):
        stream = stream.original
    return stream


def installed() -> bool:
    return isinstance(sys.stdout, StreamProxy) or isinstance(sys.stderr, StreamProxy)


# Every proxy ever installed, kept for the life of the process. print() holds sys.stdout as a
# borrowed reference while it writes its arguments one by one: if another thread swapped the
# proxy out and it were freed in between, the interpreter would crash. A proxy left behind stays
# usable: what is written to it still reaches its stream.
_made: dict[int, StreamProxy] = {}


def _proxy(original: Any, route: Route) -> StreamProxy:
    proxy = _made.get(id(original))
    if proxy is None or proxy.original is not original:
        proxy = _made[id(original)] = StreamProxy(original, route)
    return proxy


def install(route: Route) -> None:
    if installed():
        return
    out, err = sys.stdout, sys.stderr
    if out is None or err is None:
        return
    for stream in (out, err):
        # What the program left in a stream's own buffer goes out first: from now on its text
        # and ours are written past that buffer, in the order they come.
        try:
            flush(stream)
        except Exception:  # noqa: BLE001 - a broken stream is the program's to find out about
            pass
    sys.stdout, sys.stderr = _proxy(out, route), _proxy(err, route)
    logging = sys.modules.get("logging")  # never import logging ourselves: it is the user's
    if logging is None:
        return
    proxies = {id(out): sys.stdout, id(err): sys.stderr}
    loggers = [logging.getLogger()] + [
        logger for logger in list(logging.Logger.manager.loggerDict.values()) if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in list(logger.handlers):
            if type(handler) is logging.StreamHandler and id(handler.stream) in proxies:
                _handlers.append((handler, handler.stream))
                handler.setStream(proxies[id(handler.stream)])


def uninstall() -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, StreamProxy):
            setattr(sys, name, stream.original)
    while _handlers:
        handler, original = _handlers.pop()
        if isinstance(handler.stream, StreamProxy):
            handler.setStream(original)


def after_fork_in_child() -> None:
    _handlers.clear()
