"""The runtime: everything process-wide that bars need, owned in one place.

One ``Runtime`` per process (``current()``), created with the first bar. It keeps the open bars
(as ``Node``s), the channels that draw them, the outputs that write for the channels, the
listeners that follow them (the event file, the ranks' gathering), the stall watchdog and the
ticker thread. What happens on fork, at exit and on SIGTERM is in ``lifecycle.py``.

Who may wait for whom:

* the training thread never waits on output, on a user's callable, or on another thread. Opening
  or closing a bar, ``trainbar.write`` and ``print`` (while a terminal region is live) take the
  runtime's lock for a few list operations and then hand their work to the ticker's inbox;
* ``lock`` guards the registry (open nodes, channels, outputs, listeners). It is never held
  during I/O or while user code runs;
* the ticker thread renders: it drains the inbox, calls the metric callables (with a budget),
  samples rates and gives each channel its tick. A channel hands finished text to its output,
  which writes on a thread of its own unless the stream can never block (``sinks/writer.py``).

Channels on streams that never block (memory, a Jupyter kernel's) are called on the caller's
thread instead of through the inbox, so their output is there the moment a call returns. A
runtime made with ``threaded=False`` (``trainbar.testing.manual_display``) does everything on
the caller's thread, and draws only when ``tick()`` is called.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
import weakref
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any, Callable

from trainbar import _settings, _threads
from trainbar._warnings import warn, warn_once
from trainbar.core import clock as _clock
from trainbar.core import metrics as _metrics
from trainbar.core import timing as _timing
from trainbar.core.rate import observe_bars
from trainbar.distributed import leader as _leader
from trainbar.render import fmt
from trainbar.runtime import environment as _env
from trainbar.runtime.channels import IDLE_INTERVAL, Channel, LogChannel, TerminalChannel, write_text
from trainbar.runtime.listener import Listener
from trainbar.runtime.node import Node
from trainbar.sinks import encoder_for
from trainbar.sinks import redirect as _redirect
from trainbar.sinks.writer import DirectOutput, Output, QueuedOutput

if TYPE_CHECKING:
    from trainbar.core.bar import Bar
    from trainbar.stall.watchdog import Watchdog

EXIT_DRAIN = 2.0  # seconds the writers get at exit and on SIGTERM; a frozen terminal gets no more
MAX_HELD = 1 << 16  # a partial line held above a region longer than this goes out as it is
RESTORE_AFTER = 1.0  # seconds with no bar on a standard stream before print() is put back


class Runtime:
    """All bars of this process, the channels and outputs they are drawn to, and the threads."""

    def __init__(self, *, threaded: bool = True) -> None:
        self.threaded = threaded
        self.lock = threading.RLock()
        self._open: list[Node] = []  # open bars, in the order they were created
        self._channels: dict[tuple[int, str], Channel] = {}
        self._outputs: dict[Any, tuple[Any, QueuedOutput]] = {}  # the file behind a stream -> (a stream, its output)
        self._failed_streams: weakref.WeakSet[Any] = weakref.WeakSet()
        self._failed_ids: set[int] = set()  # streams that take no weak reference
        # id(stream) -> (stream, the parts of a partial line printed above a region, their length)
        self._pending: dict[int, tuple[Any, list[str], int]] = {}
        self._restore_at: float | None = None  # when the next print may put the standard streams back
        self._retiring: list[Channel] = []  # dropped channels whose last lines are still being written
        self._routed: set[Any] = set()  # files of the standard streams we drew on, since the proxies went in
        self._listeners: list[Any] = []
        self._inbox: deque[Callable[[], None]] = deque()  # work for the ticker, in order
        self._draining = threading.RLock()  # one thread at a time runs the inbox, in order
        self._order = itertools.count()
        self._ticker: threading.Thread | None = None
        self._wake = threading.Event()
        self._sleeping = IDLE_INTERVAL  # the interval the ticker is sleeping now
        self._stopping = False
        self._started = False
        self._signals_checked = False
        self._watchdog: Watchdog | None = None

    # --- bars arriving and leaving: called on the user's thread --------------------------

    def open(self, bar: Bar[Any], *, file: Any, disable: bool | None,
             on_stall: Callable[[dict], object] | None) -> Node:  # fmt: skip
        """Place a new bar among the open ones and pick where it is drawn (nothing is drawn yet)."""
        stream = _redirect.unwrap(sys.stderr if file is None else file)
        mode = _env.choose_mode(stream, disable) if stream is not None else _env.OFF
        thread_id = threading.get_ident()
        with self.lock:
            if not self._started:
                self._start()
            if not self._signals_checked and threading.current_thread() is threading.main_thread():
                from trainbar.runtime import lifecycle

                self._signals_checked = True
                lifecycle.install_signal_handlers()  # only the main thread may; a later bar there will
            parent = self._innermost_of(thread_id)
            node = Node(bar, parent, next(self._order), thread_id=thread_id, opened=_clock.now(),
                        prefix=_leader.line_prefix(), on_stall=on_stall, owner=self)  # fmt: skip
            self._open.append(node)
            if mode != _env.OFF and not self._has_failed(stream):
                node.channel = self._channel(stream, mode)
                node.channel.assigned += 1
                node.stream = stream
        return node

    def show(self, node: Node) -> None:
        """Start drawing and following a bar that ``open`` placed."""
        now = _clock.now()
        bar = node.bar()
        if bar is not None and ((node.channel is not None and not node.channel.inline) or self._listeners):
            node.first = bar.snapshot(now)  # its opening line and event are made later, as it was now
        with self.lock:
            if self._listeners:
                self._inbox.append(partial(self._notify, "on_open", bar, now, first=node.first))
            self.watchdog.watch()
            channel = node.channel
            self._start_ticker(wake=channel is not None and channel.interval < self._sleeping)
        if channel is not None:
            self._deliver(channel, self._add, channel, node, now)
        self._settle()

    def _add(self, channel: Channel, node: Node, now: float) -> None:
        if not channel.dropped:
            channel.add(node, now)

    def close(self, node: Node, bar: Bar[Any]) -> None:
        """A bar finished: its final state is drawn, wherever and whenever its channel draws."""
        if node.owner is not self:
            return  # a bar of the process this one was forked from: that process draws it
        now = _clock.now()
        if node.channel is not None:
            # The final state is taken now, on the closing thread, whenever it is drawn. A metric
            # callable shows what it returned when the ticker last called it: this thread never
            # calls one (in a runtime without threads, the caller is the ticker).
            if not self.threaded:
                _metrics.refresh(bar)
            if self._listeners:
                self._before_final(bar)
            node.final = bar.snapshot(now)
        with self.lock:
            if node in self._open:
                self._open.remove(node)
            node.closing = bar
            if self._watchdog is not None:
                self._watchdog.closed(node)
            self._to_listeners("on_close", bar, now)
            channel = node.channel
        if channel is None:
            node.closing = None
        else:
            self._deliver(channel, self._remove, channel, node, now)
        self._settle()

    def _before_final(self, bar: Bar[Any]) -> None:
        """Listeners may still change a bar's last line (who else is gone, who is no longer
        stuck), on the closing thread: cheap work only, no I/O, and never an error of theirs here."""
        for listener in self.listeners():
            hook = getattr(listener, "before_final", None)
            if hook is not None:
                try:
                    hook(bar)
                except Exception:  # noqa: BLE001 - a listener must never stop a bar closing
                    pass

    def _remove(self, channel: Channel, node: Node, now: float) -> None:
        try:
            if not channel.dropped:
                channel.remove(node, now)
        finally:
            node.closing = node.first = None
            with self.lock:
                channel.assigned -= 1
        if channel.empty:
            self._drop(channel)

    # --- messages ----------------------------------------------------------------------------

    def write(self, text: str, stream: Any, *, clean: bool = True) -> None:
        """Put ``text`` on ``stream``, above the live region if there is one, without tearing it,
        and after everything already on its way (the bars' own lines included).

        ``clean``: keep only what cannot move the cursor (on a terminal: text, line breaks and
        colours, reset at the end; anywhere else: text and line breaks)."""
        if not text:
            return
        if clean:
            text = fmt.sanitize_message(text) if _env.is_terminal(stream) else fmt.sanitize_report(text)
        with self.lock:
            self._to_listeners("on_write", text)
            failed = self._has_failed(stream)
            region = None if failed else self._region_for(stream)
        if region is not None:
            self._deliver(region, self._message, region, text, stream)
        elif not failed:
            self._pass(text, stream)
        self._settle()

    def _pass(self, text: str, stream: Any) -> None:
        """Plain text for ``stream``, in order with the channels' work already in the inbox."""
        if not self.threaded or self._stopping or _env.never_blocks(stream):
            self._plain(text, stream)
            return
        self._inbox.append(partial(self._plain, text, stream))
        with self.lock:
            self._start_ticker(wake=True)

    def _plain(self, text: str, stream: Any) -> None:
        with self.lock:
            output = None if self._has_failed(stream) else self._output(stream)
        if output is not None:
            output.submit(partial(write_text, stream, encoder_for(stream)(text)), len(text), stream=stream)

    def _message(self, region: Channel, text: str, stream: Any) -> None:
        if region.dropped:  # the region closed after the message was sent its way: plain text then
            self._plain(text, stream)
        else:
            region.write_above(text, stream)

    def print_through(self, text: str, stream: Any) -> None:
        """What the program itself writes to a standard stream while our proxies are in place
        (``sinks/redirect.py``). While we draw on that file, whole lines only (a partial line
        waits for its end), in order with ours: above the live region, or among the log lines.
        No line of the program's is ever cut in two by one of ours. Otherwise, straight to the
        stream, as print() would."""
        with self.lock:
            drawing = self._drawing_on(stream)
            if self._restore_at is not None and time.monotonic() >= self._restore_at:
                # On the printing thread itself: nothing of its print is still on its way.
                self._restore_at = None
                if not self._drawing_on_standard():
                    _redirect.uninstall()
                    self._routed.clear()
            held = self._pending.get(id(stream))
            # Routed while the proxies stay: a file has one writer at a time, ours or the program's.
            holding = drawing is not None or (_redirect.installed() and _file_identity(stream) in self._routed)
            line = ("".join(held[1]) if held is not None else "") + text
            if holding and "\n" not in text and "\r" in line:
                # A line redrawn with carriage returns (another bar, print(..., end="\r")): only
                # its newest frame is kept, drawn live, and what comes after a final "\r" starts
                # the next frame rather than adding to this one.
                frame = last_frame(line)
                kept = "\r" + frame + ("\r" if line.endswith("\r") else "")
                self._pending[id(stream)] = (stream, [kept], len(kept))
                if isinstance(drawing, TerminalChannel):
                    drawing.show_foreign(id(stream), frame)
                return
            if holding and "\n" not in text and (held is None or held[2] + len(text) < MAX_HELD):
                if held is None:
                    self._pending[id(stream)] = (stream, [text], len(text))
                else:  # the common case of print(..., end=""): appended, never joined again
                    held[1].append(text)
                    self._pending[id(stream)] = (stream, held[1], held[2] + len(text))
                return
            self._pending.pop(id(stream), None)
            text = "".join(held[1]) + text if held is not None else text
            if holding and "\r" in text:
                text = "\n".join(last_frame(line) for line in text.split("\n"))  # never frame by frame
            if isinstance(drawing, TerminalChannel):
                drawing.show_foreign(id(stream), None)
            if holding:
                whole, newline, rest = text.rpartition("\n")
                if newline and rest and len(rest) < MAX_HELD:
                    self._pending[id(stream)] = (stream, [rest], len(rest))
                    text = whole + newline
        if not text:
            return
        if isinstance(drawing, TerminalChannel) and not drawing.dropped:
            self.write(text, stream)
        elif holding:
            # Among our lines, or after the last ones still on their way there (a region's
            # last frame must not be drawn over it): the program's text as it wrote it.
            self._pass(text, stream)
        else:
            stream.write(text)  # the program's own text, on its own thread: as if we were not there

    def record_write(self, text: str) -> None:
        """Tell listeners of a message this process does not print (a rank that does not draw)."""
        with self.lock:
            self._to_listeners("on_write", text)
        self._settle()

    def relay(self, text: str, kind: str = "report") -> str | None:
        """Offer a stall report (``kind``: ``report``, or ``other`` for a dump or a recovery) to
        the listeners (the ranks' gatherer): "sent" to the rank that draws, "held" to go out with
        the other ranks' in the job's one report, "unreachable" (this rank does not draw and
        cannot send it), or None: print it."""
        for listener in self.listeners():
            hook = getattr(listener, "relay", None)
            if hook is None:
                continue
            try:
                outcome = hook(text, kind)
            except Exception:  # noqa: BLE001 - a failing relay means printing it here
                outcome = None
            if outcome is not None:
                return outcome
        return None

    def report(self, text: str, stream: Any) -> None:
        """A report of trainbar's own (a stall): above the bars on ``stream``, or on standard
        error when the bar draws nowhere. It never waits, whatever the stream is doing."""
        target = stream if stream is not None else _redirect.unwrap(sys.stderr)
        if target is None:
            return
        self.write(text, target)

    # --- what others read -----------------------------------------------------------------

    def channels(self) -> list[Channel]:
        with self.lock:
            return list(self._channels.values())

    def run_on(self, channel: Channel, function: Callable[..., None], *args: Any) -> None:
        """Run ``function`` with the channel's lock held; a failure switches the channel off."""
        self._run_on(channel, function, *args)

    def retire(self, channel: Channel) -> None:
        """The channel has nothing left to draw: let it go (a new bar makes a new one)."""
        self._drop(channel)

    def note(self, bar: Bar[Any], key: str, text: str | None, *, urgent: bool = False) -> None:
        """Show ``text`` after ``bar``'s metrics, under ``key`` (None takes it away); ``urgent``:
        in a log too at the next tick, not at the next periodic line."""
        with self.lock:
            for node in self._open:
                if node.bar() is bar:
                    node.note(key, text)
                    if urgent and node.channel is not None:
                        node.channel.due_now(node)
                    return

    def hold_eta(self, bar: Bar[Any], held: bool) -> None:
        """While ``held``, ``bar`` shows no remaining time (another rank is stuck or silent)."""
        with self.lock:
            for node in self._open:
                if node.bar() is bar:
                    node.eta_held = held
                    return

    def open_nodes(self) -> list[Node]:
        with self.lock:
            return list(self._open)

    def innermost(self) -> Bar[Any] | None:
        """The most recently opened live bar of the calling thread, or of any thread."""
        with self.lock:
            node = self._innermost_of(threading.get_ident())
            if node is None and self._open:
                node = self._open[-1]
            return node.bar() if node is not None else None

    def _innermost_of(self, thread_id: int) -> Node | None:
        for node in reversed(self._open):
            if node.thread_id == thread_id and node.bar() is not None:
                return node
        return None

    @property
    def watchdog(self) -> Watchdog:
        if self._watchdog is None:
            from trainbar.stall.watchdog import Watchdog

            self._watchdog = Watchdog(self, threaded=self.threaded)
        return self._watchdog

    # --- listeners: other outputs that follow the bars (event files, rank publishing) -------
    # A listener may define on_open(bar, now), on_close(bar, now), on_tick(now), on_write(text),
    # on_stall(bar, info), on_recover(bar, info) and an `interval` in seconds (see
    # listener.Listener). It is called on the ticker thread; one that raises is removed with
    # one warning.

    def subscribe(self, listener: Listener | Any) -> None:
        with self.lock:
            if listener not in self._listeners:
                self._listeners.append(listener)
                self._start_ticker()

    def unsubscribe(self, listener: Any) -> None:
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def listeners(self) -> list[Any]:
        with self.lock:
            return list(self._listeners)

    def notify(self, event: str, *args: Any) -> None:
        """Tell every listener of ``event`` (from any thread; delivered on the ticker)."""
        with self.lock:
            self._to_listeners(event, *args)
        self._settle()

    def _to_listeners(self, event: str, *args: Any) -> None:  # with the lock held
        if self._listeners:
            self._inbox.append(partial(self._notify, event, *args))

    def _settle(self) -> None:
        """After a call queued work: the ticker runs it; without a ticker (a manual runtime, or
        one shutting down) the calling thread runs it now, with no lock held."""
        if not self.threaded or self._stopping:
            self._drain_inbox()
        elif self._inbox:
            with self.lock:
                self._start_ticker(wake=True)

    def _notify(self, event: str, *args: Any, **extra: Any) -> None:
        for listener in self.listeners():
            method = getattr(listener, event, None)
            if method is None:
                continue
            try:
                # What a Listener subclass declares it takes (the opening snapshot, say); a
                # listener of any other shape gets the positional arguments only. Subclassing,
                # not the structural isinstance: that cannot see whether on_open takes `first`.
                method(*args, **(extra if Listener in type(listener).__mro__ else {}))
            except Exception as error:  # noqa: BLE001 - a listener fault must never reach training
                self.unsubscribe(listener)
                warn(
                    f"trainbar: {type(listener).__name__} failed ({type(error).__name__}: {error}); "
                    "it is off, training goes on"
                )

    # --- channels and outputs --------------------------------------------------------------

    def _channel(self, stream: Any, mode: str) -> Channel:  # with the lock held
        key = (id(stream), mode)
        channel = self._channels.get(key)
        if channel is not None and channel.stream is stream:
            return channel
        inline = mode == _env.NOTEBOOK or not self.threaded or _env.never_blocks(stream)
        output = DirectOutput(on_error=self._output_failed) if inline else self._output(stream)
        if mode == _env.TTY:
            channel = TerminalChannel(stream, output)
        elif mode == _env.LOG:
            channel = LogChannel(stream, output, _settings.current().log_interval)
        else:
            from trainbar.runtime.notebook import NotebookChannel  # only notebooks pay for it

            channel = NotebookChannel(self, stream, output)
        channel.inline = inline
        self._channels[key] = channel
        if mode != _env.NOTEBOOK and not inline and _is_standard(stream):
            # While we draw there from a thread of ours, what print() and logging write goes
            # through us too: above the live region, or in order with the log lines.
            _redirect.install(route_print)
            self._routed.add(_file_identity(stream))
        return channel

    def _output(self, stream: Any) -> Output:  # with the lock held
        """The one output for everything written to ``stream`` (a direct one where it never blocks).

        Streams on one file share an output: standard output and standard error on one terminal
        (or redirected to one log with ``2>&1``) then come out in the order they were written."""
        if not self.threaded or _env.never_blocks(stream):
            return DirectOutput(on_error=self._output_failed)
        key = _file_identity(stream)
        entry = self._outputs.get(key)
        if entry is None or (isinstance(key, int) and entry[0] is not stream):
            name = str(getattr(stream, "name", "stream"))
            output = QueuedOutput(name.strip("<>").replace(" ", "-")[:20], on_error=self._output_failed,
                                  on_dropped=partial(self._dropped_notice, stream))  # fmt: skip
            entry = self._outputs[key] = (stream, output)
        return entry[1]

    def _region(self) -> TerminalChannel | None:  # with the lock held
        for channel in self._channels.values():
            if isinstance(channel, TerminalChannel):
                return channel
        return None

    def _region_for(self, stream: Any) -> TerminalChannel | None:  # with the lock held
        """The live region that text on ``stream`` must go above: one on the same file (standard
        output and standard error on one terminal), else none."""
        region = self._region()
        if region is None or region.stream is stream or _file_identity(stream) == _file_identity(region.stream):
            return region
        return None

    def _drawing_on(self, stream: Any) -> Channel | None:  # with the lock held
        """The channel that draws on ``stream``'s file through a writer thread (a live region
        first), or one that did and whose last lines are still on their way there; or None."""
        identity = None
        found: Channel | None = None
        for channel in [*self._channels.values(), *self._retiring]:
            if channel.inline or channel.mode == _env.NOTEBOOK:
                continue
            if channel.stream is not stream:
                identity = _file_identity(stream) if identity is None else identity
                if _file_identity(channel.stream) != identity:
                    continue
            if isinstance(channel, TerminalChannel):
                return channel
            found = channel
        return found

    def _drawing_on_standard(self) -> bool:  # with the lock held
        return any(_is_standard(c.stream) and not c.inline for c in [*self._channels.values(), *self._retiring])

    def _deliver(self, channel: Channel, function: Callable[..., None], *args: Any) -> None:
        """Run a channel's work now (a stream that never blocks), or on the ticker."""
        if not self.threaded or channel.inline or self._stopping:
            self._run_on(channel, function, *args)
            return
        self._inbox.append(partial(self._run_on, channel, function, *args))
        with self.lock:
            self._start_ticker(wake=True)

    def _run_on(self, channel: Channel, function: Callable[..., None], *args: Any) -> None:
        with channel.lock:
            try:
                function(*args)
            except Exception as error:  # noqa: BLE001 - a display fault must never reach training
                self._drop(channel, error)

    def _drop(self, channel: Channel, error: Exception | None = None) -> None:
        if channel.dropped:
            return
        with self.lock:
            if error is None and channel.assigned > 0:
                return  # bars were opened on it meanwhile, and their work is still on its way
            key = (id(channel.stream), channel.mode)
            if self._channels.get(key) is channel:
                del self._channels[key]
            channel.dropped = True
            for node in self._open:
                if node.channel is channel:
                    node.channel = None
            retiring = error is None and not channel.inline and channel.mode != _env.NOTEBOOK
            if retiring:
                # Until its last lines are out, what the program writes there takes its turn
                # after them, instead of overtaking them (and being drawn over by a last frame).
                self._retiring.append(channel)
        if error is not None:
            self._warn_failed(channel.stream, error)
            return
        try:
            channel.release()
        except Exception:  # noqa: BLE001 - leaving the terminal tidy is best effort
            pass
        if retiring:
            channel.output.submit(partial(self._retired, channel), stream=channel.stream)

    def _retired(self, channel: Channel) -> None:
        # Everything queued for the channel's stream has been written. When we draw on no
        # standard stream any more, they are put back by the next print (on the printing
        # thread: a line it has begun must not be cut in two), or at exit.
        with self.lock:
            if channel in self._retiring:
                self._retiring.remove(channel)
            if not self._drawing_on_standard():
                # A little later: a loop that opens a bar per epoch would swap the streams
                # back and forth at each, while another thread may be half-way through a print.
                self._restore_at = time.monotonic() + RESTORE_AFTER

    def _write_held(self) -> None:
        """At the end: partial lines still held go out, and the streams are put back."""
        with self.lock:
            held, self._pending = list(self._pending.values()), {}
            self._restore_at = None
            self._routed.clear()
        _redirect.uninstall()
        for stream, parts, _ in held:
            text = "".join(parts)
            if "\r" in text:  # a frame still showing stays as its last frame, on a line of its own
                frame = last_frame(text)
                text = frame + "\n" if frame else ""
            if text:
                self._plain(text, stream)

    def _output_failed(self, error: Exception, stream: Any) -> None:
        """A write to ``stream`` failed: every channel there is switched off, with one warning."""
        with self.lock:
            if self._has_failed(stream):
                return
            try:
                self._failed_streams.add(stream)
            except TypeError:
                self._failed_ids.add(id(stream))
            channels = [c for c in self._channels.values() if c.stream is stream]
        for channel in channels:
            self._drop(channel, error)
        if not channels:
            name = getattr(stream, "name", stream)
            warn(f"trainbar.write: could not write to {name!r} ({type(error).__name__}: {error}); "
                 "further messages there are dropped")  # fmt: skip

    def _warn_failed(self, stream: Any, error: Exception) -> None:
        name = getattr(stream, "name", stream)
        warn_once(f"trainbar: output to {name!r} failed ({type(error).__name__}: {error}); "
                  "the progress display there is off, training goes on")  # fmt: skip

    def has_failed(self, stream: Any) -> bool:
        """Whether writing to ``stream`` failed (it is not written to again)."""
        with self.lock:
            return self._has_failed(stream)

    def _has_failed(self, stream: Any) -> bool:
        try:
            return stream in self._failed_streams
        except TypeError:
            return id(stream) in self._failed_ids

    def _dropped_notice(self, stream: Any, count: int) -> None:
        # On the stream's writer thread, right after it caught up: say what the reader missed.
        text = (
            f"trainbar: {count} message{'s' if count != 1 else ''} or line{'s' if count != 1 else ''} "
            "dropped here: this output did not keep up\n"
        )
        region = next(
            (c for c in list(self._channels.values()) if isinstance(c, TerminalChannel) and c.stream is stream), None
        )
        if region is not None:
            region.region.write_above(text)
        else:
            write_text(stream, encoder_for(stream)(text))

    # --- the ticker thread -----------------------------------------------------------------

    def tick(self) -> None:
        """Redraw whatever is due. The ticker thread calls this; tests call it by hand."""
        self._drain_inbox()
        now = _clock.now()
        with self.lock:
            nodes = list(self._open)
            channels = list(self._channels.values())
            listening = bool(self._listeners)
        pairs = []
        for node in nodes:
            bar = node.bar()
            if bar is None:
                continue
            _metrics.refresh(bar)  # the users' callables, each within its budget, no lock held
            parent = node.parent.bar() if node.parent is not None else None
            pairs.append((bar, parent))
        observe_bars(pairs, now)
        for node in nodes:
            bar = node.bar()
            hint = None if bar is None or node.stream is None else _timing.data_bound_hint(bar)
            if hint is not None:
                self.write(hint + "\n", node.stream)
        for channel in channels:
            self._run_on(channel, self._tick, channel, now)
        if listening:
            self._notify("on_tick", now)

    def _tick(self, channel: Channel, now: float) -> None:
        if not channel.dropped:
            channel.tick(now)

    def _drain_inbox(self) -> None:
        with self._draining:
            while True:
                try:
                    work = self._inbox.popleft()
                except IndexError:
                    return
                work()

    def _interval(self) -> float:
        intervals = [c.interval for c in self._channels.values()]
        intervals += [getattr(listener, "interval", IDLE_INTERVAL) for listener in self._listeners]
        return min(intervals, default=IDLE_INTERVAL)

    def _start_ticker(self, wake: bool = False) -> None:  # with the lock held
        if not self.threaded or self._stopping:
            return
        if self._ticker is not None and self._ticker.is_alive():
            if wake:
                self._wake.set()
            return
        self._wake.clear()
        self._ticker = _threads.start(self._run, "trainbar-display")

    def _run(self) -> None:
        while True:
            with self.lock:
                self._sleeping = self._interval()
            self._wake.wait(self._sleeping)
            self._wake.clear()
            if self._stopping:
                return
            try:
                self.tick()
            except Exception as error:  # noqa: BLE001 - the display must never reach training
                warn(f"trainbar: the display thread failed ({type(error).__name__}: {error}); bars are no longer drawn")
                return
            with self.lock:
                if not (self._open or self._channels or self._listeners or self._inbox):
                    self._ticker = None  # idle: the next bar starts a new ticker
                    return

    # --- start, flush, end -----------------------------------------------------------------

    def _start(self) -> None:  # with the lock held, at the first bar
        self._started = True
        from trainbar.events import stream as _events

        _events.attach(self)  # TRAINBAR_JSONL is read once, when the first bar opens
        _follow_ranks(self)

    def reconfigure(self) -> None:
        """``trainbar.configure()`` changed a setting: apply it to what is running."""
        from trainbar.events import stream as _events

        _events.reattach(self)
        if self._watchdog is not None:
            self._watchdog.reconfigure()

    @property
    def stopping(self) -> bool:
        """Whether ``shutdown`` has begun (at exit, or on a signal)."""
        return self._stopping

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything asked for so far is written, for at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        if not self._draining.acquire(timeout=timeout):
            return False
        try:
            self._drain_inbox()
        finally:
            self._draining.release()
        with self.lock:
            outputs = [output for _, output in self._outputs.values()]
        for listener in self.listeners():
            drain = getattr(listener, "drain", None)
            if drain is not None:
                drain(max(deadline - time.monotonic(), 0.0))
        return all(output.drain(max(deadline - time.monotonic(), 0.0)) for output in outputs)

    def shutdown(self, *, reason: str | None = None, timeout: float = EXIT_DRAIN) -> None:
        """Close what was left open, draw it, and leave every stream as it was found.

        At exit a bar that reached its total is done and any other interrupted; on a signal
        (``reason``) every one is interrupted, marked with the reason. Output gets ``timeout``
        seconds in all: a terminal nobody reads must not keep the process from ending.
        """
        deadline = time.monotonic() + timeout
        with self.lock:
            self._stopping = True
            self._wake.set()
            nodes = list(self._open)
        if self._watchdog is not None:
            self._watchdog.stop()
        for node in reversed(nodes):  # innermost first, as the loops would have ended
            bar = node.bar()
            if bar is not None:
                bar.close(interrupted=reason is not None or not bar.complete, reason=reason)
        if self._draining.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
            try:
                self._drain_inbox()
            finally:
                self._draining.release()
        with self.lock:
            channels = list(self._channels.values())
        for channel in channels:
            self._run_on(channel, self._drop, channel)
        self._write_held()
        for listener in self.listeners():
            finish = getattr(listener, "finish", None)
            if finish is not None:
                try:
                    finish(max(deadline - time.monotonic(), 0.0))
                except Exception:  # noqa: BLE001 - the process is ending: nothing to save
                    pass
        with self.lock:
            outputs = [output for _, output in self._outputs.values()]
        for output in outputs:
            output.drain(max(deadline - time.monotonic(), 0.0))

    # --- fork --------------------------------------------------------------------------------

    def before_fork(self) -> list[Output]:
        """Hold the lock and every output, so the child inherits none of them half-way through a
        change. An output stuck in a write (a frozen terminal) is given up after a moment."""
        self.lock.acquire()
        return [output for _, output in self._outputs.values() if output.hold(0.2)]

    def after_fork_in_parent(self, held: list[Output]) -> None:
        for output in held:
            output.release()
        self.lock.release()


def last_frame(line: str) -> str:
    """What a terminal shows of a line redrawn with carriage returns: its last frame. (A frame
    of spaces is a bar that erased itself.)"""
    frame = next((part for part in reversed(line.split("\r")) if part), "")
    return frame if frame.strip() else ""


def route_print(text: str, stream: Any) -> None:
    """Where ``print()`` goes while bars are drawn on the standard streams (``sinks/redirect.py``)."""
    current().print_through(text, stream)


def _file_identity(stream: Any) -> Any:
    """What tells the file behind a stream apart: its device and inode, or the stream itself."""
    try:
        found = os.fstat(stream.fileno())
    except Exception:  # noqa: BLE001 - no file descriptor (a wrapper object): the stream is all we know
        return id(stream)
    return (found.st_dev, found.st_ino)


def _is_standard(stream: Any) -> bool:
    return stream is _redirect.unwrap(sys.stdout) or stream is _redirect.unwrap(sys.stderr)


def _follow_ranks(runtime: Runtime) -> None:
    # In a distributed job every rank publishes its progress and the drawing rank reads them all
    # (trainbar.distributed); a single process never imports any of it.
    from trainbar.distributed import info as _rank

    if _rank.rank_info().world_size <= 1:
        return
    try:
        from trainbar.distributed import attach

        attach(runtime)
    except Exception as error:  # noqa: BLE001 - progress of other ranks is never worth a crash
        warn(f"trainbar: could not follow the other ranks ({type(error).__name__}: {error})")


_current: Runtime | None = None
_create_lock = threading.Lock()


def current() -> Runtime:
    """The runtime of this process, created on first use."""
    global _current
    runtime = _current
    if runtime is None:
        with _create_lock:
            if _current is None:
                from trainbar.runtime import lifecycle  # noqa: F401 - its exit hook writes what is queued

                _current = Runtime()
            runtime = _current
    return runtime


def existing() -> Runtime | None:
    """The runtime if one was created (hooks must not create one)."""
    return _current


def replace(runtime: Runtime | None) -> Runtime | None:
    """Swap the process runtime (used by ``trainbar.testing``); returns the previous one."""
    global _current
    previous, _current = _current, runtime
    return previous


def forget_in_child() -> None:
    """A forked child starts over: a runtime of its own, created when it opens a bar."""
    global _current, _create_lock
    _current = None
    _create_lock = threading.Lock()


def stdout() -> Any:
    """The real standard output, even while it is redirected above the bars."""
    return _redirect.unwrap(sys.stdout)
