"""The log-file line: plain, self-contained, grep-able, never a control character."""

from __future__ import annotations

from trainbar.core.snapshot import DONE, INTERRUPTED, Snapshot
from trainbar.render import fmt as _format


def numbers(snap: Snapshot) -> str:
    """``45% 450/1000`` or ``450 it`` for a bar with no total."""
    n = _format.count(snap.n, snap.unit_scale, snap.unit_divisor)
    if snap.total is None:
        return f"{n} {snap.unit}"
    total = _format.count(snap.total, snap.unit_scale, snap.unit_divisor)
    fraction = snap.fraction
    percent = 100 if snap.total == 0 else int(fraction * 100) if fraction is not None else 0
    return f"{percent}% {n}/{total}"


_PHASES = {
    "data": "waiting for data",
    "body": "in the step",
    "collective": "in a collective",
    "sync": "in a GPU sync",
}


def phase_label(phase: str | None) -> str:
    """Where a loop is, in words: ``waiting for data``, ``in the step``; empty when unknown."""
    if not phase:
        return ""
    return _PHASES.get(phase, f"in {phase}")


def stall_text(snap: Snapshot) -> str:
    """``stalled 47s waiting for data`` while the watchdog sees no progress, else empty."""
    if snap.stalled is None:
        return ""
    where = "" if snap.waiting else phase_label(snap.where)
    return f"stalled {_format.seconds(snap.stalled)}" + (f" {where}" if where else "")


DATA_SHOWN_FROM = 0.10  # a smaller share of time waiting for data is not worth the room


def data_text(snap: Snapshot) -> str:
    """``data 62%``: the share of step time spent waiting for the next item, when it matters."""
    if snap.data_share is None or snap.data_share < DATA_SHOWN_FROM:
        return ""
    return f"data {snap.data_share:.0%}"


def metrics_text(snap: Snapshot) -> str:
    return " ".join(f"{name}={value}" if name else value for name, value in snap.metrics)


def log_line(snap: Snapshot) -> str:
    """One line that reads on its own: who, how far, how long, how fast, and the metrics."""
    names = [name for name in snap.path if name] + [snap.desc or snap.unit]
    head = " > ".join(names)
    if snap.waiting:
        parts = [f"{snap.prefix}{head}:", "waiting for first batch,", f"elapsed {_format.duration(snap.elapsed)}"]
        stall = stall_text(snap)
        return _format.sanitize(" ".join(parts + ([stall] if stall else [])))
    parts = [f"{snap.prefix}{head}:", numbers(snap), f"elapsed {_format.duration(snap.elapsed)}"]
    if snap.status != INTERRUPTED:  # stopped: a rate and a remaining time no longer mean anything
        if snap.total is not None and snap.status != DONE:
            parts.append(f"remaining {_format.duration(snap.eta)}")
        parts.append(_format.rate(snap.rate, snap.unit, snap.unit_scale, snap.unit_divisor))
    data = data_text(snap)
    if data:
        parts.append(data)
    if snap.phase:
        parts.append(f"paused ({snap.phase})")
    metrics = metrics_text(snap)
    if metrics:
        parts.append(metrics)
    if snap.status == DONE:
        parts.append("done")
    elif snap.status == INTERRUPTED:
        parts.append(snap.stopped_as)
    elif snap.stalled is not None:
        parts.append(stall_text(snap))
    return _format.sanitize(" ".join(parts))
