"""What the stall watchdog costs: per item in a timed loop, per watchdog round, per report.

    python benchmarks/watchdog.py            # a few seconds
    python benchmarks/watchdog.py --quick    # smoke run (CI): tiny N, no figure is meaningful
    PYTHONPATH=/path/to/other/checkout/src python benchmarks/watchdog.py --items-only   # compare

"items": trainbar's timed path alone (the one that stores the phase, used for steps slower than
about 50 us), driven with no loop body so its own cost is not lost in the noise of a real step. "round": one watchdog
check over open bars (on its own thread, about once a second). "report": building one stall
report (stack, workers, memory, hints), which happens once per stall. Printed, never asserted.
"""

from __future__ import annotations

import argparse
import io
import statistics
import threading
import time

import trainbar

def per_item(n: int, reps: int) -> float:
    from trainbar.core import iterate as _iterate

    b = trainbar.bar(total=n, file=io.StringIO())
    bare_times, timed_times = [], []
    for _ in range(reps):
        start = time.perf_counter()
        for _ in iter(range(n)):
            pass
        bare_times.append((time.perf_counter() - start) / n)
        start = time.perf_counter()
        for _ in _iterate._timed(b, iter(range(n)), _iterate._Walk(), n):
            pass
        timed_times.append((time.perf_counter() - start) / n)
    b.close()
    return statistics.median(timed_times) - statistics.median(bare_times)


def watchdog_round(bars: int, rounds: int = 2000) -> float:
    from trainbar.testing import manual_display

    with manual_display() as (clock, display):
        open_bars = [trainbar.bar(total=10**6, file=io.StringIO()) for _ in range(bars)]
        start = time.perf_counter()
        for _ in range(rounds):
            clock.advance(0.5)
            for b in open_bars:
                b.update()
            display.watchdog.check()
        return (time.perf_counter() - start) / rounds


def report(with_torch: bool) -> float:
    from trainbar.stall import diagnose as _diagnose

    if with_torch:
        import torch.utils.data  # noqa: F401 - makes the report look for DataLoader iterators
    b = trainbar.bar(total=10, file=io.StringIO())
    start = time.perf_counter()
    for _ in range(20):
        _diagnose.stall_report(_diagnose.stall_info(b, [b], thread_id=threading.get_ident(), seconds=31, limit=30, pace=1, steps=10))
    b.close()
    return (time.perf_counter() - start) / 20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items-only", action="store_true", help="only the per-item figure (to compare checkouts)")
    parser.add_argument("--quick", action="store_true", help="tiny N, one repetition: a smoke test only")
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    if args.quick:
        args.n, args.reps = 1000, 1
    print(f"items:  {per_item(args.n, args.reps) * 1e9:8.0f} ns per item on the timed path (for steps > 50 us)")
    if args.items_only:
        return
    for bars in (1, 10):
        print(f"round:  {watchdog_round(bars) * 1e6:8.1f} us per watchdog check with {bars} open bar(s), on its own thread")
    print(f"report: {report(False) * 1e3:8.1f} ms per stall report")
    try:
        print(f"report: {report(True) * 1e3:8.1f} ms per stall report with torch.utils.data imported (DataLoader search)")
    except ImportError:
        print("report: (torch not installed: DataLoader search not measured)")


if __name__ == "__main__":
    main()
