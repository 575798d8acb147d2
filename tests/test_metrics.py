"""Metrics: what may be logged, when it is read, and how it is shown."""

import io
import sys
import weakref

import pytest

import trainbar
from trainbar.core import history as _history
from trainbar.core import metrics as _metrics
from trainbar.core.metrics import OnDevice, render

from conftest import FakeTerminal


def texts(bar, final=False) -> dict:
    """What a frame shows; ``final`` as the closing line does, after the closing thread settled it."""
    if final:
        _metrics.settle(bar)
    return dict(render(bar))


@pytest.fixture
def fresh_warnings(monkeypatch):
    """Each test sees the once-per-metric NaN warning afresh."""
    monkeypatch.setattr(_metrics, "_warned_names", set())


def test_python_values_are_shown_compactly():
    """Floats with four significant digits at a stable width; ints, bools and text as they are."""
    b = trainbar.bar(total=3, file=io.StringIO())
    b.log(loss=0.5, small=1.5e-5, step=3, ok=True, name="resnet")
    assert texts(b) == {"loss": "0.5000", "small": "1.500e-5", "step": "3", "ok": "True", "name": "resnet"}


def test_numpy_scalars_and_arrays():
    """numpy scalars keep their kind; arrays that are not 0-d are shown as their mean."""
    np = pytest.importorskip("numpy")
    b = trainbar.bar(total=3, file=io.StringIO())
    b.log(f=np.float32(0.25), i=np.int64(7), a=np.array([1.0, 3.0]), z=np.array(5))
    assert texts(b) == {"f": "0.2500", "i": "7", "a": "2.000", "z": "5"}


def test_cpu_tensors_scalars_and_means():
    """0-d tensors as their value; others as their mean (integer tensors too)."""
    torch = pytest.importorskip("torch")
    b = trainbar.bar(total=3, file=io.StringIO())
    b.log(loss=torch.tensor(0.25), vec=torch.tensor([1.0, 2.0, 6.0]), ints=torch.tensor([1, 2]), n=torch.tensor(7))
    assert texts(b) == {"loss": "0.2500", "vec": "3.000", "ints": "1.500", "n": "7"}


def test_tensors_are_detached_when_logged():
    """A loss with a gradient is stored detached, so the bar never holds its autograd graph."""
    torch = pytest.importorskip("torch")
    x = torch.ones(3, requires_grad=True)
    loss = (x * 2).sum()
    b = trainbar.bar(total=3, file=io.StringIO())
    b.update(1, loss=loss)
    stored = b.metrics["loss"]
    assert not stored.requires_grad and stored.grad_fn is None
    assert texts(b) == {"loss": "6.000"}


def test_callables_are_called_at_each_frame_only(manual):
    """A zero-argument callable is called once per frame, never when it is logged."""
    clock, display = manual
    calls = []

    def lr():
        calls.append(1)
        return 0.001

    b = trainbar.bar(total=100, file=FakeTerminal(120))
    for _ in range(50):
        b.update(1, lr=lr)
    assert calls == []
    display.tick()
    display.tick()
    assert len(calls) == 2


def test_tensor_reads_happen_at_render_cadence_not_per_step(manual):
    """1000 logged tensors and 10 frames: one read per frame (and one for the closing line)."""
    torch = pytest.importorskip("torch")
    reading = {torch.Tensor.item, torch.Tensor.tolist, torch.Tensor.cpu, torch.Tensor.__float__, torch.Tensor.__format__}

    class Counting(torch.Tensor):
        reads = 0

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func in reading:
                Counting.reads += 1
            return super().__torch_function__(func, types, args, kwargs or {})

    clock, display = manual
    start = torch.tensor(2.0).as_subclass(Counting)
    term = FakeTerminal(120)
    b = trainbar.bar(total=1000, desc="train", file=term)
    frames = 0
    for step in range(1000):
        loss = start / (step + 1)
        assert isinstance(loss, Counting)
        b.update(1, loss=loss)
        if step % 100 == 99:
            clock.advance(0.1)
            display.tick()
            frames += 1
    assert Counting.reads == frames == 10
    b.close()
    assert Counting.reads == frames + 1
    assert "loss=0.002000" in term.getvalue()


def test_nan_and_inf_are_shown_with_one_warning_per_name(fresh_warnings):
    """nan and inf are shown as such; each metric name is warned about once."""
    first = trainbar.bar(total=3, file=io.StringIO())
    second = trainbar.bar(total=3, file=io.StringIO())
    first.log(loss=float("nan"), grad=float("-inf"))
    second.log(loss=float("inf"))
    with pytest.warns(RuntimeWarning) as caught:
        assert texts(first) == {"loss": "nan", "grad": "-inf"}
        assert texts(first) == {"loss": "nan", "grad": "-inf"}
        assert texts(second) == {"loss": "inf"}
    assert sorted(str(w.message).split("'")[1] for w in caught) == ["grad", "loss"]


