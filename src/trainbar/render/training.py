"""The training view under a notebook frame's bars: a table with one row per epoch, training and
validation figures side by side, and a chart of the loss along the steps with the validation
loss at each epoch's end. HTML with a plain-text twin.

Pure: an ``runtime.epochs.EpochLog`` in, text out. Names and values come from the user and are
escaped. The chart is SVG in an ``<img>`` data URI (see ``render.svg``), so an untrusted notebook
and an nbconvert export keep it. Sizes are bounded: the most recent ``MAX_ROWS`` epochs, at most
``MAX_COLUMNS`` metrics, and the chart's points thinned to ``MAX_POINTS``.
"""

from __future__ import annotations

import html
import math
from typing import Any

from trainbar.core.history import thin
from trainbar.render import fmt as _format
from trainbar.render.html import NO_MATHEMATICS
from trainbar.render.svg import data_uri

MAX_ROWS = 12
MAX_COLUMNS = 8
MAX_POINTS = 120
MAX_TEXT = 16
CHART_WIDTH, CHART_HEIGHT = 320, 120
_LEFT, _RIGHT, _TOP, _BOTTOM = 46, 8, 16, 18  # room for the axis labels, and the legend on top
TRAIN_COLOUR = "#1f77b4"
VALIDATION_COLOUR = "#ff7f0e"
_VALIDATION = ("val", "eval", "test")

# Spacing and alignment set once on the table, inherited by every cell: the view is sent again
# with each redraw, so bytes per cell count.
_TABLE_STYLE = (
    "border-collapse:separate;border-spacing:0.8em 1px;margin-left:-0.8em;text-align:right;"
    "font-family:monospace;font-size:12px;line-height:1.4"
)
_VIEW_STYLE = "display:flex;flex-wrap:wrap;gap:0.6em 1.5em;align-items:flex-start;margin:0.3em 0 0.2em 0"


def _escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def columns(epochs: list) -> list:
    """The metric names of the table: in the order first seen, validation ones after the rest."""
    names: list = []
    for epoch in epochs:
        names += [name for name in epoch.metrics if name not in names]
    ordered = [n for n in names if not n.startswith(_VALIDATION)] + [n for n in names if n.startswith(_VALIDATION)]
    return ordered[:MAX_COLUMNS]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _validation_loss(names: list) -> str | None:
    return next((n for n in names if n.startswith(_VALIDATION) and "loss" in n), None)


