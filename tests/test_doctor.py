"""trainbar.doctor on tiny CPU models: one planted fault per finding code, and a clean bill."""

import subprocess
import sys
import threading

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torch.utils.data import DataLoader, Dataset, TensorDataset  # noqa: E402

from trainbar import doctor  # noqa: E402


def data(n=16):
    generator = torch.Generator().manual_seed(0)
    return TensorDataset(torch.randn(n, 4, generator=generator), torch.randn(n, 1, generator=generator))


def setup(lr=0.1, model=None):
    torch.manual_seed(0)
    model = model if model is not None else nn.Linear(4, 1)
    return dict(model=model, loader=DataLoader(data(), batch_size=4), loss_fn=F.mse_loss, optimizer=torch.optim.SGD(model.parameters(), lr=lr))


class TwoHeads(nn.Module):
    """A model whose second head is never used in forward()."""

    def __init__(self):
        super().__init__()
        self.used = nn.Linear(4, 1)
        self.unused = nn.Linear(4, 1)

    def forward(self, x):
        return self.used(x)


class Failing(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        raise FileNotFoundError("/data/shard-07.tar")


class Blocking(Dataset):
    def __init__(self, release):
        self.release = release

    def __len__(self):
        return 4

    def __getitem__(self, index):
        self.release.wait(30)
        return torch.zeros(4), torch.zeros(1)


class HugeActivations(nn.Module):
    """Asks the allocator for petabytes in forward(): a real out-of-memory error, nothing used."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 1)

    def forward(self, x):
        x.new_empty(x.shape[0] << 48)
        return self.layer(x)


def test_healthy_setup_is_ok_and_says_what_it_checked():
    """A working setup: ok, no problems, and the notes say a step ran."""
    report = doctor.check(**setup())
    assert report.ok and report.problems == []
    assert str(report).startswith("trainbar doctor: no problem found")
    assert "1 training step in" in str(report)


def test_model_and_optimizer_are_put_back_as_they_were():
    """After the check, parameters, optimizer state, gradients and mode are unchanged."""
    kwargs = setup(lr=0.5)
    kwargs["optimizer"] = torch.optim.Adam(kwargs["model"].parameters(), lr=0.5)
    model, optimizer = kwargs["model"], kwargs["optimizer"]
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    report = doctor.check(**kwargs, steps=3)
    assert report.ok
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert optimizer.state_dict()["state"] == {}
    assert all(p.grad is None for p in model.parameters())
    assert not model.training
    assert torch.equal(torch.get_rng_state(), rng)


def test_loader_empty():
    """A loader that yields nothing is `loader-empty`."""
    report = doctor.check(**{**setup(), "loader": DataLoader([], batch_size=4)})
    assert report.codes == ["loader-empty"] and not report.ok


def test_loader_error_names_the_exception():
    """A loader that raises is `loader-error`, with the exception in the message."""
    report = doctor.check(**{**setup(), "loader": DataLoader(Failing(), batch_size=2)})
    assert report.codes == ["loader-error"]
    assert "FileNotFoundError: /data/shard-07.tar" in report["loader-error"].message


def test_loader_timeout():
    """No batch within `timeout` seconds is `loader-timeout`, and the check returns."""
    release = threading.Event()
    try:
        report = doctor.check(**{**setup(), "loader": DataLoader(Blocking(release), batch_size=2)}, timeout=0.2)
    finally:
        release.set()
    assert report.codes == ["loader-timeout"]
    assert "within 0.2s" in report["loader-timeout"].message and "DataLoader(timeout=" in report["loader-timeout"].message


def test_no_trainable_params():
    """A fully frozen model is `no-trainable-params`."""
    kwargs = setup()
    kwargs["model"].requires_grad_(False)
    assert "no-trainable-params" in doctor.check(**kwargs)


def test_lr_zero():
    """A learning rate of 0 is `lr-zero` (and the step leaves the parameters unchanged)."""
    report = doctor.check(**setup(lr=0.0))
    assert report.codes == ["lr-zero", "params-unchanged"]
    assert "(the learning rate is 0)" in report["params-unchanged"].message


def test_loss_no_grad():
    """A loss computed without autograd is `loss-no-grad`."""
    report = doctor.check(**{**setup(), "loss_fn": lambda output, target: F.mse_loss(output.detach(), target)})
    assert report.codes == ["loss-no-grad"]


def test_loss_nonfinite():
    """A NaN loss is `loss-nonfinite`."""
    report = doctor.check(**{**setup(), "loss_fn": lambda output, target: (output - target).pow(2).mean() * float("nan")})
    assert report.codes == ["loss-nonfinite"]
    assert "nan" in report["loss-nonfinite"].message


def test_params_no_grad_names_them():
    """Parameters that get no gradient are named, as a warning."""
    report = doctor.check(**setup(model=TwoHeads()))
    assert report.codes == ["params-no-grad"] and report.ok
    finding = report["params-no-grad"]
    assert finding.severity == "warning" and "unused.weight, unused.bias" in finding.message


def test_grads_zero():
    """A loss that does not depend on the output's value gives `grads-zero`."""
    report = doctor.check(**{**setup(), "loss_fn": lambda output, target: (output * 0).sum() + 1.0})
    assert report.codes == ["grads-zero", "params-unchanged"]


def test_grads_nonfinite():
    """sqrt at 0 gives infinite gradients: `grads-nonfinite`, naming the parameters."""
    report = doctor.check(**{**setup(), "loss_fn": lambda output, target: (output - output.detach()).sqrt().sum()})
    assert report.codes == ["grads-nonfinite"]
    assert "weight" in report["grads-nonfinite"].message


def test_params_unchanged_when_the_optimizer_holds_other_parameters():
    """An optimizer built on another model's parameters: `params-unchanged`."""
    kwargs = setup()
    kwargs["optimizer"] = torch.optim.SGD(nn.Linear(4, 1).parameters(), lr=0.1)
    report = doctor.check(**kwargs)
    assert report.codes == ["params-unchanged"]


def test_out_of_memory_gives_batch_size_and_memory():
    """A real allocation failure in forward() is `oom`, with the batch size and memory figures."""
    report = doctor.check(**setup(model=HugeActivations()))
    assert report.codes == ["oom"]
    message = report["oom"].message
    assert "batch size 4" in message and "process RSS" in message and "Halve the batch size" in message


def test_report_prints_each_problem_with_its_code():
    """str(report) lists every problem: severity, code and what to do."""
    text = str(doctor.check(**setup(lr=0.0)))
    assert text.splitlines()[0] == "trainbar doctor: 2 problems (2 errors)"
    assert "  error   lr-zero: the learning rate is 0" in text


def test_dict_batches_go_to_the_model_as_keywords():
    """A dict batch is passed as keywords, and the output's loss is used (Hugging Face style)."""

    class WithLoss(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 1)

        def forward(self, x, y):
            return {"loss": F.mse_loss(self.layer(x), y)}

    model = WithLoss()
    batches = [{"x": torch.randn(2, 4), "y": torch.randn(2, 1)}]
    report = doctor.check(model=model, loader=batches, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert report.ok and "1 training step in" in str(report)


def test_bad_arguments_are_refused_naming_them():
    """Wrong types raise at the call, naming the argument."""
    with pytest.raises(TypeError, match="model"):
        doctor.check(model="resnet")
    with pytest.raises(ValueError, match="timeout"):
        doctor.check(**setup(), timeout=0)
    with pytest.raises(ValueError, match="steps"):
        doctor.check(**setup(), steps=0)


def test_without_torch_the_error_names_the_extra():
    """Where PyTorch is missing, the error says how to install it (its CPU build), not a
    'trainbar[torch]' extra that no package index has."""
    code = "import sys; sys.modules['torch'] = None\nimport trainbar.doctor\ntrainbar.doctor.check()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "download.pytorch.org/whl/cpu" in result.stderr and "'trainbar[" not in result.stderr


def test_loss_not_scalar():
    """A loss left unreduced is `loss-not-scalar`, with its shape."""
    report = doctor.check(**{**setup(), "loss_fn": lambda output, target: (output - target) ** 2})
    assert report.codes == ["loss-not-scalar"] and "(4, 1)" in report["loss-not-scalar"].message


def test_step_error_names_the_exception():
    """Any other failure in the step is `step-error`, with the exception."""
    report = doctor.check(**{**setup(), "loss_fn": lambda output, target: output @ torch.ones(3, 3)})
    assert report.codes == ["step-error"]
    assert report["step-error"].message.startswith("the training step raised RuntimeError: mat1 and mat2 shapes")