def test_closing_line_shows_the_last_logged_values(manual):
    """Values logged after the last periodic line appear in the closing line."""
    clock, display = manual
    stream = io.StringIO()
    b = trainbar.bar(total=10, desc="fit", file=stream)
    for i in range(10):
        clock.advance(1.0)
        b.update(1, loss=1.0 / (i + 1))
    b.close()
    assert stream.getvalue().splitlines()[-1].endswith("loss=0.1000 done")


def test_tqdm_postfix_tensors_are_detached_and_shown_as_tqdm_does():
    """set_postfix(loss=tensor) stores it detached and shows it in tqdm's compact form."""
    torch = pytest.importorskip("torch")
    x = torch.tensor(0.25, requires_grad=True)
    t = trainbar.tqdm(total=3, file=io.StringIO())
    t.set_postfix(loss=x * 2)
    assert not t._metrics["loss"].requires_grad
    assert t.postfix == "loss=0.5"


# --- CUDA values, with the device copy replaced by a fake the test completes -----------------


class FakeTensor:
    """Stands in for a CUDA tensor: only its version counter is looked at."""

    def __init__(self, value: float) -> None:
        self.value = value
        self._version = 0


class FakeRead:
    """A device copy in flight, finished when the test says so."""

    made: list = []

    def __init__(self, tensor, stream, buffer=None) -> None:
        self.tensor, self.buffer, self.finished, self.waited = tensor, "pinned", False, False
        FakeRead.made.append(self)

    def done(self) -> bool:
        return self.finished

    def wait(self) -> None:
        self.waited = self.finished = True

    def value(self):
        return self.tensor.value


@pytest.fixture
def fake_device(monkeypatch):
    FakeRead.made = []
    monkeypatch.setattr(_metrics, "DeviceRead", FakeRead)
    monkeypatch.setattr(_metrics, "_service_wanted", False)
    monkeypatch.setattr(_metrics, "_waiting", weakref.WeakSet())
    monkeypatch.setitem(sys.modules, "torch", FakeTorch)  # service() asks about graph capture
    return FakeRead.made


class FakeTorch:
    """Just enough of torch for service(): no graph capture is ever underway."""

    class cuda:  # noqa: N801
        @staticmethod
        def is_current_stream_capturing() -> bool:
            return False

    class Tensor:  # nothing logged in these tests is a real tensor
        pass


def device_value(value: float) -> OnDevice:
    return OnDevice(FakeTensor(value), None)


def test_frames_never_touch_the_device(fake_device):
    """Drawing only asks: the copy is started by the training thread's next log call."""
    b = trainbar.bar(total=3, file=io.StringIO())
    b.log(loss=device_value(1.0))
    for _ in range(3):
        assert texts(b) == {"loss": _metrics.PENDING}
    assert fake_device == []
    b.log(step=1)
    assert len(fake_device) == 1


def test_device_value_is_shown_once_its_copy_is_done(fake_device):
    """Until the copy's event completes the frame shows the previous value (first: a pending mark)."""
    b = trainbar.bar(total=3, file=io.StringIO())
    b.log(loss=device_value(1.0))
    texts(b)
    b.log(step=1)  # the training thread starts the copy
    assert texts(b)["loss"] == _metrics.PENDING
    fake_device[0].finished = True
    b.log(step=2)  # ... and lands it once the event says it is done
    assert texts(b)["loss"] == "1.000"


def test_a_copy_lands_at_the_first_log_call_after_it_is_done(fake_device):
    """While a copy is out, every log call polls it: the very next frame shows the value."""
    b = trainbar.bar(total=3, file=io.StringIO())
    b.log(loss=device_value(1.0))
    texts(b)  # the only frame before the value is shown
    b.log(step=1)  # starts the copy
    b.log(step=2)  # polls: not done yet
    fake_device[0].finished = True
    b.log(step=3)  # polls: done, lands
    assert texts(b)["loss"] == "1.000"


def test_one_device_copy_in_flight_per_metric(fake_device):
    """Values logged while a copy is in flight wait for it: no copy is ever overwritten."""
    b = trainbar.bar(total=3, file=io.StringIO())
    b.log(loss=device_value(1.0))
    texts(b)
    b.log(loss=device_value(2.0))
    texts(b)
    b.log(loss=device_value(3.0))
    assert len(fake_device) == 1 and fake_device[0].tensor.value == 2.0  # the latest when asked
    fake_device[0].finished = True
    texts(b)
    b.log(step=1)  # lands 2.0 and starts copying the latest value, 3.0
    assert texts(b) == {"loss": "2.000", "step": "1"}
    assert len(fake_device) == 2 and fake_device[1].tensor.value == 3.0
    fake_device[1].finished = True
    b.log(step=2)
    assert texts(b)["loss"] == "3.000"


