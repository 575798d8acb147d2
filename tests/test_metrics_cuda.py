"""CUDA metrics: read through pinned memory and an event, never a synchronisation.

Skipped without a CUDA device; these checks never gate CI. The throughput comparison (no bar,
tqdm with ``.item()``, trainbar with tensors) is ``benchmarks/metrics_sync.py``.
"""

import io
import threading
import time

import pytest

import trainbar
from trainbar.core import metrics as _metrics

from conftest import FakeTerminal

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture
def sync_is_an_error():
    """Any host-device synchronisation inside the test raises."""
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode("default")


def train_step(x):
    y = x @ x
    return y.mean(), (y > 0).float().mean(), y[0]


def test_logging_and_drawing_cuda_metrics_never_synchronise(manual, sync_is_an_error):
    """1000 steps logging CUDA tensors, a frame every 10 steps: no sync, no unreadable value."""
    clock, display = manual
    b = trainbar.bar(total=1000, desc="train", file=FakeTerminal())
    x = torch.randn(256, 256, device="cuda")
    for step in range(1000):
        loss, acc, row = train_step(x)
        b.update(1, loss=loss, acc=acc, row=row)
        if step % 10 == 9:
            clock.advance(0.1)
            display.tick()
            assert "?" not in dict(_metrics.render(b)).values()  # a raised sync would show as "?"
    assert b._channel is not None  # the terminal channel never failed


def test_the_host_buffer_is_pinned(manual):
    """The copy's destination is pinned memory (a pageable one would copy synchronously)."""
    b = trainbar.bar(total=10, file=io.StringIO())
    b.log(loss=torch.tensor(0.5, device="cuda"))
    _metrics.render(b)  # the frame asks for a copy...
    b.log(step=1)  # ...which the training thread's next log call starts
    assert b._readout.slots["loss"].buffer.is_pinned()


def test_a_value_is_shown_once_the_device_has_caught_up(manual):
    """After the device finishes, the next frames show the exact logged value."""
    b = trainbar.bar(total=10, file=io.StringIO())
    loss = torch.tensor(0.123456, device="cuda")
    b.log(loss=loss)
    _metrics.render(b)
    b.log(step=1)  # starts the copy
    torch.cuda.synchronize()
    _metrics.render(b)
    b.log(step=2)  # lands it
    assert dict(_metrics.render(b))["loss"] == "0.1235"


def test_the_closing_line_shows_the_last_cuda_value(manual):
    """Closing waits for the last logged value's copy: the final line is exact."""
    stream = io.StringIO()
    b = trainbar.bar(total=100, desc="fit", file=stream)
    x = torch.randn(512, 512, device="cuda")
    for _ in range(100):
        loss, _, _ = train_step(x)
        b.update(1, loss=loss)
    expected = _format_expected(loss)
    b.close()
    assert stream.getvalue().splitlines()[-1].endswith(f"loss={expected} done")


def test_a_value_made_on_a_side_stream_is_copied_on_that_stream(manual):
    """A tensor logged inside ``torch.cuda.stream(s)`` is read after the kernels that made it."""
    side = torch.cuda.Stream()
    b = trainbar.bar(total=10, file=io.StringIO())
    with torch.cuda.stream(side):
        big = torch.randn(2048, 2048, device="cuda")
        value = (big @ big).abs().mean() * 0 + 7.0
        b.log(loss=value)
        assert _metrics.as_stream(torch, b._metrics["loss"].stream, value) == side
    b.close()
    assert _metrics.render(b) == (("loss", "7.000"),)


def test_the_display_thread_makes_no_cuda_call(monkeypatch):
    """Frames only ask; every CUDA call of the readout happens in the training thread's log."""
    made_on = []
    real = _metrics.DeviceRead

    def spy(*args, **kwargs):
        made_on.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(_metrics, "DeviceRead", spy)
    term = FakeTerminal()
    b = trainbar.bar(total=100, file=term)  # a real display thread this time
    x = torch.randn(64, 64, device="cuda")
    for _ in range(100):
        b.update(1, loss=(x @ x).mean())
        time.sleep(0.01)  # real time: the display thread draws about ten frames
    b.close()
    assert made_on and set(made_on) == {threading.main_thread().name}


def test_cuda_tensors_with_gradients_are_detached(manual):
    """The bar never holds a CUDA autograd graph."""
    w = torch.ones(4, device="cuda", requires_grad=True)
    b = trainbar.bar(total=10, file=io.StringIO())
    b.log(loss=(w * 3).sum())
    assert b.metrics["loss"].grad_fn is None


def _format_expected(tensor) -> str:
    from trainbar.render import fmt as _format

    return _format.number(tensor.item())
