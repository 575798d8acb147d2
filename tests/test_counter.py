"""The per-step counter: its compiled twin behaves exactly like the pure-Python one.

Every case runs against both implementations side by side, so a difference between the C code
in ``_speedups.c`` and ``counter.PyCounter`` fails here rather than in somebody's training run.
"""

from __future__ import annotations

import functools
import gc
import operator
import os
import subprocess
import sys
import weakref
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trainbar.core import counter as _counter
from trainbar import _settings
from trainbar.core.counter import PyCounter

try:
    from trainbar.core._speedups import Counter as _CompiledBase
except ImportError:  # built without a compiler: only the pure-Python twin can be tested
    _CompiledBase = None


class PyHost(PyCounter):
    __slots__ = ("_metrics", "__weakref__")

    def __init__(self, n=0):
        self._n = n
        self._metrics = {}


IMPLEMENTATIONS = [PyHost]

if _CompiledBase is not None:

    class CompiledHost(_CompiledBase):
        __slots__ = ("_metrics", "__weakref__")
        _update_fallback = PyCounter.update

        def __init__(self, n=0):
            self._n = n
            self._metrics = {}

    IMPLEMENTATIONS.append(CompiledHost)


@pytest.fixture(params=IMPLEMENTATIONS, ids=lambda cls: cls.__name__)
def make(request):
    return request.param


def outcome(cls, *args, **kwargs):
    """What a call does: the count and metrics after it, or the exception it raised."""
    counter = cls()
    try:
        counter.update(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the exception is the outcome compared
        return type(error), str(error)
    return counter._n, type(counter._n), dict(counter._metrics)


CALLS = [
    ((), {}),
    ((5,), {}),
    ((0,), {}),
    ((-2,), {}),
    ((0.25,), {}),
    ((Fraction(1, 3),), {}),
    ((Decimal(2),), {}),
    ((), {"n": 3}),
    ((1,), {"loss": 0.5}),
    ((), {"loss": 0.5, "lr": 1e-3}),
    ((2,), {f"m{i}": i for i in range(40)}),  # more arguments than the compiled call keeps on its stack
    (("x",), {}),
    ((None,), {}),
    ((1, 2), {}),
    ((1,), {"n": 2}),
    ((), {"n": "x", "loss": 1.0}),
]


@pytest.mark.parametrize(("args", "kwargs"), CALLS, ids=[repr(call) for call in CALLS])
def test_every_call_has_the_same_outcome_in_both_implementations(args, kwargs):
    outcomes = {cls.__name__: outcome(cls, *args, **kwargs) for cls in IMPLEMENTATIONS}
    assert len(set(map(repr, outcomes.values()))) == 1, outcomes


def test_counts_and_keeps_metrics_by_reference(make):
    counter = make()
    metric = object()
    for _ in range(1000):
        counter.update()
    counter.update(24, loss=metric)
    assert counter._n == 1024
    assert counter._metrics["loss"] is metric


@pytest.mark.reliability("Numbers", "update('x')", "TypeError naming n, from the compiled and the Python update alike")
def test_a_string_is_refused_naming_the_argument_and_the_count_is_unchanged(make):
    counter = make(7)
    with pytest.raises(TypeError, match=r"update\(n=\.\.\.\) must be a number, got str 'x'"):
        counter.update("x")
    assert counter._n == 7


@pytest.mark.reliability(
    "Numbers", "update(n) with an object that only knows how to add", "TypeError naming n at the call; n is kept"
)
def test_an_object_that_is_not_a_number_is_refused_at_the_call(make):
    class Exploding:
        def __radd__(self, other):
            raise ValueError("boom")

    counter = make(3)
    with pytest.raises(TypeError, match=r"update\(n=\.\.\.\) must be a number, got Exploding"):
        counter.update(Exploding())
    assert counter._n == 3


@pytest.mark.reliability(
    "Numbers", "update(10**400), update(2**63), update(1j), update(nan), update(inf)",
    "TypeError or ValueError naming n at the call; the count is kept and the display stays on",
)  # fmt: skip
@pytest.mark.parametrize(
    ("step", "error", "says"),
    [(10**400, ValueError, "below 2\\*\\*63"), (2**63, ValueError, "below 2\\*\\*63"), (-(2**63), ValueError, "below"),
     (1j, TypeError, "complex"), (float("nan"), ValueError, "NaN"), (float("inf"), ValueError, "finite")],
)  # fmt: skip
def test_a_step_no_count_can_hold_is_refused_at_the_call(make, step, error, says):
    counter = make(3)
    with pytest.raises(error, match=says):
        counter.update(step)
    assert counter._n == 3


@pytest.mark.parametrize("step", [Decimal("2.5"), Fraction(5, 2)])
def test_exact_numbers_count_as_floats(make, step):
    counter = make(1)
    counter.update(step)
    assert counter._n == 3.5 and type(counter._n) is float


def test_update_before_the_count_exists_raises_attribute_error(make):
    counter = make.__new__(make)
    with pytest.raises(AttributeError):
        counter.update(1)


def test_numpy_integers_add_like_python_integers(make):
    numpy = pytest.importorskip("numpy")
    counter = make()
    counter.update(numpy.int64(4))
    counter.update(1)
    assert counter._n == 5


def test_no_reference_is_leaked_by_either_path(make):
    counter = make()
    step, metric = int("1" * 18), object()  # objects of their own, so their reference counts are ours
    before = sys.getrefcount(step), sys.getrefcount(metric)
    for _ in range(1000):
        counter.update(step)
        counter.update(step, loss=metric)
    counter._metrics.clear()
    assert (sys.getrefcount(step), sys.getrefcount(metric)) == before


def test_a_reference_cycle_through_the_count_is_collected(make):
    class Loop:
        """A count-like object that refers back to the counter holding it."""

        def __init__(self, owner):
            self.owner = owner

    counter = make()
    counter._n = Loop(counter)
    alive = weakref.ref(counter)
    del counter
    gc.collect()
    assert alive() is None


@given(st.lists(st.one_of(st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False)), max_size=50))
def test_any_sequence_of_steps_gives_the_same_count_in_both(steps):
    counters = [cls() for cls in IMPLEMENTATIONS]
    for step in steps:
        for counter in counters:
            counter.update(step)
    assert len({repr(counter._n) for counter in counters}) == 1
    assert counters[0]._n == functools.reduce(operator.add, steps, 0)  # the same left fold as += does


