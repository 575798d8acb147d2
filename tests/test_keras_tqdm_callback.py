"""``from trainbar.keras import TqdmCallback``: tqdm.keras' name and arguments, trainbar's bars."""

import io
import os

import pytest

os.environ["KERAS_BACKEND"] = "torch"  # must be set before Keras is first imported

from frameworks import need

keras = need("keras", "keras")
np = need("numpy", "keras")

from trainbar.keras import TqdmCallback, TrainbarCallback  # noqa: E402

pytestmark = [pytest.mark.frameworks, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def fit(callback, epochs=2, samples=64):
    rng = np.random.default_rng(0)
    x, y = rng.random((samples, 8), dtype="float32"), rng.random((samples, 1), dtype="float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[callback])


def test_tqdm_callback_takes_tqdms_arguments_and_draws_trainbars_bars(manual):
    """tqdm's constructor arguments are accepted; Keras' own numbers give the totals."""
    stream = io.StringIO()
    callback = TqdmCallback(
        epochs=99, data_size=10, batch_size=1, verbose=2, tqdm_class=object, file=stream, desc="x", ncols=60
    )
    assert isinstance(callback, TrainbarCallback)
    fit(callback)
    lines = stream.getvalue().splitlines()
    finished = [line for line in lines if line.startswith("epochs > epoch ") and line.endswith("done")]
    assert [line.split(":")[0] for line in finished] == ["epochs > epoch 1/2", "epochs > epoch 2/2"]
    assert all(" 100% 2/2 " in line and " loss=" in line for line in finished)
    assert lines[-1].startswith("epochs: 100% 2/2") and lines[-1].endswith("done")


@pytest.mark.parametrize(("verbose", "keeps_epochs"), [(0, False), (1, False), (2, True)])
def test_verbose_says_whether_each_epochs_bar_stays(manual, verbose, keeps_epochs):
    """As in tqdm: verbose 0 and 1 keep only the epochs bar on a terminal, 2 keeps every epoch's."""
    from conftest import FakeTerminal

    terminal = FakeTerminal()
    fit(TqdmCallback(verbose=verbose, file=terminal))
    shown = terminal.getvalue()
    assert "epochs: 100%" in shown
    assert ("epoch 1/2: 100%" in shown) is keeps_epochs
