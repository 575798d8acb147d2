"""Metric values: kept by reference on the training thread, read only when a frame is drawn.

A user may log Python numbers, numpy scalars and arrays, torch tensors on any device, and
zero-argument callables (called when a frame is drawn). Nothing here imports torch or numpy: a
tensor is recognised through ``sys.modules``, which has torch only if the program imported it.

The training thread pays for ``keep`` only: a dict store; for a tensor that carries a gradient,
``detach()`` (kept attached, it would hold its whole autograd graph alive); for a CUDA tensor,
the stream it was made on. No kernel is launched and nothing is read.

A frame reads each value through the bar's ``Readout``:

* numbers as they are; numpy values through ``item()``; CPU tensors through ``item()``;
* a value that is not 0-d (array or tensor) is shown as its mean;
* CUDA tensors are never read on the spot: the frame enqueues a non-blocking copy into pinned
  host memory and records an event on the stream the tensor was logged from, and a later frame
  shows the value once ``event.query()`` says the copy is done (the previous value meanwhile).
  This adds no synchronisation. The one wait is on purpose: a bar's closing line completes the
  read of the last logged value, so the final line is exact (once per bar, never per step);
* other accelerators (MPS, XPU, ...) are read with ``item()`` when drawn: at most once per
  redraw, on the display thread; XLA and lazy tensors only on the closing line, because reading
  one forces the pending graph to run.

NaN and inf are shown as such, with one warning per metric name.
"""

from __future__ import annotations

import math
import sys
import threading

from . import _env, _format
from ._history import Series

_PLAIN = frozenset((float, int, str, bool))
_NOTHING = object()
PENDING = "…"  # a device value whose first copy has not landed yet
_DEFERRED_DEVICES = frozenset(("xla", "lazy", "meta"))
_warned_names: set = set()


class OnDevice:
    """A CUDA tensor as logged, with the stream it was logged from."""

    __slots__ = ("tensor", "stream")

    def __init__(self, tensor, stream) -> None:
        self.tensor = tensor
        self.stream = stream


# --- the training thread ----------------------------------------------------------------------


def keep(store: dict, metrics: dict) -> None:
    """Store ``metrics`` into ``store`` by reference: the only metric work on the hot path."""
    for name, value in metrics.items():
        if value.__class__ not in _PLAIN:
            value = _hold(value)
        store[name] = value


def _hold(value):
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return value
    if value.requires_grad:
        value = value.detach()
    if value.is_cuda:
        # The frame that reads it runs on another thread, whose current stream is not ours.
        return OnDevice(value, torch.cuda.current_stream(value.device))
    return value


def logged(store: dict) -> dict:
    """The metrics as the user logged them (tensors detached), for ``Bar.metrics``."""
    return {name: value.tensor if isinstance(value, OnDevice) else value for name, value in list(store.items())}


# --- reading, at draw time -------------------------------------------------------------------


class Readout:
    """What a bar's frames know about its metrics: the value shown, reads in flight, history."""

    __slots__ = ("lock", "slots", "series")

    def __init__(self) -> None:
        self.lock = threading.Lock()  # the display and a user's tqdm.postfix may read at once
        self.slots: dict = {}
        self.series: dict = {}


class _Slot:
    __slots__ = ("source", "version", "shown", "read", "buffer")

    def __init__(self) -> None:
        self.source = _NOTHING  # the logged object last read (or being read)
        self.version = None  # a tensor's version counter when read: in-place updates count as new
        self.shown = _NOTHING
        self.read = None  # a DeviceRead in flight
        self.buffer = None  # its pinned host buffer, reused


def render(bar, final: bool = False) -> tuple:
    """(name, text) pairs for every metric of ``bar``; a value that fails to read shows as ``?``.

    ``final``: the bar's closing line, which completes reads still in flight.
    """
    readout = bar._readout
    stable = getattr(type(bar), "_stable_numbers", True)
    out = []
    with readout.lock:
        for name, value in list(bar._metrics.items()):
            name = str(name)
            try:
                shown = _read(readout, name, value, final)
                text = PENDING if shown is _NOTHING else _format.number(shown, stable)
            except Exception:  # noqa: BLE001 - a broken metric must not break the frame
                text = "?"
            out.append((_format.sanitize(name), text))
    return tuple(out)


