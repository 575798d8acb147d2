"""Property tests: any input either works or raises the documented error; lines fit their width."""

import io
import math
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trainbar
from trainbar.render import fmt as _format
from trainbar.core.snapshot import DONE, INTERRUPTED, RUNNING, Snapshot
from trainbar.render.ansi import terminal_line
from trainbar.render.plain import log_line

ANY = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.binary(max_size=5), st.lists(st.integers(), max_size=3), st.just(object()),
)  # fmt: skip
NUMBER = st.one_of(st.integers(min_value=-(10**20), max_value=10**20), st.floats(allow_nan=True, allow_infinity=True))
OPTIONAL_NUMBER = st.one_of(st.none(), NUMBER)


def has_controls(text):
    return any(unicodedata.category(c) == "Cc" for c in text)


def reliability(tried, holds):
    return pytest.mark.reliability("Properties", tried, holds)


@reliability("any value for each constructor argument of bar() and tqdm() (hypothesis)", "it works, or raises TypeError or ValueError")
@settings(max_examples=300, deadline=None)
@given(
    total=ANY, desc=ANY, unit=ANY, initial=ANY, ncols=ANY, delay=ANY, unit_divisor=ANY, leave=ANY, ascii=ANY,
    use_tqdm=st.booleans(),
)  # fmt: skip
def test_constructors_accept_or_raise_documented_errors(total, desc, unit, initial, ncols, delay, unit_divisor, leave, ascii, use_tqdm):
    make = trainbar.tqdm if use_tqdm else trainbar.bar
    kwargs = dict(total=total, desc=desc, unit=unit, initial=initial, ncols=ncols, delay=delay,
                  unit_divisor=unit_divisor, leave=leave, ascii=ascii, file=io.StringIO())  # fmt: skip
    try:
        b = make(**kwargs)
    except (TypeError, ValueError):
        return
    b.update(1)
    b.close()


@reliability("any value passed to update(), set() and log() (hypothesis)", "it works, or raises TypeError or ValueError")
@settings(max_examples=200, deadline=None)
@given(n=ANY, metric=ANY)
def test_update_accepts_or_raises(n, metric):
    b = trainbar.bar(total=10, file=io.StringIO())
    try:
        b.update(n, value=metric)
    except (TypeError, ValueError):
        pass
    try:
        b.set(n)
    except (TypeError, ValueError):
        pass
    b.log(other=metric)
    b.close()


SNAPSHOTS = st.builds(
    Snapshot,
    desc=st.text(max_size=60),
    n=NUMBER,
    total=OPTIONAL_NUMBER.filter(lambda v: v is None or (not isinstance(v, float) or math.isfinite(v)) and v >= 0),
    elapsed=st.floats(min_value=0, max_value=1e9),
    rate=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    eta=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    unit=st.text(max_size=8),
    unit_scale=st.booleans(),
    unit_divisor=st.integers(min_value=1, max_value=4096),  # a bar checks it is at least 1
    metrics=st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=4).map(tuple),
    status=st.sampled_from([RUNNING, DONE, INTERRUPTED]),
    depth=st.integers(min_value=0, max_value=6),
    ascii=st.booleans(),
    # A tqdm subclass's format_dict fields: anything its code returned.
    fields=st.lists(st.tuples(st.text(max_size=8), st.one_of(st.text(max_size=8), st.floats(), st.none())),
                    max_size=2).map(tuple),  # fmt: skip
)


@reliability("any snapshot rendered at any width from 1 to 300 columns (hypothesis)", "the terminal line fits; the log line has no control character")
@settings(max_examples=400, deadline=None)
@given(snap=SNAPSHOTS, width=st.integers(min_value=1, max_value=300))
def test_rendered_lines_fit(snap, width):
    clean = snap.replace(desc=_format.sanitize(snap.desc), unit=_format.sanitize(snap.unit),
                         metrics=tuple((_format.sanitize(a), _format.sanitize(b)) for a, b in snap.metrics))  # fmt: skip
    assert _format.width(terminal_line(clean, width)) <= width
    assert not has_controls(log_line(snap))


@reliability("any number given to the formatters (hypothesis)", "text without control characters, never an exception")
@settings(max_examples=300, deadline=None)
@given(value=NUMBER)
def test_formatters_never_fail(value):
    for text in (_format.number(value), _format.duration(value), _format.rate(value), _format.si(value)
                 if math.isfinite(value) else "", _format.count(value) if math.isfinite(value) else ""):  # fmt: skip
        assert not has_controls(text)
