"""Metric values: kept by reference on the training thread, read only when a frame is drawn.

A user may log Python numbers, numpy scalars and arrays, torch tensors on any device, and
zero-argument callables. Nothing here imports torch or numpy: a tensor is recognised through
``sys.modules``, which has torch only if the program imported it.

Callables are user code: ``refresh`` calls them on the display thread before each frame,
through a worker with a time budget (``callables.py``), and frames show the value it returned.
One that overruns or raises shows ``?``; a name whose callable overran is not called again, in
any bar of the process (one warning).
No other thread ever calls them, and no lock is held while one runs.

Every value is read and formatted on its own: one that fails (a ``__str__`` that raises, an
integer too large for a float) shows ``?`` and leaves the others, and the frame, alone.

A frame reads each value through the bar's ``Readout``:

* numbers as they are; numpy values and CPU tensors through ``item()``;
* a value that is not 0-d (an array, a per-sample loss) is shown as its mean;
* other accelerators (MPS, XPU, ...) through ``item()`` when drawn: at most once per redraw,
  on the display thread; XLA and lazy tensors only on the closing line, because reading one
  forces the pending graph to run;
* NaN and inf are shown as such, with one warning per metric name.

CUDA tensors are never read on the spot, and the display thread never calls CUDA at all: a
CUDA call from another thread (even ``cudaEventQuery``) while the training thread captures a
CUDA graph in the default "global" mode breaks the capture (pytorch/pytorch#104555, the NCCL
watchdog's bug). Instead:

1. ``keep`` (the hot path) stores the detached tensor and the stream it was logged from;
2. a frame that finds a value not yet copied, or a copy in flight, raises a flag;
3. the next ``keep`` on the training thread sees the flag and calls ``service`` (unless a CUDA
   graph capture is underway there): a copy that is done (``event.query()``) lands as a Python
   number, and the latest logged value is reduced and copied, non-blocking, into pinned host
   memory, with an event recorded, on its stream. One copy per metric is in flight at a time;
4. while a copy is in flight, each further logging call polls its event, so it lands as soon as
   it is done and the next frame shows it (the previous number meanwhile): a value on screen is
   at most about one redraw old, unless the GPU runs that far behind the CPU.

No synchronisation, ever, and at most one copy per metric per frame. The one wait is on purpose:
a bar's closing line completes the last logged value's copy, so the final line is exact (once
per bar, never per step).
"""

from __future__ import annotations

import math
import sys
import threading
import weakref
from typing import Any

from trainbar._warnings import warn
from trainbar.core.callables import Overrun, caller
from trainbar.core.history import Series
from trainbar.render import fmt as _format

_PLAIN = frozenset((float, int, str, bool))
_NOTHING = object()
PENDING = "…"  # a device value whose first copy has not landed yet
_DEFERRED_DEVICES = frozenset(("xla", "lazy", "meta"))
MAX_NAME_CHARS = 64  # a metric name or text value is cut to this before anything measures it
MAX_TEXT_CHARS = 64
_warned_names: set = set()
_service_wanted = False  # a frame is waiting for device copies: the next keep() services them
_waiting: weakref.WeakSet = weakref.WeakSet()  # readouts with device copies to start or finish
_waiting_lock = threading.Lock()  # a WeakSet changed while another thread walks it raises


class OnDevice:
    """A CUDA tensor as logged, with the stream it was logged from (None: the current one)."""

    __slots__ = ("tensor", "stream")

    def __init__(self, tensor, stream) -> None:
        self.tensor = tensor
        self.stream = stream


# --- the training thread ----------------------------------------------------------------------


def keep(store: dict, metrics: dict) -> None:
    """Store ``metrics`` into ``store`` by reference: the only metric work on the hot path.

    A tensor that carries a gradient is detached (kept attached, it would hold its autograd graph
    alive); a CUDA tensor is kept with its stream. No kernel is launched, nothing is read.
    """
    for name, value in metrics.items():
        if value.__class__ not in _PLAIN:
            value = _hold(value)
        store[name] = value
    if _service_wanted:
        service()


def _hold(value):
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return value
    if value.requires_grad:
        value = value.detach()
    if value.is_cuda:
        return OnDevice(value, _current_stream(torch, value))
    return value