def test_an_unchanged_device_value_is_copied_once(fake_device):
    """The same tensor, unchanged, is not copied again at every frame; changed in place, it is."""
    b = trainbar.bar(total=3, file=io.StringIO())
    logged = device_value(1.0)
    b.log(loss=logged)
    for step in range(5):
        texts(b)
        b.log(step=step)
        fake_device[-1].finished = True
    assert len(fake_device) == 1
    logged.tensor._version += 1
    texts(b)
    b.log(step=5)
    assert len(fake_device) == 2


def test_the_closing_line_waits_for_the_last_device_value(fake_device):
    """At close the last logged value is read to the end: the final line is exact."""
    stream = io.StringIO()
    b = trainbar.bar(total=3, file=stream)
    b.log(loss=device_value(1.0))
    texts(b)
    b.log(loss=device_value(0.5))
    b.close()
    assert all(read.waited for read in fake_device)
    assert stream.getvalue().splitlines()[-1].endswith("loss=0.5000 done")


def test_nothing_is_copied_while_a_graph_is_being_captured(fake_device, monkeypatch):
    """A log call inside a CUDA graph capture leaves the copies for the next call outside it."""
    b = trainbar.bar(total=3, file=io.StringIO())
    b.log(loss=device_value(1.0))
    texts(b)
    monkeypatch.setattr(FakeTorch.cuda, "is_current_stream_capturing", staticmethod(lambda: True))
    b.log(step=1)
    assert fake_device == []
    monkeypatch.setattr(FakeTorch.cuda, "is_current_stream_capturing", staticmethod(lambda: False))
    b.log(step=2)
    assert len(fake_device) == 1


# --- history and the sparkline ------------------------------------------------------------


def test_history_gets_a_point_per_newly_logged_value(fresh_warnings):
    """A value logged once is one point however many frames show it; non-finite ones none."""
    b = trainbar.bar(total=3, file=io.StringIO())
    with pytest.warns(RuntimeWarning, match="nan"):
        for value in (3.0, 2.0, float("nan"), 1.0):
            b.log(loss=value, lr=0.1)
            texts(b)
            texts(b)
    assert _history.history(b)["loss"] == [3.0, 2.0, 1.0]
    assert _history.history(b)["lr"] == [0.1]


def test_history_stays_bounded_and_spans_the_whole_run():
    """10,000 points fold into at most MAX_POINTS means, the first still the run's start."""
    series = _history.Series()
    for i in range(10_000):
        series.add(float(i))
    assert len(series.points) <= _history.MAX_POINTS
    assert series.points[0] < 100 and series.points[-1] > 9_000


def test_terminal_line_shows_a_sparkline_of_the_loss(manual, monkeypatch):
    """On a terminal the loss is followed by its trend in block characters; logs never get it."""
    monkeypatch.setenv("COLUMNS", "120")
    clock, display = manual
    term, log = FakeTerminal(), io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=term)
    other = trainbar.bar(total=100, desc="log", file=log)
    for i in range(20):
        clock.advance(0.1)
        b.update(1, loss=20.0 - i)
        other.update(1, loss=20.0 - i)
        display.tick()
    assert "loss=1.000 █▇▆▅▄▃▂▁" in display.channels()[0].region.lines[0]
    other.close()
    assert not set("▁▂▃▄▅▆▇█") & set(log.getvalue())


def test_sparkline_goes_before_the_bar_graphic_when_narrow(manual, monkeypatch):
    """On a narrow terminal the sparkline is dropped so the bar graphic keeps its room."""
    monkeypatch.setenv("COLUMNS", "70")  # room for the graphic, or for the sparkline, not both
    clock, display = manual
    term = FakeTerminal()
    b = trainbar.bar(total=100, desc="train", file=term)
    for i in range(20):
        clock.advance(0.1)
        b.update(1, loss=20.0 - i)
        display.tick()
    frame = display.channels()[0].region.lines[0]
    assert frame.count("|") == 2 and "▁" not in frame


# --- units ------------------------------------------------------------------------------


def test_unit_scale_gives_samples_per_second(manual):
    """Updating by the batch size with unit="samples" shows samples per second."""
    clock, display = manual
    stream = io.StringIO()
    b = trainbar.bar(total=64_000, unit="samples", unit_scale=True, file=stream)
    for _ in range(20):
        clock.advance(0.1)
        b.update(64)
        display.tick()
    b.close()
    assert "640samples/s" in stream.getvalue().splitlines()[-1]


def test_unit_scale_gives_tokens_per_second(manual):
    """Updating by the token count with unit="tok" shows an SI-scaled token rate."""
    clock, display = manual
    stream = io.StringIO()
    b = trainbar.bar(total=10**9, unit="tok", unit_scale=True, file=stream)
    for _ in range(20):
        clock.advance(0.1)
        b.update(20_480)
        display.tick()
    b.close()
    assert "205ktok/s" in stream.getvalue().splitlines()[-1]
