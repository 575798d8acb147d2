"""trainbar.doctor: check a PyTorch training setup before the long run, in a few seconds.

    import trainbar.doctor

    report = trainbar.doctor.check(model=model, loader=loader, loss_fn=loss_fn, optimizer=optimizer)
    print(report)            # each problem with what to do about it
    assert report.ok         # no error found (warnings allowed)

It takes the first batch (with a timeout), runs a training step, looks at the loss, the
gradients and the parameters, then puts the model's and the optimizer's state back as they were
(parameters, buffers, optimizer state, gradients, train/eval mode and the random number
generators). Only users who import this module pay for it; it needs PyTorch.
"""

from __future__ import annotations

import math
import threading
import time

__all__ = ["Finding", "Report", "check"]

ERROR = "error"
WARNING = "warning"
_NAMES_SHOWN = 8


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError(
            "trainbar.doctor checks PyTorch training setups and needs PyTorch: "
            "python3 -m pip install torch --index-url https://download.pytorch.org/whl/cpu "
            "(the CPU build; PyTorch's site gives the command for a GPU)"
        ) from None
    return torch


class Finding:
    """One problem found: a stable ``code``, a ``message`` that says what to do, a ``severity``."""

    __slots__ = ("code", "message", "severity")

    def __init__(self, code: str, message: str, severity: str = ERROR) -> None:
        self.code = code
        self.message = message
        self.severity = severity

    def __str__(self) -> str:
        return f"{self.severity:<7} {self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"Finding({self.code!r}, severity={self.severity!r})"


class Report:
    """What :func:`check` found. ``ok`` is true when no problem is an error."""

    def __init__(self) -> None:
        self.problems: list = []
        self.notes: list = []  # what was checked, and what could not be

    @property
    def ok(self) -> bool:
        return not any(problem.severity == ERROR for problem in self.problems)

    @property
    def codes(self) -> list:
        return [problem.code for problem in self.problems]

    def __getitem__(self, code: str) -> Finding:
        for problem in self.problems:
            if problem.code == code:
                return problem
        raise KeyError(code)

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def _add(self, code: str, message: str, severity: str = ERROR) -> None:
        self.problems.append(Finding(code, message, severity))

    def __str__(self) -> str:
        errors = sum(1 for p in self.problems if p.severity == ERROR)
        warnings = len(self.problems) - errors
        if not self.problems:
            head = "trainbar doctor: no problem found"
        else:
            counts = [f"{errors} error{'s' * (errors != 1)}"] if errors else []
            counts += [f"{warnings} warning{'s' * (warnings != 1)}"] if warnings else []
            head = (
                f"trainbar doctor: {len(self.problems)} problem{'s' * (len(self.problems) != 1)} ({', '.join(counts)})"
            )
        lines = [head] + [f"  {problem}" for problem in self.problems]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<trainbar.doctor.Report ok={self.ok} problems={self.codes}>"


def check(
    model=None,
    loader=None,
    loss_fn=None,
    optimizer=None,
    *,
    timeout: float = 60,
    steps: int = 1,
    forward=None,
) -> Report:
    """Check a training setup; return a :class:`Report`. Nothing is changed in the end.

    A batch is used as ``inputs, target = batch`` and the loss is ``loss_fn(model(inputs), target)``
    (a dict of inputs is passed as keywords); a dict batch goes to ``model(**batch)``, and without
    ``loss_fn`` the output's ``loss`` is used (Hugging Face models). For anything else, pass
    ``forward(model, batch) -> loss``. Batches are moved to the model's device.
    """
    torch = _torch()
    if model is not None and not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    for name, value in (("loss_fn", loss_fn), ("forward", forward)):
        if value is not None and not callable(value):
            raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    if loader is not None and not hasattr(loader, "__iter__"):
        raise TypeError(f"loader must be iterable, got {type(loader).__name__}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")

    report = Report()
    if model is not None:
        _check_params(report, model)
    if optimizer is not None:
        _check_lr(report, optimizer)
    with _rng_restored(torch):  # iter(loader) draws a seed, dropout draws masks: the run's randomness stays as it was
        _steps(torch, report, model, loader, loss_fn, optimizer, timeout, steps, forward)
    return report