def series(bar) -> tuple:
    """(name, points) for each metric with a history, for renderers (sparklines)."""
    readout = bar._readout
    with readout.lock:
        return tuple(
            (_format.sanitize(name), tuple(s.points)) for name, s in readout.series.items() if len(s.points) > 1
        )


def _read(readout: Readout, name: str, value, final: bool):
    slot = readout.slots.get(name)
    if slot is None:
        slot = readout.slots[name] = _Slot()
    if callable(value) and not hasattr(value, "__float__") and not isinstance(value, OnDevice):
        value = value()  # a fresh reading at every frame
        if _is_device_tensor(value):
            value = OnDevice(value.detach(), None)
    if isinstance(value, OnDevice):
        return _read_device(readout, name, slot, value, final)
    if value.__class__ in _PLAIN:
        shown = value
    else:
        shown = plain(value, final)
    if value is not slot.source or slot.source is _NOTHING:
        slot.source = value
        _note(readout, name, shown)
    slot.shown = shown
    return shown


def _read_device(readout: Readout, name: str, slot: _Slot, value: OnDevice, final: bool):
    read = slot.read
    if read is not None:
        if final:
            read.wait()
        if read.done():
            slot.read = None
            slot.shown = read.value()
            _note(readout, name, slot.shown)
    version = value.tensor._version
    if slot.read is None and (value is not slot.source or version != slot.version):
        slot.source, slot.version = value, version
        slot.read = DeviceRead(value.tensor, value.stream, slot.buffer)
        slot.buffer = slot.read.buffer
        if final:
            return _read_device(readout, name, slot, value, final)
    return slot.shown


def _note(readout: Readout, name: str, value) -> None:
    """A newly read value: into the history when it is a finite number, else maybe warned about."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    if math.isfinite(value):
        series = readout.series.get(name)
        if series is None:
            series = readout.series[name] = Series()
        series.add(float(value))
    elif name not in _warned_names:
        _warned_names.add(name)
        _env.warn(f"trainbar: metric {name!r} is {_format.number(value)}; shown as such (this warning is given once per metric)")


def plain(value, final: bool = False):
    """The plain Python value behind a logged metric (a number where there is one)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        if value.device.type in _DEFERRED_DEVICES and not final:
            return _NOTHING
        return reduced(value).item()
    if getattr(value, "ndim", 0) and callable(getattr(value, "mean", None)):
        value = value.mean()  # numpy (or any array library) arrays: shown as their mean
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        return item()  # numpy scalars and 0-d arrays: int stays int, float stays float
    if isinstance(value, (int, float, str)):
        return value
    if hasattr(value, "__float__"):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    return value


def reduced(tensor):
    """A 0-d tensor as it is; any other tensor as its mean (in float when it holds integers)."""
    tensor = tensor.detach()
    if tensor.dim() == 0:
        return tensor
    if not (tensor.is_floating_point() or tensor.is_complex()):
        tensor = tensor.float()
    return tensor.mean()


def _is_device_tensor(value) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor) and value.is_cuda


class DeviceRead:
    """One CUDA value on its way to the host: reduce, copy into pinned memory, record an event.

    Everything is enqueued on the stream the value was logged from, so the copy runs after the
    kernels that produced it, and nothing here waits for the device.
    """

    __slots__ = ("buffer", "event", "_source")

    def __init__(self, tensor, stream, buffer=None) -> None:
        torch = sys.modules["torch"]
        with torch.cuda.device(tensor.device):
            if stream is None:
                stream = torch.cuda.current_stream(tensor.device)
            with torch.cuda.stream(stream):
                value = reduced(tensor)
                if buffer is None or buffer.dtype != value.dtype:
                    buffer = torch.empty((), dtype=value.dtype, pin_memory=True)
                buffer.copy_(value, non_blocking=True)
                self.event = torch.cuda.Event()
                self.event.record(stream)
        self.buffer = buffer
        # The device memory the copy reads from must outlive the copy: held until it is done.
        self._source = value

    def done(self) -> bool:
        if self.event.query():
            self._source = None
            return True
        return False

    def wait(self) -> None:
        self.event.synchronize()

    def value(self):
        return self.buffer.item()  # host memory: no device synchronisation
