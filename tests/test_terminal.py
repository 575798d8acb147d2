"""End to end on a real pseudo-terminal: what a person would see, replayed through pyte."""

import re
import signal
import sys
import time

import pytest

if sys.platform == "win32":
    pytest.skip("needs a POSIX pseudo-terminal", allow_module_level=True)

from ptyrun import REDRAW, run_in_pty  # noqa: E402

BLOCKS = set("▏▎▍▌▋▊▉█")


def bar_lines(lines, desc):
    return [line for line in lines if line.lstrip().startswith(desc + ":")]


def assert_no_overflow(result):
    assert result.screen.overflows == [], f"lines reached the right edge: {result.screen.overflows}\n{result!r}"


def test_simple_loop_ends_with_full_bar_and_visible_cursor():
    """A finished loop leaves its 100% line on screen and the cursor visible."""
    result = run_in_pty(
        """
        import time, trainbar
        for i in trainbar.bar(range(50), desc="train"):
            time.sleep(0.004)
        """,
        cols=80,
    )
    assert result.returncode == 0, result
    assert len(result.lines) == 1, result
    assert re.fullmatch(r"train: 100%\|█{40}\| 50/50 \[00:00, [\d.]+it/s\]", result.lines[0]), result
    assert not result.screen.cursor.hidden, result
    assert_no_overflow(result)


def test_nested_inner_bars_vanish_without_leftovers():
    """Outer leave=True, inner leave=False: only the outer's final line remains, once."""
    result = run_in_pty(
        """
        import time, trainbar
        for epoch in trainbar.bar(range(3), desc="epoch"):
            for step in trainbar.bar(range(20), desc="step", leave=False):
                time.sleep(0.005)
        print("done")
        """,
        cols=80,
    )
    assert result.returncode == 0, result
    assert len(result.lines) == 2, result
    assert re.fullmatch(r"epoch: 100%\|█{40}\| 3/3 \[00:0\d, [\d.]+(it/s|s/it)\]", result.lines[0]), result
    assert result.lines[1] == "done", result
    assert not result.screen.cursor.hidden, result
    assert_no_overflow(result)


def test_nested_frames_stack_inner_below_outer():
    """While both run, the region is exactly two lines: the outer, then the inner indented."""
    result = run_in_pty(
        """
        import time, trainbar
        for epoch in trainbar.bar(range(2), desc="epoch"):
            for step in trainbar.bar(range(30), desc="step", leave=False):
                time.sleep(0.01)
        """,
        cols=80,
    )
    both = 0
    for screen in result.screens_after(REDRAW):
        lines = [row.rstrip() for row in screen.display if row.strip()]
        outer, inner = bar_lines(lines, "epoch"), bar_lines(lines, "step")
        assert len(outer) <= 1 and len(inner) <= 1, lines
        if outer and inner and "100%" not in outer[0]:
            both += 1
            assert lines[-2:] == [outer[0], inner[0]] and inner[0].startswith("  step:"), lines
    assert both >= 2, result


def test_messages_appear_once_in_order_above_the_bars():
    """print, trainbar.write, sys.stderr.write and an earlier logging handler all land above the bars."""
    result = run_in_pty(
        """
        import logging, sys, time
        handler = logging.StreamHandler()  # made before any bar: it holds the real sys.stderr
        handler.setFormatter(logging.Formatter("log %(message)s"))
        logger = logging.getLogger("train")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)

        import trainbar
        for i in trainbar.bar(range(4), desc="epoch"):
            for step in trainbar.bar(range(10), desc="step", leave=False):
                time.sleep(0.008)
            print(f"print {i}")
            trainbar.write(f"write {i}")
            sys.stderr.write(f"stderr {i}\\n")
            logger.info("logging %d", i)
        print("end")
        """,
        cols=80,
    )
    assert result.returncode == 0, result
    expected = [f"{kind} {i}" for i in range(4) for kind in ("print", "write", "stderr", "log logging")]
    assert result.lines[:-2] == expected, result
    assert result.lines[-2].startswith("epoch: 100%") and result.lines[-1] == "end", result
    for screen in result.screens_after(REDRAW):
        lines = [row.rstrip() for row in screen.display if row.strip()]
        messages = [line for line in lines if not bar_lines([line], "epoch") and not bar_lines([line], "step")]
        assert messages == expected[: len(messages)], lines  # whole, once, in order, never torn
        assert lines[: len(messages)] == messages, lines  # and above every bar line
    assert_no_overflow(result)


