"""``trainbar watch``: other processes' bars, followed from their event files and drawn here.

The bars are drawn by the same channels a training process uses (a live region on a terminal,
periodic plain lines otherwise), from ``RemoteBar``s rebuilt from the events. Several files (one
per rank) share the output, each bar tagged with its file's rank; an argument with glob
characters is a pattern, expanded again every ``rescan`` seconds, so files that appear later are
followed too. A process that has open bars but has written nothing for two of its own progress
intervals is marked stale, and its bars stop counting time; once its process is known to be gone
(it ran on this host and its pid is not there), or after as long again when that cannot be known,
its bars are shown as ended without a close. A line that is not an event is skipped and counted.
Time comes from an injected clock, so tests drive it by hand.
"""

from __future__ import annotations

import glob
import itertools
import math
import os
import re
import sys
import time
from collections import deque
from functools import partial
from typing import Callable

from trainbar import _settings
from trainbar.core.snapshot import RUNNING
from trainbar.events.watch.follow import Follower
from trainbar.events.watch.remote import BAR_EVENTS, Malformed, RemoteBar, number, parse
from trainbar.render import fmt as _format
from trainbar.runtime import environment as _env
from trainbar.runtime.channels import LogChannel, TerminalChannel
from trainbar.sinks.writer import DirectOutput

DEFAULT_STALE_AFTER: float | None = None  # None: from each writer's own progress interval
DEFAULT_POLL = 0.2
DEFAULT_RESCAN = 1.0  # seconds between expansions of the patterns among the arguments
WRITER_INTERVAL = 5.0  # TRAINBAR_JSONL_INTERVAL's default: assumed until a writer tells or shows its own
_STALE_INTERVALS = 2  # a writer is stale after this many of its own progress intervals
# A writer's ticker wakes about once a second and sends a progress event on the first wake after
# it is due: an event comes up to a second after its interval. Without this, a writer of one event
# a second (the shortest interval) would be marked stale now and then while healthy.
_TICK_SLACK = 1.0
_GAPS = 3  # recent gaps between a writer's events that are remembered
_GLOB = re.compile(r"[*?[]")

Liveness = Callable[[object, object], "bool | None"]  # (host, pid) -> alive, gone, or cannot tell


class _Process:
    """One writing process of a file, as far as its events tell."""

    def __init__(self) -> None:
        self.last = -math.inf  # watcher-clock time of its latest event
        self.interval = 0.0  # seconds between its progress events, as its open events tell
        # Seconds between its latest events as they reached us: what its interval is when it does
        # not say, and longer than it says when a slow disk or a network file system holds them.
        self.gaps: deque = deque(maxlen=_GAPS)
        self.host: str | None = None
        self.stale = False
        self.ended: list = []  # its bars, shown as ended without a close while it stays silent

    def heard(self, anchor: float) -> None:
        if anchor > self.last:
            if math.isfinite(self.last):
                self.gaps.append(anchor - self.last)
            self.last = anchor

    def expected(self) -> float:
        """Seconds between its events, as far as it told or showed."""
        if not self.interval and not self.gaps:
            return WRITER_INTERVAL
        return max(self.interval, max(self.gaps, default=0.0))


