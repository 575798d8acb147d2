"""``trainbar demo --stall``: a short loop whose data loader hangs once, to show the watchdog.

The threshold is one second here (``TRAINBAR_STALL=1``, unless set already) so the demo ends in
a few seconds; a real run judges stalls against its own pace, 30 seconds at the least.
"""

from __future__ import annotations

import os
import time

import trainbar as tb

STEPS = 40
HANG_AT = 15


def _slow_read(seconds: float) -> None:
    """Stands in for a read that hangs: a network file system, a lock, a stuck worker."""
    time.sleep(seconds)


def _loader(hang: float):
    _slow_read(0.8)  # workers starting up: the bar says "waiting for first batch"
    for step in range(STEPS):
        if step == HANG_AT:
            _slow_read(hang)
        time.sleep(0.02)
        yield step


def run(hang: float = 3.5) -> None:
    os.environ.setdefault("TRAINBAR_STALL", "1")
    tb.write(
        f"trainbar demo --stall: batch {HANG_AT} hangs for {hang:g}s; the watchdog reports it after "
        f"{os.environ['TRAINBAR_STALL']}s without progress (TRAINBAR_STALL), then its recovery"
    )
    for step in tb.bar(_loader(hang), total=STEPS, desc="train", unit="step"):
        time.sleep(0.03)
        tb.log(loss=1.0 / (1 + step))
    tb.write("trainbar demo --stall: done. Nothing was killed: on_stall= is there for that")
