"""Hostile text from users never reaches the terminal as a control; its visible part is kept."""

import io

import pytest

import trainbar
from ptyrun import run_in_pty

HOSTILE = {
    "csi": "\x1b[2J\x1b[Hwiped",
    "osc-link": "\x1b]8;;https://example.invalid\x1b\\link\x1b]8;;\x1b\\",
    "bel": "ding\x07",
    "cr": "over\rwrite",
    "newline": "two\nlines",
    "c1": "c1\x9b2Jcsi",
    "long": "L" * 100_000,
}


def reliability(tried, holds):
    return pytest.mark.reliability("Hostile text", tried, holds)


@reliability(
    "control sequences, OSC hyperlinks, BEL, CR, newlines and 100,000-character strings in desc, unit, metric names and values (log file)",
    "no control character is written; the visible text is kept, a long one cut to a bounded length",
)
@pytest.mark.parametrize("kind", HOSTILE)
def test_hostile_text_in_log_lines(kind):
    text = HOSTILE[kind]
    stream = io.StringIO()
    b = trainbar.bar(total=3, desc=text, unit=text[:50], file=stream)
    b.update(1, **{text[:50]: text})
    b.close()
    out = stream.getvalue()
    assert all(line.isprintable() for line in out.splitlines())
    visible = {"csi": "wiped", "osc-link": "link", "bel": "ding", "cr": "overwrite", "newline": "two lines",
               "c1": "c1csi", "long": "L" * 500}[kind]  # fmt: skip
    assert visible in out
    assert all(len(line) < 2000 for line in out.splitlines())  # cut before any width work


@reliability("the same hostile text on a live terminal", "only trainbar's own cursor controls reach the screen; nothing wraps")
def test_hostile_text_on_a_terminal():
    script = (
        "import trainbar\n"
        f"texts = {list(HOSTILE.values())!r}\n"
        "for text in texts:\n"
        "    b = trainbar.bar(total=2, desc=text, unit=text[:20])\n"
        "    b.update(1, **{text[:20]: text})\n"
        "    b.close()\n"
    )
    result = run_in_pty(script, cols=80, rows=30)
    assert result.returncode == 0
    assert b"\x07" not in result.output and b"\x1b]" not in result.output and b"\x1b[2J" not in result.output
    assert not result.screen.overflows
    screen = result.text
    assert "wiped" in screen and "link" in screen and "overwrite" in screen


@reliability("a message above the bars with cursor movements and clear-screen", "colours are kept, cursor controls are dropped")
def test_hostile_message_above_bars():
    result = run_in_pty(
        "import trainbar\n"
        "b = trainbar.bar(total=2, desc='live')\n"
        "trainbar.write('\\x1b[2J\\x1b[5Amessage \\x1b[32mgreen\\x1b[0m\\rend')\n"
        "b.update(2)\n"
        "b.close()\n",
        cols=80,
    )
    assert b"\x1b[2J" not in result.output and b"\x1b[5A" not in result.output
    assert b"\x1b[32mgreen" in result.output
    assert "message greenend" in result.text