def test_bar_uses_the_compiled_counter_when_it_was_built():
    if _CompiledBase is None:
        if os.environ.get("TRAINBAR_REQUIRE_SPEEDUPS"):
            pytest.fail("trainbar.core._speedups was not built, and TRAINBAR_REQUIRE_SPEEDUPS is set")
        pytest.skip("trainbar.core._speedups was not built (no C compiler at install time)")
    if _settings.flag("TRAINBAR_PURE_PYTHON"):
        pytest.skip("TRAINBAR_PURE_PYTHON is set for this run")
    import trainbar

    assert _counter.COMPILED
    assert issubclass(trainbar.Bar, _CompiledBase)
    assert issubclass(trainbar.tqdm, _CompiledBase)


def test_trainbar_pure_python_selects_the_python_counter_and_a_bar_still_counts(tmp_path):
    script = (
        "import trainbar, trainbar.core.counter as c\n"
        "assert not c.COMPILED and issubclass(trainbar.Bar, c.PyCounter)\n"
        "b = trainbar.bar(total=4, file=open(r'%s', 'w'))\n"
        "b.update(); b.update(2, loss=0.5); b.update(n=1)\n"
        "b.close()\n"
        "print(b.n)\n" % (tmp_path / "log.txt")
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "TRAINBAR_PURE_PYTHON": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4"
    assert "4/4" in (tmp_path / "log.txt").read_text()
