"""Keras 3: trainbar's bars for ``fit``, ``evaluate`` and ``predict``, on any backend.

    from trainbar.keras import TrainbarCallback
    model.fit(x, y, epochs=3, validation_split=0.2, callbacks=[TrainbarCallback()])

An epoch bar, and for each epoch a step bar with the loss and metrics; the validation metrics
join the epoch's line when it ends. ``evaluate`` and ``predict`` get a bar of their own.

The callback is a ``keras.callbacks.ProgbarLogger``: Keras adds its own bar only when the list
holds none, so ``verbose=1`` (the default) gives trainbar's bars and never both.
"""

from __future__ import annotations

from trainbar.integrations.common import TRANSIENT_DELAY, Bars, advance, guarded, require

keras = require("keras", extra="keras", what="Keras 3")

__all__ = ["TqdmCallback", "TrainbarCallback"]


class TrainbarCallback(keras.callbacks.ProgbarLogger):  # type: ignore[name-defined]  # a module found at run time
    """Progress bars for ``model.fit``, ``model.evaluate`` and ``model.predict``.

    ``file``: where the bars go (standard error by default). ``leave``: keep each epoch's
    finished line (like Keras' own output); ``False`` keeps only the epoch bar.
    """

    # The batch hooks only store numbers, so Keras may run them on its callback thread pool, as it
    # does for its own bar: the training thread then never waits on reading the logs.
    async_safe = True

    def __init__(self, *, file=None, leave: bool = True) -> None:
        super().__init__()
        self._bars = Bars(file)
        self._leave = bool(leave)
        self._in_fit = False

    def set_params(self, params) -> None:
        self.params = params
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs") or 1
        self.target = params.get("steps")

    # --- fit -----------------------------------------------------------------------------------

    @guarded
    def on_train_begin(self, logs=None) -> None:
        self._in_fit = True
        self._bars.close_all(interrupted=True)
        if self.epochs > 1:
            self._bars.open("epochs", total=self.epochs, desc="epochs", unit="epoch")

    @guarded
    def on_epoch_begin(self, epoch, logs=None) -> None:
        advance(self._bars.get("epochs"), epoch)  # fit(initial_epoch=...) starts part-way
        self._bars.open(
            "steps", total=self.target, desc=f"epoch {epoch + 1}/{self.epochs}", leave=self._leave or self.epochs == 1
        )

    @guarded
    def on_train_batch_end(self, batch, logs=None) -> None:
        self._batch_done("steps", batch, logs)

    @guarded
    def on_epoch_end(self, epoch, logs=None) -> None:
        bar = self._bars.get("steps")
        if bar is not None:
            if self.target is None:
                self.target = bar.n  # a loader of unknown length: the next epochs know it now
            if logs:
                bar.log(**logs)
            self._bars.close("steps")
        epochs = self._bars.get("epochs")
        if epochs is not None:
            advance(epochs, epoch + 1)
            if logs:
                epochs.log(**logs)

    def _batch_done(self, key: str, batch: int, logs) -> None:
        bar = self._bars.get(key)
        if bar is not None:
            advance(bar, batch + 1)
            if logs:
                bar.log(**logs)

    @guarded
    def on_train_end(self, logs=None) -> None:
        self._in_fit = False
        self._bars.close_all()

    # --- evaluate, and validation inside fit -------------------------------------------------

    @guarded
    def on_test_begin(self, logs=None) -> None:
        if self._in_fit:
            self._bars.open("eval", total=self._validation_steps(), desc="validate", leave=False, delay=TRANSIENT_DELAY)
        else:
            self._bars.open("eval", total=self.target, desc="evaluate")

    @guarded
    def on_test_batch_end(self, batch, logs=None) -> None:
        self._batch_done("eval", batch, logs)

    @guarded
    def on_test_end(self, logs=None) -> None:
        bar = self._bars.get("eval")
        if bar is not None and logs:
            bar.log(**logs)
        self._bars.close("eval")

    def _validation_steps(self):
        # fit() validates with an iterator it keeps on the model; its length is the bar's total.
        iterator = getattr(self.model, "_eval_epoch_iterator", None)
        return getattr(iterator, "num_batches", None)

    # --- predict -----------------------------------------------------------------------------

    @guarded
    def on_predict_begin(self, logs=None) -> None:
        self._bars.open("predict", total=self.target, desc="predict")

    @guarded
    def on_predict_batch_end(self, batch, logs=None) -> None:
        advance(self._bars.get("predict"), batch + 1)  # logs hold the outputs: not metrics

    @guarded
    def on_predict_end(self, logs=None) -> None:
        self._bars.close("predict")


class TqdmCallback(TrainbarCallback):
    """``tqdm.keras.TqdmCallback``'s name and arguments, drawn by trainbar: moving over is
    ``from trainbar.keras import TqdmCallback``.

    ``verbose``: as in tqdm, ``2`` keeps each epoch's batch bar when it ends; ``0`` and ``1``
    keep only the epochs bar (``0`` still shows the batch bar while the epoch runs: it costs the
    training loop nothing). ``file=`` says where the bars go.

    Accepted and ignored: ``epochs``, ``data_size`` and ``batch_size`` (Keras tells the callback
    the epochs and steps when ``fit`` starts), ``tqdm_class`` and any other tqdm keyword (trainbar
    draws the bars). Unlike tqdm's callback, Keras draws no bar of its own beside it, whatever
    ``fit``'s ``verbose``.
    """

    def __init__(
        self, epochs=None, data_size=None, batch_size=None, verbose=1, tqdm_class=None, *, file=None, **tqdm_kwargs
    ) -> None:
        super().__init__(file=file, leave=verbose == 2)