class Source:
    """One followed file: its bars and writers, and the lines it had that were not events."""

    def __init__(self, watcher: Watcher, path: str, index: int, *, live: bool = False) -> None:
        self.watcher = watcher
        self.path = path
        self.index = index
        self.follower = Follower(path)
        self.tag = os.path.basename(path) or path
        self.tagged_by_rank = False
        self.bars: dict = {}  # (pid, bar id) -> RemoteBar, open ones only
        self.closed: set = set()  # keys of closed bars: a late line about one is ignored
        self.processes: dict = {}  # pid -> _Process
        self.malformed = 0
        self.seen_top = False
        # Read once: what it had then was history, what comes now is live. A file that appeared
        # after the watch started is live from its first line.
        self.caught_up = live
        self.sequence = itertools.count()

    @property
    def skipped(self) -> int:
        """Lines skipped: not events, or lost whole or in part while following the file."""
        return self.malformed + self.follower.dropped

    def process(self, pid) -> _Process:
        found = self.processes.get(pid)
        if found is None:
            found = self.processes[pid] = _Process()
        return found

    def open_top(self) -> int:
        return sum(1 for bar in self.bars.values() if bar.top)

    def held(self, bar: RemoteBar, now: float) -> float:
        """The time to draw ``bar`` at: ``now``, or its writer's last event while the writer is
        stale (nothing says its bars moved on since)."""
        process = self.processes.get(bar.key[0])
        return min(now, process.last) if process is not None and process.stale else now

    def prefix(self, bar: RemoteBar, now: float) -> str:
        """``[r1 stale 01:05 stall 00:40] ``: which file, and what is wrong, before the bar's name."""
        parts = [self.tag] if self.watcher.several else []
        process = self.processes.get(bar.key[0])
        if process is not None and process.stale:
            parts.append(f"stale {_format.duration(now - process.last)}")
        if bar.stall is not None:
            seconds, since, _ = bar.stall
            parts.append(f"stall {_format.duration(seconds + max(0.0, self.held(bar, now) - since))}")
        return f"[{' '.join(parts)}] " if parts else ""

    def take_rank(self, rank) -> None:
        if self.tagged_by_rank or not isinstance(rank, int) or isinstance(rank, bool):
            return
        tag = f"r{rank}"
        if all(other.tag != tag for other in self.watcher.sources):
            self.tag, self.tagged_by_rank = tag, True


def _raise(error: Exception, stream: object = None) -> None:
    raise error  # watch is a program of its own: its output failing ends it (see run)


class _WatchTerminal(TerminalChannel):
    """The live region, with a status line under the bars when the watcher has news."""

    def __init__(self, watcher: Watcher, stream: object) -> None:
        super().__init__(stream, DirectOutput(on_error=_raise))
        self.watcher = watcher

    def frame(self, now: float) -> list:
        lines = super().frame(now)
        status = self.watcher.status_line()
        if status:
            lines.append(_format.truncate(status, max(self.width - 1, 1)))
        return lines


