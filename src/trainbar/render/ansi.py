"""The terminal line: tqdm's familiar layout, fitted to the width, wide characters counted right.

When the line is too wide, the bar graphic goes first, then the metrics, then the description:
numbers are what a person looks for, so they stay longest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainbar.core.snapshot import DONE, INTERRUPTED, Snapshot
from trainbar.render import fmt as _format
from trainbar.render.plain import data_text, metrics_text, stall_text

if TYPE_CHECKING:
    import datetime

UNICODE_BLOCKS = " ▏▎▍▌▋▊▉█"
ASCII_BLOCKS = " 123456789#"
_MIN_BAR = 10
_MAX_BAR = 40
_RED = "\x1b[31m"
_GREEN = "\x1b[32m"
_YELLOW = "\x1b[33m"
_RESET = "\x1b[0m"
_COLOURS = {
    "black": "\x1b[30m", "red": _RED, "green": _GREEN, "yellow": _YELLOW,
    "blue": "\x1b[34m", "magenta": "\x1b[35m", "cyan": "\x1b[36m", "white": "\x1b[37m",
}  # fmt: skip


def bar_graphic(fraction: float, columns: int, charset: str = UNICODE_BLOCKS) -> str:
    """A bar ``columns`` wide filled to ``fraction``, with sub-cell precision."""
    if columns <= 0:
        return ""
    fraction = max(0.0, min(1.0, fraction))
    steps = len(charset) - 1
    filled, partial = divmod(int(fraction * columns * steps), steps)
    text = charset[-1] * filled
    if filled < columns:
        text += charset[partial] + charset[0] * (columns - filled - 1)
    return text


def _charset(snap: Snapshot, unicode_ok: bool) -> str:
    if isinstance(snap.ascii, str) and len(snap.ascii) >= 2:
        return snap.ascii
    if snap.ascii is True or not unicode_ok:
        return ASCII_BLOCKS
    return UNICODE_BLOCKS


def _times(snap: Snapshot) -> str:
    elapsed = _format.duration(snap.elapsed)
    if snap.status == INTERRUPTED:
        return f"[{elapsed}]"  # stopped: a rate and a remaining time no longer mean anything
    # While paused, the phase's name says more than a rate that is standing still.
    rate = snap.phase or _format.rate(snap.rate, snap.unit, snap.unit_scale, snap.unit_divisor)
    data = data_text(snap)
    rate += f", {data}" if data else ""
    if snap.total is None or snap.status == DONE:
        return f"[{elapsed}, {rate}]"
    return f"[{elapsed}<{_format.duration(snap.eta)}, {rate}]"


TREND_COLUMNS = 8


def _trend_metrics(snap: Snapshot) -> str:
    """The metrics with a sparkline of the loss's history after its value."""
    series = dict(snap.history)
    parts = []
    drawn = False
    for name, value in snap.metrics:
        text = f"{name}={value}" if name else value
        if not drawn and name.lower().endswith("loss") and name in series:
            spark = _format.sparkline(series[name], TREND_COLUMNS)
            if spark:
                text, drawn = f"{text} {spark}", True
        parts.append(text)
    return " ".join(parts)


