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


def test_one_epoch_is_singular():
    result = run_demo("--no-torch", "--epochs", "1")
    assert result.returncode == 0, result.stderr
    assert "for 1 epoch of " in result.stdout


def test_demo_torch_without_torch_says_what_to_install():
    """No ModuleNotFoundError traceback: a sentence naming the command that installs it."""
    code = (
        "import sys\n"
        "sys.modules['torch'] = None  # as if it were not installed\n"
        "from trainbar.cli import main\n"
        "raise SystemExit(main(['demo', '--torch', '--fast', '--epochs', '1']))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINBAR_")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--torch needs PyTorch" in result.stderr and "pip install torch" in result.stderr


def test_version_names_the_counter_in_use():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINBAR_")}
    for extra, expected in (({}, None), ({"TRAINBAR_PURE_PYTHON": "1"}, "pure Python (TRAINBAR_PURE_PYTHON is set)")):
        result = subprocess.run([sys.executable, "-m", "trainbar", "--version"], capture_output=True, text=True,
                                env={**env, **extra}, timeout=60)  # fmt: skip
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].startswith("trainbar 0.") and lines[1].startswith("per-step counter: ")
        if expected is not None:
            assert lines[1] == f"per-step counter: {expected}"


def test_ctrl_c_in_the_demo_ends_quietly_with_the_bars_interrupted():
    sys.path.insert(0, os.path.dirname(__file__))
    import signal

    from ptyrun import run_in_pty

    result = run_in_pty(
        "import sys; sys.argv = ['trainbar', 'demo', '--no-torch', '--epochs', '50']\n"
        "from trainbar.cli import main\nraise SystemExit(main())\n",
        cols=120,
        timeout=60,
        triggers=[(b"epoch 1: validation loss", lambda session: session.send_signal(signal.SIGINT))],
    )
    assert result.returncode == 130, result
    assert "Traceback" not in result.text, result
    assert "KeyboardInterrupt" not in result.text, result
    assert [line for line in result.lines if line.startswith("epoch:")][-1].endswith("interrupted"), result