class Watcher:
    """Follows event files and draws their bars on ``out``; call :meth:`step` to advance."""

    def __init__(self, paths: list, out, *, clock=time.time, stale_after: float | None = DEFAULT_STALE_AFTER,
                 rescan: float = DEFAULT_RESCAN, alive: Liveness | None = None) -> None:  # fmt: skip
        self.clock = clock
        self.out = out
        self.stale_after = stale_after  # None: twice each writer's own progress interval
        self.alive: Liveness = alive if alive is not None else _Liveness()
        self.rescan = rescan
        self.arguments = [str(path) for path in paths]
        self.patterns = [text for text in self.arguments if _GLOB.search(text)]
        self.matched: set = set()  # the patterns that matched a file at least once
        # Bars are tagged by file when several files are named, or a pattern may name several.
        self.several = len(self.arguments) > 1 or bool(self.patterns)
        self.sources: list = []
        self._following: set = set()  # the files followed, as absolute paths
        self._scanned = clock()
        self._expand(live=False)
        self.terminal = _env.choose_mode(out, disable=False) == _env.TTY
        self.channel: TerminalChannel | LogChannel
        if self.terminal:
            self.channel = _WatchTerminal(self, out)
        else:
            self.channel = LogChannel(out, DirectOutput(on_error=_raise), _settings.current().log_interval)
        self._waiting: list = []  # bars opened but not shown yet: their ``delay`` has not passed
        # The instant being drawn: an event's own time while it is applied (so a file read from
        # the start shows each bar as its writer drew it then), the clock's time otherwise.
        self.now = clock()
        self._reported: dict = {}  # what the log already said per file: (exists, skipped)
        self._announced: set = set()  # the patterns the log said it waits for

    # --- advancing -------------------------------------------------------------------------

    def step(self) -> None:
        """Read what the files gained, then redraw what is due."""
        now = self.clock()
        if self.patterns and abs(now - self._scanned) >= self.rescan:
            self._scanned = now
            self._expand(live=True)
        for source in self.sources:
            for raw in source.follower.poll():
                try:
                    self._apply(source, raw, now)
                except Malformed:
                    source.malformed += 1
            source.caught_up = True
        self.now = now
        self._show_due(now)
        self._mark_stale(now)
        if not self.terminal:
            self._log_notices(now)
        self.channel.tick(now)

    def done(self) -> bool:
        """Every file has had a top-level bar, every top-level bar has closed (or ended without a
        close), and every pattern has matched a file."""
        if len(self.matched) < len(set(self.patterns)) or not self.sources:
            return False
        return all(source.seen_top and not source.open_top() for source in self.sources)

    # --- the files -------------------------------------------------------------------------

    def _expand(self, *, live: bool) -> None:
        """Follow the named files, and every file the patterns match now that is not followed yet."""
        for text in self.arguments:
            if text not in self.patterns:
                self._follow(text, live=live)
                continue
            found = {path for path in glob.glob(text, recursive=True) if not os.path.isdir(path)}
            if os.path.isfile(text):
                found.add(text)  # `run[1].jsonl` that exists is that file
            if found:
                self.matched.add(text)
            for path in sorted(found):
                self._follow(path, live=live)

    def _follow(self, path: str, *, live: bool) -> None:
        key = os.path.abspath(path)
        if key not in self._following:
            self._following.add(key)
            self.sources.append(Source(self, path, len(self.sources), live=live))

    def close(self, *, output_gone: bool = False) -> None:
        """Leave the output as a person would want it: the last frame kept, the cursor back."""
        now = self.now = self.clock()
        if self.terminal and not output_gone:
            assert isinstance(self.channel, TerminalChannel)
            lines = self.channel.frame(now)
            if lines:
                region = self.channel.region
                self.channel.output.submit(partial(region.write_above, "\n".join(lines) + "\n", None, []))
            self.channel.release()
        for source in self.sources:
            source.follower.close()

    # --- events ----------------------------------------------------------------------------

    def _apply(self, source: Source, raw: bytes, now: float) -> None:
        event = parse(raw)
        kind = event["event"]
        # When the event happened, on our clock. Live, that is when it arrived: a writer on another
        # host may have a clock that is off. In a file's history it is the time written in it,
        # but never later than now.
        written = event.get("time")
        anchor = now
        if not source.caught_up and isinstance(written, (int, float)) and not isinstance(written, bool):
            anchor = min(now, written) if math.isfinite(written) else now
        self.now = anchor
        pid = event.get("pid") if isinstance(event.get("pid"), (int, str)) else None
        process = source.process(pid)
        if process.ended:
            self._revive(source, pid, process)
        process.heard(anchor)
        if isinstance(event.get("host"), str):
            process.host = _format.sanitize(event["host"][:100])
        source.take_rank(event.get("rank"))
        if kind == "write":
            if not isinstance(event.get("text"), str):
                raise Malformed("a write event needs its text")
            self._message(source, event["text"])
        elif kind in BAR_EVENTS and "bar" in event:
            self._bar_event(source, process, (pid, event["bar"]), event, anchor)
        elif kind in ("stall", "recover"):
            self._stall_message(source, None, kind, event.get("stall"))
        # Any other event is from a newer writer: skipped without complaint, as documented.

    def _bar_event(self, source: Source, process: _Process, key, event: dict, anchor: float) -> None:
        kind = event["event"]
        if key in source.closed:
            return
        bar = source.bars.get(key)
        if bar is None:
            parent_id = event.get("parent")
            parent = source.bars.get((key[0], parent_id)) if parent_id is not None else None
            lineage = (parent.lineage if parent is not None else (source.index,)) + (next(source.sequence),)
            bar = RemoteBar(source, key, parent, lineage, top=parent_id is None)
            bar.update(event, anchor)
            source.bars[key] = bar
            source.seen_top = source.seen_top or bar.top
            self._waiting.append(bar)
            self._show_due(anchor)
        else:
            bar.update(event, anchor)
        interval = event.get("interval")
        if kind == "open" and isinstance(interval, (int, float)) and not isinstance(interval, bool) and interval > 0:
            process.interval = min(float(interval), 1e9)
        if kind == "stall":
            info = event["stall"] if isinstance(event.get("stall"), dict) else {}
            bar.stall = (_seconds(info), anchor, info)
            self._stall_message(source, bar, kind, info)
        elif kind == "recover":
            bar.stall = None
            self._stall_message(source, bar, kind, event.get("stall"))
        if kind == "close" or bar.status != RUNNING:
            self._close(source, bar, anchor)

    def _close(self, source: Source, bar: RemoteBar, now: float) -> None:
        del source.bars[bar.key]
        source.closed.add(bar.key)
        if bar in self._waiting:
            self._waiting.remove(bar)
            if bar.elapsed(now) >= bar.delay:
                self.channel.remove(bar, now)  # its final line only, as its writer drew it
            return
        self.channel.remove(bar, now)

    def _show_due(self, now: float) -> None:
        for bar in list(self._waiting):
            if bar.elapsed(now) >= bar.delay:
                self._waiting.remove(bar)
                self.channel.add(bar, now)

    # --- text above the bars ---------------------------------------------------------------

    def _message(self, source: Source, text: str) -> None:
        if not text:
            return
        if not text.endswith("\n"):
            text += "\n"  # the region is drawn on the next line, never after the message
        if self.several:
            text = "".join(f"[{source.tag}] {line}" for line in text.splitlines(keepends=True))
        text = _format.sanitize_message(text) if self.terminal else _format.sanitize_report(text)
        self.channel.write_above(text, self.out)

    def _stall_message(self, source: Source, bar, kind: str, info) -> None:
        info = info if isinstance(info, dict) else {}
        lasted = _format.duration(_seconds(info))
        name = " > ".join(bar.names()) if bar is not None else "process"
        if kind == "stall":
            phase = info.get("phase")
            text = f"{name}: stall, no progress for {lasted}" + (
                f" ({phase})" if isinstance(phase, str) and phase else ""
            )
        else:
            text = f"{name}: recovered after {lasted}"
        report = info.get("report")
        if kind == "stall" and isinstance(report, str) and report.strip():
            text += "\n" + report.rstrip("\n")
        self._message(source, text)

    # --- staleness and notices -------------------------------------------------------------

    def _stale_limit(self, process: _Process) -> float:
        if self.stale_after is not None:
            return self.stale_after
        return _STALE_INTERVALS * process.expected() + _TICK_SLACK

    def _mark_stale(self, now: float) -> None:
        for source in self.sources:
            writing = {bar.key[0] for bar in source.bars.values()}
            for pid, process in list(source.processes.items()):
                quiet, limit = now - process.last, self._stale_limit(process)
                stale = pid in writing and quiet > limit
                reason = self._gone(pid, process, quiet, limit) if stale else None
                if reason is not None:
                    self._end(source, pid, process, reason, now)
                    continue
                if stale != process.stale and not self.terminal:
                    note = f"no events for {_format.duration(quiet)}: stale" if stale else "events again"
                    self._notice(f"{source.path}: {note}")
                process.stale = stale

    def _gone(self, pid, process: _Process, quiet: float, limit: float) -> str | None:
        """Why a stale writer is taken as ended, or None while it may still be there."""
        alive = self.alive(process.host, pid)
        if alive is False:
            return f"process {pid} is gone"
        if alive or quiet <= 2 * limit:
            return None
        silence = f"no events for {_format.duration(quiet)}"
        if pid is None:
            return silence
        where = f" on {process.host}" if process.host and process.host != getattr(self.alive, "host", None) else ""
        return f"{silence}; process {pid}{where} cannot be checked from here"

    def _end(self, source: Source, pid, process: _Process, reason: str, now: float) -> None:
        """A writer gone without closing its bars: say where each stopped, and stop drawing them."""
        bars = sorted((bar for bar in source.bars.values() if bar.key[0] == pid), key=lambda bar: bar.lineage)
        for bar in bars:
            del source.bars[bar.key]
            bar.ended = True
            if bar in self._waiting:
                self._waiting.remove(bar)  # never shown: its writer had not drawn it either
                continue
            self._message(source, f"{' > '.join(bar.names())}: ended without close at {bar.position()} ({reason})")
            self.channel.remove(bar, now)
        process.ended, process.stale = bars, False

    def _revive(self, source: Source, pid, process: _Process) -> None:
        """A writer taken as ended writes again: its bars are back."""
        for bar in process.ended:
            bar.ended = False
            source.bars[bar.key] = bar
            self._waiting.append(bar)
        process.ended = []
        self._notice(f"{source.path}: events again from process {pid}, taken as ended before")

    def status_line(self) -> str:
        """One line on what is not a bar: files not there yet, lines skipped."""
        parts = []
        missing = [source.path for source in self.sources if not source.follower.exists]
        missing += [pattern for pattern in self.patterns if pattern not in self.matched]
        if missing:
            parts.append("waiting for " + ", ".join(missing))
        skipped = sum(source.skipped for source in self.sources)
        if skipped:
            parts.append(f"{skipped} malformed line{'s' if skipped != 1 else ''} skipped")
        return "trainbar watch: " + "; ".join(parts) if parts else ""

    def _log_notices(self, now: float) -> None:
        for source in self.sources:
            state = (source.follower.exists, source.skipped)
            before = self._reported.get(source.path, (True, 0))
            if not state[0] and before[0]:
                self._notice(f"waiting for {source.path}")
            if state[1] > before[1]:
                self._notice(f"{source.path}: {state[1]} malformed line{'s' if state[1] != 1 else ''} skipped so far")
            self._reported[source.path] = state
        for pattern in self.patterns:
            if pattern not in self.matched and pattern not in self._announced:
                self._notice(f"waiting for {pattern}")
                self._announced.add(pattern)

    def _notice(self, text: str) -> None:
        self.channel.write_above(f"trainbar watch: {_format.sanitize(text)}\n", self.out)


