"""Profile the hot paths: a wrapped loop (per-item Python against C-level chunks), and update().

    python benchmarks/profile_hot_path.py            # N = 2,000,000
    python benchmarks/profile_hot_path.py --quick    # smoke run (CI)

"before" forces the per-item path (every item resumes a Python generator, as tqdm's iterator
does); "after" is what trainbar does for a fast loop over a built-in iterator: ``islice`` chunks
chained in C, with Python running once per chunk. The profile shows where the time goes in each,
and the call counts show why the second is cheap: Python frames per chunk, not per item.

For ``update(1)``, "before" is the pure-Python counter (``_counter.PyCounter``) and "after" the
compiled twin (``_speedups.c``), timed side by side in this process. A plain Python method
without ``**metrics`` is shown too: the difference between it and the pure-Python counter is what
accepting metrics costs a Python method (an unspecialised call and a new dict every time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time

import trainbar
from trainbar.core import iterate as _iterate
from trainbar.core.counter import PyCounter

N = 2_000_000


def loop() -> None:
    for _ in trainbar.bar(range(N), file=io.StringIO()):
        pass


def run(label: str) -> None:
    start = time.perf_counter()
    loop()
    plain = time.perf_counter() - start
    profiler = cProfile.Profile()
    profiler.runcall(loop)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
    stats.print_stats(6)
    calls = sum(entry[1] for entry in stats.stats.values())  # type: ignore[attr-defined]
    print(f"== {label}: {plain / N * 1e9:.1f} ns per item unprofiled; {calls:,} Python-level calls profiled")
    print("\n".join(out.getvalue().splitlines()[4:16]))


class PlainMethod:
    __slots__ = ("_n",)

    def update(self, n=1):
        self._n += n


def update_hosts() -> dict:
    """A counter of each kind at 0. ``update(1)`` touches nothing else, so nothing else is set."""
    kinds = {"pure-Python counter (before)": PyCounter}
    try:
        from trainbar.core._speedups import Counter as compiled
    except ImportError:
        print("(trainbar.core._speedups was not built: no compiled counter to compare)")
    else:
        kinds["compiled counter (after)"] = compiled
    kinds["plain method, no **metrics"] = PlainMethod
    hosts = {}
    for label, kind in kinds.items():
        hosts[label] = kind()
        hosts[label]._n = 0
    return hosts


def time_updates(reps: int = 5) -> None:
    def timed(update) -> float:
        start = time.perf_counter()
        for _ in range(N):
            update(1)
        return time.perf_counter() - start

    def bare_loop() -> float:
        start = time.perf_counter()
        for _ in range(N):
            pass
        return time.perf_counter() - start

    hosts = update_hosts()
    times: dict = {label: [] for label in hosts}
    bare = []
    for _ in range(reps):  # interleaved, medians, the bare loop subtracted
        bare.append(bare_loop())
        for label, host in hosts.items():
            times[label].append(timed(host.update))
    baseline = statistics.median(bare)
    print("== update(1): ns per call over a bare loop")
    for label, values in times.items():
        print(f"  {label:<32}{(statistics.median(values) - baseline) / N * 1e9:>8.1f}")


def main() -> None:
    global N
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 items: a smoke run only")
    if parser.parse_args().quick:
        N = 20_000
    original = _iterate.FAST_STEP
    _iterate.FAST_STEP = 0.0  # nothing counts as fast: every item goes through the timed generator
    try:
        run("before: per-item generator")
    finally:
        _iterate.FAST_STEP = original
    run("after: islice chunks chained in C")
    time_updates()


if __name__ == "__main__":
    main()
