"""Progress of every rank of a distributed job, through torch.distributed's store, never a collective.

In a job of more than one rank, each rank publishes its bars' counters about once a second
(``n``, ``total``, ``rate``, ``phase``, a heartbeat, host and pid) under ``trainbar/<job>/`` in
the job's store. The drawing rank reads them all in one request a second and shows the job on
its own bars: the slowest and the fastest rank, the ranks that are behind, the ranks whose
heartbeat has stopped. See ``store`` for which store is used, ``gather`` for the threads.

For other parts of trainbar (the stall watchdog) and for users:

* ``job_view()``: the latest ``JobView`` on the drawing rank (None elsewhere, or before the first
  read): every rank's record (phase, idle seconds, heartbeat silence, host, pid) and verdicts.
* ``set_phase_source(fn)``: ``fn(chain)`` gets this rank's open bars, outermost first, and returns
  the phase text each publication carries (``data``, ``step``, ``collective``...).
"""

from __future__ import annotations

import sys
import weakref
from typing import TYPE_CHECKING, Any

from trainbar import _settings
from trainbar.distributed import info as _rank
from trainbar.distributed import leader as _leader

if TYPE_CHECKING:
    from trainbar.distributed.gather import RankGatherer
    from trainbar.distributed.summary import JobView, RankState

__all__ = ["JobView", "RankState", "attach", "heartbeat_timeout", "job_view", "set_phase_source"]

_gatherers: weakref.WeakValueDictionary[int, RankGatherer] = weakref.WeakValueDictionary()  # id(runtime) -> gatherer
_current: RankGatherer | None = None


def __getattr__(name: str) -> Any:
    # Every process reads its rank (info, leader); only a distributed job needs the rest, which
    # `import trainbar` must not pay for.
    if name in ("JobView", "RankState"):
        from trainbar.distributed import summary

        return getattr(summary, name)
    if name == "heartbeat_timeout":
        from trainbar.distributed import gather

        return gather.heartbeat_timeout
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def attach(runtime: Any) -> RankGatherer | None:
    """Start publishing (and, on the drawing rank, gathering) for ``runtime``; at most once each.

    The runtime calls the gatherer's ``finish`` at exit, which publishes a last record marked
    ``exited``."""
    global _current
    info = _rank.rank_info()
    if info.world_size <= 1 or not _is_rank_process() or not _settings.current().gather:
        return None
    existing = _gatherers.get(id(runtime))
    if existing is not None and existing.runtime is runtime:
        return existing
    from trainbar.distributed.gather import RankGatherer

    gatherer = RankGatherer(runtime, info, threaded=runtime.threaded)
    _gatherers[id(runtime)] = gatherer
    runtime.subscribe(gatherer)
    _current = gatherer
    return gatherer


def job_view() -> JobView | None:
    """The latest view of every rank, on the rank that reads them; otherwise None."""
    gatherer = _current
    if gatherer is None or gatherer.off:
        return None
    return gatherer.view


def set_phase_source(source) -> None:
    """Publish ``source(chain)`` as this rank's phase (None restores the default)."""
    from trainbar.distributed import gather

    gather.phase_source = gather._default_phase if source is None else source


def _is_rank_process() -> bool:
    """False in a forked child or a DataLoader worker: they share the rank's number, not its bars."""
    if _leader.in_forked_child:
        return False
    data = sys.modules.get("torch.utils.data")
    try:
        return data is None or data.get_worker_info() is None
    except Exception:  # noqa: BLE001
        return True
