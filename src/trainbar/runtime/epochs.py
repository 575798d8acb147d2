"""What a notebook frame learns of a run's epochs: one row of final metrics per epoch, and the
loss along the steps, for the training view under the bars (``render.training``).

An epoch is a step of a top-level bar that has bars nested under it (the Keras, Lightning and
Hugging Face callbacks open their epoch bars so, and so does a plain loop of epochs around a loop
of steps). Its row holds the last metrics of the inner bar that ran during it (the training
figures) beside the top-level bar's own when it stepped (validation, as the callbacks log it).
The frame feeds it as it draws: nothing here runs on the training thread. Memory is bounded: the
most recent ``MAX_EPOCHS`` rows, and at most ``POINTS_PER_EPOCH`` points of the curve each.
"""

from __future__ import annotations

from trainbar.core.history import thin
from trainbar.core.snapshot import INTERRUPTED, Snapshot

MAX_EPOCHS = 100
POINTS_PER_EPOCH = 32
STEP_UNITS = ("step", "steps", "batch", "batches")  # a top-level bar of these is not one of epochs


class Epoch:
    """One finished epoch: its number, its metrics (name -> shown text), and the loss curve."""

    __slots__ = ("number", "metrics", "curve")

    def __init__(self, number: int, metrics: dict, curve: list) -> None:
        self.number = number
        self.metrics = metrics
        self.curve = curve


class EpochLog:
    """The epochs of one top-level bar, as its frame saw them."""

    def __init__(self) -> None:
        self.epochs: list[Epoch] = []
        self.loss: str | None = None  # the metric the chart draws
        self.unit = "epoch"  # what the top-level bar counts: the table's first column
        self.overall: list = []  # the top-level bar's own loss history, where the inner bars have none
        # The top-level bar's count when last looked at. A resumed run's first look settles it: rows
        # need an inner bar's end, and that looks at the top-level bar first.
        self.seen = 0
        # (metrics, curve, (outer count, outer metrics) then) of the inner bar that ended last
        self._inner: tuple | None = None

    def inner_ended(self, snap: Snapshot, history: dict, outer: Snapshot | None, outer_history: dict) -> None:
        """A bar directly under the top-level one ended, the top-level one being ``outer`` then:
        its metrics are the epoch's training figures (or an evaluation's, under a bar of steps).
        An earlier inner bar whose epoch the top-level bar has since stepped past gets its row
        first, however fast the epochs went by between two redraws."""
        if outer is not None:
            self.outer_seen(outer, outer_history)
        if not snap.metrics or snap.status == INTERRUPTED:
            return  # an epoch that failed has no final figures: its row in the bars shows where
        name = loss_name([name for name, _ in snap.metrics])
        self.loss = self.loss or name
        values = history.get(name, []) if name else []
        at = (_count(outer.n), dict(outer.metrics)) if outer is not None else (self.seen, {})
        self._inner = (dict(snap.metrics), thin(values, POINTS_PER_EPOCH), at)

    def outer_seen(self, snap: Snapshot, history: dict, final: bool = False) -> None:
        """The top-level bar as drawn now (``final``: as it closed). A step it took after an
        inner bar ended makes a row with its metrics then; a bar that steps with nothing nested
        under it (a loop of steps) makes none.

        A row of a bar of epochs is numbered by the epoch that ended (the step after the inner
        bar); under a bar of steps, by the step at which the inner bar (an evaluation) ended.
        """
        if snap.unit and snap.unit != "it":
            self.unit = snap.unit
        name = loss_name([name for name, _ in snap.metrics])
        if name and history.get(name):
            self.overall = thin(history[name], POINTS_PER_EPOCH * 8)
        count = _count(snap.n)
        stepped = count > self.seen
        self.seen = count if stepped else min(self.seen, count)
        if self._inner is None or not (stepped or final):
            return
        inner_metrics, curve, (outer_count, outer_metrics) = self._inner
        self._inner = None
        metrics = dict(inner_metrics)
        if self.unit in STEP_UNITS:  # an evaluation: the step it ran at, the training figures then
            number = outer_count
            metrics.update((name, value) for name, value in outer_metrics.items() if name)
        else:  # the epoch in progress when the inner bar ended, its validation figures logged after
            number = count if stepped else count + 1
            metrics.update((name, value) for name, value in snap.metrics if name)
        self.epochs.append(Epoch(number, metrics, curve))
        if len(self.epochs) > MAX_EPOCHS:
            del self.epochs[0]


def loss_name(names: list) -> str | None:
    """The metric the chart draws: the first that names a loss (not a validation one), else the first."""
    for name in names:
        if "loss" in name and not name.startswith(("val", "eval", "test")):
            return name
    return names[0] if names else None


def _count(n: object) -> int:
    try:
        return int(n)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return 0
