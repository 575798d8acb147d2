"""Where the time goes in a wrapped loop: waiting for the next item against the loop body.

``_iterate._timed`` adds up both for loops slow enough to time (see ``Bar.data_wait``); this
module turns them into the share a frame shows and a one-time hint when data is the bottleneck.
"""

from __future__ import annotations

from trainbar._warnings import warn

DATA_BOUND = 0.5  # above this share of each step spent waiting for data, the loop is data-bound
HINT_AFTER = 5.0  # seconds of timed steps before the share is trusted enough to hint
_hinted = False


def share(bar) -> float | None:
    """The share of step time ``bar``'s loop spends waiting for its next item, or None."""
    global _hinted
    data_share = bar.data_wait
    if data_share is not None and data_share > DATA_BOUND and not _hinted and bar._step_time >= HINT_AFTER:
        _hinted = True
        name = f"{bar._desc!r}" if bar._desc else "a loop"
        warn(
            f"trainbar: {name} spends {data_share:.0%} of each step waiting for its next batch: "
            "the input pipeline is the bottleneck (more DataLoader workers, pin_memory=True, "
            "prefetching or caching the dataset may help). This hint is given once."
        )
    return data_share