def terminal_line(snap: Snapshot, width: int, *, unicode_ok: bool = True, colour: bool = False) -> str:
    """The bar as one line of at most ``width`` columns (escape codes excluded)."""
    if snap.ncols:
        width = min(width, snap.ncols)
    if snap.bar_format:
        try:
            return _custom_line(snap, width, unicode_ok)
        except Exception:  # noqa: BLE001 - a user's field value may raise anything when formatted
            pass  # a bar_format naming fields we lack, or that they do not fit, falls back to the standard layout
    indent = "  " * snap.depth + snap.prefix
    desc = f"{snap.desc}{snap.desc_separator}" if snap.desc else ""
    if snap.waiting:
        return _waiting_line(snap, indent, desc, width, colour)
    n = _format.count(snap.n, snap.unit_scale, snap.unit_divisor)
    times = _times(snap)
    if snap.total is None:
        head, numbers, fraction = desc.rstrip(), f"{n}{snap.unit} {times}", None
    else:
        fraction = snap.fraction if snap.total else 1.0
        total = _format.count(snap.total, snap.unit_scale, snap.unit_divisor)
        head, numbers = f"{desc}{int((fraction or 0.0) * 100):3d}%", f"{n}/{total} {times}"
    metrics = metrics_text(snap)
    status = " " + snap.stopped_as if snap.status == INTERRUPTED else (" " + stall_text(snap)).rstrip()
    paint = _RED if snap.status == INTERRUPTED else _YELLOW
    shown_status = f"{paint}{status}{_RESET}" if status and colour else status
    if snap.history and _charset(snap, unicode_ok) is UNICODE_BLOCKS:
        # The sparkline is the first thing to go when the line is tight: before the graphic.
        trended = _trend_metrics(snap)
        if fraction is not None:
            fits = width - _format.width(indent + head + numbers + " " + trended + status) - 3 >= _MIN_BAR
        else:
            fits = _format.width(f"{indent}{head} {numbers} {trended}{status}") <= width
        if fits:
            metrics = trended
    tail = (" " + metrics if metrics else "") + status

    if fraction is not None:
        room = min(_MAX_BAR, width - _format.width(indent + head + numbers + tail) - 3)
        if room >= _MIN_BAR:
            graphic = bar_graphic(fraction, room, _charset(snap, unicode_ok))
            paint = _paint(snap.colour) if colour and snap.colour else ""
            if paint:
                graphic = f"{paint}{graphic}{_RESET}"
            return f"{indent}{head}|{graphic}| {numbers}{tail[: len(tail) - len(status)]}{shown_status}"
    # No room for the graphic: it goes first, then the metrics, then the description.
    line = f"{indent}{head} {numbers}" if head else f"{indent}{numbers}"
    room = width - _format.width(line) - _format.width(status)
    if room >= 0:
        clipped = _format.truncate(" " + metrics, room) if metrics and room > 4 else ""
        return line + clipped + shown_status
    numbers_only = ((head[len(desc) :] + " " if fraction is not None else "") + numbers).lstrip()
    room = width - _format.width(indent + numbers_only + status)
    if desc and room > 4:
        return indent + _format.truncate(desc.rstrip(), room - 1) + " " + numbers_only + shown_status
    # Still too wide: the times are cut before the status, which tells a stopped bar from a live
    # one; the count before either.
    room = width - _format.width(indent + status)
    if status and room >= _format.width(indent + numbers_only) - _format.width(times):
        return _format.truncate(indent + numbers_only, room) + shown_status
    return _format.truncate(indent + numbers_only + status, width)


def _paint(name: str) -> str:
    """The escape for a colour name, or a 24-bit one for a hex colour (as tqdm draws it)."""
    if name in _COLOURS:
        return _COLOURS[name]
    rgb = _format.hex_colour(name)
    return "\x1b[38;2;{};{};{}m".format(*rgb) if rgb else ""


def _waiting_line(snap: Snapshot, indent: str, desc: str, width: int, colour: bool) -> str:
    """Before the first item: say so, with the time it has taken, instead of a frozen 0%."""
    elapsed = f"[{_format.duration(snap.elapsed)}]"
    stall = " stalled" if snap.stalled is not None else ""
    room = width - _format.width(indent + stall)
    # The elapsed time is what shows the loop is alive: the description goes first, then words.
    for text in (
        f"{desc}waiting for first batch {elapsed}",
        f"waiting for first batch {elapsed}",
        f"waiting {elapsed}",
    ):
        if _format.width(text) <= room:
            break
    else:
        return _format.truncate(indent + elapsed + stall, width)
    if text.startswith("waiting") and desc:
        spare = room - _format.width(text) - 1
        if spare > 4:
            text = _format.truncate(desc.rstrip(), spare) + " " + text
    return indent + text + (f"{_YELLOW}{stall}{_RESET}" if stall and colour else stall)


class _Graphic:
    """``{bar}`` in a tqdm ``bar_format``: fills the room left, or the width a spec gives."""

    def __init__(self, fraction: float, room: int, charset: str) -> None:
        self.fraction, self.room, self.charset = fraction, room, charset

    def __format__(self, spec: str) -> str:
        digits = "".join(c for c in spec if c.isdigit())
        columns = int(digits) if digits else self.room
        return bar_graphic(self.fraction, max(columns, 0), self.charset)


