"""tqdm's container protocols, its lock after `del cls._lock`, and its error for unknown keywords."""

import io

import pytest
from conftest import FakeTerminal

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


# --- found by tqdm's own test suite (benchmarks/tqdm_suite.py, docs/tqdm_suite.md) ------------------


class TotalTime(tqdm):
    """tqdm's documented way to add a ``bar_format`` field: extend ``format_dict``."""

    @property
    def format_dict(self):
        d = super().format_dict
        total_time = d["elapsed"] * (d["total"] or 0) / max(d["n"], 1)
        d.update(total_time=self.format_interval(total_time) + " in total")
        return d


def test_a_subclass_format_dict_field_is_drawn(manual):
    """tqdm's test_custom_format: the field a subclass's ``format_dict`` adds is drawn on the
    terminal and in ``str()``, instead of the bar falling back to the default layout."""
    clock, display = manual
    terminal = FakeTerminal(80)
    bar = TotalTime(total=10, bar_format="{total_time}: {percentage:.0f}%|{bar}{r_bar}", file=terminal)
    clock.advance(2.0)
    bar.update(5)
    display.tick()
    assert "00:04 in total: 50%|" in terminal.getvalue()
    assert str(bar).startswith("00:04 in total: 50%|")
    bar.close()


def test_a_subclass_format_dict_that_raises_shows_its_fields_as_unknown(manual):
    """The drawing thread calls the subclass's code: if it raises, the fields it adds read ``?``
    (whatever their spec) and the bar goes on being drawn, the next frame as it should be."""
    clock, display = manual
    terminal = FakeTerminal(80)
    failures = [RuntimeError("first frame")]

    class Flaky(TotalTime):
        @property
        def format_dict(self):
            if failures:
                raise failures.pop()
            return super().format_dict

    bar = Flaky(total=10, bar_format="{total_time:>20} {percentage:.0f}%", file=terminal)
    bar.update(5)
    display.tick()
    assert "? 50%" in terminal.getvalue()
    clock.advance(1.0)
    bar.update(1)
    display.tick()
    assert "00:01 in total 60%" in terminal.getvalue()
    bar.close()


def test_tqdm_warnings_write_their_message_to_fp_write():
    """tqdm's test_deprecation_exception: ``TqdmWarning(msg, fp_write=f.write)`` writes the message."""
    from trainbar.compat.tqdm import TqdmDeprecationWarning

    stream = io.StringIO()
    with pytest.raises(TqdmDeprecationWarning):
        raise TqdmDeprecationWarning("Test!", fp_write=stream.write)
    assert stream.getvalue() == "\nTqdmDeprecationWarning: Test!\n"
    with pytest.raises(TqdmDeprecationWarning, match="Test!"):
        raise TqdmDeprecationWarning("Test!", fp_write=None)


def test_external_write_mode_makes_the_lock_again_after_del(manual):
    """tqdm's test_external_write: ``del tqdm._lock`` then ``external_write_mode()`` works, holding
    a lock that ``get_lock()`` made again."""
    saved = tqdm.__dict__.get("_lock")
    try:
        for _ in range(2):
            tqdm.get_lock()
            del tqdm._lock
            with tqdm.external_write_mode(file=io.StringIO()):
                assert tqdm._lock is not None
    finally:
        tqdm._lock = saved


def test_unknown_colour_is_tqdms_warning():
    """tqdm's test_colour_unknown: an unknown colour warns with TqdmWarning, 'Unknown colour'."""
    from trainbar.compat.tqdm import TqdmWarning

    with pytest.warns(TqdmWarning, match=r"Unknown colour \(charm\)"):
        bar = tqdm(total=1, colour="charm", file=io.StringIO())
    assert bar.colour is None
    bar.close()


def test_ascii_none_reads_back_what_the_stream_gets():
    """``ascii=None`` reads back as tqdm's: True where the stream cannot take block characters."""
    ascii_stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    assert tqdm(total=1, ascii=None, file=ascii_stream).ascii is True
    assert tqdm(total=1, ascii=None, file=io.TextIOWrapper(io.BytesIO(), encoding="utf-8")).ascii is False
    assert tqdm(total=1, ascii=False, file=ascii_stream).ascii is False


