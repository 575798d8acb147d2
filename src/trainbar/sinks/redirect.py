"""Keep other output above the live bars: ``print``, ``sys.stderr`` writes and logging handlers.

While a terminal region is live, ``sys.stdout`` and ``sys.stderr`` are replaced by proxies that
hand complete lines to the display, and logging ``StreamHandler``s that wrote to the real
streams are pointed at the proxies. Everything is put back when the last terminal bar closes.
"""

from __future__ import annotations

import sys

from trainbar.sinks import flush


class StreamProxy:
    """Looks like the stream it replaces; complete lines go above the bars, partial ones wait."""

    def __init__(self, original) -> None:
        self._original = original
        self._pending = ""

    def write(self, text):
        if not isinstance(text, str):
            return self._original.write(text)  # let the real stream raise what it would raise
        from trainbar.runtime import display as _display

        display = _display.current()
        with display.lock:
            self._pending += text
            if "\n" in self._pending:
                lines, _, self._pending = self._pending.rpartition("\n")
                display.write(lines + "\n", self._original)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        # A partial line stays pending while bars are live: printed now it would share a line
        # with the region. It goes out with the next newline, or when the region closes.
        flush(self._original)

    def drain(self) -> None:
        if self._pending:
            text, self._pending = self._pending, ""
            self._original.write(text)
            flush(self._original)

    def __getattr__(self, name: str):
        return getattr(self._original, name)


_handlers: list = []  # (handler, the stream it had) for handlers we re-pointed


def unwrap(stream):
    while isinstance(stream, StreamProxy):
        stream = stream._original
    return stream


def install() -> None:
    if isinstance(sys.stdout, StreamProxy) or isinstance(sys.stderr, StreamProxy):
        return
    out, err = sys.stdout, sys.stderr
    if out is None or err is None:
        return
    sys.stdout, sys.stderr = StreamProxy(out), StreamProxy(err)
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
            try:
                stream.drain()
            except Exception:
                pass
            setattr(sys, name, stream._original)
    while _handlers:
        handler, original = _handlers.pop()
        if isinstance(handler.stream, StreamProxy):
            handler.setStream(original)


def forget_in_child() -> None:
    _handlers.clear()
