"""Numbers at the edges: zero, unknown, fractional and huge totals, odd rates, a still clock."""

import io

import pytest

import trainbar
from trainbar.render import fmt as _format
from trainbar.render.ansi import terminal_line
from trainbar.render.plain import log_line


def reliability(tried, holds):
    return pytest.mark.reliability("Numbers", tried, holds)


def final_line(**kwargs):
    stream = io.StringIO()
    b = trainbar.bar(file=stream, **kwargs)
    return b, stream


@reliability("total=0", "drawn as complete, no division by zero")
def test_total_zero(manual):
    b, stream = final_line(total=0, desc="empty")
    b.close()
    assert stream.getvalue().splitlines()[-1].startswith("empty: 100% 0/0")
    assert terminal_line(b.snapshot(0.0), 80).startswith("empty: 100%")


@reliability("total=None", "a count and a rate, no percentage or ETA")
def test_total_none(manual):
    clock, display = manual
    b, stream = final_line(total=None, desc="open")
    clock.advance(2)
    b.update(10)
    b.close()
    assert b.eta is None
    assert stream.getvalue().splitlines()[-1] == "open: 10 it elapsed 00:02 5.00it/s done"


@reliability("a fractional total (2.5) and fractional updates", "shown with two decimals, reaches 100%")
def test_float_total(manual):
    b, stream = final_line(total=2.5, desc="frac")
    b.update(1.25)
    b.update(1.25)
    b.close()
    assert stream.getvalue().splitlines()[-1].startswith("frac: 100% 2.50/2.50")


@reliability("a total of 10**18", "exact integers, a bar that fits")
def test_huge_total(manual):
    b, stream = final_line(total=10**18, desc="huge")
    b.update(10**17)
    b.close()
    assert "100000000000000000/1000000000000000000" in stream.getvalue()
    assert _format.width(terminal_line(b.snapshot(0.0), 80)) <= 80


@reliability("a negative update", "n goes back; rate and ETA never show nonsense")
def test_negative_update(manual):
    clock, display = manual
    b, stream = final_line(total=100)
    b.update(10)
    clock.advance(1)
    display.tick()
    b.update(-5)
    clock.advance(1)
    display.tick()
    assert b.n == 5
    line = terminal_line(b.snapshot(clock()), 100)
    assert "5/100" in line and "-" not in line.split("[")[1]


@reliability("NaN and infinite metrics", "shown as nan and inf")
def test_nan_and_inf_metrics(manual):
    b, stream = final_line(total=1)
    b.update(1, loss=float("nan"), grad=float("inf"), low=float("-inf"))
    b.close()
    assert "loss=nan grad=inf low=-inf" in stream.getvalue()


@reliability("rates of 1e-9 and 1e12 items per second", "readable text that fits the line")
@pytest.mark.parametrize("rate", [1e-9, 1e12])
def test_extreme_rates(rate):
    from trainbar.core.snapshot import Snapshot

    snap = Snapshot(desc="r", n=5, total=10, elapsed=1.0, rate=rate, eta=5 / rate)
    for width in (20, 80):
        assert _format.width(terminal_line(snap, width)) <= width
    assert "e+" not in log_line(snap) and "?" not in _format.rate(rate)


@reliability("a clock that does not move between updates", "no division by zero; the rate stays unknown")
def test_still_clock(manual):
    clock, display = manual
    b, stream = final_line(total=10)
    for _ in range(5):
        b.update(1)
        display.tick()
    assert b.rate is None and b.eta is None
    b.close()
    assert "?it/s" in stream.getvalue().splitlines()[-1]