def test_partial_print_waits_for_its_newline():
    """print(end="") while bars are live comes out whole, on its own line, with the rest of it."""
    result = run_in_pty(
        """
        import time, trainbar
        for i in trainbar.bar(range(3), desc="epoch"):
            print(f"epoch {i}: ", end="", flush=True)
            time.sleep(0.15)
            print("ok")
        """,
        cols=80,
    )
    assert result.lines[:3] == ["epoch 0: ok", "epoch 1: ok", "epoch 2: ok"], result
    assert result.lines[3].startswith("epoch: 100%"), result


SLOW_LOOP = """
import time, trainbar
for i in trainbar.bar(range(100), desc="train"):
    if i == 42:
        {action}
    time.sleep(0.002)
"""


def assert_interrupted_at_42(result, error, lines=None):
    lines = result.lines if lines is None else lines
    assert result.returncode != 0, result
    assert not result.screen.cursor.hidden, result
    bars = bar_lines(lines, "train")
    assert len(bars) == 1, result
    assert "42/100" in bars[0] and bars[0].endswith("interrupted"), result
    assert error in "\n".join(lines), result
    assert_no_overflow(result)


def test_exception_leaves_bar_interrupted_and_cursor_visible():
    """An exception in the loop: cursor back, bar frozen at 42/100 and marked interrupted."""
    result = run_in_pty(SLOW_LOOP.format(action='raise RuntimeError("boom")'))
    assert_interrupted_at_42(result, "RuntimeError: boom")


def test_keyboard_interrupt_leaves_bar_interrupted_and_cursor_visible():
    """KeyboardInterrupt raised in the loop: same clean ending as any exception."""
    result = run_in_pty(SLOW_LOOP.format(action="raise KeyboardInterrupt"))
    assert_interrupted_at_42(result, "KeyboardInterrupt")


def test_sigint_leaves_bar_interrupted_and_cursor_visible():
    """SIGINT from outside while the loop waits: cursor back, bar at 42/100, interrupted."""
    result = run_in_pty(
        SLOW_LOOP.format(action='print("READY", flush=True); time.sleep(30)'),
        triggers=[(b"READY", lambda session: time.sleep(0.1) or session.send_signal(signal.SIGINT))],
    )
    assert_interrupted_at_42(result, "KeyboardInterrupt")


def test_ctrl_c_typed_at_the_terminal_interrupts_cleanly():
    """^C typed on the terminal: its echo tears nothing, even next to a bar filling the width."""

    def press_ctrl_c(session):
        time.sleep(0.2)  # the region is back on screen under READY, the cursor parked in it
        session.type(b"\x03")  # the tty echoes ^C where the cursor is, then sends SIGINT

    result = run_in_pty(
        SLOW_LOOP.format(action='print("READY", flush=True); time.sleep(30)'),
        cols=80,
        triggers=[(b"READY", press_ctrl_c)],
    )
    assert b"^C" in result.output, result
    lines = [line.replace("^C", "") for line in result.lines]  # the echo, wherever it landed
    assert_interrupted_at_42(result, "KeyboardInterrupt", lines)
    assert lines[:2] == ["READY", bar_lines(lines, "train")[0]], result


def test_a_stream_that_raises_keyboard_interrupt_loses_one_message_and_nothing_else():
    """print() only hands text on: a stream whose write() raises (even KeyboardInterrupt, as a
    terminal write cut short by ^C would) loses that message; the text above and the bars stay."""
    result = run_in_pty(
        """
        import sys, time
        class Flaky:  # stands in for a terminal write cut short by ^C
            def __init__(self, real):
                self.real = real
            def write(self, text):
                if text.startswith("boom"):
                    raise KeyboardInterrupt
                return self.real.write(text)
            def __getattr__(self, name):
                return getattr(self.real, name)
        sys.stdout = Flaky(sys.stdout)

        import trainbar
        for epoch in trainbar.bar(range(3), desc="epoch"):
            for step in trainbar.bar(range(100), desc="step", leave=False):
                if step == 10 and epoch == 0:
                    print("message one")
                    print("message two")
                    time.sleep(0.15)
                    print("boom")
                    print("message three")
                time.sleep(0.001)
        """
    )
    assert result.returncode == 0, result
    assert result.lines[:3] == ["message one", "message two", "message three"], result
    assert not result.screen.cursor.hidden, result
    assert len(bar_lines(result.lines, "epoch")) == 1 and not bar_lines(result.lines, "step"), result
    assert bar_lines(result.lines, "epoch")[0].startswith("epoch: 100%"), result


