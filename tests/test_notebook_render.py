"""The notebook frame renderer, golden-tested on hand-built snapshots: HTML and its plain twin."""

import re
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from trainbar.core.snapshot import DONE, INTERRUPTED, Snapshot
from trainbar.render import html as nb
from trainbar.render.ansi import terminal_line


def snap(**fields):
    base = dict(desc="train", n=450, total=1000, elapsed=62.0, rate=7.2, eta=76.0, metrics=(("loss", "0.231"),))
    base.update(fields)
    return Snapshot(**base)


def fills(html):
    """(width %, colour) of every bar fill in the frame."""
    return [(float(w), c) for w, c in re.findall(r'trainbar-fill" style="width:([\d.]+)%;height:100%;background-color:([^"]+)"', html)]


def sparkline_svg(img_html):
    src = re.search(r'src="([^"]+)"', img_html).group(1).replace("&#x27;", "'")
    assert src.startswith("data:image/svg+xml,")
    return ET.fromstring(urllib.parse.unquote(src[len("data:image/svg+xml,") :]))


def test_running_row_shows_description_percent_fill_numbers_and_metrics():
    """A running bar: its name, 45%, a blue fill 45% wide, counts, times and metrics."""
    html = nb.frame_html([(snap(), {})])
    assert '>train</div>' in html and ">45%</div>" in html
    assert fills(html) == [(45.0, nb.RUNNING_COLOUR)]
    assert "450/1000 [01:02&lt;01:16, 7.20it/s]" in html
    assert "loss=<wbr>0.231" in html


def test_done_row_is_green_without_remaining_time():
    """A finished bar is green and shows elapsed time and rate only."""
    html = nb.frame_html([(snap(n=1000, status=DONE, eta=0.0), {})])
    assert fills(html) == [(100.0, nb.DONE_COLOUR)]
    assert "1000/1000 [01:02, 7.20it/s]" in html


def test_interrupted_row_is_red_and_shows_where_it_stopped():
    """An interrupted bar keeps its position and says so, in red."""
    html = nb.frame_html([(snap(n=42, total=100, status=INTERRUPTED), {})])
    assert fills(html) == [(42.0, nb.INTERRUPTED_COLOUR)]
    assert "42/100" in html and ">interrupted</span>" in html
    assert "trainbar-interrupted" in html


@pytest.mark.reliability(
    "Hostile text", "markup and script in desc, unit, metric names and values (notebook HTML)", "escaped: shown as text, never interpreted"
)
def test_all_user_text_is_escaped():
    """Descriptions, units, metric names and values cannot inject markup."""
    evil = '<script>alert("x")</script>&'
    html = nb.frame_html([(snap(desc=evil, unit="<u>", metrics=(("<b>", "<i>'"),)), {"<b>": [1.0, 2.0]})])
    assert "<script" not in html and "<b>" not in html and "<i>" not in html and "<u>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in html
    assert "&lt;b&gt;=<wbr>&lt;i&gt;&#x27;" in html


def test_unknown_total_has_no_fill():
    """Without a total there is nothing to fill: count and rate only."""
    html = nb.frame_html([(snap(total=None, eta=None), {})])
    assert fills(html) == []
    assert "450it [01:02, 7.20it/s]" in html


def test_nested_rows_are_indented_in_order():
    """Rows keep their order and deeper bars are indented."""
    html = nb.frame_html([(snap(desc="epoch", depth=0), {}), (snap(desc="step", depth=1), {})])
    assert html.index(">epoch</div>") < html.index(">step</div>")
    assert ';padding-left:1.2em" title="step"' in html


def test_sparkline_is_a_valid_svg_polyline_of_the_history():
    """A metric with a history gets an SVG picture, one point per value, inside its bounds."""
    values = [2.0, 1.5, 1.1, 0.9, 0.7]
    html = nb.frame_html([(snap(), {"loss": values})])
    img = re.search(r'<img class="trainbar-spark"[^>]*>', html).group(0)
    svg = sparkline_svg(img)
    points = svg.find("{http://www.w3.org/2000/svg}polyline").get("points").split(",")
    xs, ys = [float(p) for p in points[0::2]], [float(p) for p in points[1::2]]
    assert len(xs) == len(values)
    assert xs == sorted(xs) and ys == sorted(ys)  # loss falls, so y (downwards) grows
    assert 0 <= min(ys) and max(ys) <= nb.SPARK_HEIGHT
    assert 'alt="loss: 2.000 → 0.7000 (min 0.7000, max 2.000)"' in img


def test_flat_history_draws_a_flat_line():
    """Equal values give a horizontal line, not a division by zero."""
    svg = sparkline_svg(nb.sparkline("acc", [0.5, 0.5, 0.5]))
    ys = svg.find("{http://www.w3.org/2000/svg}polyline").get("points").split(",")[1::2]
    assert len(set(ys)) == 1


def test_single_point_history_draws_no_sparkline():
    """One value is not a curve."""
    assert 'class="trainbar-spark"' not in nb.frame_html([(snap(), {"loss": [1.0]})])