def _current_stream(torch, tensor):
    # The (id, device, type) triple behind torch.cuda.current_stream(), without building a
    # Stream object on every step: a tenth of the cost. The public call is the fallback.
    try:
        raw = getattr(torch._C, "_cuda_getCurrentStream", None)
        if raw is not None:
            return raw(tensor.get_device())
        return torch.cuda.current_stream(tensor.device)
    except Exception:  # noqa: BLE001 - the user's log call must not fail: copy on the current one
        return None


def service() -> None:
    """On the training thread: land the device copies that are done, start the ones wanted."""
    global _service_wanted
    _service_wanted = False
    try:
        torch = sys.modules.get("torch")
        if torch is None:
            return
        if torch.cuda.is_current_stream_capturing():
            _service_wanted = True  # nothing enqueued into a graph being captured: next time
            return
        with _waiting_lock:
            readouts = list(_waiting)
        for readout in readouts:
            with readout.lock:
                busy = False
                for name, slot in list(readout.slots.items()):
                    if slot.device:
                        busy = _advance(readout, name, slot, final=False) or busy
            if busy:
                # Polled again at the next log call, so a copy lands as soon as it is done and
                # the next frame shows it: one event query per step, only while a copy is out.
                _service_wanted = True
            else:
                with _waiting_lock:
                    _waiting.discard(readout)
    except Exception:  # noqa: BLE001 - this runs inside the user's log call: it must never raise
        pass


def _advance(readout: Readout, name: str, slot: _Slot, final: bool) -> bool:
    """Land the copy in flight if it is done (waiting for it when ``final``), then start a copy
    of the latest value if it has not been copied. True while a copy is in flight."""
    try:
        read = slot.read
        if read is not None:
            if final:
                read.wait()
            if read.done():
                slot.read = None
                slot.landed = read.value()
        latest = _latest(readout, name, slot)
        if slot.read is None and latest is not None:
            version = latest.tensor._version
            if latest is not slot.copied or version != slot.version:
                slot.copied, slot.version = latest, version
                slot.read = DeviceRead(latest.tensor, latest.stream, slot.buffer)
                slot.buffer = slot.read.buffer
                if final:
                    return _advance(readout, name, slot, final)
    except Exception:  # noqa: BLE001 - a failed copy must not reach training: the frame shows "?"
        slot.read = None
        slot.landed = _FAILED
    return slot.read is not None


def _latest(readout: Readout, name: str, slot: _Slot):
    """The newest device value for ``name``: as logged now, or as a callable last returned it."""
    bar = readout.bar()
    value = None if bar is None else bar._metrics.get(name)
    return value if isinstance(value, OnDevice) else slot.returned


def logged(store: dict) -> dict:
    """The metrics as the user logged them (tensors detached), for ``Bar.metrics``."""
    return {name: value.tensor if isinstance(value, OnDevice) else value for name, value in list(store.items())}


# --- reading, at draw time -------------------------------------------------------------------

_FAILED = object()  # a device copy that raised


class Readout:
    """What a bar's frames know about its metrics: the value shown, device copies, history."""

    __slots__ = ("lock", "slots", "series", "bar", "__weakref__")

    def __init__(self, bar: Any = None) -> None:
        self.lock = threading.Lock()  # the display, the training thread's service, tqdm.postfix
        self.slots: dict = {}
        self.series: dict = {}
        self.bar = weakref.ref(bar) if bar is not None else (lambda: None)

    def after_fork_in_child(self) -> None:
        self.lock = threading.Lock()


class _Slot:
    __slots__ = ("source", "shown", "device", "returned", "copied", "version", "read", "buffer", "landed", "called")

    def __init__(self) -> None:
        self.source = _NOTHING  # the logged object last read
        self.shown = _NOTHING
        self.device = False  # a CUDA value: copied by the training thread, never read here
        self.returned: OnDevice | None = None  # the CUDA value a callable last returned
        self.copied: OnDevice | None = None  # the device value last copied, and its version counter then
        self.version: Any = None
        self.read: DeviceRead | None = None  # the DeviceRead in flight
        self.buffer: Any = None  # its pinned host buffer, reused
        self.landed = _NOTHING  # a copied value, waiting for the next frame
        self.called: Any = _NOTHING  # what the callable returned at the last refresh (or its error)


