"""trainbar.keras: Keras 3 on the torch backend, in a log, a terminal and a log file."""

import io
import os
import re

import pytest

os.environ["KERAS_BACKEND"] = "torch"  # must be set before Keras is first imported

from frameworks import TERMINAL_CONTROL, need  # noqa: E402
from ptyrun import child_environment, run_in_pty  # noqa: E402

keras = need("keras", "keras")
np = need("numpy", "keras")

from trainbar.keras import TrainbarCallback  # noqa: E402

pytestmark = [pytest.mark.frameworks, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def make_model():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


def data(samples: int = 320):
    rng = np.random.default_rng(0)
    return rng.random((samples, 8), dtype="float32"), rng.random((samples, 1), dtype="float32")


def fit_lines(manual, **fit_options) -> list:
    x, y = data(fit_options.pop("samples", 320))
    stream = io.StringIO()
    make_model().fit(x, y, batch_size=32, callbacks=[TrainbarCallback(file=stream)], **fit_options)
    return stream.getvalue().splitlines()


def test_fit_shows_an_epoch_bar_and_a_step_bar_per_epoch_with_the_metrics(manual):
    """fit(verbose=0) draws the epochs bar and one step bar per epoch carrying loss and mae."""
    lines = fit_lines(manual, epochs=2, verbose=0)
    assert lines[0].startswith("epochs: 0% 0/2")
    finished = [line for line in lines if line.startswith("epochs > epoch ") and line.endswith("done")]
    assert [line.split(":")[0] for line in finished] == ["epochs > epoch 1/2", "epochs > epoch 2/2"]
    assert all(" 100% 10/10 " in line and " loss=" in line and " mae=" in line for line in finished)
    assert lines[-1].startswith("epochs: 100% 2/2") and lines[-1].endswith("done")


def test_validation_metrics_join_the_line_of_their_epoch(manual):
    """With validation data, each epoch's final line carries val_loss and val_mae."""
    lines = fit_lines(manual, epochs=2, verbose=0, validation_split=0.2)
    finished = [line for line in lines if line.startswith("epochs > epoch ") and line.endswith("done")]
    assert len(finished) == 2
    assert all(" val_loss=" in line and " val_mae=" in line for line in finished)


def test_a_short_validation_adds_no_lines(manual):
    """Validation inside fit is a passing bar: one quicker than its delay writes nothing."""
    lines = fit_lines(manual, epochs=2, verbose=0, validation_split=0.2)
    assert not [line for line in lines if "validate" in line]


def test_verbose_1_gets_trainbar_instead_of_the_keras_bar(manual, capfd):
    """With verbose=1 (the default) Keras adds no bar of its own: stdout stays empty."""
    lines = fit_lines(manual, epochs=2, verbose=1, validation_split=0.2)
    out, _ = capfd.readouterr()
    assert out == ""
    assert any(line.startswith("epochs > epoch 2/2: 100%") for line in lines)


def test_leave_false_keeps_no_line_per_epoch_on_a_terminal(manual):
    """On a terminal, leave=False lets each finished epoch vanish; the default keeps its line."""
    from conftest import FakeTerminal

    x, y = data(64)
    outputs = {}
    for leave in (True, False):
        terminal = FakeTerminal()
        make_model().fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[TrainbarCallback(file=terminal, leave=leave)])
        outputs[leave] = terminal.getvalue()
    assert "epoch 1/2: 100%" in outputs[True] and "epoch 2/2: 100%" in outputs[True]
    assert "epoch 1/2" not in outputs[False] and "epochs: 100%" in outputs[False]


def test_evaluate_has_a_bar_with_the_metrics(manual):
    """evaluate() shows an evaluate bar over its batches, ending with loss and mae."""
    x, y = data()
    stream = io.StringIO()
    make_model().evaluate(x, y, batch_size=32, callbacks=[TrainbarCallback(file=stream)], verbose=0)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("evaluate: 0% 0/10")
    assert lines[-1].startswith("evaluate: 100% 10/10") and " loss=" in lines[-1] and lines[-1].endswith("done")


def test_predict_has_a_bar(manual):
    """predict() shows a predict bar over its batches."""
    x, _ = data()
    stream = io.StringIO()
    make_model().predict(x, batch_size=64, callbacks=[TrainbarCallback(file=stream)], verbose=0)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("predict: 0% 0/5")
    assert lines[-1].startswith("predict: 100% 5/5") and lines[-1].endswith("done")


def test_batches_never_draw(manual):
    """Four times the batches write exactly as many lines: a batch only moves a counter."""
    few = fit_lines(manual, epochs=2, verbose=0, samples=64)
    many = fit_lines(manual, epochs=2, verbose=0, samples=256)
    assert len(few) == len(many)
    assert " 8/8 " in many[-2] and " 2/2 " in few[-2]


def test_a_failing_bar_never_stops_fit(manual, monkeypatch):
    """If the callback itself fails, fit completes, with one warning, and the bars are closed."""
    from trainbar.integrations import common as _integration

    stream = io.StringIO()
    opened = []
    original = _integration.Bars.open

    def open_then_fail(self, role, **options):
        if role == "steps" and opened:
            raise RuntimeError("boom")
        opened.append(role)
        return original(self, role, **options)

    monkeypatch.setattr(_integration.Bars, "open", open_then_fail)
    x, y = data()
    with pytest.warns(RuntimeWarning, match="on_epoch_begin failed .*boom.*training goes on"):
        history = make_model().fit(x, y, epochs=3, verbose=0, callbacks=[TrainbarCallback(file=stream)])
    assert len(history.history["loss"]) == 3
    assert stream.getvalue().splitlines()[-1].endswith("interrupted")


def test_a_log_file_gets_plain_lines(capfd):
    """Bars on a redirected stderr, Keras' verbose=1 output on stdout: no \\r, \\b or escapes."""
    x, y = data()
    model = make_model()
    model.fit(x, y, epochs=2, batch_size=32, validation_split=0.2, callbacks=[TrainbarCallback()])
    model.evaluate(x, y, callbacks=[TrainbarCallback()])
    out, err = capfd.readouterr()
    assert "epochs > epoch 2/2: 100% 8/8" in err and "evaluate: 100% 10/10" in err
    assert not TERMINAL_CONTROL.search((out + err).encode())


SCRIPT = """
    import os, time
    import keras, numpy as np
    from trainbar.keras import TrainbarCallback
    rng = np.random.default_rng(0)
    x, y = rng.random((320, 8), dtype="float32"), rng.random((320, 1), dtype="float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    class Slow(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(0.02)
    model.fit(x, y, epochs=3, batch_size=32, validation_split=0.2, callbacks=[TrainbarCallback(), Slow()])
    print("fit returned")
"""


def test_terminal_shows_one_line_per_epoch_and_no_keras_bar():
    """In a real terminal, verbose=1 leaves one finished line per epoch with val_loss, and no Keras bar."""
    result = run_in_pty(SCRIPT, env=child_environment(KERAS_BACKEND="torch"), timeout=90)
    assert result.returncode == 0, result
    lines = result.lines
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epoch_lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"], result
    assert all("val_loss=" in line for line in epoch_lines)
    assert any(re.match(r"epochs: 100%.* 3/3 ", line) for line in lines)
    assert "fit returned" in lines
    assert "━" not in result.text and b"\x08" not in result.output
    assert not [text for _, text in result.screen.overflows if text.startswith("epoch")]  # long logs may wrap
