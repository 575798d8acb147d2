"""``trainbar demo``: a small, real training run that shows what trainbar does.

It trains a tiny regression model with PyTorch when PyTorch is installed, and the same model in
pure Python otherwise, so it also runs on a bare install. Nested epoch/step bars, a loss and a
learning rate as metrics, a validation pass that vanishes when done, and messages above the bars.
"""

from __future__ import annotations

import math
import random
import time

import trainbar as tb

FEATURES = 8


def _dataset(size: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    true_w = [rng.uniform(-2, 2) for _ in range(FEATURES)]
    rows = []
    for _ in range(size):
        x = [rng.gauss(0, 1) for _ in range(FEATURES)]
        y = sum(w * v for w, v in zip(true_w, x)) + 0.5 + rng.gauss(0, 0.1)
        rows.append((x, y))
    return rows


def _batches(rows, batch_size: int, io_delay: float):
    """A data loader: yields mini-batches, with a pause that stands in for reading from disk."""
    for start in range(0, len(rows), batch_size):
        if io_delay:
            time.sleep(io_delay)
        yield rows[start : start + batch_size]


def _cosine_lr(step: int, total: int, peak: float = 0.05) -> float:
    return peak * 0.5 * (1 + math.cos(math.pi * step / total))


class _PythonModel:
    name = "pure-Python linear model"

    def __init__(self) -> None:
        self.w = [0.0] * FEATURES
        self.b = 0.0

    def train_step(self, batch, lr: float) -> float:
        grad_w = [0.0] * FEATURES
        grad_b = 0.0
        loss = 0.0
        for x, y in batch:
            err = sum(w * v for w, v in zip(self.w, x)) + self.b - y
            loss += err * err
            for i, v in enumerate(x):
                grad_w[i] += 2 * err * v
            grad_b += 2 * err
        scale = lr / len(batch)
        self.w = [w - scale * g for w, g in zip(self.w, grad_w)]
        self.b -= scale * grad_b
        return loss / len(batch)

    def eval_loss(self, batch) -> float:
        errors = [sum(w * v for w, v in zip(self.w, x)) + self.b - y for x, y in batch]
        return sum(e * e for e in errors) / len(errors)


class _TorchModel:
    name = "PyTorch MLP"

    def __init__(self) -> None:
        import torch

        torch.manual_seed(0)
        self.torch = torch
        self.net = torch.nn.Sequential(torch.nn.Linear(FEATURES, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
        self.opt = torch.optim.SGD(self.net.parameters(), lr=0.05)

    def _tensors(self, batch):
        x = self.torch.tensor([row[0] for row in batch])
        y = self.torch.tensor([[row[1]] for row in batch])
        return x, y

    def train_step(self, batch, lr: float):
        x, y = self._tensors(batch)
        for group in self.opt.param_groups:
            group["lr"] = lr
        loss = self.torch.nn.functional.mse_loss(self.net(x), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.detach()  # a tensor: trainbar reads it only when it draws

    def eval_loss(self, batch):
        with self.torch.no_grad():
            x, y = self._tensors(batch)
            return self.torch.nn.functional.mse_loss(self.net(x), y)


def _model(use_torch: bool | None):
    if use_torch is not False:
        try:
            return _TorchModel()
        except ImportError:
            if use_torch:
                raise
    return _PythonModel()


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def run(epochs: int = 4, batch_size: int = 32, io_delay: float = 0.004, use_torch: bool | None = None) -> float:
    """Train and return the final validation loss."""
    rows = _dataset(4096 + 512)
    train_rows, val_rows = rows[:4096], rows[4096:]
    model = _model(use_torch)
    steps_per_epoch = math.ceil(len(train_rows) / batch_size)
    total_steps = epochs * steps_per_epoch
    tb.write(f"trainbar demo: training a {model.name} for {_plural(epochs, 'epoch')} of {steps_per_epoch} steps")
    step = 0
    val_loss = float("nan")
    for epoch in tb.bar(range(epochs), desc="epoch", unit="epoch"):
        for batch in tb.bar(
            _batches(train_rows, batch_size, io_delay), total=steps_per_epoch, desc="train", unit="step"
        ):
            lr = _cosine_lr(step, total_steps)
            loss = model.train_step(batch, lr)
            tb.log(loss=loss, lr=lr)
            step += 1
        losses = [model.eval_loss(b) for b in tb.bar(_batches(val_rows, 128, io_delay), desc="validate", leave=False)]
        val_loss = float(sum(float(v) for v in losses) / len(losses))
        tb.write(f"epoch {epoch + 1}: validation loss {val_loss:.4f}")
    return val_loss
