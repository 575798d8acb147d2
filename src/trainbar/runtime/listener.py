"""Listener: what follows the bars without drawing them (the event file, the ranks' gathering).

The runtime calls its listeners on the ticker thread (on the caller's thread in a runtime made
with ``threaded=False``), never on the training thread, and never with its lock held. A listener
that raises is removed with one warning.

``Listener`` is a typing Protocol: a class that subclasses it inherits a do-nothing default for
each event and is handed every argument the event has (``first``, the opening snapshot, say);
any other object works too, if it defines the methods it wants by name, and gets the positional
arguments only, so a listener written against an older runtime keeps working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from trainbar.core.bar import Bar
    from trainbar.core.snapshot import Snapshot


@runtime_checkable
class Listener(Protocol):
    """Does nothing for each event; subclasses pick the ones they need."""

    interval: float = 1.0  # seconds between on_tick calls this listener needs, at most

    def on_open(self, bar: Bar[Any] | None, now: float, first: Snapshot | None = None) -> None:
        """A bar opened; ``first`` is its state then (the call comes a little later)."""
        return None

    def on_close(self, bar: Bar[Any], now: float) -> None:
        """A bar closed (its final state)."""
        return None

    def on_tick(self, now: float) -> None:
        """The ticker went round: about every ``interval`` seconds while bars are open."""
        return None

    def on_write(self, text: str) -> None:
        """A message was printed above the bars (or would have been, on a rank that draws nothing)."""
        return None

    def on_stall(self, bar: Bar[Any] | None, info: dict) -> None:
        """The stall watchdog found no progress (``info`` is the report; see docs/events.md)."""
        return None

    def on_recover(self, bar: Bar[Any] | None, info: dict) -> None:
        """The loop that stalled made progress again."""
        return None