def test_every_row_has_a_sparkline_cell_and_at_most_one_picture():
    """One column of pictures: each row's first metric with a history, so columns line up; a row
    with none has the cell, empty."""
    metrics = tuple((f"m{i}", "1") for i in range(4))
    history = {f"m{i}": [1.0, 2.0, 3.0] for i in range(4)}
    html = nb.frame_html([(snap(metrics=metrics), history)] * 5 + [(snap(metrics=()), {})])
    assert html.count('class="trainbar-sparkcell"') == 6
    assert html.count('class="trainbar-spark"') == 5 and 'alt="m0: ' in html and 'alt="m1: ' not in html


def test_a_row_fits_a_narrow_output():
    """The last column takes the width left and wraps whole metrics there; nothing is nowrap at
    the row's level, so a long row wraps instead of overflowing."""
    html = nb.frame_html([(snap(), {})])
    assert "minmax(min-content,3fr)" in html and "max-width:100%" in html
    info = re.search(r'<div class="trainbar-info" style="([^"]*)"', html).group(1)
    assert "nowrap" not in info and "loss=<wbr>0.231" in html


def test_frame_size_is_bounded():
    """Long names, many metrics and full histories still make a small frame."""
    metrics = tuple(("n" * 500 + str(i), "v" * 500) for i in range(50))
    history = {name: [float(i % 7) for i in range(64)] for name, _ in metrics}
    rows = [(snap(desc="d" * 10_000, metrics=metrics, depth=i % 3), history) for i in range(20)]
    html = nb.frame_html(rows)
    assert html.count('class="trainbar-spark"') == 20
    assert len(html.encode()) < 60_000
    assert "… 42 more" in html


def test_user_colour_is_used_only_when_it_is_a_plain_css_colour():
    """`colour=` tints the fill; anything that could smuggle CSS is ignored."""
    assert fills(nb.frame_html([(snap(colour="magenta"), {})])) == [(45.0, "magenta")]
    assert fills(nb.frame_html([(snap(colour="#ff8800"), {})])) == [(45.0, "#ff8800")]
    hostile = nb.frame_html([(snap(colour="red;background:url(http://x)"), {})])
    assert fills(hostile) == [(45.0, nb.RUNNING_COLOUR)] and "url(" not in hostile


def test_plain_twin_is_the_terminal_lines():
    """text/plain holds the same rows as a terminal would show them, indented by depth."""
    rows = [(snap(desc="epoch"), {}), (snap(desc="step", depth=1), {})]
    expected = "\n".join(terminal_line(s, nb.PLAIN_WIDTH) for s, _ in rows)
    assert nb.frame_text(rows) == expected
    assert nb.frame_text(rows).splitlines()[1].startswith("  step:")


def test_hidden_rows_are_noted_after_the_first_row_in_both_forms():
    """Rows left out are counted where they would have been."""
    rows = [(snap(desc="epoch"), {}), (snap(desc="last", depth=1), {})]
    bundle = nb.bundle(rows, hidden=7)
    assert bundle["text/plain"].splitlines()[1] == "… 7 more bars not shown"
    html = bundle["text/html"]
    assert html.index(">epoch</div>") < html.index("… 7 more bars not shown") < html.index(">last</div>")


def test_empty_frame_is_empty():
    """A frame whose bars all vanished shows nothing at all."""
    assert nb.bundle([]) == {"text/plain": "", "text/html": ""}


# --- the markdown form, for front ends that draw no text/html (VS Code in Restricted Mode) ----


def test_the_markdown_form_carries_the_same_frame_without_text_html():
    """text/markdown holds the frame's HTML, which Markdown passes through; no text/html at all,
    since VS Code picks text/html whenever it is there, and draws nothing for it untrusted."""
    rows = [(snap(desc="epoch"), {}), (snap(desc="step", depth=1), {"loss": [3.0, 2.0, 1.0]})]
    html_form, markdown_form = nb.bundle(rows), nb.bundle(rows, markdown=True)
    assert set(markdown_form) == {"text/plain", "text/markdown"}
    assert markdown_form["text/plain"] == html_form["text/plain"]
    assert fills(markdown_form["text/markdown"]) == fills(html_form["text/html"])
    assert markdown_form["text/markdown"].startswith('<div class="trainbar ')


def test_the_markdown_form_is_one_html_block_that_markdown_leaves_alone():
    """A blank line would end Markdown's HTML block, and what follows would be read as Markdown;
    ``$`` and ``\\(`` would be typeset as mathematics by JupyterLab and VS Code."""
    hostile = "price $5 and $6 \\(x\\) *not emphasis*\n\n    not code"
    form = nb.bundle([(snap(desc=hostile, metrics=(("note", "a $b$ c"),)), {})], markdown=True)["text/markdown"]
    assert "\n" not in form
    assert "$" not in form and "\\" not in form
    assert "&#36;5" in form and "&#92;(x&#92;)" in form and "*not emphasis*" in form


def test_the_empty_frame_is_empty_in_markdown_too():
    assert nb.bundle([], markdown=True) == {"text/plain": "", "text/markdown": ""}
