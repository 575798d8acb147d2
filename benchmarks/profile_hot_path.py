"""Profile the hot path of a wrapped loop: per-item Python against C-level chunks.

    python benchmarks/profile_hot_path.py            # N = 2,000,000
    python benchmarks/profile_hot_path.py --quick    # smoke run (CI)

"before" forces the per-item path (every item resumes a Python generator, as tqdm's iterator
does); "after" is what trainbar does for a fast loop over a built-in iterator: ``islice`` chunks
chained in C, with Python running once per chunk. The profile shows where the time goes in each,
and the call counts show why the second is cheap: Python frames per chunk, not per item.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

import trainbar
from trainbar import _iterate

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


if __name__ == "__main__":
    main()
