"""Node: one bar as the runtime keeps it, with everything about it that the bar does not own.

Where the bar sits among the others (its parent, depth and order), the thread that opened it,
the channel that draws it, and the notes that other parts of trainbar put on its line (the
ranks' summary, a stall). The runtime and its listeners write these; the bar only reads them
when it takes a snapshot. The bar itself is held weakly, so a bar that is dropped without being
closed can still be collected (and is closed then).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Callable

from trainbar.render import fmt

if TYPE_CHECKING:
    from trainbar.core.bar import Bar
    from trainbar.core.snapshot import Snapshot
    from trainbar.runtime.channels import Channel

MAX_PATH_CHARS = 512


class Node:
    """An open bar's place in the runtime."""

    __slots__ = ("bar", "parent", "depth", "lineage", "thread_id", "opened", "channel", "stream", "prefix",
                 "on_stall", "stall_since", "eta_held", "closing", "owner", "first", "final", "_notes",
                 "__weakref__")  # fmt: skip

    def __init__(self, bar: Bar[Any], parent: Node | None, order: int, *, thread_id: int, opened: float,
                 prefix: str, on_stall: Callable[[dict], object] | None, owner: object) -> None:  # fmt: skip
        self.bar: weakref.ref[Bar[Any]] = weakref.ref(bar)
        self.owner = owner  # the runtime that placed it: a forked child's runtime leaves it alone
        self.parent = parent
        self.depth: int = parent.depth + 1 if parent is not None else 0
        # Sorting by lineage puts every bar right after its parent, siblings in the order they opened.
        self.lineage: tuple[int, ...] = (parent.lineage if parent is not None else ()) + (order,)
        self.thread_id = thread_id
        self.opened = opened  # trainbar's clock when the bar was created
        self.channel: Channel | None = None
        self.stream: Any = None  # where the bar draws, or None when it draws nowhere
        self.prefix = prefix  # "[r3] " when every rank draws
        self.on_stall = on_stall
        self.stall_since: float | None = None  # set by the stall watchdog while the loop is stalled
        self.eta_held = False  # set while another rank of the job is stuck or silent
        # The bar, held strongly from its close until its final line is drawn: a bar closed by
        # the garbage collector has no weak reference left by then.
        self.closing: Bar[Any] | None = None
        # Snapshots taken on the user's thread, for lines drawn later on the ticker: the state
        # when the bar opened (its opening log line) and when it closed (its final line).
        self.first: Snapshot | None = None
        self.final: Snapshot | None = None
        self._notes: dict[str, str] = {}

    def target(self) -> Bar[Any] | None:
        """The bar, while it is alive or still to be drawn closed."""
        return self.closing if self.closing is not None else self.bar()

    # --- what a channel draws (the Drawable protocol, see channels.py) ------------------------

    def snapshot(self, now: float) -> Snapshot | None:
        if self.final is not None:
            return self.final
        bar = self.target()
        return bar.snapshot(now) if bar is not None else None

    @property
    def leave(self) -> bool:
        bar = self.target()
        return bar.leave if bar is not None else False

    def chain(self) -> list[Node]:
        """This node and the ones it is nested in, outermost first."""
        chain: list[Node] = []
        node: Node | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        chain.reverse()
        return chain

    def path(self) -> tuple[str, ...]:
        """The descriptions of the bars this one is nested in, outermost first."""
        names = []
        node = self.parent
        while node is not None:
            bar = node.target()
            names.append(bar.title() if bar is not None else "")
            node = node.parent
        return tuple(reversed(names))

    def note(self, key: str, text: str | None) -> None:
        """Show ``text`` after the bar's metrics (None removes it); ``key`` names who says it."""
        if text:
            self._notes[key] = fmt.sanitize(text[:MAX_PATH_CHARS])
        else:
            self._notes.pop(key, None)

    def notes(self) -> tuple[tuple[str, str], ...]:
        return tuple(("", text) for text in list(self._notes.values()))

    def visible(self, now: float) -> bool:
        """Whether the bar is past its ``delay``."""
        bar = self.target()
        return bar is not None and (bar.delay <= 0 or now - self.opened >= bar.delay)

    def delay(self) -> float:
        bar = self.target()
        return bar.delay if bar is not None else 0.0

    def __repr__(self) -> str:
        bar = self.bar()
        return f"<Node {bar!r} depth={self.depth}>"