def _steps(torch, report: Report, model, loader, loss_fn, optimizer, timeout, steps, forward) -> None:
    batches = _first_batches(report, loader, steps, timeout) if loader is not None else []
    if model is None or optimizer is None:
        report.notes.append("no training step was run: pass model=, optimizer= and loader= for that")
    elif loader is None:
        report.notes.append("no training step was run: pass loader= for the first batch")
    elif batches and "no-trainable-params" not in report:
        if loss_fn is None and forward is None and not isinstance(batches[0], dict):
            report.notes.append("no training step was run: pass loss_fn= (or forward=) to compute the loss")
        else:
            with _restored(torch, model, optimizer):
                _run_steps(torch, report, model, optimizer, batches, steps, loss_fn, forward)
            report.notes.append("the model and the optimizer were put back as they were")


# --- static checks ----------------------------------------------------------------------


def _check_params(report: Report, model) -> None:
    if not any(p.requires_grad for p in model.parameters()):
        count = sum(1 for _ in model.parameters())
        report._add(
            "no-trainable-params",
            f"none of the model's {count} parameters requires a gradient, so nothing can learn: "
            "undo requires_grad_(False) or freeze() on the layers you mean to train",
        )


def _lr_value(lr) -> float | None:
    try:
        return float(lr)
    except (TypeError, ValueError):
        return None


def _check_lr(report: Report, optimizer) -> None:
    zero = [i for i, group in enumerate(optimizer.param_groups) if _lr_value(group.get("lr")) == 0.0]
    if zero:
        which = "every param group" if len(zero) == len(optimizer.param_groups) else f"param group(s) {zero}"
        report._add(
            "lr-zero",
            f"the learning rate is 0 in {which}, so no step changes those parameters: set lr > 0 "
            "(a scheduler with warmup may start at 0 on purpose; then this clears after its first step)",
        )


# --- the first batches ------------------------------------------------------------------


def _first_batches(report: Report, loader, count: int, timeout: float) -> list:
    """Up to ``count`` batches, each awaited at most ``timeout`` seconds on a helper thread."""
    state: dict = {}
    batches: list = []
    started = time.perf_counter()
    for index in range(count):
        result: dict = {}

        def fetch(result: dict = result) -> None:  # bound now: each try has its own result
            try:
                if "iterator" not in state:
                    state["iterator"] = iter(loader)
                result["batch"] = next(state["iterator"])
            except StopIteration:
                result["end"] = True
            except BaseException as failure:  # noqa: BLE001 - reported, not raised
                result["error"] = failure

        # A daemon thread: a loader that never yields cannot be interrupted, only left behind.
        worker = threading.Thread(target=fetch, name="trainbar-doctor-loader", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            report._add(
                "loader-timeout",
                f"no batch arrived within {timeout:g}s (waiting for batch {index + 1}): a data-loader worker may be "
                "stuck on one item (a hung read, a lock, a network file system). Run next(iter(loader)) with "
                "num_workers=0 to see the stack, and pass DataLoader(timeout=...) so a stuck worker raises",
            )
            return batches
        if "error" in result:
            error = result["error"]
            report._add(
                "loader-error",
                f"the loader raised {type(error).__name__}: {error} (at batch {index + 1}); "
                "with num_workers=0 the traceback points at the dataset line that failed",
            )
            return batches
        if "end" in result:
            if index == 0:
                report._add(
                    "loader-empty",
                    "the loader yields nothing: check the dataset's length and path, and drop_last=True "
                    "with a dataset smaller than one batch",
                )
            return batches
        batches.append(result["batch"])
    report.notes.append(
        f"first batch{'es' * (count > 1)} in {time.perf_counter() - started:.2f}s, batch size {_batch_size(batches[0])}"
    )
    return batches


def _batch_size(batch) -> str:
    shape = getattr(batch, "shape", None)
    if shape is not None and len(shape):
        return str(shape[0])
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, (list, tuple)) and batch:
        return _batch_size(batch[0])
    return "?"


