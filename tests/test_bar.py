"""The Bar API: counting, metrics, timing with a fake clock, validation and lifetime."""

import io

import pytest

import trainbar
from trainbar.core import iterate as _iterate


def test_manual_counting_and_metrics(manual):
    clock, display = manual
    with trainbar.bar(total=10, desc="train", file=io.StringIO()) as b:
        b.update()
        b.update(4, loss=0.5)
        b.log(lr=0.1)
        assert b.n == 5
        assert b.metrics == {"loss": 0.5, "lr": 0.1}
    assert b.status == "done"


def test_set_moves_to_an_absolute_position(manual):
    b = trainbar.bar(total=100, file=io.StringIO())
    b.update(3)
    b.set(40)
    assert b.n == 40


def test_elapsed_rate_and_eta_follow_the_clock(manual):
    clock, display = manual
    b = trainbar.bar(total=100, file=io.StringIO())
    assert b.rate is None and b.eta is None
    clock.advance(5.0)  # a slow first step (compilation) is left out of the rate
    b.update(1)
    display.tick()
    for _ in range(10):
        clock.advance(1.0)
        b.update(2)
        display.tick()
    assert b.elapsed == pytest.approx(15.0)
    assert b.rate == pytest.approx(2.0)
    assert b.eta == pytest.approx((100 - 21) / 2.0)


def test_elapsed_is_frozen_at_close(manual):
    clock, display = manual
    b = trainbar.bar(total=2, file=io.StringIO())
    clock.advance(3.0)
    b.close()
    clock.advance(100.0)
    assert b.elapsed == pytest.approx(3.0)


def test_close_twice_and_update_after_close_are_harmless(manual):
    stream = io.StringIO()
    b = trainbar.bar(total=3, file=stream)
    b.close()
    b.close()
    b.update(1)
    assert stream.getvalue().count("\n") == 2  # the opening line and one closing line


def test_total_comes_from_len():
    assert trainbar.bar([1, 2, 3], file=io.StringIO()).total == 3
    assert trainbar.bar(iter([1, 2]), file=io.StringIO()).total is None


def test_infinite_total_means_unknown():
    assert trainbar.bar(total=float("inf"), file=io.StringIO()).total is None


@pytest.mark.parametrize(
    "kwargs, error, word",
    [
        ({"total": -1}, ValueError, "total"),
        ({"total": "10"}, TypeError, "total"),
        ({"total": float("nan")}, ValueError, "total"),
        ({"unit": 3}, TypeError, "unit"),
        ({"desc": None, "total": [1]}, TypeError, "total"),
        ({"file": object()}, TypeError, "file"),
        ({"initial": "a"}, TypeError, "initial"),
        ({"ncols": 0}, ValueError, "ncols"),
        ({"delay": -1}, ValueError, "delay"),
        ({"unit_divisor": 0}, ValueError, "unit_divisor"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, error, word):
    with pytest.raises(error, match=word):
        trainbar.bar(**kwargs)


def test_bad_update_names_its_argument():
    b = trainbar.bar(total=3, file=io.StringIO())
    with pytest.raises(TypeError, match=r"update\(n=...\)"):
        b.update("1")
    with pytest.raises(TypeError, match="n must be a number"):
        b.set("x")


def test_iterating_a_bar_without_iterable_is_a_clear_error():
    with pytest.raises(TypeError, match="wraps no iterable"):
        iter(trainbar.bar(total=3, file=io.StringIO()))


def test_context_manager_marks_exception_as_interrupted():
    stream = io.StringIO()
    with pytest.raises(RuntimeError):
        with trainbar.bar(total=100, file=stream, desc="fit") as b:
            b.update(42)
            raise RuntimeError("boom")
    assert b.status == "interrupted"
    assert stream.getvalue().splitlines()[-1].startswith("fit: 42% 42/100")
    assert stream.getvalue().rstrip().endswith("interrupted")


def test_log_attaches_to_innermost_live_bar():
    outer = trainbar.bar(total=2, desc="outer", file=io.StringIO())
    inner = trainbar.bar(total=2, desc="inner", file=io.StringIO())
    trainbar.log(loss=1.5)
    assert inner.metrics == {"loss": 1.5} and outer.metrics == {}
    inner.close()
    trainbar.log(acc=0.9)
    assert outer.metrics == {"acc": 0.9}


def test_nesting_follows_creation_order():
    outer = trainbar.bar(total=2, file=io.StringIO())
    inner = trainbar.bar(total=2, file=io.StringIO())
    assert inner.parent is outer and inner.depth == 1
    inner.close()
    outer.close()
    after = trainbar.bar(total=1, file=io.StringIO())
    assert after.parent is None


def test_off_mode_still_counts(monkeypatch):
    monkeypatch.setenv("TRAINBAR_MODE", "off")
    stream = io.StringIO()
    b = trainbar.bar(range(1000), file=stream)
    assert sum(1 for _ in b) == 1000
    assert b.n == 1000 and b.rate is not None
    assert stream.getvalue() == ""


def test_disable_argument_turns_output_off():
    stream = io.StringIO()
    for _ in trainbar.bar(range(10), disable=True, file=stream):
        pass
    assert stream.getvalue() == ""


def test_data_wait_share_is_measured_for_slow_loops(manual):
    clock, display = manual

    def loader():
        for i in range(5):
            clock.advance(0.3)  # waiting for data
            yield i

    b = trainbar.bar(loader(), file=io.StringIO())
    for _ in b:
        clock.advance(0.1)  # the loop body
    assert b.data_wait == pytest.approx(0.75)


def test_chunk_path_is_taken_for_fast_builtin_iterators(monkeypatch):
    seen = []
    real = _iterate._chunks

    def spy(bar, iterator, walk):
        seen.append(True)
        return real(bar, iterator, walk)

    monkeypatch.setattr(_iterate, "_chunks", spy)
    b = trainbar.bar(range(200_000), file=io.StringIO())
    assert sum(1 for _ in b) == 200_000
    assert seen and b.n == 200_000


def test_infinite_ncols_is_refused_naming_the_argument():
    """ncols=inf raises ValueError naming ncols, not an OverflowError from int()."""
    with pytest.raises(ValueError, match="ncols"):
        trainbar.bar(total=1, ncols=float("inf"), file=io.StringIO())


def test_a_bar_over_an_iterable_closed_without_being_iterated_is_interrupted(manual):
    """`with trainbar.bar(range(3)):` and no loop: 0/3 is not "done", whatever closed it."""
    for close in (lambda b: b.close(), lambda b: b.__exit__(None, None, None)):
        stream = io.StringIO()
        b = trainbar.bar(range(3), desc="never", file=stream)
        close(b)
        assert b.status == "interrupted"
        assert stream.getvalue().splitlines()[-1].endswith("interrupted")
    walked = trainbar.bar(range(3), file=io.StringIO())
    list(walked)
    walked.close()
    assert walked.status == "done"
    by_hand = trainbar.bar(total=3, file=io.StringIO())
    by_hand.update(1)
    by_hand.close()  # counted by hand and closed: the user said it is finished
    assert by_hand.status == "done"
