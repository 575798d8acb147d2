"""Where the time goes in a wrapped loop: waiting for the next item against the loop body.

``iterate._timed`` adds up both for loops slow enough to time, about 50 µs a step and more (see
``Bar.data_wait``); this module turns them into the share a frame shows, and into a message given
once above the bars when data is the bottleneck (the runtime prints it; never after a stall).
"""

from __future__ import annotations

DATA_BOUND = 0.5  # above this share of each step spent waiting for data, the loop is data-bound
HINT_AFTER = 5.0  # seconds of timed steps before the share is trusted enough to hint
_hinted = False


def share(bar) -> float | None:
    """The share of step time ``bar``'s loop spends waiting for its next item, or None."""
    return bar.data_wait


def data_bound_hint(bar) -> str | None:
    """The message, once per process, for a loop that mostly waits for its data; else None."""
    global _hinted
    if _hinted:
        return None
    data_share = bar.data_wait
    if data_share is None or data_share <= DATA_BOUND or bar._step_time < HINT_AFTER:
        return None
    _hinted = True
    name = f"{bar._desc!r}" if bar._desc else "the loop"
    return (
        f"trainbar: {name} spends {data_share:.0%} of each step waiting for its next batch, so loading "
        "data is what limits training. More DataLoader workers (num_workers), pin_memory=True, "
        "prefetching or caching the dataset may help. (Said once.)"
    )


def stall_reported() -> None:
    """A hang's wait would read as a slow input pipeline: after a stall report, no hint."""
    global _hinted
    _hinted = True