class _Unknown:
    """A ``bar_format`` field whose value could not be read: ``?`` whatever its spec or index."""

    def __format__(self, spec: str) -> str:
        return "?"

    def __getitem__(self, key: object) -> _Unknown:
        return self

    def __getattr__(self, name: str) -> _Unknown:
        return self

    def __repr__(self) -> str:
        return "?"


UNKNOWN = _Unknown()

# Every name format_fields gives (and {bar}): a bar_format field outside these is the user's own.
FIELD_NAMES = frozenset((
    "n", "n_fmt", "total", "total_fmt", "elapsed", "elapsed_s", "remaining", "remaining_s", "rate", "rate_fmt",
    "rate_noinv", "rate_noinv_fmt", "rate_inv", "rate_inv_fmt", "postfix", "unit", "unit_divisor", "percentage",
    "desc", "l_bar", "r_bar", "eta", "colour", "ncols", "nrows", "bar",
))  # fmt: skip


def format_fields(snap: Snapshot, width: int | None = None) -> dict:
    """The names tqdm's ``bar_format`` understands, computed from a snapshot drawn in ``width``,
    then the snapshot's own ``fields`` (a tqdm subclass's ``format_dict`` additions), which win
    as tqdm's ``format_meter`` lets them."""
    fraction = snap.fraction
    n_fmt = _format.count(snap.n, snap.unit_scale, snap.unit_divisor)
    total_fmt = "?" if snap.total is None else _format.count(snap.total, snap.unit_scale, snap.unit_divisor)
    rate_fmt = _format.rate(snap.rate, snap.unit, snap.unit_scale, snap.unit_divisor)
    inv = (1.0 / snap.rate) if snap.rate else None
    postfix = metrics_text(snap)
    percentage = (fraction or 0.0) * 100
    desc = f"{snap.desc}{snap.desc_separator}" if snap.desc else ""
    remaining = _format.duration(snap.eta)
    elapsed = _format.duration(snap.elapsed)
    r_bar = f"| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{', ' + postfix if postfix else ''}]"
    return {
        "n": snap.n, "n_fmt": n_fmt, "total": snap.total, "total_fmt": total_fmt,
        "elapsed": elapsed, "elapsed_s": snap.elapsed, "remaining": remaining,
        "remaining_s": snap.eta, "rate": snap.rate, "rate_fmt": rate_fmt,
        "rate_noinv": snap.rate, "rate_noinv_fmt": rate_fmt,
        "rate_inv": inv, "rate_inv_fmt": f"{_format.number(inv)}s/{snap.unit}" if inv else "?",
        "postfix": (", " + postfix) if postfix else "", "unit": snap.unit,
        "unit_divisor": snap.unit_divisor, "percentage": percentage,
        "desc": snap.desc, "l_bar": f"{desc}|" if snap.total is None else f"{desc}{percentage:3.0f}%|", "r_bar": r_bar,
        "eta": _finish_time(snap.eta), "colour": snap.colour or "", "ncols": width, "nrows": None,
        **dict(snap.fields),
    }  # fmt: skip


def _finish_time(eta: float | None) -> datetime.datetime:
    # tqdm's `eta` is the wall-clock moment the bar should end (so `{eta:%H:%M}` works), and the
    # epoch when that is unknown. Imported here: only a bar_format pays for datetime.
    import datetime

    if eta is None or not 0 <= eta <= 1e9:  # NaN fails the comparison too
        return datetime.datetime(1970, 1, 1)
    return datetime.datetime.now() + datetime.timedelta(seconds=eta)


def _custom_line(snap: Snapshot, width: int, unicode_ok: bool) -> str:
    fields = format_fields(snap, width)
    fraction = snap.fraction or 0.0
    charset = _charset(snap, unicode_ok)
    template = "  " * snap.depth + snap.prefix + (snap.bar_format or "")
    without_bar = template.format(**fields, bar=_Graphic(fraction, 0, charset))
    room = max(width - _format.width(without_bar), 0)
    line = template.format(**fields, bar=_Graphic(fraction, room, charset))
    return _format.truncate(_format.sanitize(line), width)
