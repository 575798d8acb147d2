"""Per-item cost of trainbar and its peers, side by side in one process.

    python benchmarks/overhead.py            # full run: about a minute
    python benchmarks/overhead.py --quick    # smoke run (CI): tiny N, no figure is meaningful

Every case runs each library on the same loop, repetitions interleaved (bare, trainbar, tqdm,
rich, ... then again), so drift on a shared machine hits all of them alike. The figure is the
median time per item minus the median of a bare loop: the cost the library adds. Ratios are to
tqdm. Output goes to a real file ("log" mode) and to a pseudo-terminal ("tty" mode, drained by a
thread as a terminal would), so both drawing paths are paid for. Times are printed, never
asserted: absolute numbers drift between runs and machines.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import pty
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings

warnings.filterwarnings("ignore")


# --- output targets ---------------------------------------------------------------------------


@contextlib.contextmanager
def log_file():
    with tempfile.TemporaryFile("w+") as stream:
        yield stream


@contextlib.contextmanager
def pseudo_terminal(columns: int = 120):
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    stream = os.fdopen(slave, "w", buffering=1)
    stop = threading.Event()

    def drain():
        while not stop.is_set():
            try:
                if not os.read(master, 65536):
                    break
            except OSError:
                break

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        yield stream
    finally:
        stop.set()
        stream.close()
        os.close(master)


# --- the libraries, one adapter each ----------------------------------------------------------
# Each adapter returns a function that runs the case over n items and returns the seconds taken.


def _timed(body):
    start = time.perf_counter()
    body()
    return time.perf_counter() - start


def bare(case, n, stream):
    def loop():
        for _ in range(n):
            pass

    return lambda: _timed(loop)


def trainbar_adapter(case, n, stream):
    import trainbar

    def iterate():
        for _ in trainbar.bar(range(n), file=stream):
            pass

    def update():
        b = trainbar.bar(total=n, file=stream)
        u = b.update
        for _ in range(n):
            u(1)
        b.close()

    def update_metric():
        b = trainbar.bar(total=n, file=stream)
        u = b.update
        x = 0.5
        for _ in range(n):
            u(1, loss=x)
        b.close()

    return lambda: _timed({"iterate": iterate, "update": update, "update_metric": update_metric}[case])


def tqdm_adapter(case, n, stream):
    from tqdm import tqdm

    def iterate():
        for _ in tqdm(range(n), file=stream):
            pass

    def update():
        t = tqdm(total=n, file=stream)
        u = t.update
        for _ in range(n):
            u(1)
        t.close()

    def update_metric():
        t = tqdm(total=n, file=stream)
        x = 0.5
        for _ in range(n):
            t.update(1)
            t.set_postfix(loss=x)
        t.close()

    return lambda: _timed({"iterate": iterate, "update": update, "update_metric": update_metric}[case])


def rich_adapter(case, n, stream):
    from rich.console import Console
    from rich.progress import Progress

    def run(loop):
        console = Console(file=stream, force_terminal=stream.isatty(), width=120)
        with Progress(console=console) as progress:
            task = progress.add_task("bench", total=n)
            loop(progress, task)

    def iterate(progress, task):
        for _ in progress.track(range(n), task_id=task):
            pass

    def update(progress, task):
        advance = progress.advance
        for _ in range(n):
            advance(task, 1)

    def update_metric(progress, task):
        x = 0.5
        for _ in range(n):
            progress.update(task, advance=1, loss=x)

    loop = {"iterate": iterate, "update": update, "update_metric": update_metric}[case]
    return lambda: _timed(lambda: run(loop))


def alive_adapter(case, n, stream):
    from alive_progress import alive_bar, alive_it

    tty = stream.isatty()

    def iterate():
        for _ in alive_it(range(n), file=stream, force_tty=tty, enrich_print=False):
            pass

    def update():
        with alive_bar(n, file=stream, force_tty=tty, enrich_print=False) as advance:
            for _ in range(n):
                advance()

    def update_metric():
        with alive_bar(n, file=stream, force_tty=tty, enrich_print=False) as advance:
            x = 0.5
            for _ in range(n):
                advance()
                advance.text(f"loss={x}")

    return lambda: _timed({"iterate": iterate, "update": update, "update_metric": update_metric}[case])


def progressbar2_adapter(case, n, stream):
    import progressbar

    def iterate():
        for _ in progressbar.progressbar(range(n), fd=stream):
            pass

    def update():
        bar = progressbar.ProgressBar(max_value=n, fd=stream)
        for i in range(n):
            bar.update(i + 1)
        bar.finish()

    def update_metric():
        widgets = [progressbar.Percentage(), " ", progressbar.Bar(), " ", progressbar.Variable("loss")]
        bar = progressbar.ProgressBar(max_value=n, fd=stream, widgets=widgets)
        x = 0.5
        for i in range(n):
            bar.update(i + 1, loss=x)
        bar.finish()

    return lambda: _timed({"iterate": iterate, "update": update, "update_metric": update_metric}[case])


def enlighten_adapter(case, n, stream):
    import enlighten

    def run(loop):
        manager = enlighten.get_manager(stream=stream)
        counter = manager.counter(total=n)
        loop(counter)
        counter.close()
        manager.stop()

    def iterate(counter):
        for _ in range(n):
            counter.update()

    def update_metric(counter):
        for _ in range(n):
            counter.update(loss=0.5)  # enlighten's user-defined fields

    loop = {"iterate": iterate, "update": iterate, "update_metric": update_metric}[case]
    return lambda: _timed(lambda: run(loop))


ADAPTERS = {
    "trainbar": trainbar_adapter,
    "tqdm": tqdm_adapter,
    "rich": rich_adapter,
    "alive-progress": alive_adapter,
    "progressbar2": progressbar2_adapter,
    "enlighten": enlighten_adapter,
}

CASES = {
    "iterate": "for x in bar(range(N))",
    "update": "bar.update(1) per item",
    "update_metric": "update(1) + a metric every step",
}


def available(names):
    found = []
    for name in names:
        module = {"alive-progress": "alive_progress", "progressbar2": "progressbar"}.get(name, name)
        try:
            __import__(module)
            found.append(name)
        except ImportError:
            print(f"  ({name} is not installed: skipped)")
    return found


def measure(case, n, reps, stream, libraries):
    runners = {"bare": bare(case, n, stream)}
    runners.update({name: ADAPTERS[name](case, n, stream) for name in libraries})
    times = {name: [] for name in runners}
    for _ in range(reps):
        for name, run in runners.items():  # interleaved: drift hits every library alike
            times[name].append(run())
    baseline = statistics.median(times["bare"])
    return {name: max(statistics.median(t) - baseline, 0.0) / n * 1e9 for name, t in times.items() if name != "bare"}


def report(title, costs):
    reference = costs.get("tqdm")
    print(f"\n{title}")
    print(f"  {'library':<16}{'ns/item':>12}{'× tqdm':>10}")
    for name, cost in sorted(costs.items(), key=lambda kv: kv[1]):
        ratio = f"{cost / reference:.3f}" if reference else "-"
        print(f"  {name:<16}{cost:>12.1f}{ratio:>10}")


def import_times(reps):
    """Import time of trainbar and tqdm, each in a fresh interpreter, bytecode cached."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    code = "import time, sys; t = time.perf_counter(); import {0}; print(time.perf_counter() - t)"
    results = {"trainbar": [], "tqdm": []}
    for name in results:  # warm-up run writes the bytecode caches
        subprocess.run([sys.executable, "-c", code.format(name)], env=env, capture_output=True)
    for _ in range(reps):
        for name in results:
            out = subprocess.run([sys.executable, "-c", code.format(name)], env=env, capture_output=True, text=True)
            results[name].append(float(out.stdout))
    return {name: statistics.median(values) * 1e3 for name, values in results.items()}


