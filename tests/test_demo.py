"""`trainbar demo`: a small real training run, also on a bare install."""

import os
import subprocess
import sys


def run_demo(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINBAR_")}
    return subprocess.run(
        [sys.executable, "-m", "trainbar", "demo", "--fast", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_demo_trains_and_shows_nested_bars_metrics_and_messages():
    result = run_demo("--no-torch", "--epochs", "2")
    assert result.returncode == 0, result.stderr
    assert "trainbar demo: training a pure-Python linear model" in result.stdout
    assert "epoch 2: validation loss" in result.stdout
    final_train = [line for line in result.stderr.splitlines() if line.startswith("epoch > train: 100%")]
    assert len(final_train) == 2 and "loss=" in final_train[0] and "lr=" in final_train[0]
    assert result.stderr.splitlines()[-1].startswith("epoch: 100% 2/2")
    val = float(result.stdout.splitlines()[-1].rsplit(" ", 1)[1])
    assert val < 0.05  # it really learned


def test_demo_rejects_bad_epochs():
    result = run_demo("--epochs", "0")
    assert result.returncode == 2 and "--epochs" in result.stderr