def test_interrupted_on_narrow_terminal_still_says_so():
    """On a 30-column terminal an interrupted bar keeps its count and the word interrupted."""
    result = run_in_pty(SLOW_LOOP.format(action="raise SystemExit(1)"), cols=30)
    assert result.returncode == 1 and not result.screen.cursor.hidden, result
    assert_no_overflow(result)
    assert len(result.lines) == 1, result
    assert result.lines[0].startswith("42% 42/100") and result.lines[0].endswith(" interrupted"), result


def test_fast_loop_interrupted_counts_completed_items():
    """A loop too fast to time per item, broken by an exception, still stops at the exact item."""
    result = run_in_pty(
        """
        import time, trainbar
        for i in trainbar.bar(range(1_000_000), desc="train"):
            if i == 500_000:
                raise RuntimeError("boom")
        """
    )
    bars = bar_lines(result.lines, "train")
    assert len(bars) == 1 and "500000/1000000" in bars[0] and bars[0].endswith("interrupted"), result
    assert not result.screen.cursor.hidden, result


@pytest.mark.parametrize("cols", [30, 44, 60])
def test_wide_characters_on_narrow_terminal_never_overflow(cols):
    """CJK and emoji in desc and metrics on a narrow terminal: no line wraps, numbers kept."""
    result = run_in_pty(
        """
        import time, trainbar
        b = trainbar.bar(total=200, desc="训练 🚀 第一轮")
        for i in range(200):
            b.update(1, 损失=0.5 - i / 1000, acc="✅✅")
            time.sleep(0.002)
        b.close()
        """,
        cols=cols,
        rows=10,
    )
    assert result.returncode == 0, result
    assert_no_overflow(result)
    assert len(result.lines) == 1, result  # one line: nothing wrapped onto a second
    assert "200/200" in result.lines[0], result
    if cols <= 44:
        assert not BLOCKS & set(result.lines[0]), result  # the graphic went before the numbers


def test_resize_narrower_mid_run_later_frames_fit():
    """After the terminal shrinks mid-run, every later frame fits the new width."""
    result = run_in_pty(
        """
        import os, time, trainbar
        start = os.get_terminal_size(2)
        b = trainbar.bar(total=10**6, desc="training run")
        while os.get_terminal_size(2) == start:
            b.update(1, loss=0.25)
            time.sleep(0.005)
        trainbar.write("RESIZED")
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            b.update(1, loss=0.25)
            time.sleep(0.005)
        b.close()
        """,
        cols=100,
        rows=10,
        triggers=[(REDRAW, lambda session: session.resize(10, 40))],
        replay_resize_at=b"RESIZED",
    )
    tail = result.output[result.output.index(b"RESIZED") :]
    assert tail.count(REDRAW) >= 3, result  # several frames drawn after the resize
    assert_no_overflow(result)
    assert len(result.lines) == 2 and result.lines[0] == "RESIZED", result
    assert "/1000000" in result.lines[1] and len(result.lines[1]) < 40, result


def test_resize_wider_mid_run_uses_the_room():
    """After the terminal grows mid-run, later frames show the bar graphic again."""
    result = run_in_pty(
        """
        import os, time, trainbar
        start = os.get_terminal_size(2)
        b = trainbar.bar(total=1000, desc="train")
        while os.get_terminal_size(2) == start:
            b.update(25)  # enough that the graphic shows something from the first frames on
            time.sleep(0.005)
        trainbar.write("RESIZED")
        time.sleep(0.3)
        """,
        cols=30,
        rows=10,
        triggers=[(REDRAW, lambda session: session.resize(10, 100))],
        replay_resize_at=b"RESIZED",
    )
    assert_no_overflow(result)
    bars = bar_lines(result.lines, "train")
    assert len(bars) == 1 and BLOCKS & set(bars[0]), result


def test_tight_loop_is_throttled_to_ten_frames_a_second():
    """300k update(1, loss=x) calls, then tqdm set_description/set_postfix for ~1.5 s: <= ~10 frames/s."""
    result = run_in_pty(
        """
        import time, trainbar
        started = time.monotonic()
        b = trainbar.bar(total=300_000, desc="bar")
        for i in range(300_000):
            b.update(1, loss=i / 300_000)
        b.close()
        t = trainbar.tqdm(total=None, desc="tqdm")
        i = 0
        while time.monotonic() - started < 1.5:
            t.update(1)
            t.set_description(f"step {i}")
            t.set_postfix(loss=1 / (i + 1), lr=0.01)
            i += 1
        t.close()
        print(f"ELAPSED {time.monotonic() - started:.3f}")
        """
    )
    assert result.returncode == 0, result
    elapsed = float(re.search(rb"ELAPSED ([\d.]+)", result.output).group(1))
    # One frame per tick, plus a few for each bar closing and the region's release.
    assert 5 <= result.frames <= elapsed * 10 + 6, (result.frames, elapsed, result)
    assert "300000/300000" in result.text, result


