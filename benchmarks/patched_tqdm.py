"""What a library's tqdm bar costs per step once ``trainbar.patch_tqdm()`` has taken it over,
side by side with the same bar left to tqdm, in one process.

    python benchmarks/patched_tqdm.py           # a few seconds
    python benchmarks/patched_tqdm.py --quick   # smoke run: no figure is meaningful

Both write to a pseudo-terminal drained by a thread, then to a log file, tqdm with its
default throttle. The target
(issue 15) is a patched ``update(1)`` at 0.35x tqdm's or less. Times are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
from runtime_costs import terminal  # noqa: E402

warnings.filterwarnings("ignore")


def per_step(make_bar, steps: int, rounds: int) -> tuple[float, float]:
    """(update(1), for-loop) seconds per step: the best of ``rounds``, each over a fresh bar."""
    updates, loops = [], []
    for _ in range(rounds):
        bar = make_bar(total=steps)
        update = bar.update
        started = time.perf_counter()
        for _ in range(steps):
            update(1)
        updates.append((time.perf_counter() - started) / steps)
        bar.close()
        bar = make_bar(range(steps))
        started = time.perf_counter()
        for _ in bar:
            pass
        loops.append((time.perf_counter() - started) / steps)
    return min(updates), min(loops)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    steps, rounds = (2_000, 1) if args.quick else (300_000, 5)

    import tqdm.auto

    import trainbar

    library_tqdm = tqdm.auto.tqdm  # bound before the patch, as a library binds it
    tqdm.auto.tqdm.monitor_interval = 0
    terminal_stream, stop, _ = terminal()
    log_file = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run
    try:
        for where, stream in (("a pseudo-terminal", terminal_stream), ("a log file", log_file)):
            plain = per_step(lambda *a, s=stream, **k: library_tqdm(*a, file=s, **k), steps, rounds)
            trainbar.patch_tqdm()
            patched = per_step(lambda *a, s=stream, **k: library_tqdm(*a, file=s, **k), steps, rounds)
            trainbar.unpatch_tqdm()
            print(f"a library's tqdm bar, {steps} steps, best of {rounds}, on {where}")
            print(f"  {'':28}{'tqdm':>12}{'patched':>12}{'ratio':>8}")
            for label, index in (("bar.update(1) per step", 0), ("for x in bar(range(N))", 1)):
                ratio = patched[index] / plain[index]
                print(f"  {label:28}{plain[index] * 1e9:>10.0f}ns{patched[index] * 1e9:>10.0f}ns{ratio:>7.2f}x")
    finally:
        stop.set()
        log_file.close()
    print("target: update(1) at 0.35x tqdm's or less")


if __name__ == "__main__":
    main()
