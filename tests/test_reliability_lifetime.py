"""Lifetime: many bars, forgotten bars, deep nesting, double close."""

import gc
import io
import threading
import tracemalloc

import pytest

import trainbar


def _trainbar_threads():
    return [t for t in threading.enumerate() if t.name.startswith("trainbar")]


def reliability(tried, holds):
    return pytest.mark.reliability("Lifetime", tried, holds)


@reliability("10,000 bars created and closed in a loop", "memory and thread count do not grow")
def test_many_bars_do_not_leak():
    stream = io.StringIO()

    def churn(count):
        for _ in range(count):
            with trainbar.bar(total=2, file=stream) as b:
                b.update(2)
        stream.seek(0)
        stream.truncate()

    churn(500)  # warm-up: caches, the ticker thread
    gc.collect()
    others_before = len(threading.enumerate()) - len(_trainbar_threads())
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    churn(10_000)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename") if "trainbar" in str(stat.traceback))
    assert grown < 64 * 1024
    ours = _trainbar_threads()
    # trainbar's own threads come and go with activity (an idle ticker exits), but never one per bar.
    assert len(ours) == len({t.name for t in ours})
    assert len(threading.enumerate()) - len(ours) <= others_before


@reliability("a bar dropped without close() and garbage-collected", "it is closed: its final line is written")
def test_forgotten_bar_is_closed_when_collected():
    stream = io.StringIO()
    b = trainbar.bar(total=4, desc="forgotten", file=stream)
    b.update(4)
    del b
    gc.collect()
    assert stream.getvalue().splitlines()[-1].startswith("forgotten: 100% 4/4")


@reliability("bars nested 5 deep", "each line names its whole path")
def test_nested_five_deep():
    stream = io.StringIO()
    names = ["a", "b", "c", "d", "e"]

    def nest(level):
        if level == len(names):
            return
        for _ in trainbar.bar(range(2), desc=names[level], file=stream):
            nest(level + 1)

    nest(0)
    deepest = [line for line in stream.getvalue().splitlines() if line.startswith("a > b > c > d > e: ")]
    assert len(deepest) == 2 ** 4 * 2  # an opening and a closing line per innermost bar
    assert stream.getvalue().splitlines()[-1].startswith("a: 100% 2/2")


@reliability("close() twice; update() and log() after close()", "no error, one closing line, counting goes on")
def test_use_after_close():
    stream = io.StringIO()
    b = trainbar.bar(total=2, file=stream)
    b.close()
    b.close()
    b.update(5)
    b.log(loss=1.0)
    assert b.n == 5
    assert sum(line.endswith(("done", "closed")) for line in stream.getvalue().splitlines()) == 1
