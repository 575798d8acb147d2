"""The notebook frame: rows of bars as HTML, with a plain-text twin for every other front end.

Pure: snapshots (and each bar's metric history) in, text out. Everything that came from the user
(descriptions, units, metric names and values) is escaped. The markup uses only inline styles and
tags that JupyterLab keeps when it sanitises an untrusted notebook, and the sparklines are SVG
inside an ``<img>`` data URI, which that sanitiser keeps too (a bare ``<svg>`` it would strip).
Sizes are bounded (rows, text lengths, metrics, sparkline points), so a frame stays small
however many bars, metrics or steps there are.
"""

from __future__ import annotations

import html
import re
from typing import Any

from trainbar.core.history import thin
from trainbar.core.snapshot import DONE, INTERRUPTED, Snapshot
from trainbar.render import fmt as _format
from trainbar.render.ansi import terminal_line
from trainbar.render.plain import stall_text
from trainbar.render.svg import data_uri as svg_data_uri

MAX_DESC = 60
MAX_TITLE = 300  # the full description, as a tooltip, within reason
MAX_NAME = 24
MAX_VALUE = 24
MAX_METRICS = 8  # per row
SPARK_WIDTH, SPARK_HEIGHT = 64, 14
SPARK_POINTS = 32  # two pixels apart
PLAIN_WIDTH = 100
RUNNING_COLOUR = "#1f77b4"
DONE_COLOUR = "#2ca02c"
INTERRUPTED_COLOUR = "#d62728"
STALLED_COLOUR = "#b8860b"  # amber: a warning, not a failure
_TRACK = "rgba(128,128,128,0.25)"
_SAFE_COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,20}")

# Five columns: description, percent, track, sparkline, numbers and metrics. The track and the
# last share the width that is left, the last three times as much, and it wraps its metrics, so
# a row does not overflow its output; the description and the track give way first.
_FRAME_STYLE = (
    "display:grid;grid-template-columns:minmax(4em,max-content) max-content minmax(4em,1fr) max-content "
    "minmax(min-content,3fr);column-gap:0.6em;row-gap:0.15em;align-items:center;font-family:monospace;font-size:12px;"
    "line-height:1.5;padding:2px 0;max-width:100%"
)
_DESC_STYLE = "white-space:nowrap;overflow:hidden;text-overflow:ellipsis"
# Metrics wrap at the spaces between them, and after their "=" (a <wbr>: JupyterLab's sanitiser
# drops overflow-wrap from an untrusted notebook), so the column's narrowest is a name or a value.
_INFO_STYLE = "overflow-wrap:anywhere"
_METRIC_STYLE = "display:inline-block;max-width:100%"  # wraps whole, unless alone too wide
# MathJax runs over the page after an output is drawn (JupyterLab, nbconvert's export) and would
# typeset "from $5 to $10" in a description as a formula; these classes tell it to skip ours.
NO_MATHEMATICS = "tex2jax_ignore mathjax_ignore"
_TRACK_STYLE = f"height:0.8em;background-color:{_TRACK};border-radius:3px;overflow:hidden"


def _escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def fill_colour(snap: Snapshot) -> str:
    """Red when interrupted; the user's ``colour`` when it is a plain CSS colour; else by status."""
    if snap.status == INTERRUPTED:
        return INTERRUPTED_COLOUR
    if snap.colour and _SAFE_COLOUR.fullmatch(snap.colour):
        return snap.colour
    return DONE_COLOUR if snap.status == DONE else RUNNING_COLOUR


