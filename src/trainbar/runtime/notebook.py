"""The notebook channel: bars in a Jupyter cell, drawn as HTML outputs replaced in place.

Layout. Each top-level bar opens a *frame*: one output in the cell, shown the moment the bar
starts, with every bar nested under it drawn inside it as an indented row. ``print()`` and
``trainbar.write()`` during the loop are ordinary cell output: they appear below the frame, in the
order they were written, while the frame keeps updating above them. The next top-level bar opens
a new frame below whatever was printed, so the cell reads top to bottom in the order things
happened, up to ``FOLD_AFTER`` frames a cell: later top-level bars join the last frame, below the
finished bars, so a cell opening hundreds of bars keeps a handful of outputs (what was printed
between them then stays below that frame). Finished inner bars with ``leave=False`` vanish from
the frame; with ``leave=True`` they stay as rows (the oldest folded into a note beyond
``MAX_ROWS``). A bar stopped by an exception or an interrupt stays whatever its ``leave``, red, at
the step where it stopped.

Rate. A frame is redrawn at most every ``INTERVAL`` seconds, and only when what it shows has
changed; its size is bounded by the renderer. Showing a frame when its bar opens and drawing its
final state when the bar closes happen at once, on the caller's thread, so the saved notebook
holds the final state; those messages come from a budget (a burst of ``BURST``, then ``REFILL`` a
second). A program that opens and closes thousands of top-level bars a second runs out of it:
its bars are then gathered into one frame that the next tick shows. Whatever is still pending
when a cell ends is drawn then, while the output still belongs to that cell.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from trainbar import _settings
from trainbar.core import clock as _clock
from trainbar.core import history as _history
from trainbar.core.snapshot import INTERRUPTED
from trainbar.render import html as html_renderer
from trainbar.runtime import environment as _env
from trainbar.runtime.channels import Channel, Drawable
from trainbar.runtime.epochs import EpochLog
from trainbar.sinks.writer import Output

if TYPE_CHECKING:
    from trainbar.runtime.runtime import Runtime

INTERVAL = 0.25  # the ticker's cadence here: about 4 redraws a second per frame
MIN_GAP = INTERVAL * 0.9  # between two redraws of a frame; ticks arrive with some jitter
MAX_ROWS = 20  # rows drawn per frame; more are folded into a note
BURST, REFILL = 20, 5.0  # immediate messages (frame shown, final state): burst, then per second
# Outputs a cell gives to top-level bars: later ones join the last of them, so 500 sequential bars
# never make 500 outputs (JupyterLab hides all but 50 behind "Show more outputs").
FOLD_AFTER = 3


class _Budget:
    """A token bucket for the messages sent at once rather than at tick cadence."""

    __slots__ = ("tokens", "last")

    def __init__(self) -> None:
        self.tokens = float(BURST)
        self.last: float | None = None

    def take(self, now: float) -> bool:
        if self.last is not None and now > self.last:
            self.tokens = min(float(BURST), self.tokens + (now - self.last) * REFILL)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


# One budget per display, so it outlives channels that come and go with their bars.
_budgets: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Cell:
    """What the bars of the running cell share, whichever channel draws them: how many frames
    the cell has shown, and the one shown last (later top-level bars join it once it is closed)."""

    __slots__ = ("shown", "last")

    def __init__(self) -> None:
        self.shown = 0
        self.last: _Frame | None = None


# One per display, forgotten when a cell ends (IPython's post_execute).
_cells: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Frame:
    """One output in the cell: the bars under a few top-level bars (usually exactly one)."""

    __slots__ = ("roots", "finished", "dropped", "display_id", "sent", "last_sent", "closed", "epochs")

    def __init__(self) -> None:
        self.roots: list = []  # lineages of the top-level bars drawn here
        self.epochs: dict = {}  # root lineage -> EpochLog: the training view of that bar
        self.finished: list = []  # (lineage, final snapshot, history) of closed bars left on show
        self.dropped = 0  # finished rows forgotten to bound memory
        self.display_id: str | None = None
        self.sent: dict | None = None  # the bundle last sent
        self.last_sent = float("-inf")
        self.closed = False  # every bar drawn here has closed

    def root_of(self, lineage: tuple) -> tuple | None:
        for root in self.roots:
            if lineage[: len(root)] == root:
                return root
        return None


class NotebookChannel(Channel):
    """Bars in a Jupyter cell. Its outputs never block (the kernel queues them), so the runtime
    calls it on the caller's thread: a bar's final state is in the cell when ``close()`` returns."""

    mode = _env.NOTEBOOK
    interval = INTERVAL
    sink_type: Any = None  # the class doing the I/O; tests put a recorder here

    def __init__(self, runtime: Runtime, stream: Any, output: Output) -> None:
        super().__init__(stream, output)
        self.runtime = runtime
        self.frames: list = []
        self.sink: Any = None
        budget = _budgets.get(runtime)
        if budget is None:
            budget = _budgets[runtime] = _Budget()
        self.budget = budget

    @property
    def cell(self) -> _Cell:
        cell = _cells.get(self.runtime)
        if cell is None:
            cell = _cells[self.runtime] = _Cell()
        return cell

    @property
    def empty(self) -> bool:
        return super().empty and not self.frames

    def _sink(self) -> Any:
        if self.sink is None:
            sink_type = self.sink_type
            if sink_type is None:
                from trainbar.sinks.jupyter import NotebookDisplays as sink_type
            self.sink = sink_type()
            self.sink.after_each_cell(_end_of_cell)
        return self.sink

    def _frame_of(self, lineage: tuple) -> _Frame | None:
        for frame in self.frames:
            if frame.root_of(lineage) is not None:
                return frame
        return None

    # --- bars arriving and leaving ---------------------------------------------------------

    def add(self, bar: Drawable, now: float) -> None:
        super().add(bar, now)
        self._sink()
        if self._frame_of(bar.lineage) is not None:
            return  # nested: drawn in its top-level bar's frame at the next tick
        cell = self.cell
        last = cell.last
        if cell.shown >= FOLD_AFTER and last is not None and last.closed:
            # The cell has its handful of outputs: this bar joins the last one, under the
            # finished bars (the oldest folded into a note), and is its last row while it runs.
            self._join(last, bar)
            last.closed = False
            if last not in self.frames:  # its final state may still wait for the budget
                self.frames.append(last)
            if self.budget.take(now):
                self._send(last, now)
            return
        # A frame not shown yet (out of budget, or its bar not visible yet) takes every new
        # top-level bar, even once all of its bars have closed: a flood of tiny bars then costs
        # one output per tick, not one each, and outputs keep the order the bars started in.
        waiting = next((f for f in self.frames if f.display_id is None), None)
        if waiting is None and bar.visible(now) and self.budget.take(now):
            frame = _Frame()
            self._join(frame, bar)
            self.frames.append(frame)
            self._send(frame, now)
            return
        if waiting is None:
            waiting = _Frame()
            self.frames.append(waiting)
        self._join(waiting, bar)
        waiting.closed = False

    def remove(self, bar: Drawable, now: float) -> None:
        super().remove(bar, now)
        frame = self._frame_of(bar.lineage)
        if frame is None:
            return
        snap = self._snapshot(bar, now, frame)
        if snap is not None:
            self._follow_epochs(frame, bar, snap, now)
        if snap is not None and bar.visible(now):
            # A bar stopped by an error stays, leave=False or not: the step where it stopped and
            # its last metrics are the evidence.
            if bar.leave or snap.status == INTERRUPTED:
                frame.finished.append((bar.lineage, snap, _history_of(bar)))
            if len(frame.finished) > 2 * MAX_ROWS:
                frame.dropped += len(frame.finished) - MAX_ROWS - 1
                frame.finished = frame.finished[:1] + frame.finished[-MAX_ROWS:]
        if any(frame.root_of(other.lineage) is not None for other in self.items):
            return  # bars still running here: the next tick draws the change
        frame.closed = True
        if self.budget.take(now):
            self._send(frame, now)

    # --- drawing ---------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        for frame in list(self.frames):
            if frame.display_id is not None and not frame.closed and now - frame.last_sent < MIN_GAP:
                continue
            self._send(frame, now)
        if self.empty:
            self.runtime.retire(self)

    def flush(self, now: float) -> None:
        """Draw every frame as it stands now, whatever the budget: the cell is ending."""
        for frame in list(self.frames):
            self._send(frame, now)
        if self.empty:
            self.runtime.retire(self)

    def _snapshot(self, bar: Drawable, now: float, frame: _Frame) -> Any:
        snap = bar.snapshot(now)
        if snap is None:
            return None
        root = frame.root_of(bar.lineage) or ()
        return snap.replace(depth=len(bar.lineage) - len(root))

    def _join(self, frame: _Frame, bar: Drawable) -> None:
        """A top-level bar is drawn in ``frame`` from now on, with the log of its epochs."""
        frame.roots.append(bar.lineage)
        frame.epochs[bar.lineage] = EpochLog()

    def _follow_epochs(self, frame: _Frame, bar: Drawable, snap: Any, now: float) -> None:
        """A bar under a top-level one ended, or the top-level one did: the epochs' rows learn it."""
        root = frame.root_of(bar.lineage)
        if root is None or len(bar.lineage) > len(root) + 1:
            return
        log = frame.epochs.get(root)
        if log is None:
            return
        if len(bar.lineage) == len(root):
            log.outer_seen(snap, _history_of(bar), final=True)
            return
        outer = next((item for item in self.items if item.lineage == root), None)
        outer_snap = outer.snapshot(now) if outer is not None else None
        log.inner_ended(snap, _history_of(bar), outer_snap, _history_of(outer) if outer is not None else {})

    def _view(self, frame: _Frame) -> EpochLog | None:
        """The training view's epochs: the latest top-level bar's that has some."""
        for root in reversed(frame.roots):
            log = frame.epochs.get(root)
            if log is not None and log.epochs:
                return log
        return None

    def _rows(self, frame: _Frame, now: float) -> tuple:
        entries = list(frame.finished)
        for bar in self.drawn():
            if frame.root_of(bar.lineage) is not None and bar.visible(now):
                snap = self._snapshot(bar, now, frame)
                if snap is not None:
                    entries.append((bar.lineage, snap, _history_of(bar)))
                    log = frame.epochs.get(bar.lineage)
                    if log is not None:  # a top-level bar: the steps it took may end epochs
                        log.outer_seen(snap, entries[-1][2])
        entries.sort(key=lambda entry: entry[0])
        rows = [(snap, history) for _, snap, history in entries]
        hidden = frame.dropped if rows else 0
        if len(rows) > MAX_ROWS:  # the first row (the top-level bar) and the most recent ones
            hidden += len(rows) - MAX_ROWS
            rows = rows[:1] + rows[-(MAX_ROWS - 1) :]
        return rows, hidden

    def _send(self, frame: _Frame, now: float) -> None:
        """Show or update the frame if what it shows changed; forget it once final."""
        rows, hidden = self._rows(frame, now)
        if frame.display_id is None and not rows:
            if frame.closed:
                self.frames.remove(frame)  # nothing was ever visible: no output at all
            return
        markdown = _settings.current().notebook_format == "markdown"
        bundle = html_renderer.bundle(rows, hidden, self._view(frame), markdown)
        if bundle != frame.sent:
            sink = self._sink()
            if frame.display_id is None:
                frame.display_id = sink.show(bundle)
                cell = self.cell
                cell.shown += 1
                cell.last = frame
            else:
                sink.update(frame.display_id, bundle)
            frame.sent = bundle
            frame.last_sent = now
        if frame.closed:
            self.frames.remove(frame)

    def release(self) -> None:
        if self.frames and self.sink is not None:
            now = _clock.now()
            for frame in list(self.frames):
                frame.closed = True
                self._send(frame, now)


def _history_of(item: Drawable) -> dict:
    target = getattr(item, "target", None)
    bar = target() if callable(target) else None
    return _history.history(bar) if bar is not None else {}


def _end_of_cell(*_args: Any) -> None:
    """IPython's post_execute hook: draw what is pending while the cell's output still goes to it."""
    try:
        from trainbar.runtime import runtime as _runtime

        runtime = _runtime.existing()
        if runtime is None:
            return
        runtime.flush()
        for channel in runtime.channels():
            if isinstance(channel, NotebookChannel):
                runtime.run_on(channel, channel.flush, _clock.now())
        _cells.pop(runtime, None)  # the next cell's bars get outputs of their own
    except Exception:  # noqa: BLE001 - a hook that raises would print a traceback under every cell
        pass
