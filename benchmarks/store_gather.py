"""What gathering every rank's progress costs: one real TCPStore, 1,024 simulated ranks publishing.

    python benchmarks/store_gather.py            # 1,024 ranks for 10 s: about 20 s
    python benchmarks/store_gather.py --quick    # smoke run (64 ranks, 2 s): no figure is meaningful

One TCPStore server (libuv, as torchrun's agent runs it) lives in this process. Publisher
processes play the ranks: each rank writes its real record (``trainbar.distributed.record``) about
once a second, with jitter, as ``RankGatherer`` does. This process plays the drawing rank: a real
``RankGatherer`` with its own client reads them all once a second, exactly as in a job.

Printed, never asserted:
* the drawing rank's cost per redraw: the one ``multi_get`` request, and the decoding and summary
  work on top, median and worst;
* side by side, the same read done key by key with ``get`` (what a reader without ``multi_get``
  would pay), and the ratio;
* the cost of one publication at a rank (encode plus ``set``);
* the store traffic: requests and bytes a second into the store, bytes per read out of it.
Needs torch (``pip install -e .[torch] -c .ci/constraints.txt``).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

PUBLISHER = r"""
import json, random, sys, time
from datetime import timedelta
import torch.distributed as dist
from trainbar.distributed.record import Level, Record, encode
port, first, count, prefix = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
store = dist.PrefixStore(prefix, dist.TCPStore("127.0.0.1", port, is_master=False, timeout=timedelta(seconds=5)))
sets = sent = 0
costs = []
start = time.monotonic()
due = {rank: start + random.random() for rank in range(first, first + count)}
seq = dict.fromkeys(due, 0)
checked = start
while True:
    now = time.monotonic()
    if now - checked > 0.5:
        checked = now
        if store.check(["stop"]):  # the drawing rank is done measuring
            break
    for rank, when in due.items():
        if when > now:
            continue
        seq[rank] += 1
        n = int((now - start) * 20) - (rank % 7)
        record = Record(seq=seq[rank], host=f"node{rank // 8:03d}.cluster", pid=40000 + rank, node=f"node{rank // 8:03d}",
                        phase="step", idle=0.05, time=time.time(),
                        levels=(Level(3, 10, 0.01, "running"), Level(n, 5000, 19.87, "running")))
        began = time.perf_counter()
        payload = encode(record)
        store.set(f"r{rank}", payload)
        costs.append(time.perf_counter() - began)
        sets += 1
        sent += len(payload) + len(prefix) + len(f"r{rank}") + 1
        due[rank] = when + random.uniform(0.9, 1.1)
    time.sleep(0.002)