def _seconds(info: dict) -> float:
    """How long a stall has lasted, from a stall or recover event; 0 when it does not say."""
    try:
        seconds = number(info.get("seconds"), 0.0, name="seconds")
    except Malformed:
        return 0.0
    return seconds if math.isfinite(seconds) and seconds >= 0 else 0.0


class _Liveness:
    """Whether a writer's process is there: looked up by pid when it ran on this host."""

    def __init__(self) -> None:
        from trainbar.distributed.info import hostname

        self.host = hostname()

    def __call__(self, host, pid) -> bool | None:
        if sys.platform == "win32" or host != self.host:
            return None  # on Windows os.kill(pid, 0) would end the process, not look it up
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
            return None  # 0 and negative pids name process groups
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # there, another user's
        except (OSError, OverflowError):
            return None
        return True


def run(paths: list, out, *, exit_when_done: bool = False, stale_after: float | None = DEFAULT_STALE_AFTER,
        poll: float = DEFAULT_POLL, clock=time.time, sleep=time.sleep) -> int:  # fmt: skip
    """Follow ``paths`` until every top-level bar closed or ended (with ``exit_when_done``) or Ctrl-C."""
    watcher = Watcher(paths, out, clock=clock, stale_after=stale_after)
    output_gone = False
    try:
        while True:
            watcher.step()
            if exit_when_done and watcher.done():
                return 0
            sleep(poll)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `trainbar watch run.jsonl | head`: the reader has all it wanted
        output_gone = True
        _silence(out)
        return 0
    finally:
        watcher.close(output_gone=output_gone)


def _silence(out) -> None:
    # Python flushes stdout once more at exit; into a closed pipe that prints a traceback.
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
    except (OSError, ValueError, AttributeError):
        pass
