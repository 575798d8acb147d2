"""The event line: a snapshot as one JSON object, for files that programs read (docs/events.md).

Pure: snapshots and plain values in, a dict or a line of text out. Every line parses with a
strict JSON parser: NaN and the infinities, which JSON has no numbers for, are written as the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (Python's ``float()`` reads them back).
"""

from __future__ import annotations

import json
import math
from typing import Any

from trainbar.core.snapshot import Snapshot

VERSION = 1  # bumped only when a reader of version 1 would misread a line
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


EXACT_INTEGERS = 2**53  # beyond this a reader's double loses digits; a larger integer goes as a float
MAX_TEXT = 256  # a value written as its text is cut to this
MAX_DEPTH = 8


def json_number(value: Any) -> Any:
    """A count or time as JSON: ints stay ints (numpy's too), floats that JSON cannot hold by name."""
    if value is None or isinstance(value, bool):
        return value
    if not isinstance(value, (int, float)):
        index = getattr(value, "__index__", None)
        try:
            value = index() if index is not None else float(value)
        except (TypeError, ValueError, OverflowError):
            return None
    if isinstance(value, int):
        if -EXACT_INTEGERS <= value <= EXACT_INTEGERS:
            return int(value)
        try:
            value = float(value)
        except OverflowError:
            return "Infinity" if value > 0 else "-Infinity"
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return float(value)


def json_value(value: Any, depth: int = 0) -> Any:
    """Any metric value as JSON: numbers and strings as they are, anything else as its text.
    A value whose text cannot be made is written as ``null``: one bad value never costs a line."""
    try:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return value[:MAX_TEXT]
        if isinstance(value, (int, float)):
            return json_number(value)
        if depth < MAX_DEPTH and isinstance(value, dict):
            return {str(k)[:MAX_TEXT]: json_value(v, depth + 1) for k, v in list(value.items())[:64]}
        if depth < MAX_DEPTH and isinstance(value, (list, tuple)):
            return [json_value(v, depth + 1) for v in list(value)[:64]]
        return str(value)[:MAX_TEXT]
    except Exception:  # noqa: BLE001 - a __str__ that raises
        return None


def header(event: str, time: float, identity: dict) -> dict:
    """The fields every event starts with: version, kind, Unix time, and who wrote it."""
    return {"v": VERSION, "event": event, "time": round(time, 6), **identity}


def bar_event(
    event: str, snap: Snapshot, *, time: float, identity: dict, bar: int, parent: int | None, metrics: dict, **extra
) -> dict:
    """An event about one bar: where it stands, its metrics as plain values, then ``extra``."""
    out = header(event, time, identity)
    out.update(
        bar=bar,
        parent=parent,
        desc=snap.desc,
        n=json_number(snap.n),
        total=json_number(snap.total),
        unit=snap.unit,
        elapsed=json_number(round(snap.elapsed, 6)),
        rate=json_number(snap.rate),
        eta=json_number(snap.eta),
        status=snap.status,
        phase=snap.phase or None,
        data=json_number(snap.data_share),
        metrics={str(name): json_value(value) for name, value in metrics.items()},
    )
    if snap.reason:
        out["reason"] = snap.reason
    out.update((name, json_value(value)) for name, value in extra.items())
    return out


def display_options(snap: Snapshot, *, leave: bool, delay: float) -> dict:
    """What a reader needs to draw the bar as the writer's terminal would (``open`` only)."""
    return {
        "leave": leave,
        "delay": delay,
        "unit_scale": snap.unit_scale,
        "unit_divisor": snap.unit_divisor,
        "ascii": snap.ascii,
        "ncols": snap.ncols,
        "bar_format": snap.bar_format,
        "desc_separator": snap.desc_separator,
        "colour": snap.colour,
    }


def write_event(text: str, *, time: float, identity: dict) -> dict:
    """A message printed above the bars, exactly as printed (line ending included)."""
    out = header("write", time, identity)
    out["text"] = text
    return out


def encode(event: dict) -> str:
    """One line of strict JSON, no newline. Non-ASCII text stays readable where it can."""
    try:
        line = json.dumps(event, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        line.encode("utf-8")  # a lone surrogate (a badly decoded file name) has no UTF-8 form;
        return line  # as a \u escape it still makes valid JSON
    except UnicodeEncodeError:
        return json.dumps(event, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