# --- calling the callables, on the display thread -------------------------------------------

_overran: set[str] = set()  # names of callable metrics that overran their budget: never called again


def refresh(bar: Any) -> None:
    """Call ``bar``'s callable metrics, each within the budget, and keep what they return.

    The display thread calls this before a frame; nothing else calls a user's callable.
    """
    readout = bar._readout
    for name, value in list(bar._metrics.items()):
        if not _is_callable(value):
            continue
        name = str(name)
        slot = _slot(readout, name)
        if name in _overran:
            slot.called = Overrun()
            continue
        try:
            slot.called = caller().call(value)
        except Overrun as overrun:
            # By name, for the whole process: a loop logs a new lambda every step, and each
            # bar of each epoch would otherwise leave one more thread stuck in it.
            _overran.add(name)
            slot.called = overrun
            warn(f"trainbar: metric {_format.sanitize(name[:MAX_NAME_CHARS])!r} is a callable that took more than "
                 f"{caller().budget:g}s to return; it is shown as '?' and no longer called")  # fmt: skip
        except Exception as error:  # noqa: BLE001 - the frame shows "?" for this metric alone
            slot.called = error


def forget_overruns() -> None:
    """Call every callable metric again, those that overran included (for tests)."""
    _overran.clear()


def _is_callable(value: Any) -> bool:
    return callable(value) and not hasattr(value, "__float__") and not isinstance(value, OnDevice)


def _slot(readout: Readout, name: str) -> _Slot:
    slot = readout.slots.get(name)
    if slot is None:
        slot = readout.slots[name] = _Slot()
    return slot


def settle(bar: Any) -> None:
    """On the closing thread: read now what only a closing line reads, so the final line is
    exact whichever thread draws it. A CUDA value's last copy is completed (the one deliberate
    wait, once per bar); an XLA or lazy tensor is read (it runs the pending graph)."""
    readout = bar._readout
    if not bar._metrics:
        return
    torch = sys.modules.get("torch")
    try:
        with readout.lock:
            for name, value in list(bar._metrics.items()):
                name = str(name)
                slot = readout.slots.get(name)
                if isinstance(value, OnDevice) or (slot is not None and slot.device):
                    if slot is not None:
                        _advance(readout, name, slot, final=True)
                elif torch is not None and isinstance(value, torch.Tensor) and value.device.type in _DEFERRED_DEVICES:
                    slot = _slot(readout, name)
                    slot.source, slot.shown = value, reduced(value).item()
    except Exception:  # noqa: BLE001 - closing a bar must never fail; the line shows what it has
        pass


def _read_all(bar: Any) -> list:
    """(name, value) for every metric of ``bar``, read as a frame reads them: never a GPU sync,
    never a user's callable (``refresh`` did that). A value is the plain number or text,
    ``_NOTHING`` while a device copy is pending, or the exception that reading it raised."""
    readout = bar._readout
    final = bar._status != "running"
    out = []
    fresh: list = []  # newly read values: history points, non-finite ones warned about
    with readout.lock:
        for name, value in list(bar._metrics.items()):
            name = str(name)
            try:
                out.append((name, _read(readout, name, value, final, fresh)))
            except Exception as error:  # noqa: BLE001 - a broken metric must not break the frame
                out.append((name, error))
        _remember(readout, fresh)
    _warn_non_finite(fresh)  # outside the lock: a warning may be printed through the display
    return out


def render(bar: Any) -> tuple:
    """(name, text) pairs for every metric of ``bar``; a value that fails to read shows as ``?``."""
    stable = getattr(type(bar), "_stable_numbers", True)
    out = []
    for name, shown in _read_all(bar):
        if isinstance(shown, Exception):
            text = "?"
        elif shown is _NOTHING:
            text = PENDING
        else:
            try:
                text = _format.number(shown, stable)[:MAX_TEXT_CHARS]
            except Exception:  # noqa: BLE001 - a value whose text cannot be made shows "?"
                text = "?"
        out.append((_format.sanitize(name[:MAX_NAME_CHARS]), text))
    return tuple(out)