def sparkline(name: str, values: list, colour: str = RUNNING_COLOUR) -> str:
    """An ``<img>`` holding an SVG polyline of ``values`` (at least two), scaled to fit."""
    first, last, least, most = (_format.number(v) for v in (values[0], values[-1], min(values), max(values)))
    values = thin(values, SPARK_POINTS)  # no more than the picture's pixels can show
    low, high = min(values), max(values)
    span = high - low
    step = (SPARK_WIDTH - 2) / (len(values) - 1)
    coords = []
    for i, value in enumerate(values):
        y = SPARK_HEIGHT / 2 if span == 0 else 1 + (high - value) / span * (SPARK_HEIGHT - 2)
        coords.append(f"{1 + i * step:.1f},{y:.1f}")
    svg = (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{SPARK_WIDTH}' height='{SPARK_HEIGHT}'>"
        f"<polyline fill='none' stroke='{colour}' stroke-width='1.3' points='{','.join(coords)}'/></svg>"
    )
    uri = svg_data_uri(svg)
    label = f"{name}: {first} → {last} (min {least}, max {most})"
    return (
        f'<img class="trainbar-spark" src="{_escape(uri)}" width="{SPARK_WIDTH}" height="{SPARK_HEIGHT}" '
        f'alt="{_escape(label)}" title="{_escape(label)}" style="vertical-align:middle">'
    )


def _numbers(snap: Snapshot) -> str:
    n = _format.count(snap.n, snap.unit_scale, snap.unit_divisor)
    elapsed = _format.duration(snap.elapsed)
    rate = _format.rate(snap.rate, snap.unit, snap.unit_scale, snap.unit_divisor)
    if snap.total is None:
        return f"{n}{snap.unit} [{elapsed}]" if snap.status == INTERRUPTED else f"{n}{snap.unit} [{elapsed}, {rate}]"
    total = _format.count(snap.total, snap.unit_scale, snap.unit_divisor)
    if snap.status == INTERRUPTED:
        return f"{n}/{total} [{elapsed}]"  # a rate and a remaining time no longer mean anything
    if snap.status == DONE:
        return f"{n}/{total} [{elapsed}, {rate}]"
    return f"{n}/{total} [{elapsed}<{_format.duration(snap.eta)}, {rate}]"


def _fraction(snap: Snapshot) -> float | None:
    if snap.total is None:
        return None
    return snap.fraction if snap.total else 1.0


def _row(snap: Snapshot, history: dict) -> str:
    """The five grid cells of one bar. The cells sit directly in the grid, so columns line up
    across rows; the first one carries the row's status class. The sparkline column holds the
    history of the row's first metric that has one, on every row that has one."""
    colour = fill_colour(snap)
    status = {DONE: "done", INTERRUPTED: "interrupted"}.get(snap.status, "running")
    desc = _format.truncate(snap.prefix + snap.desc, MAX_DESC)
    indent = f";padding-left:{1.2 * snap.depth:.1f}em" if snap.depth else ""
    cells = [
        f'<div class="trainbar-desc trainbar-{status}" style="{_DESC_STYLE}{indent}" '
        f'title="{_escape(_format.truncate(snap.desc, MAX_TITLE))}">{_escape(desc)}</div>'
    ]
    fraction = _fraction(snap)
    if fraction is None:
        cells.append('<div class="trainbar-pct"></div><div class="trainbar-track"></div>')
    else:
        cells.append(f'<div class="trainbar-pct" style="text-align:right">{int(fraction * 100)}%</div>')
        # Stopped near 0% there is no fill to colour: the track itself is outlined in red.
        outline = f";box-shadow:inset 0 0 0 1px {INTERRUPTED_COLOUR}" if snap.status == INTERRUPTED else ""
        cells.append(
            f'<div class="trainbar-track" style="{_TRACK_STYLE}{outline}"><div class="trainbar-fill" '
            f'style="width:{fraction * 100:.1f}%;height:100%;background-color:{colour}"></div></div>'
        )
    spark = ""
    for name, _ in snap.metrics[:MAX_METRICS]:
        values = history.get(name) if name else None
        if values and len(values) >= 2:
            spark = sparkline(_format.truncate(name, MAX_NAME), values, colour)
            break
    cells.append(f'<div class="trainbar-sparkcell">{spark}</div>')
    numbers = f"waiting for first batch [{_format.duration(snap.elapsed)}]" if snap.waiting else _numbers(snap)
    # The counts and times stay on one line: their spaces do not break.
    info = [f'<span class="trainbar-numbers" style="white-space:nowrap">{_escape(numbers)}</span>']
    for name, value in snap.metrics[:MAX_METRICS]:
        name, value = _format.truncate(name, MAX_NAME), _format.truncate(value, MAX_VALUE)
        text = f"{_escape(name)}=<wbr>{_escape(value)}" if name else _escape(value)
        info.append(f'<span class="trainbar-metric" style="{_METRIC_STYLE}">{text}</span>')
    if len(snap.metrics) > MAX_METRICS:
        info.append(f"… {len(snap.metrics) - MAX_METRICS} more")
    if snap.status == INTERRUPTED:
        info.append(
            f'<span class="trainbar-status" style="color:{INTERRUPTED_COLOUR};font-weight:bold">'
            f"{_escape(snap.stopped_as)}</span>"
        )
    elif snap.stalled is not None:
        info.append(
            f'<span class="trainbar-status" style="color:{STALLED_COLOUR};font-weight:bold">'
            f"{_escape(stall_text(snap))}</span>"
        )
    cells.append(f'<div class="trainbar-info" style="{_INFO_STYLE}">{" ".join(info)}</div>')
    return "".join(cells)


