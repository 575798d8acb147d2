"""Hugging Face ``transformers``: trainbar in place of the Trainer's tqdm bars.

    from trainbar.transformers import TrainbarCallback
    trainer = Trainer(model=model, args=args, train_dataset=ds, callbacks=[TrainbarCallback()])

It takes the place of ``ProgressCallback`` (and of the notebook and printer callbacks that stand
in for it): a training bar over the optimizer steps, placed at ``state.global_step``, with the
logged values as its metrics and each log as a line above the bars (in a notebook, when the
Trainer evaluates, the training view's rows and chart hold the training logs instead); a bar for
each evaluation and prediction. Every process keeps its bars: trainbar's rank rule picks the one
that draws (rank 0 unless ``TRAINBAR_RANKS`` says otherwise), so a ``torchrun`` job shows one
bar, and the other ranks publish their progress for the summary of the job on its line.
"""

from __future__ import annotations

import sys
import types

from trainbar._warnings import warn
from trainbar.integrations.common import TRANSIENT_DELAY, Bars, advance, guarded, require
from trainbar.render import fmt as _format
from trainbar.runtime.output import write

_callbacks = require("transformers.trainer_callback", extra="transformers", what="Hugging Face transformers")

__all__ = ["TrainbarCallback"]

# Throughput and timing entries are worth a line in the log, not space on the bar.
_LINE_ONLY_SUFFIXES = ("_runtime", "_per_second", "total_flos", "_preparation_time")
_FRAME_DEPTH = 8  # how far up the stack from a hook the Trainer's own frames may be


class TrainbarCallback(_callbacks.TrainerCallback):  # type: ignore[name-defined]  # found at run time
    """The Trainer's progress display, drawn by trainbar.

    ``file``: where the bars and the log lines go (by default the bars go to standard error
    and the log lines to standard output, as with ``ProgressCallback``).
    """

    def __init__(self, *, file=None) -> None:
        self._bars = Bars(file)
        self._file = file

    # --- taking the place of the Trainer's own display --------------------------------------

    @guarded
    def on_init_end(self, args, state, control, **kwargs) -> None:
        if not self._take_over():
            warn(
                "trainbar: TrainbarCallback could not find the Trainer's callback list; "
                "call trainer.remove_callback(ProgressCallback) yourself, or two bars will show"
            )

    def _take_over(self) -> bool:
        # The hooks are not handed the Trainer, but they are called from its CallbackHandler,
        # which holds the callback list to take the tqdm bar (or the dict printer) out of.
        handler = _calling_handler(self)
        if handler is None:
            return False
        for callback in list(handler.callbacks):
            if _is_progress_display(callback):
                handler.remove_callback(callback)
        return True

    # --- training ----------------------------------------------------------------------------

    @guarded
    def on_train_begin(self, args, state, control, **kwargs) -> None:
        self._take_over()  # for a callback added with trainer.add_callback() after __init__
        self._bars.close_all(interrupted=True)
        bar = self._bars.open("train", total=state.max_steps or None, desc="train")
        advance(bar, state.global_step)  # resumed from a checkpoint

    @guarded
    def on_step_end(self, args, state, control, **kwargs) -> None:
        advance(self._bars.get("train"), state.global_step)

    @guarded
    def on_log(self, args, state, control, logs=None, **kwargs) -> None:
        if not logs:
            return
        shown = {str(k): v for k, v in logs.items() if not str(k).endswith(_LINE_ONLY_SUFFIXES)}
        target = self._bars.get("train") or self._bars.get("eval")
        if target is not None and shown:
            target.log(**shown)
        if not self._view_holds(args, logs):
            write(_log_line(state, logs), file=self._file)

    def _view_holds(self, args, logs: dict) -> bool:
        """Whether a notebook's training view already shows this log: while training, it has a
        row per evaluation with the training figures logged by then, and a chart of every logged
        loss. Without evaluations there are no rows; the run's summary (its runtime and speed)
        and an evaluation after training have none either: those lines stay the record."""
        training = self._bars.get("train") is not None and "train_runtime" not in logs
        return training and _evaluates(args) and self._bars.in_notebook()

    @guarded
    def on_train_end(self, args, state, control, **kwargs) -> None:
        advance(self._bars.get("train"), state.global_step)
        self._bars.close_all()

    # --- evaluation and prediction ---------------------------------------------------------

    @guarded
    def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs) -> None:
        bar = self._bars.get("eval")
        if bar is None:
            self._take_over()
            total = _length(eval_dataloader)
            if self._bars.get("train") is not None:  # evaluation during training: a passing bar
                bar = self._bars.open("eval", total=total, desc=_loop_name(), leave=False, delay=TRANSIENT_DELAY)
            else:
                bar = self._bars.open("eval", total=total, desc=_loop_name())
        bar.update(1)

    @guarded
    def on_evaluate(self, args, state, control, metrics=None, **kwargs) -> None:
        self._end_eval(metrics)

    @guarded
    def on_predict(self, args, state, control, metrics=None, **kwargs) -> None:
        self._end_eval(metrics)

    def _end_eval(self, metrics) -> None:
        bar = self._bars.get("eval")
        if bar is not None and metrics:
            bar.log(**{str(k): v for k, v in metrics.items() if not str(k).endswith(_LINE_ONLY_SUFFIXES)})
        self._bars.close("eval")


def _calling_handler(callback):
    """The CallbackHandler up the stack whose list holds ``callback``, or None."""
    handler_type = getattr(_callbacks, "CallbackHandler", None)
    frame: types.FrameType | None = sys._getframe(1)
    for _ in range(_FRAME_DEPTH):
        if frame is None:
            return None
        candidate = frame.f_locals.get("self")
        if (
            handler_type is not None
            and isinstance(candidate, handler_type)
            and any(cb is callback for cb in candidate.callbacks)
        ):
            return candidate
        frame = frame.f_back
    return None


def _is_progress_display(callback) -> bool:
    kinds = [_callbacks.ProgressCallback, _callbacks.PrinterCallback]
    notebook = sys.modules.get("transformers.utils.notebook")  # imported only where a notebook is in use
    if notebook is not None:
        kinds.append(notebook.NotebookProgressCallback)
    return isinstance(callback, tuple(kinds))


def _loop_name() -> str:
    """``evaluate`` or ``predict``: the Trainer's evaluation loop says which in its ``description``."""
    frame: types.FrameType | None = sys._getframe(1)
    for _ in range(_FRAME_DEPTH):
        if frame is None:
            break
        if frame.f_code.co_name == "evaluation_loop":
            description = str(frame.f_locals.get("description", ""))
            return "predict" if description.lower().startswith("predict") else "evaluate"
        frame = frame.f_back
    return "evaluate"


def _length(loader):
    try:
        return len(loader)
    except Exception:  # noqa: BLE001 - an iterable dataset has no length
        return None


def _evaluates(args) -> bool:
    strategy = getattr(args, "eval_strategy", None) or getattr(args, "evaluation_strategy", "no")
    return getattr(strategy, "value", strategy) != "no"


def _log_line(state, logs: dict) -> str:
    """``step 5/20 loss=3.902 learning_rate=4.000e-5 epoch=0.3125``: one log, on one line."""
    parts = [f"step {state.global_step}/{state.max_steps}" if state.max_steps else f"step {state.global_step}"]
    for key, value in logs.items():
        if key == "total_flos":
            continue
        text = _format.number(value) if isinstance(value, (int, float)) else str(value)
        parts.append(f"{key}={text}")
    return _format.sanitize(" ".join(parts))