def values(bar: Any) -> dict:
    """``{name: plain value}`` for machine-readable outputs; pending or unreadable values are None."""
    return {
        name[:MAX_NAME_CHARS]: None if shown is _NOTHING or isinstance(shown, Exception) else shown
        for name, shown in _read_all(bar)
    }


def series(bar: Any) -> tuple:
    """(name, points) for each metric with a history, for renderers (sparklines)."""
    readout = bar._readout
    with readout.lock:
        return tuple(
            (_format.sanitize(name[:MAX_NAME_CHARS]), tuple(s.points))
            for name, s in readout.series.items()
            if len(s.points) > 1
        )


def _read(readout: Readout, name: str, value: Any, final: bool, fresh: list) -> Any:
    slot = _slot(readout, name)
    if _is_callable(value):
        called = slot.called
        if isinstance(called, Exception):
            raise called
        if called is _NOTHING:
            return _NOTHING  # not called yet: the next refresh will
        value = called
        if _is_device_tensor(value):
            slot.returned = value = OnDevice(value.detach(), None)
    if isinstance(value, OnDevice):
        return _read_device(readout, name, slot, value, fresh)
    if value is slot.source and slot.shown is not _NOTHING and _is_deferred(value):
        return slot.shown  # an XLA or lazy tensor read once already: reading it runs its graph again
    shown = value if value.__class__ in _PLAIN else plain(value, final)
    if shown is _NOTHING:
        return _NOTHING
    if value is not slot.source:
        slot.source = value
        fresh.append((name, shown))
    slot.shown = shown
    return shown


def _read_device(readout: Readout, name: str, slot: _Slot, value: OnDevice, fresh: list) -> Any:
    global _service_wanted
    slot.device = True
    if slot.landed is not _NOTHING:
        landed, slot.landed = slot.landed, _NOTHING
        if landed is _FAILED:
            raise RuntimeError("the device copy failed")
        slot.shown = landed
        fresh.append((name, landed))
    if slot.read is not None or value is not slot.copied or value.tensor._version != slot.version:
        with _waiting_lock:
            _waiting.add(readout)
        _service_wanted = True
    return slot.shown


def _finite_float(value: Any) -> float | None:
    """``value`` as a finite float, or None (huge integers and NaN included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _remember(readout: Readout, fresh: list) -> None:
    for name, value in fresh:
        point = _finite_float(value)
        if point is not None:
            series = readout.series.get(name)
            if series is None:
                series = readout.series[name] = Series()
            series.add(point)


def _warn_non_finite(fresh: list) -> None:
    for name, value in fresh:
        if isinstance(value, float) and not math.isfinite(value) and name not in _warned_names:
            _warned_names.add(name)
            warn(f"trainbar: metric {_format.sanitize(name[:MAX_NAME_CHARS])!r} is {_format.number(value)}; "
                      "shown as such (warned once per metric)")  # fmt: skip


def plain(value: Any, final: bool = False) -> Any:
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


def as_stream(torch, stream, tensor):
    """A ``torch.cuda.Stream`` from what ``keep`` recorded (None: the current stream)."""
    if stream is None:
        return torch.cuda.current_stream(tensor.device)
    if isinstance(stream, tuple):
        stream_id, device_index, device_type = stream
        return torch.cuda.Stream(stream_id=stream_id, device_index=device_index, device_type=device_type)
    return stream


def _is_deferred(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor) and value.device.type in _DEFERRED_DEVICES


def after_fork_in_child() -> None:
    """Locks and the callable worker start over: the parent's threads did not come along."""
    global _waiting_lock, _service_wanted
    _waiting_lock = threading.Lock()
    _service_wanted = False
    caller().after_fork_in_child()


def _is_device_tensor(value) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor) and value.is_cuda


class DeviceRead:
    """One CUDA value on its way to the host: reduce, copy into pinned memory, record an event.

    Everything is enqueued on the stream the value was logged from, so the copy runs after the
    kernels that produced it, and nothing here waits for the device. Made on the training thread.
    """

    __slots__ = ("buffer", "event", "_source")

    def __init__(self, tensor, stream, buffer=None) -> None:
        torch = sys.modules["torch"]
        with torch.cuda.device(tensor.device):
            stream = as_stream(torch, stream, tensor)
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