def _hidden_note(hidden: int) -> str:
    return f"… {hidden} more bar{'s' if hidden != 1 else ''} not shown"


def frame_html(rows: list, hidden: int = 0) -> str:
    """``rows``: (snapshot, metric history) pairs in display order, depths relative to the frame.
    ``hidden``: how many rows were left out after the first one (shown as a note there)."""
    if not rows:
        return ""
    parts = [f'<div class="trainbar {NO_MATHEMATICS}" style="{_FRAME_STYLE}">']
    for index, (snap, history) in enumerate(rows):
        parts.append(_row(snap, history))
        if index == 0 and hidden:
            parts.append(
                f'<div class="trainbar-hidden" style="grid-column:1 / -1;opacity:0.7">{_hidden_note(hidden)}</div>'
            )
    parts.append("</div>")
    return "".join(parts)


def frame_text(rows: list, hidden: int = 0) -> str:
    """The same frame as plain lines, for front ends and exports that show no HTML."""
    lines = [terminal_line(snap, PLAIN_WIDTH, unicode_ok=True, colour=False) for snap, _ in rows]
    if hidden and lines:
        lines.insert(1, _hidden_note(hidden))
    return "\n".join(lines)


def bundle(rows: list, hidden: int = 0, epochs: Any = None, markdown: bool = False) -> dict:
    """The MIME bundle a notebook displays: HTML and its plain-text twin; with ``epochs`` (a
    ``runtime.epochs.EpochLog``), the training view under the bars. ``markdown``: the HTML goes
    as ``text/markdown`` instead (see ``as_markdown``)."""
    text, markup = frame_text(rows, hidden), frame_html(rows, hidden)
    if epochs is not None and epochs.epochs and rows:
        from trainbar.render import training

        text += "\n" + training.table_text(epochs)
        markup += training.view_html(epochs)
    if markdown:
        return {"text/plain": text, "text/markdown": as_markdown(markup)}
    return {"text/plain": text, "text/html": markup}


# Characters Markdown renderers act on even inside an HTML block: a line break (a blank line ends
# the block) and the delimiters that their mathematics extensions look for before the HTML is
# parsed. As entities, the browser still shows them as they were.
_MARKDOWN_ENTITIES = str.maketrans({"\n": " ", "\r": " ", "$": "&#36;", "\\": "&#92;"})


def as_markdown(markup: str) -> str:
    """HTML that a Markdown renderer passes through unchanged: one HTML block (CommonMark's
    kind 6, opened by a ``<div>`` and ended only by a blank line), with nothing in it that
    Markdown's own extensions would take as theirs."""
    return markup.translate(_MARKDOWN_ENTITIES)
