"""Output failures and odd streams: the display degrades, the loop never notices."""

import io
import warnings

import pytest

import trainbar
from ptyrun import run_in_pty

pytestmark = []


def reliability(tried, holds):
    return pytest.mark.reliability("Output failures", tried, holds)


@reliability("stderr replaced by the user mid-run", "the bar finishes, print goes to the new stream, the cursor is restored")
def test_stderr_replaced_mid_run():
    result = run_in_pty(
        "import io, sys, trainbar\n"
        "b = trainbar.bar(total=100, desc='run')\n"
        "b.update(50)\n"
        "captured = io.StringIO()\n"
        "sys.stderr = captured\n"
        "print('to the new stderr', file=sys.stderr)\n"
        "b.update(50)\n"
        "b.close()\n"
        "sys.stderr = sys.__stderr__\n"
        "print('captured:', captured.getvalue().strip())\n",
        cols=80,
    )
    assert result.returncode == 0
    assert "captured: to the new stderr" in result.text
    assert "100/100" in result.text
    assert not result.screen.cursor.hidden


@reliability("a stream with write() only: no isatty, fileno, flush or encoding", "plain log lines, no warning")
def test_stream_with_only_write():
    class Minimal:
        def __init__(self):
            self.parts = []

        def write(self, text):
            self.parts.append(text)

    stream = Minimal()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in trainbar.bar(range(10), desc="minimal", file=stream):
            pass
        assert trainbar.flush()  # an unknown stream may block: it is written on a thread of its own
    assert "".join(stream.parts).splitlines()[-1].startswith("minimal: 100% 10/10")


@reliability("an ASCII-only stream and non-ASCII text", "characters it cannot encode become '?', the display stays on")
def test_ascii_only_stream():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = trainbar.bar(range(5), desc="日本", file=stream)
        for _ in b:
            b.log(note="é")
    stream.flush()
    text = raw.getvalue().decode("ascii")
    assert text.splitlines()[-1].startswith("??: 100% 5/5")


@reliability("TERM=dumb on a terminal", "log lines, never an escape sequence")
def test_term_dumb():
    result = run_in_pty(
        "import trainbar\nfor _ in trainbar.bar(range(1000), desc='dumb'): pass\n", env={"TERM": "dumb"}
    )
    assert b"\x1b" not in result.output and b"\r\n" in result.output
    assert "dumb: 100% 1000/1000" in result.text


@reliability("a terminal 1, 10 or 1000 columns wide", "no line wraps; the count survives from 10 columns up")
@pytest.mark.parametrize("cols", [1, 10, 1000])
def test_extreme_terminal_widths(cols):
    result = run_in_pty(
        "import trainbar\n"
        "for _ in trainbar.bar(range(20), desc='width test', leave=True):\n"
        "    trainbar.log(loss=0.5)\n",
        cols=cols,
        rows=10,
    )
    assert result.returncode == 0
    assert not result.screen.overflows or cols == 1  # one column: every character is the edge
    if cols >= 10:
        assert "20/20" in result.text.replace("\n", "") or "100%" in result.text
    assert not result.screen.cursor.hidden
