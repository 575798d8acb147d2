"""`trainbar demo --stall`, and a stall seen on a real terminal."""

import os
import subprocess
import sys

import pytest


def test_stall_demo_reports_the_planted_hang_and_its_recovery():
    """The demo's hung batch is reported (phase, stack, hints), then its recovery; exit code 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINBAR_")}
    result = subprocess.run(
        [sys.executable, "-m", "trainbar", "demo", "--stall", "--fast"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert 'trainbar: stall in "train"' in err and "at 15/40 (threshold 1s)" in err
    assert "phase: waiting for data" in err and "in _slow_read: time.sleep(seconds)" in err
    assert 'trainbar: "train" recovered after 1.' in err
    # The demo plays the user's script: its loop is "your code", and the console script is not.
    own = err[err.index("your code (innermost last):") : err.index("inside libraries")]
    assert "demo/stall.py" in own and "in _slow_read: time.sleep(seconds)" in own
    assert "SystemExit(main())" not in own
    assert "waiting for its next batch" not in err  # the planted hang is not a slow input pipeline
    assert err.splitlines()[-1].startswith("train: 100% 40/40")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_terminal_shows_waiting_then_stalled_then_the_report_above_the_bar():
    """On a terminal: `waiting for first batch`, then `stalled` on the bar, the report above it."""
    from ptyrun import REDRAW, child_environment, run_in_pty

    result = run_in_pty(
        """
        import threading, trainbar
        first, later = threading.Event(), threading.Event()

        def loader():
            first.wait(30)          # released by the first stall report
            for i in range(20):
                if i == 10:
                    later.wait(30)  # released 0.6 s after the second report, so the bar shows it
                yield i

        def on_stall(info):
            if info["n"] == 0:
                first.set()
            elif info["n"] == 10:
                threading.Timer(0.6, later.set).start()

        for _ in trainbar.bar(loader(), total=20, desc="train", on_stall=on_stall):
            pass
        """,
        cols=100,
        env=child_environment(TRAINBAR_STALL="1"),  # the floor: a fixed threshold below 1 s is raised to it
    )
    assert result.returncode == 0, result
    screens = [[row.rstrip() for row in screen.display if row.strip()] for screen in result.screens_after(REDRAW)]
    bars = [lines[-1] for lines in screens if lines]
    assert any(line.startswith("train: waiting for first batch [00:00]") for line in bars), bars
    assert any(line.startswith("train:  50%") and "stalled 1." in line and "waiting for data" in line for line in bars), bars
    lines = result.lines
    assert lines[0].startswith('trainbar: stall in "train"') and "at 0/20" in lines[0], result
    assert any(line.startswith('trainbar: stall in "train"') and "at 10/20" in line for line in lines), result
    assert any(line.startswith('trainbar: "train" recovered after') for line in lines), result
    assert lines[-1].startswith("train: 100%|") and "20/20" in lines[-1], result
    assert result.screen.overflows == [], result.screen.overflows