def test_bar_open_at_exit_restores_cursor():
    """A bar never closed and still open at interpreter exit: cursor visible, bar marked interrupted."""
    result = run_in_pty(
        """
        import time, trainbar
        b = trainbar.bar(total=100, desc="open")
        b.update(42)
        time.sleep(0.3)
        """
    )
    assert result.returncode == 0, result
    assert not result.screen.cursor.hidden, result
    bars = bar_lines(result.lines, "open")
    assert len(bars) == 1 and "42/100" in bars[0] and bars[0].endswith("interrupted"), result


def test_bar_open_at_sys_exit_inside_loop_restores_cursor():
    """sys.exit() from inside a loop: cursor visible, bar where it stopped."""
    result = run_in_pty(
        """
        import sys, time, trainbar
        for i in trainbar.bar(range(100), desc="train"):
            if i == 42:
                sys.exit(3)
            time.sleep(0.002)
        """
    )
    assert result.returncode == 3, result
    assert not result.screen.cursor.hidden, result
    bars = bar_lines(result.lines, "train")
    assert len(bars) == 1 and "42/100" in bars[0], result


FOREIGN_BAR = """
import sys, time, trainbar
from tqdm import tqdm  # not patched: its frames come through the stream as any program's would
for epoch in trainbar.bar(range(2), desc="epoch"):
    for _ in tqdm(range(20), desc=f"foreign{{epoch}}", file=sys.stderr, mininterval=0, ncols=60, leave={leave}):
        time.sleep(0.02)
    print(f"after {{epoch}}")
"""


@pytest.mark.parametrize("leave", [True, False])
def test_foreign_carriage_return_frames_are_one_live_line(leave):
    """A bar trainbar does not own, inside a live region: one line that updates in place while it
    runs (never held back until its newline), and at most its final frame when it ends."""
    pytest.importorskip("tqdm")
    result = run_in_pty(FOREIGN_BAR.format(leave=leave), cols=100)
    assert result.returncode == 0, result
    live = set()
    for screen in result.screens_after(REDRAW):
        rows = [row.rstrip() for row in screen.display if row.strip()]
        region = rows[next((i for i, row in enumerate(rows) if row.startswith("epoch:")), len(rows)) :]
        foreign = [row for row in region if row.startswith("foreign")]
        assert len(foreign) <= 1, rows  # never a dump of frames
        live.update(re.findall(r"foreign\d: +(\d+)%", " ".join(foreign)))
    assert len(live - {"100"}) >= 3, live  # seen moving while it ran
    final = [row for row in result.lines if row.startswith("foreign")]
    if leave:
        assert [re.sub(r"\|.*", "", row) for row in final] == ["foreign0: 100%", "foreign1: 100%"], result
    else:
        assert final == [], result
    assert [row for row in result.lines if row.startswith("after")] == ["after 0", "after 1"], result


def test_print_with_end_carriage_return_is_one_live_line():
    """print(..., end="\\r"), the usual hand-made progress line: print() writes the text and the
    "\\r" separately. Each frame replaces the last; none is glued to the next."""
    result = run_in_pty(
        """
        import time, trainbar
        for i in trainbar.bar(range(40), desc="train"):
            print(f"step {i} loss {1 / (i + 1):.3f}", end="\\r", flush=True)
            time.sleep(0.01)
        print()
        print("done")
        """,
        cols=100,
    )
    assert result.returncode == 0, result
    for screen in result.screens_after(REDRAW):
        rows = [row.rstrip() for row in screen.display if row.strip()]
        assert all(row.count("step") <= 1 for row in rows), rows
        assert len([row for row in rows if row.startswith("step")]) <= 1, rows
    assert [row for row in result.lines if row.startswith("step")] == ["step 39 loss 0.025"], result
    assert result.lines[-1] == "done", result


def test_frames_left_without_a_newline_at_exit_end_on_lines_of_their_own():
    result = run_in_pty(
        """
        import sys, trainbar
        for i in trainbar.bar(range(3), desc="train"):
            sys.stdout.write(f"\\rout frame {i}")
            sys.stderr.write(f"\\rerr frame {i}")
        """,
        cols=100,
    )
    assert result.returncode == 0, result
    assert sorted(row for row in result.lines if "frame" in row) == ["err frame 2", "out frame 2"], result
