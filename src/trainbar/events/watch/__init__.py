"""``trainbar watch``: follow event files written by ``TRAINBAR_JSONL`` and draw their bars."""

from trainbar.events.watch.watcher import DEFAULT_POLL, DEFAULT_STALE_AFTER, Watcher, run

__all__ = ["DEFAULT_POLL", "DEFAULT_STALE_AFTER", "Watcher", "run"]
