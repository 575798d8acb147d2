"""The live region at the bottom of a terminal, redrawn in place, with text written above it.

The cursor rests at the start of the region's last line (no trailing newline), so moving back to
the top is ``\\r`` plus ``k-1`` lines up. Lines are kept narrower than the terminal so that no
line ever wraps: a wrapped line would throw that count off and tear the region.
"""

from __future__ import annotations

from typing import Any

from trainbar._warnings import warn_once
from trainbar.sinks import encoder_for, put

HIDE_CURSOR = "\x1b[?25l"
SHOW_CURSOR = "\x1b[?25h"
CLEAR_LINE_END = "\x1b[K"
CLEAR_BELOW = "\x1b[J"


class TerminalRegion:
    """Owns the last few lines of one terminal stream."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._fit = encoder_for(stream)
        self._height = 0  # lines of the region now on screen
        self._lines: list = []
        self._cursor_hidden = False

    @property
    def lines(self) -> list[str]:
        """The region's lines as last drawn."""
        return list(self._lines)

    def _to_top(self) -> str:
        if self._height == 0:
            return ""
        return "\r" + (f"\x1b[{self._height - 1}A" if self._height > 1 else "")

    def _body(self, lines: list) -> str:
        return "\n".join(line + CLEAR_LINE_END for line in lines)

    def _park(self, lines: list) -> str:
        # At column 0, not after the text: what the terminal echoes at the cursor (``^C``, keys
        # typed during training) then overwrites the line, instead of wrapping it and tearing the region.
        return "\r" if lines else ""

    def _hide_cursor(self, lines: list) -> str:
        if lines and not self._cursor_hidden:
            self._cursor_hidden = True
            return HIDE_CURSOR
        return ""

    def _emit(self, text: str) -> None:
        put(self.stream, self._fit(text))

    def draw(self, lines: list[str]) -> None:
        """Show exactly ``lines`` in the region; nothing is written when nothing changed."""
        if lines == self._lines and self._height == len(lines):
            return
        text = self._to_top() + self._body(lines) + CLEAR_BELOW + self._park(lines)
        self._emit(self._hide_cursor(lines) + text)
        self._lines, self._height = list(lines), len(lines)

    def write_above(self, text: str, stream: Any = None, lines: list[str] | None = None) -> None:
        """Print ``text`` (ending in a newline) above the region, then redraw the region under it,
        as ``lines`` when given, else as it was."""
        if lines is not None:
            self._lines = list(lines)
        clear = self._to_top() + CLEAR_BELOW if self._height else ""
        region = self._hide_cursor(self._lines) + self._body(self._lines) + self._park(self._lines)
        if stream is None or stream is self.stream:
            self._emit(clear + text + region)
        else:
            # Another stream on the same terminal: clear ours, let it print, then come back.
            if clear:
                self._emit(clear)
                # A KeyboardInterrupt can land in the other stream's write: the region must then
                # be known gone, or the next redraw climbs into the text printed above it.
                self._height = 0
            try:
                put(stream, encoder_for(stream)(text))
            except BaseException as error:  # noqa: BLE001 - that stream's failure (even a KeyboardInterrupt
                # raised by its write) is not this region's: the region is put back regardless
                warn_once(f"trainbar.write: could not write to {getattr(stream, 'name', stream)!r} "
                          f"({type(error).__name__}: {error}); messages there are lost, the bars go on")  # fmt: skip
            self._emit(region)
        self._height = len(self._lines)

    def release(self) -> None:
        """Leave the terminal as it was found: region cleared, cursor visible."""
        text = self._to_top() + CLEAR_BELOW if self._height else ""
        if self._cursor_hidden:
            text += SHOW_CURSOR
        self._lines, self._height, self._cursor_hidden = [], 0, False
        if text:
            self._emit(text)