costs.sort()
print(json.dumps({"sets": sets, "bytes": sent, "seconds": time.monotonic() - start,
                  "median_set": costs[len(costs) // 2], "p99_set": costs[int(len(costs) * 0.99)]}))
"""


class Timed:
    """A store proxy that times ``multi_get`` and ``set``, and counts what comes back."""

    def __init__(self, store) -> None:
        self.store = store
        self.read_seconds: list = []
        self.read_bytes: list = []
        self.set_seconds: list = []

    def set(self, key, value):
        began = time.perf_counter()
        self.store.set(key, value)
        self.set_seconds.append(time.perf_counter() - began)

    def multi_get(self, keys):
        began = time.perf_counter()
        values = self.store.multi_get(keys)
        self.read_seconds.append(time.perf_counter() - began)
        self.read_bytes.append(sum(len(value) for value in values) + sum(len(key) for key in keys))
        return values

    def __getattr__(self, name):
        return getattr(self.store, name)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="64 ranks for 2 s: a smoke run")
    parser.add_argument("--ranks", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--publishers", type=int, default=8, help="processes sharing the simulated ranks")
    args = parser.parse_args()
    if args.quick:
        args.ranks, args.seconds, args.publishers = 64, 2.0, 2

    import torch.distributed as dist

    import trainbar
    from trainbar.distributed import info as _rank
    from trainbar.distributed.gather import RankGatherer
    from trainbar.testing import manual_display

    prefix = "trainbar/bench.0"
    server = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False, timeout=timedelta(seconds=5))
    per = -(-args.ranks // args.publishers)
    publishers = [
        subprocess.Popen(
            [sys.executable, "-c", PUBLISHER, str(server.port), str(first), str(min(per, args.ranks - first)), prefix],
            stdout=subprocess.PIPE, text=True, env={"PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src"),
                                                    "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
        )
        for first in range(1, args.ranks, per)
    ]  # rank 0 is the drawing rank, in this process
    client = dist.PrefixStore(prefix, dist.TCPStore("127.0.0.1", server.port, is_master=False))
    timed = Timed(client)
    info = _rank.RankInfo(0, args.ranks, 0, 8, 0, "torchrun")
    keys = [f"r{rank}" for rank in range(1, args.ranks)]
    deadline = time.monotonic() + 300
    while not client.check(keys) and time.monotonic() < deadline:
        time.sleep(0.2)  # the publishers are still importing torch

    steps, summaries = [], []
    with manual_display() as (clock, display):
        gatherer = RankGatherer(display, info, connect=lambda: timed, reads=True, threaded=False)
        display.subscribe(gatherer)
        epochs = trainbar.bar(total=10, desc="epoch", file=io.StringIO())
        train = trainbar.bar(total=5000, desc="train", file=io.StringIO())
        epochs.update(3)
        display.tick()
        gatherer.step()  # first read: seeds the keys of ranks not yet seen
        timed.read_seconds.clear()
        timed.read_bytes.clear()
        timed.set_seconds.clear()
        started = time.monotonic()
        while time.monotonic() - started < args.seconds:
            train.update(20)
            clock.advance(1.0)
            display.tick()
            began = time.perf_counter()
            gatherer.step()  # the real thing: publish rank 0's record, read every rank, sum up
            steps.append(time.perf_counter() - began)
            summaries.append(gatherer._texts.get(1, ""))
            time.sleep(max(0.0, 1.0 - (time.perf_counter() - began)))
        keys = [f"r{rank}" for rank in range(args.ranks)]
        by_key = []
        for _ in range(min(5, len(steps))):
            began = time.perf_counter()
            for key in keys:
                client.get(key)
            by_key.append(time.perf_counter() - began)
        train.close()
        epochs.close()

    client.set("stop", "1")
    reports = [json.loads(publisher.communicate()[0]) for publisher in publishers]
    sets = sum(report["sets"] / report["seconds"] for report in reports)
    sent = sum(report["bytes"] / report["seconds"] for report in reports)
    read = statistics.median(timed.read_seconds)
    compute = statistics.median(step - read - put for step, read, put in zip(steps, timed.read_seconds, timed.set_seconds))
    print(f"{args.ranks} ranks, one TCPStore (libuv), {len(steps)} reads at the drawing rank, one a second\n")
    print("drawing rank, per redraw (once a second)")
    print(f"  multi_get of {args.ranks} keys     {ms(read)} median  {ms(max(timed.read_seconds))} worst")
    print(f"  decode and summarise        {ms(compute)} median")
    print(f"  whole step (set + read)     {ms(statistics.median(steps))} median  {ms(max(steps))} worst")
    print(f"  same read key by key (get)  {ms(statistics.median(by_key))} median"
          f"   -> multi_get is {statistics.median(by_key) / read:5.1f}x faster")  # fmt: skip
    print("each rank, per publication (once a second)")
    print(f"  encode + set                {ms(statistics.median(r['median_set'] for r in reports))} median"
          f"  {ms(max(r['p99_set'] for r in reports))} p99")  # fmt: skip
    print("store traffic")
    print(f"  into the store              {sets:8.0f} sets/s  {sent / 1e3:8.1f} kB/s")
    print(f"  out, per read               {statistics.median(timed.read_bytes) / 1e3:8.1f} kB"
          f"  ({statistics.median(timed.read_bytes) / args.ranks:.0f} B a rank)")  # fmt: skip
    print(f"\nthe line it produced: {summaries[-1] if summaries else ''}")


if __name__ == "__main__":
    main()