def _to_device(batch, device):
    if hasattr(batch, "to") and hasattr(batch, "device"):
        return batch.to(device)
    if isinstance(batch, dict):
        return {key: _to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)) and not hasattr(batch, "_fields"):
        return type(batch)(_to_device(value, device) for value in batch)
    return batch


# --- the training step ------------------------------------------------------------------


class _restored:
    """Puts back the model's parameters, buffers, gradients and mode and the optimizer's state,
    whatever the step did."""

    def __init__(self, torch, model, optimizer) -> None:
        self.torch, self.model, self.optimizer = torch, model, optimizer

    def __enter__(self) -> None:
        torch = self.torch
        # Copies on the host: a copy on the GPU could itself run out of memory on a big model.
        self.state = {key: value.detach().to("cpu", copy=True) for key, value in self.model.state_dict().items()}
        self.optimizer_state = _cpu_copy(torch, self.optimizer.state_dict())
        self.grads = [(p, None if p.grad is None else p.grad.detach().clone()) for p in self.model.parameters()]
        self.training = self.model.training

    def __exit__(self, *exc) -> None:
        torch = self.torch
        with torch.no_grad():
            self.model.load_state_dict(self.state)
        self.optimizer.load_state_dict(self.optimizer_state)
        for param, grad in self.grads:
            param.grad = grad
        self.model.train(self.training)


class _rng_restored:
    def __init__(self, torch) -> None:
        self.torch = torch

    def __enter__(self) -> None:
        torch = self.torch
        self.rng = torch.get_rng_state()
        self.cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None

    def __exit__(self, *exc) -> None:
        self.torch.set_rng_state(self.rng)
        if self.cuda_rng is not None:
            self.torch.cuda.set_rng_state_all(self.cuda_rng)


def _cpu_copy(torch, value):
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _cpu_copy(torch, item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu_copy(torch, item) for item in value)
    import copy

    return copy.deepcopy(value)


def _loss(model, batch, loss_fn, forward):
    if forward is not None:
        return forward(model, batch)
    if isinstance(batch, dict):
        output = model(**batch)
        if loss_fn is not None:
            return loss_fn(output, batch)
        return output["loss"] if isinstance(output, dict) else output.loss
    if isinstance(batch, (list, tuple)) and len(batch) == 2:
        inputs, target = batch
        output = model(**inputs) if isinstance(inputs, dict) else model(inputs)
        return loss_fn(output, target)
    raise TypeError(
        f"cannot tell inputs from target in a batch of type {type(batch).__name__}: "
        "pass forward=lambda model, batch: loss"
    )


def _is_oom(torch, error: BaseException) -> bool:
    oom_type = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(error, oom_type):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def _memory_figures(torch, model) -> str:
    device = next((p.device for p in model.parameters()), None)
    if device is not None and device.type == "cuda" and torch.cuda.is_initialized():
        gib = 1024**3
        free, total = torch.cuda.mem_get_info(device)
        return (
            f"{device}: {torch.cuda.memory_allocated(device) / gib:.2f} GiB allocated, "
            f"{torch.cuda.memory_reserved(device) / gib:.2f} GiB reserved, peak "
            f"{torch.cuda.max_memory_allocated(device) / gib:.2f} GiB, {free / gib:.2f} of {total / gib:.2f} GiB free"
        )
    from trainbar.stall import diagnose as _diagnose

    return f"process RSS {_diagnose._bytes(_diagnose._rss())}"


