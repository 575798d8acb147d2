"""Pure text formatting: durations, numbers, rates, display width and sanitising.

Nothing here does I/O or reads a clock, so every function is tested on plain values.
"""

from __future__ import annotations

import functools
import math
from typing import Any

_SI_PREFIXES = ("", "k", "M", "G", "T", "P", "E", "Z", "Y")


def duration(seconds: float | None) -> str:
    """Seconds as ``mm:ss``, ``h:mm:ss`` or ``Nd hh:mm:ss``; ``?`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}:{minutes:02d}:{secs:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def seconds(value: float) -> str:
    """A span in words a person reads at a glance: ``47s``, ``1m13s``, ``2h05m``."""
    if not math.isfinite(value) or value < 0:
        return "?"
    total = int(value)
    if total < 60:
        return f"{value:.1f}s" if value < 10 and value != total else f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{total % 3600 // 60:02d}m"


def si(value: float, divisor: float = 1000) -> str:
    """A magnitude with an SI prefix and three significant digits: ``1.23k``, ``45.6M``."""
    if not math.isfinite(value):
        return number(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    for prefix in _SI_PREFIXES:
        if value < 999.5:
            if value < 9.995:
                text = f"{value:.2f}"
            elif value < 99.95:
                text = f"{value:.1f}"
            else:
                text = f"{value:.0f}"
            return f"{sign}{text}{prefix}"
        value /= divisor
    return f"{sign}{value:.3g}Y"


def count(n: float, unit_scale: bool = False, divisor: float = 1000) -> str:
    """A position or total: exact integers unless the user asked for SI scaling."""
    if unit_scale:
        return si(n, divisor)
    if isinstance(n, float) and not n.is_integer():
        return f"{n:.3g}" if abs(n) >= 1000 else f"{n:.2f}"
    return str(int(n))


def rate(per_second: float | None, unit: str = "it", unit_scale: bool = False, divisor: float = 1000) -> str:
    """Throughput as ``12.3it/s``, or ``2.31s/it`` when slower than one unit per second."""
    if per_second is None or not math.isfinite(per_second) or per_second <= 0:
        return f"?{unit}/s"
    if unit_scale:
        return f"{si(per_second, divisor)}{unit}/s"
    if per_second >= 1:
        return f"{_three_digits(per_second)}{unit}/s"
    return f"{_three_digits(1.0 / per_second)}s/{unit}"


def _three_digits(value: float) -> str:
    # Thresholds sit half a last digit below the boundary, so 99.96 reads "100", never "100.0".
    if value >= 99_999.5:
        return si(value)  # "1.87M" reads better than "1.87e+06" or seven digits
    if value >= 99.95:
        return f"{value:.0f}"
    if value >= 9.995:
        return f"{value:.1f}"
    return f"{value:.2f}"


def number(value: object, stable: bool = True) -> str:
    """A metric value in compact form: four significant digits, NaN and inf spelled out.

    ``stable`` keeps trailing zeros (``0.5000``, ``1.250``), so a value that changes within
    its decade keeps its width and the rest of the line does not jitter from frame to frame.
    """
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        if -(10**15) < value < 10**15:
            return str(value)
        return _big_integer(value)  # str() of a 5,000-digit integer raises, and would not fit anyway
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value == 0:
            return "0"
        magnitude = abs(value)
        if 1e-3 <= magnitude < 9999.5:
            # The limit is where four significant digits would round up to a fifth one.
            return f"{value:#.4g}".rstrip(".") if stable else f"{value:.4g}"
        return f"{value:.3e}".replace("e-0", "e-").replace("e+0", "e+")
    return sanitize(str(value)[:MAX_TEXT])


MAX_TEXT = 256  # a value shown as text is cut to this before it is cleaned or measured


def _big_integer(value: int) -> str:
    """An integer of any size as ``1.000e+400``: four significant digits, from its logarithm."""
    exponent = math.log10(abs(value))
    whole = math.floor(exponent)
    mantissa = 10 ** (exponent - whole)
    if mantissa >= 9.9995:  # rounds up to the next power of ten
        mantissa, whole = 1.0, whole + 1
    return f"{'-' if value < 0 else ''}{mantissa:.3f}e+{whole}"


_HEX_COLOUR_LENGTHS = (4, 7)  # #rgb and #rrggbb


def hex_colour(text: str) -> tuple | None:
    """``#rrggbb`` or ``#rgb`` as (red, green, blue) from 0 to 255; None for anything else."""
    if len(text) not in _HEX_COLOUR_LENGTHS or text[0] != "#":
        return None
    digits = text[1:]
    if any(c not in "0123456789abcdefABCDEF" for c in digits):
        return None
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return tuple(int(digits[i : i + 2], 16) for i in (0, 2, 4))


SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values, columns: int = 8) -> str:
    """The shape of a series in ``columns`` block characters, oldest left.

    Each column is the mean of an equal share of the series, scaled between the smallest and
    largest column; a flat series is a flat line, non-finite values are left out.
    """
    points = [v for v in values if math.isfinite(v)]
    if len(points) < 2 or columns <= 0:
        return ""
    columns = min(columns, len(points))
    means = []
    for i in range(columns):
        share = points[i * len(points) // columns : (i + 1) * len(points) // columns]
        means.append(sum(share) / len(share))
    low, high = min(means), max(means)
    if high - low <= 1e-12 * max(abs(high), abs(low), 1e-300):
        return SPARK_BLOCKS[len(SPARK_BLOCKS) // 2] * columns
    top = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[round((m - low) / (high - low) * top)] for m in means)


# --- terminal safety -------------------------------------------------------------------------

_CONTROL_PATTERN = None


def _control_pattern():
    # Compiled on first use: `import trainbar` must stay cheap, and most bars never need it.
    global _CONTROL_PATTERN
    if _CONTROL_PATTERN is None:
        import re

        _CONTROL_PATTERN = re.compile(
            r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC (hyperlinks, titles): drop the wrapper
            r"|\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI (colours, cursor moves)
            r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
            r"|\x1b[ -/]*[0-~]?"  # two-byte escapes
            r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
            r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # remaining C0 and C1 controls
            r"|[\u202a-\u202e\u2066-\u2069]"  # bidi overrides: they reorder what a person reads
            r"|[\u2028\u2029]"  # line and paragraph separators: they split a log line in two
        )
    return _CONTROL_PATTERN


def sanitize(text: str) -> str:
    """Remove every control sequence, keep the visible text, and flatten line breaks.

    User text (descriptions, units, metric names) must never move the cursor, ring the bell
    or open a hyperlink: one stray ``\\r`` or escape would tear the live region.
    """
    if text.isprintable():
        return text
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    return _control_pattern().sub("", text)


# --- display width ---------------------------------------------------------------------------


def _char_width(char: str) -> int:
    import unicodedata

    if unicodedata.combining(char) or char in "\u200b\u200c\u200d\u2060\ufeff":
        return 0
    if unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def width(text: str) -> int:
    """Columns the text takes on a terminal: CJK and most emoji take two, combining marks none."""
    if text.isascii():
        return len(text)
    return _wide_width(text)


@functools.lru_cache(maxsize=512)
def _wide_width(text: str) -> int:
    # Cached: the same descriptions and units are measured at every frame.
    return sum(_char_width(c) for c in text)


def truncate(text: str, columns: int, ellipsis: str = "…") -> str:
    """Cut the text to at most ``columns`` display columns, marking the cut.

    Work is bounded by ``columns``, not by the length of the text: a description of ten
    thousand characters costs what one of a line's width costs.
    """
    if columns <= 0:
        return ""
    if len(text) <= columns // 2:
        return text  # at most two columns a character: it fits without measuring
    room = columns - width(ellipsis)
    if text.isascii():
        if len(text) <= columns:
            return text
        return (
            text[:room] + ellipsis if room > 0 else ellipsis[:columns] if width(ellipsis[:columns]) <= columns else ""
        )
    used, cut = 0, None
    for index, char in enumerate(text):
        used += _char_width(char)
        if cut is None and used > room:
            cut = index
        if used > columns:
            if room <= 0:
                return ellipsis[:columns] if width(ellipsis[:columns]) <= columns else ""
            return text[:cut] + ellipsis
    return text


def pad(text: str, columns: int) -> str:
    """Right-pad to exactly ``columns`` display columns (truncating first if needed)."""
    text = truncate(text, columns)
    return text + " " * (columns - width(text))


_MESSAGE_PATTERN: Any = None
_SGR: Any = None


def sanitize_report(text: str) -> str:
    """Clean a multi-line report for a log file: keep line breaks and tabs, drop every escape
    sequence and control character, colours included."""
    return "\n".join(sanitize(line.replace("\t", "    ")) for line in text.replace("\r\n", "\n").split("\n"))


def sanitize_message(text: str) -> str:
    """Clean a message printed above the bars: keep line breaks, tabs and colours (SGR), drop
    everything that moves the cursor or clears the screen, which would tear the live region. A
    message that sets a colour or a style is reset at its end: it must not paint what follows."""
    global _MESSAGE_PATTERN
    if "\x1b" not in text and "\r" not in text and (text.replace("\n", "").replace("\t", "").isprintable()):
        return text
    global _SGR
    if _MESSAGE_PATTERN is None:
        import re

        _MESSAGE_PATTERN = re.compile(r"(\x1b\[[0-9;:]*m)|" + _control_pattern().pattern)
        _SGR = re.compile(r"\x1b\[[0-9;:]*m")
    text = _MESSAGE_PATTERN.sub(lambda m: m.group(1) or "", text.replace("\r\n", "\n"))
    styles = _SGR.findall(text) if "\x1b[" in text else []
    if styles and styles[-1] not in ("\x1b[0m", "\x1b[m"):
        body = text.rstrip("\n")
        text = body + "\x1b[0m" + text[len(body) :]
    return text
