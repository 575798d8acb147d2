"""What the training thread pays to open and close a bar and to write a message, on a terminal,
side by side with tqdm in one process, with 1 and with 20 other bars live.

    python benchmarks/runtime_costs.py          # about half a minute
    python benchmarks/runtime_costs.py --quick  # smoke run: no figure is meaningful

The terminal is a real pseudo-terminal, drained by a thread as a terminal would be. trainbar
hands opening, closing and messages to its own threads, so the cost should not grow with the
number of live bars; tqdm redraws on the calling thread. Times are printed, never asserted.
"""

from __future__ import annotations

import argparse
import io
import os
import pty
import statistics
import threading
import time
import warnings

warnings.filterwarnings("ignore")


def terminal():
    """A text stream on a pseudo-terminal whose other end is read continuously."""
    master, slave = pty.openpty()
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            try:
                os.read(master, 1 << 16)
            except OSError:
                return

    threading.Thread(target=drain, daemon=True).start()
    stream = io.TextIOWrapper(os.fdopen(slave, "wb", buffering=0), encoding="utf-8", write_through=True)
    return stream, stop, master


def per_call(action, reps: int) -> float:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(library: str, live: int, reps: int) -> dict:
    stream, stop, master = terminal()
    try:
        if library == "trainbar":
            import trainbar

            others = [trainbar.bar(total=100, desc=f"live {i}", file=stream) for i in range(live)]
            bars: list = []
            opened = per_call(lambda: bars.append(trainbar.bar(total=3, desc="short", file=stream)), reps)
            closed = per_call(lambda: bars.pop().close(), reps)
            wrote = per_call(lambda: trainbar.write("a message", file=stream), reps)
            for bar in others:
                bar.close()
            trainbar.flush()
        else:
            from tqdm import tqdm

            others = [tqdm(total=100, desc=f"live {i}", file=stream, position=i) for i in range(live)]
            bars = []
            opened = per_call(lambda: bars.append(tqdm(total=3, desc="short", file=stream, position=live)), reps)
            closed = per_call(lambda: bars.pop().close(), reps)
            wrote = per_call(lambda: tqdm.write("a message", file=stream), reps)
            for bar in others:
                bar.close()
    finally:
        stop.set()
        stream.close()
        os.close(master)
    return {"open": opened, "close": closed, "write": wrote}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a few repetitions: a smoke run only")
    args = parser.parse_args()
    reps = 5 if args.quick else 300
    print(f"median microseconds on the calling thread, {reps} calls each, on a pseudo-terminal")
    for live in (1, 20):
        results = {library: measure(library, live, reps) for library in ("trainbar", "tqdm")}
        print(f"\nwith {live} other bar(s) live")
        print(f"  {'call':8} {'trainbar':>10} {'tqdm':>10} {'× tqdm':>8}")
        for call in ("open", "close", "write"):
            mine, theirs = results["trainbar"][call] * 1e6, results["tqdm"][call] * 1e6
            print(f"  {call:8} {mine:10.1f} {theirs:10.1f} {mine / theirs if theirs else float('nan'):8.3f}")


if __name__ == "__main__":
    main()
