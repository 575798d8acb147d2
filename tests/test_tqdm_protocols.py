"""tqdm's container protocols, its lock after `del cls._lock`, and its error for unknown keywords."""

import io

import pytest

from trainbar import tqdm
from trainbar.compat.tqdm import TqdmKeyError


def test_reversed_walks_the_iterable_backwards_and_counts():
    bar = tqdm(range(4), file=io.StringIO())
    assert list(reversed(bar)) == [3, 2, 1, 0]
    assert bar.n == 4


def test_reversed_without_an_iterable_is_a_type_error():
    with pytest.raises(TypeError, match="not reversible"):
        reversed(tqdm(total=3, file=io.StringIO()))


def test_in_asks_the_iterable_and_does_not_advance_the_bar():
    bar = tqdm(range(1000), file=io.StringIO())
    assert 999 in bar and 1000 not in bar
    assert bar.n == 0


def test_bars_order_by_position_as_in_tqdm():
    a, b = tqdm(total=1, position=0, file=io.StringIO()), tqdm(total=1, position=1, file=io.StringIO())
    assert a < b and b > a and a <= b and b >= a
    assert sorted([b, a]) == [a, b]


def test_get_lock_survives_the_lock_being_deleted_as_tqdm_contrib_concurrent_does():
    saved = tqdm.__dict__.get("_lock")
    try:
        # tqdm.contrib.concurrent's ensure_lock: set a lock on the class, then delete it.
        tqdm.set_lock(tqdm.get_lock())
        del tqdm._lock
        assert hasattr(tqdm.get_lock(), "acquire")
        del tqdm._lock  # get_lock() put one back on the class
        assert hasattr(tqdm.get_lock(), "acquire")
    finally:
        tqdm._lock = saved


def test_unknown_keyword_raises_tqdms_key_error_naming_it():
    with pytest.raises(TqdmKeyError, match="colr"):
        tqdm(total=3, colr="red", file=io.StringIO())
    assert issubclass(TqdmKeyError, KeyError) and issubclass(TqdmKeyError, TypeError)


def test_the_constructors_display_arguments_read_back_as_in_tqdm():
    bar = tqdm(
        total=3, ascii=True, ncols=50, unit_scale=True, unit_divisor=1024,
        bar_format="{l_bar}{bar}", colour="red", initial=1, delay=0.5, file=io.StringIO(),
    )  # fmt: skip
    read = {name: getattr(bar, name) for name in
            ("ascii", "ncols", "unit_scale", "unit_divisor", "bar_format", "colour", "initial", "delay")}  # fmt: skip
    assert read == {
        "ascii": True, "ncols": 50, "unit_scale": True, "unit_divisor": 1024,
        "bar_format": "{l_bar}{bar}", "colour": "red", "initial": 1, "delay": 0.5,
    }  # fmt: skip
    assert tqdm(total=3, unit_scale=2, file=io.StringIO()).unit_scale == 2
