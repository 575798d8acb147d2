"""Iteration: every item delivered once, and n exact after the loop, at break and on errors."""

import io

import pytest

import trainbar

SOURCES = {
    "range": lambda k: range(k),
    "list": lambda k: list(range(k)),
    "generator": lambda k: (i for i in range(k)),
    "dict": lambda k: dict.fromkeys(range(k)),
    "string": lambda k: "x" * k,
}


@pytest.mark.parametrize("kind", SOURCES)
@pytest.mark.parametrize("size", [0, 1, 31, 32, 33, 5000, 300_000])
def test_all_items_in_order_and_exact_n(kind, size):
    b = trainbar.bar(SOURCES[kind](size), file=io.StringIO())
    assert list(b) == list(SOURCES[kind](size))
    assert b.n == size and b.status == "done"


@pytest.mark.parametrize("kind", SOURCES)
@pytest.mark.parametrize("stop", [0, 5, 40, 150_000])
def test_break_counts_completed_items_only(kind, stop):
    b = trainbar.bar(SOURCES[kind](300_000), file=io.StringIO())
    for i, _ in enumerate(b):
        if i == stop:
            break
    del _
    assert b.n == stop
    assert b.status == "interrupted"


@pytest.mark.parametrize("kind", SOURCES)
def test_exception_in_body_propagates_unchanged(kind):
    stream = io.StringIO()
    error = ValueError("boom")
    b = trainbar.bar(SOURCES[kind](100_000), file=stream, desc="loop")
    with pytest.raises(ValueError) as caught:
        for i, _ in enumerate(b):
            if i == 42_000:
                raise error
    assert caught.value is error
    assert b.n == 42_000 and b.status == "interrupted"
    assert "42000" in stream.getvalue().splitlines()[-1]


def test_keyboard_interrupt_propagates_and_marks_interrupted():
    b = trainbar.bar(range(10), file=io.StringIO())
    with pytest.raises(KeyboardInterrupt):
        for i in b:
            if i == 3:
                raise KeyboardInterrupt
    assert b.n == 3 and b.status == "interrupted"


def test_error_from_the_iterable_propagates_and_counts_delivered_items():
    def loader():
        yield 1
        yield 2
        raise OSError("disk gone")

    b = trainbar.bar(loader(), file=io.StringIO())
    with pytest.raises(OSError, match="disk gone"):
        for _ in b:
            pass
    assert b.n == 2 and b.status == "interrupted"


def test_slow_then_fast_loop_stays_exact():
    import time

    def items():
        for i in range(20_000):
            if i < 40:
                time.sleep(0.0002)  # slow steps first, then fast
            yield i

    b = trainbar.bar(items(), file=io.StringIO())
    assert sum(1 for _ in b) == 20_000 and b.n == 20_000
