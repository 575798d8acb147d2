"""Listener: what follows the bars without drawing them (the event file, the ranks' gathering).

The runtime calls its listeners on the ticker thread (on the caller's thread in a runtime made
with ``threaded=False``), never on the training thread, and never with its lock held. A listener
that raises is removed with one warning. Subclass this, or define any of these methods: the
runtime looks each one up by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainbar.core.bar import Bar
    from trainbar.core.snapshot import Snapshot


class Listener:
    """Does nothing for each event; subclasses pick the ones they need."""

    interval = 1.0  # seconds between on_tick calls this listener needs, at most

    def on_open(self, bar: Bar[Any] | None, now: float, first: Snapshot | None = None) -> None:
        """A bar opened; ``first`` is its state then (the call comes a little later)."""

    def on_close(self, bar: Bar[Any], now: float) -> None:
        """A bar closed (its final state)."""

    def on_tick(self, now: float) -> None:
        """The ticker went round: about every ``interval`` seconds while bars are open."""

    def on_write(self, text: str) -> None:
        """A message was printed above the bars (or would have been, on a rank that draws nothing)."""

    def on_stall(self, bar: Bar[Any] | None, info: dict) -> None:
        """The stall watchdog found no progress (``info`` is the report; see docs/events.md)."""

    def on_recover(self, bar: Bar[Any] | None, info: dict) -> None:
        """The loop that stalled made progress again."""