def table_html(log: Any) -> str:
    epochs = log.epochs
    names = columns(epochs)
    shown = epochs[-MAX_ROWS:]
    head = "".join(f"<th>{_escape(_format.truncate(n, MAX_TEXT))}</th>" for n in [log.unit, *names])
    body = []
    if len(epochs) > len(shown):
        body.append(
            f'<tr><td colspan="{len(names) + 1}" style="opacity:0.7">… {len(epochs) - len(shown)} earlier</td></tr>'
        )
    for epoch in shown:
        cells = [str(epoch.number)] + [_format.truncate(epoch.metrics.get(n, ""), MAX_TEXT) for n in names]
        body.append("<tr>" + "".join(f"<td>{_escape(c)}</td>" for c in cells) + "</tr>")
    return (
        f'<table class="trainbar-table" style="{_TABLE_STYLE}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def table_text(log: Any) -> str:
    epochs = log.epochs
    names = columns(epochs)
    rows = [[_format.truncate(log.unit, MAX_TEXT), *(_format.truncate(n, MAX_TEXT) for n in names)]]
    rows += [
        [str(e.number)] + [_format.truncate(e.metrics.get(n, ""), MAX_TEXT) for n in names] for e in epochs[-MAX_ROWS:]
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    if len(epochs) > MAX_ROWS:
        lines.insert(1, f"… {len(epochs) - MAX_ROWS} earlier")
    return "\n".join(lines)


def chart(log: Any) -> str:
    """An ``<img>`` of the training loss along the steps (each epoch as wide) and the validation
    loss at each epoch's end; empty when there are fewer than two points to draw. Where the inner
    bars logged no loss, the top-level bar's own history is drawn across the epochs."""
    epochs, loss = log.epochs, log.loss
    shown = epochs[-MAX_ROWS:]
    train = []
    for index, epoch in enumerate(shown):
        count = len(epoch.curve)
        train += [(index + (j + 1) / count, value) for j, value in enumerate(epoch.curve)]
    if not train and len(epochs) == len(shown) and log.overall:
        count = len(log.overall)
        train = [(len(shown) * (j + 1) / count, value) for j, value in enumerate(log.overall)]
    train = thin(train, MAX_POINTS)
    validation_name = _validation_loss(columns(shown))
    validation = []
    if validation_name:
        for index, epoch in enumerate(shown):
            value = _number(epoch.metrics.get(validation_name, ""))
            if value is not None:
                validation.append((index + 1.0, value))
    if len(train) + len(validation) < 2:
        return ""
    values = [v for _, v in train + validation]
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 0.5, high + 0.5
    width, height = CHART_WIDTH - _LEFT - _RIGHT, CHART_HEIGHT - _TOP - _BOTTOM

    def at(x: float, y: float) -> str:  # whole pixels: what the picture can show, in fewer bytes
        return f"{_LEFT + x / len(shown) * width:.0f},{_TOP + (high - y) / (high - low) * height:.0f}"

    axis = "fill='gray'"
    unit = _escape(_format.truncate(log.unit, MAX_TEXT))
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{CHART_WIDTH}' height='{CHART_HEIGHT}' "
        "font-family='monospace' font-size='10'>",
        f"<rect x='{_LEFT}' y='{_TOP}' width='{width}' height='{height}' fill='none' stroke='gray' "
        "stroke-opacity='0.4'/>",
        f"<text x='{_LEFT - 3}' y='{_TOP + 8}' text-anchor='end' {axis}>{_escape(_format.number(high))}</text>",
        f"<text x='{_LEFT - 3}' y='{_TOP + height}' text-anchor='end' {axis}>{_escape(_format.number(low))}</text>",
        f"<text x='{_LEFT}' y='{CHART_HEIGHT - 4}' {axis}>{unit} {_start(epochs, shown)}</text>",
        f"<text x='{_LEFT + width}' y='{CHART_HEIGHT - 4}' text-anchor='end' {axis}>{unit} {shown[-1].number}</text>",
    ]
    if len(train) >= 2:
        points = ",".join(at(x, y) for x, y in train)
        parts.append(f"<polyline fill='none' stroke='{TRAIN_COLOUR}' stroke-width='1.3' points='{points}'/>")
    for x, y in validation:
        cx, cy = at(x, y).split(",")
        parts.append(f"<circle cx='{cx}' cy='{cy}' r='2.5' fill='{VALIDATION_COLOUR}'/>")
    legend = f"<tspan fill='{TRAIN_COLOUR}'>{_escape(_format.truncate(loss or 'loss', MAX_TEXT))}</tspan>"
    if validation:
        name = _escape(_format.truncate(validation_name or "", MAX_TEXT))
        legend += f" <tspan fill='{VALIDATION_COLOUR}'>● {name}</tspan>"
    # Above the plot: a loss that starts high runs through its top corner.
    parts.append(f"<text x='{_LEFT + width}' y='{_TOP - 4}' text-anchor='end'>{legend}</text>")
    parts.append("</svg>")
    label = f"{loss or 'loss'} along the steps"
    if validation:
        label += f", {validation_name} at each epoch's end"
    uri = data_uri("".join(parts))
    return (
        f'<img class="trainbar-chart" src="{_escape(uri)}" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" '
        f'alt="{_escape(label)}" title="{_escape(label)}">'
    )


def _start(epochs: list, shown: list) -> int:
    """The count the chart's left edge stands for: where the first epoch shown began."""
    index = len(epochs) - len(shown)
    return epochs[index - 1].number if index > 0 else shown[0].number - 1


def view_html(log: Any) -> str:
    """The table and the chart, side by side where the output is wide enough; empty without epochs."""
    if not log.epochs:
        return ""
    # MathJax would typeset a name with two dollars in it: see html.NO_MATHEMATICS.
    return f'<div class="trainbar-view {NO_MATHEMATICS}" style="{_VIEW_STYLE}">{table_html(log)}{chart(log)}</div>'