class CountingStream:
    """A text stream that counts what it is given, for output-volume figures."""

    def __init__(self, inner) -> None:
        self.inner, self.bytes = inner, 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return self.inner.write(text)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def output_volume(seconds: float) -> None:
    """Bytes written while a loop runs for a fixed time: fast (every item) against slow steps."""
    import trainbar
    from tqdm import tqdm

    print(f"\noutput volume over {seconds:g} s on a pseudo-terminal (bytes; fast loop vs 1 ms steps)")
    for name in ("trainbar", "tqdm"):
        volumes = []
        for step in (0.0, 0.001):
            with pseudo_terminal() as terminal:
                stream = CountingStream(terminal)
                bar = trainbar.bar(total=None, file=stream) if name == "trainbar" else tqdm(file=stream)
                items, end = 0, time.perf_counter() + seconds
                while time.perf_counter() < end:
                    bar.update(1)
                    items += 1
                    if step:
                        time.sleep(step)
                bar.close()
                volumes.append((stream.bytes, items))
        (fast_bytes, fast_items), (slow_bytes, slow_items) = volumes
        print(f"  {name:<10} {fast_items:>10,} items: {fast_bytes:>8,} B   {slow_items:>6,} items: {slow_bytes:>8,} B")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny N, one repetition: a smoke test only")
    parser.add_argument("--n", type=int, default=1_000_000, help="items per run (default 1,000,000)")
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions (default 5)")
    parser.add_argument("--only", nargs="*", default=list(ADAPTERS), help="libraries to run")
    args = parser.parse_args()
    n, reps = (2_000, 1) if args.quick else (args.n, args.reps)
    libraries = available(args.only)
    print(f"python {sys.version.split()[0]}, N={n:,}, {reps} interleaved repetitions, medians, bare loop subtracted")
    if "trainbar" in libraries:
        from trainbar.core import counter as _counter

        how = "compiled (trainbar.core._speedups)" if _counter.COMPILED else "pure Python"
        print(f"trainbar's update(): {how}; TRAINBAR_PURE_PYTHON=1 selects the pure-Python one")
    for target_name, target in (("log file", log_file), ("pseudo-terminal", pseudo_terminal)):
        for case, label in CASES.items():
            with target() as stream:
                costs = measure(case, n if case != "update_metric" else max(n // 10, 1000), reps, stream, libraries)
            report(f"{label} [{target_name}]", costs)
    output_volume(0.3 if args.quick else 3.0)
    imports = import_times(1 if args.quick else 7)
    print("\nimport time (fresh interpreter, bytecode cached)")
    for name, ms in imports.items():
        print(f"  {name:<16}{ms:>10.1f} ms{ms / imports['tqdm']:>10.3f} × tqdm")


if __name__ == "__main__":
    main()
