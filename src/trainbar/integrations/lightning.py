"""PyTorch Lightning 2: trainbar as the Trainer's progress bar.

    from trainbar.lightning import TrainbarProgressBar
    trainer = lightning.Trainer(callbacks=[TrainbarProgressBar()])

Bars for training (an epoch bar, and a step bar per epoch), validation, testing, prediction and
the sanity check, with the metrics logged with ``self.log(..., prog_bar=True)``. Lightning uses
it in place of its own bar. Under DDP every rank keeps its bars: trainbar's rank rule picks the
one that draws (global rank 0 unless ``TRAINBAR_RANKS`` says otherwise), and the others publish
their progress for the summary of the job on its line.

Nothing is drawn from the training loop: a batch only moves the bar's counter, and the metrics
are read from Lightning at most every ``metrics_interval`` seconds (and at every epoch's end).
"""

from __future__ import annotations

from trainbar.core import clock as _clock
from trainbar.integrations.common import TRANSIENT_DELAY, Bars, advance, guarded, require
from trainbar.runtime.output import write

_pl = require("lightning.pytorch", extra="lightning", what="PyTorch Lightning 2 (the `lightning` package)")

__all__ = ["TrainbarProgressBar"]


class TrainbarProgressBar(_pl.callbacks.ProgressBar):  # type: ignore[name-defined]  # found at run time
    """Lightning's progress bar, drawn by trainbar.

    ``file``: where the bars go (standard error by default). ``leave``: keep each epoch's
    finished line; ``False`` keeps only the epoch bar. ``metrics_interval``: the most often, in
    seconds, that the metrics are read from Lightning during an epoch.
    """

    def __init__(self, *, file=None, leave: bool = True, metrics_interval: float = 0.5) -> None:
        super().__init__()
        if isinstance(metrics_interval, bool) or not isinstance(metrics_interval, (int, float)):
            raise TypeError(f"metrics_interval must be a number of seconds, got {metrics_interval!r}")
        if not metrics_interval >= 0:
            raise ValueError(f"metrics_interval must be >= 0, got {metrics_interval!r}")
        self._bars = Bars(file)
        self._leave = bool(leave)
        self._metrics_interval = float(metrics_interval)
        self._metrics_due = 0.0
        self._enabled = True

    # --- what Lightning asks of a progress bar ------------------------------------------------

    def setup(self, trainer, pl_module, stage: str) -> None:
        # Lightning's setup switches the bar off on every rank but 0. Here the other ranks must
        # keep counting: they publish their progress to the drawing rank, and without it that
        # rank would report them as "not reporting". Who draws is trainbar's rank rule's call.
        enabled = self._enabled
        super().setup(trainer, pl_module, stage)
        self._enabled = enabled

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    @property
    def is_enabled(self) -> bool:
        return self._enabled and not self._bars.failed

    @property
    def is_disabled(self) -> bool:
        return not self.is_enabled

    def print(self, *args, sep: str = " ", end: str = "\n", file=None, flush: bool = False) -> None:
        """``LightningModule.print`` lands here: above the bars, never through them."""
        write(*args, sep=sep, end=end, file=file)

    def _refresh_metrics(self, bar, trainer, pl_module, *, now: float | None = None) -> None:
        # get_metrics converts each tensor to a number (a device sync): done on a timer, not per batch.
        if bar is None:
            return
        metrics = self.get_metrics(trainer, pl_module)
        if metrics:
            bar.log(**{str(name): value for name, value in metrics.items()})
        self._metrics_due = (_clock.now() if now is None else now) + self._metrics_interval

    # --- sanity check --------------------------------------------------------------------------

    @guarded
    def on_sanity_check_start(self, trainer, pl_module) -> None:
        self.reset_dataloader_idx_tracker()

    @guarded
    def on_sanity_check_end(self, trainer, pl_module) -> None:
        self._bars.close("eval")
        self.reset_dataloader_idx_tracker()

    # --- fit -----------------------------------------------------------------------------------

    @guarded
    def on_train_start(self, trainer, pl_module) -> None:
        if not self._enabled:
            return
        self._bars.close_all(interrupted=True)
        epochs = trainer.max_epochs
        if epochs is not None and epochs > 1:
            self._bars.open("epochs", total=epochs, desc="epochs", unit="epoch")
            advance(self._bars.get("epochs"), trainer.current_epoch)

    @guarded
    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if not self._enabled:
            return
        epochs = self._bars.get("epochs")
        advance(epochs, trainer.current_epoch)
        self._bars.open(
            "steps",
            total=self.total_train_batches,
            desc=f"epoch {trainer.current_epoch}",
            leave=self._leave or epochs is None,
        )
        self._metrics_due = 0.0

    @guarded
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        bar = self._bars.get("steps")
        if bar is None:
            return
        advance(bar, batch_idx + 1)
        now = _clock.now()
        if now >= self._metrics_due:
            self._refresh_metrics(bar, trainer, pl_module, now=now)

    @guarded
    def on_train_epoch_end(self, trainer, pl_module) -> None:
        bar = self._bars.get("steps")
        if bar is not None:
            self._refresh_metrics(bar, trainer, pl_module)
            self._bars.close("steps")
        epochs = self._bars.get("epochs")
        if epochs is not None:
            advance(epochs, trainer.current_epoch + 1)
            self._refresh_metrics(epochs, trainer, pl_module)

    @guarded
    def on_train_end(self, trainer, pl_module) -> None:
        self._bars.close_all()

    # --- validation (also the sanity check), test and predict --------------------------------

    def _open_eval(self, dataloader_idx: int, desc: str, batches, total_name: str, *, transient: bool) -> None:
        if not self._enabled or not self.has_dataloader_changed(dataloader_idx):
            return
        if dataloader_idx or (isinstance(batches, list) and len(batches) > 1):
            desc = f"{desc} {dataloader_idx}"  # which of several loaders
        total = getattr(self, total_name)  # read once the loader index is known: it picks the loader
        if transient:
            self._bars.open("eval", total=total, desc=desc, leave=False, delay=TRANSIENT_DELAY)
        else:
            self._bars.open("eval", total=total, desc=desc)

    @guarded
    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        if trainer.sanity_checking:
            desc, batches = "sanity check", trainer.num_sanity_val_batches
        else:
            desc, batches = "validate", trainer.num_val_batches
        transient = trainer.state.fn == "fit"
        self._open_eval(dataloader_idx, desc, batches, "total_val_batches_current_dataloader", transient=transient)

    @guarded
    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        advance(self._bars.get("eval"), batch_idx + 1)

    @guarded
    def on_validation_end(self, trainer, pl_module) -> None:
        self.reset_dataloader_idx_tracker()
        if trainer.sanity_checking:
            self._bars.close("eval")  # its metrics are thrown away: nothing to show
        elif trainer.state.fn == "fit":
            self._bars.close("eval")
            self._refresh_metrics(self._bars.get("steps"), trainer, pl_module)
        else:
            self._refresh_metrics(self._bars.get("eval"), trainer, pl_module)
            self._bars.close("eval")

    @guarded
    def on_test_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        batches = trainer.num_test_batches
        self._open_eval(dataloader_idx, "test", batches, "total_test_batches_current_dataloader", transient=False)

    @guarded
    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        advance(self._bars.get("eval"), batch_idx + 1)

    @guarded
    def on_test_end(self, trainer, pl_module) -> None:
        self._refresh_metrics(self._bars.get("eval"), trainer, pl_module)
        self._bars.close("eval")
        self.reset_dataloader_idx_tracker()

    @guarded
    def on_predict_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        batches = trainer.num_predict_batches
        self._open_eval(dataloader_idx, "predict", batches, "total_predict_batches_current_dataloader", transient=False)

    @guarded
    def on_predict_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        advance(self._bars.get("eval"), batch_idx + 1)

    @guarded
    def on_predict_end(self, trainer, pl_module) -> None:
        self._bars.close("eval")
        self.reset_dataloader_idx_tracker()

    @guarded
    def on_exception(self, trainer, pl_module, exception) -> None:
        self._bars.close_all(interrupted=True)