def test_format_helpers_give_tqdms_text():
    """tqdm's test_format_num and test_format_interval (negative spans), format_sizeof past zetta
    and format_meter with an infinite total, as tqdm gives them."""
    real = pytest.importorskip("tqdm").tqdm
    for n in (1337, 10**6, 1239876, 0.00001234, -0.1234, 0.5, 1e100):
        assert tqdm.format_num(n) == real.format_num(n)
    for t in (-1, -60, -3599, 0, 59.9, 6160):
        assert tqdm.format_interval(t) == real.format_interval(t)
    for value in (10**24 - 1, 10**25, 10**27 - 1, -(10**26)):
        assert tqdm.format_sizeof(value, "B") == real.format_sizeof(value, "B")
    assert tqdm.format_meter(5, float("inf"), 1) == tqdm.format_meter(5, None, 1) == "5it [00:01, 5.00it/s]"


def test_a_postfix_dict_given_to_the_constructor_is_sorted_as_tqdm_sorts_it():
    """tqdm's test_postfix: ``postfix={...}`` is ``set_postfix(**postfix)``, keys sorted."""
    real = pytest.importorskip("tqdm").tqdm
    postfix = {"float": 0.321034, "gen": 543, "str": "h", "lst": [2]}
    shown = []
    for cls in (tqdm, real):
        bar = cls(total=10, postfix=postfix, file=io.StringIO())
        shown.append(bar.postfix)
        bar.close()
    assert shown[0] == shown[1] == "float=0.321, gen=543, lst=[2], str=h"


def test_l_bar_of_a_bar_without_total_has_no_percentage():
    """``{l_bar}`` with no total is the description and ``|``, as in tqdm: no ``0%`` for an
    unknown total."""
    real = pytest.importorskip("tqdm").tqdm
    for prefix in ("", "load"):
        assert tqdm.format_meter(7, None, 2, prefix=prefix, bar_format="{l_bar}") == real.format_meter(
            7, None, 2, prefix=prefix, bar_format="{l_bar}"
        )


def test_tqdms_deprecated_tqdm_pandas_hands_its_bar_to_the_next_call(manual):
    """tqdm's test_pandas_deprecation: tqdm's own ``tqdm_pandas(bar)`` calls
    ``pandas(deprecated_t=bar)``; that bar counts the next call (it raised TqdmKeyError), and
    later calls get bars of their own."""
    pd = pytest.importorskip("pandas")
    tqdm_pandas = pytest.importorskip("tqdm").tqdm_pandas
    stream = io.StringIO()
    handed = tqdm(leave=False, ascii=True, file=stream)
    tqdm_pandas(handed)
    assert "instead of `tqdm_pandas(tqdm(...))`" in stream.getvalue()  # tqdm's warning, to the bar's file
    frame = pd.DataFrame({"key": [1, 1, 2, 3], "value": range(4)})
    frame.groupby("key").progress_apply(lambda group: None)
    assert handed.status == "done" and (handed.n, handed.total) == (3, 3)
    assert frame["value"].progress_apply(lambda x: x).tolist() == [0, 1, 2, 3]
    assert handed.n == 3


def test_attributes_tqdm_code_reads_after_setting_n(manual):
    """`bar.n = 50; bar.refresh()` then reading last_print_n, as progress callbacks do; and the
    constructor's gui, lock_args and dynamic_miniters read back."""
    import io

    from trainbar import tqdm

    bar = tqdm(total=100, file=io.StringIO(), lock_args=(False,))
    bar.n = 50
    bar.refresh()
    assert bar.last_print_n == 50
    assert (bar.gui, bar.lock_args, bar.dynamic_miniters) == (False, (False,), True)
    assert tqdm(total=1, miniters=5, file=io.StringIO()).dynamic_miniters is False
    bar.close()