def _names(names: list) -> str:
    shown = ", ".join(names[:_NAMES_SHOWN])
    return shown + (f" and {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else "")


def _run_steps(torch, report: Report, model, optimizer, batches: list, steps: int, loss_fn, forward) -> None:
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    before = {name: p.detach().to("cpu", copy=True) for name, p in named}
    model.train()
    started = time.perf_counter()
    losses = []
    for index in range(steps):
        batch = _to_device(batches[index % len(batches)], device)
        optimizer.zero_grad(set_to_none=True)
        try:
            loss = _loss(model, batch, loss_fn, forward)
            if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
                report._add(
                    "loss-no-grad",
                    "the loss has no gradient (no grad_fn), so backward() cannot train anything: it was computed "
                    "under torch.no_grad()/inference_mode(), or went through .item(), .detach(), numpy or a "
                    "float() on the way. Return the tensor straight from the loss function",
                )
                return
            if loss.numel() != 1:
                report._add(
                    "loss-not-scalar",
                    f"the loss has shape {tuple(loss.shape)}; backward() needs one number: "
                    "reduce it with .mean() or .sum()",
                )
                return
            value = float(loss.detach())
            losses.append(value)
            if not math.isfinite(value):
                report._add(
                    "loss-nonfinite",
                    f"the loss is {value} at step {index + 1}: look for log(0), a division by zero, inputs with "
                    "NaN in the data, or a learning rate so high the first step diverges",
                )
                return
            loss.backward()
        except Exception as error:  # noqa: BLE001 - a failing step is a finding
            if _is_oom(torch, error):
                _oom(torch, report, model, batch, error)
            else:
                report._add("step-error", f"the training step raised {type(error).__name__}: {error}")
            return
        if index == 0 and not _check_grads(torch, report, named):
            return
        try:
            optimizer.step()
        except Exception as error:  # noqa: BLE001
            if _is_oom(torch, error):
                _oom(torch, report, model, batch, error)
            else:
                report._add("step-error", f"optimizer.step() raised {type(error).__name__}: {error}")
            return
    unchanged = [name for name, p in named if torch.equal(p.detach().to("cpu"), before[name])]
    if named and len(unchanged) == len(named):
        cause = (
            " (the learning rate is 0)"
            if "lr-zero" in report
            else " (the gradients are all zero)"
            if "grads-zero" in report
            else ""
        )
        report._add(
            "params-unchanged",
            f"{steps} optimizer step{'s' * (steps > 1)} left every parameter unchanged{cause}: "
            "check that the optimizer "
            "was built from this model's parameters (not a copy made before .to(device) or a re-created model)",
        )
    shown = ", ".join(f"{v:.4g}" for v in losses)
    report.notes.append(
        f"{steps} training step{'s' * (steps > 1)} in {time.perf_counter() - started:.2f}s, loss {shown}"
    )


def _check_grads(torch, report: Report, named: list) -> bool:
    """Gradient checks after the first backward; False when stepping on makes no sense."""
    missing = [name for name, p in named if p.grad is None]
    present = [(name, p.grad) for name, p in named if p.grad is not None]
    if missing:
        report._add(
            "params-no-grad",
            f"{len(missing)} of {len(named)} trainable parameters got no gradient: {_names(missing)}. "
            "If they should learn, the loss must depend on them (a layer unused in forward(), an output left "
            "out of the loss); if not, set requires_grad=False on them",
            WARNING,
        )
    nonfinite = [name for name, grad in present if not bool(torch.isfinite(grad).all())]
    if nonfinite:
        report._add(
            "grads-nonfinite",
            f"NaN or infinite gradients in {_names(nonfinite)}: look for sqrt or log at 0, a division by a "
            "value that can be 0, or overflow in float16 (use a GradScaler or bfloat16)",
        )
        return False
    if present and all(not bool(grad.any()) for _, grad in present):
        report._add(
            "grads-zero",
            "every gradient is exactly zero, so no step changes the model: the loss may not depend on the "
            "output (a constant, a detached target swapped for the output), or activations are saturated/dead",
        )
    return True


def _oom(torch, report: Report, model, batch, error: BaseException) -> None:
    size = _batch_size(batch)
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()
    figures = _memory_figures(torch, model)
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    report._add(
        "oom",
        f"out of memory in the training step with batch size {size} ({first_line}); {figures}. Halve the batch "
        "size (and accumulate gradients to keep the effective size), use torch.autocast for mixed precision, or "
        "activation checkpointing",
    )
