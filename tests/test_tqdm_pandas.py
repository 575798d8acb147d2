"""``tqdm.pandas()``: progress_apply and friends give pandas' own results, counted on a trainbar bar.

Output goes to an ``io.StringIO``, which is a log file to trainbar: plain whole lines, so the last
line of each bar says exactly what it counted.
"""

import io
import re
import subprocess
import sys
from typing import ClassVar

import pytest

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")

from pandas.core.groupby.generic import DataFrameGroupBy, SeriesGroupBy  # noqa: E402
from pandas.core.groupby.groupby import GroupBy  # noqa: E402
from pandas.core.window.expanding import Expanding  # noqa: E402
from pandas.core.window.rolling import Rolling  # noqa: E402

import trainbar  # noqa: E402
from trainbar import tqdm  # noqa: E402

PATCHED = (pd.DataFrame, pd.Series, DataFrameGroupBy, SeriesGroupBy, GroupBy, Rolling, Expanding)
CONTROL = re.compile(r"[\r\b\x1b]")


class Recording(tqdm):
    """trainbar's tqdm, remembering every bar it made (tqdm.pandas uses the class it is called on)."""

    made: ClassVar[list] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        Recording.made.append(self)


@pytest.fixture(autouse=True)
def unpatched_pandas():
    """Each test registers its own progress_* methods; none outlives the test."""
    before = {cls: {k: v for k, v in vars(cls).items() if k.startswith("progress_")} for cls in PATCHED}
    Recording.made = []
    yield
    for cls in PATCHED:
        for name in [k for k in vars(cls) if k.startswith("progress_")]:
            delattr(cls, name)
        for name, value in before[cls].items():
            setattr(cls, name, value)


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"g": [1, 1, 2, 2, 3, 3, 3], "a": rng.random(7), "b": rng.integers(0, 9, 7)})


def only_bar():
    assert len(Recording.made) == 1
    return Recording.made[0]


def last_line(stream):
    return stream.getvalue().splitlines()[-1]


def assert_equal(got, expected):
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(got, expected)
    else:
        pd.testing.assert_series_equal(got, expected)


def test_dataframe_progress_apply_per_column_and_per_row(manual, frame):
    """DataFrame.progress_apply is apply, counting columns (axis=0) or rows (axis=1 / "columns")."""
    stream = io.StringIO()
    Recording.pandas(file=stream, desc="cols")
    assert_equal(frame.progress_apply(lambda s: s.sum()), frame.apply(lambda s: s.sum()))
    bar = only_bar()
    assert (bar.total, bar.n, bar.status) == (3, 3, "done")
    assert last_line(stream).startswith("cols: 100% 3/3 ")

    Recording.made = []
    assert_equal(
        frame.progress_apply(lambda r: r["a"] * r["b"], axis=1), frame.apply(lambda r: r["a"] * r["b"], axis=1)
    )
    assert (only_bar().total, only_bar().n) == (7, 7)
    Recording.made = []
    frame.progress_apply(lambda r: r.max(), axis="columns")
    assert (only_bar().total, only_bar().n) == (7, 7)


def test_series_progress_apply_and_progress_map(manual, frame):
    """Series.progress_apply and Series.progress_map give apply's and map's result, one step a row."""
    stream = io.StringIO()
    Recording.pandas(file=stream)
    assert_equal(frame.a.progress_apply(lambda x: x * 2), frame.a.apply(lambda x: x * 2))
    assert (only_bar().total, only_bar().n) == (7, 7)
    Recording.made = []
    assert_equal(frame.b.progress_map(str), frame.b.map(str))
    assert (only_bar().total, only_bar().n) == (7, 7)
    assert last_line(stream).startswith("it: 100% 7/7 ")


def test_progress_map_with_a_mapping_and_na_action(manual, frame):
    """Series.map takes a dict too: progress_map gives its result and counts the whole Series."""
    Recording.pandas(file=io.StringIO())
    names = {0: "zero", 1: "one"}
    assert_equal(frame.b.progress_map(names), frame.b.map(names))
    assert only_bar().n == 7 and only_bar().status == "done"
    Recording.made = []
    with_nan = pd.Series([1.0, np.nan, 3.0])
    assert_equal(
        with_nan.progress_map(lambda x: x + 1, na_action="ignore"), with_nan.map(lambda x: x + 1, na_action="ignore")
    )
    assert (only_bar().total, only_bar().n) == (3, 3)


def test_dataframe_progress_map_and_progress_applymap_count_every_cell(manual, frame):
    """progress_map (and tqdm's older name progress_applymap) go over all 21 cells."""
    Recording.pandas(file=io.StringIO())
    assert_equal(frame.progress_applymap(lambda v: v + 1), frame.map(lambda v: v + 1))
    assert (only_bar().total, only_bar().n) == (21, 21)
    Recording.made = []
    assert_equal(frame.progress_map(lambda v: -v), frame.map(lambda v: -v))
    assert (only_bar().total, only_bar().n) == (21, 21)


def test_groupby_progress_apply_counts_groups(manual, frame):
    """DataFrameGroupBy and SeriesGroupBy progress_apply count one step per group."""
    stream = io.StringIO()
    Recording.pandas(file=stream, desc="groups")
    grouped = frame.groupby("g")[["a", "b"]]
    assert_equal(
        grouped.progress_apply(lambda x: x.a.sum() + x.b.max()), grouped.apply(lambda x: x.a.sum() + x.b.max())
    )
    assert (only_bar().total, only_bar().n) == (3, 3)
    assert last_line(stream).startswith("groups: 100% 3/3 ")
    Recording.made = []
    assert_equal(frame.groupby("g").a.progress_apply(lambda s: s.max()), frame.groupby("g").a.apply(lambda s: s.max()))
    assert (only_bar().total, only_bar().n) == (3, 3)


def test_groupby_progress_aggregate_and_progress_transform(manual, frame):
    """progress_aggregate and progress_transform are aggregate and transform, ending at ngroups."""
    Recording.pandas(file=io.StringIO())
    grouped = frame.groupby("g")
    assert_equal(grouped.progress_aggregate(lambda s: s.sum()), grouped.aggregate(lambda s: s.sum()))
    assert (only_bar().total, only_bar().n, only_bar().status) == (3, 3, "done")
    Recording.made = []
    assert_equal(grouped.progress_transform(lambda s: s - s.mean()), grouped.transform(lambda s: s - s.mean()))
    assert (only_bar().total, only_bar().n) == (3, 3)
    Recording.made = []
    assert_equal(grouped.a.progress_transform(lambda s: s * 2), grouped.a.transform(lambda s: s * 2))
    assert (only_bar().total, only_bar().n) == (3, 3)


def test_pandas_named_aggregations_pass_through(manual, frame):
    """A function name or a list of them is not a callable to wrap: pandas gets it as is."""
    Recording.pandas(file=io.StringIO())
    grouped = frame.groupby("g")
    assert_equal(grouped.progress_aggregate("sum"), grouped.aggregate("sum"))
    assert (only_bar().n, only_bar().status) == (3, "done")
    Recording.made = []
    assert_equal(grouped.progress_aggregate(["min", "max"]), grouped.aggregate(["min", "max"]))
    assert only_bar().n == 3


def test_rolling_and_expanding_progress_apply(manual, frame):
    """Rolling and Expanding progress_apply give apply's result and end complete."""
    Recording.pandas(file=io.StringIO())
    assert_equal(frame.a.rolling(3).progress_apply(np.sum, raw=True), frame.a.rolling(3).apply(np.sum, raw=True))
    bar = only_bar()
    assert bar.n == bar.total == 7 and bar.status == "done"
    Recording.made = []
    numbers = frame[["a", "b"]]
    assert_equal(numbers.expanding().progress_apply(lambda w: w.max()), numbers.expanding().apply(lambda w: w.max()))
    assert only_bar().n == only_bar().total == 14


def test_positional_arguments_mean_what_they_mean_to_apply(manual, frame):
    """``progress_apply(f, 1)`` is ``apply(f, 1)``: axis 1, so rows are counted."""
    Recording.pandas(file=io.StringIO())
    assert_equal(frame.progress_apply(lambda r: r.sum(), 1), frame.apply(lambda r: r.sum(), 1))
    assert only_bar().total == 7
    Recording.made = []
    grouped = frame.groupby("g").a
    assert_equal(grouped.progress_apply(lambda s, k: s * k, 3), grouped.apply(lambda s, k: s * k, 3))


def test_keyword_arguments_of_pandas_pass_through(manual, frame):
    """Extra keywords (args=, result_type=, raw=) reach pandas; bar options come from tqdm.pandas."""
    Recording.pandas(file=io.StringIO(), desc="rows", unit="row")
    got = frame.progress_apply(lambda r, k: [r["a"] * k, r["b"]], axis=1, args=(2,), result_type="expand")
    assert_equal(got, frame.apply(lambda r, k: [r["a"] * k, r["b"]], axis=1, args=(2,), result_type="expand"))
    assert (only_bar().desc, only_bar().unit, only_bar().n) == ("rows", "row", 7)


def test_a_total_given_to_pandas_is_used_every_time(manual, frame):
    """tqdm.pandas(total=...) sets every bar's total, not only the first one's."""
    Recording.pandas(file=io.StringIO(), total=50)
    frame.a.progress_apply(abs)
    frame.a.progress_apply(abs)
    assert [bar.total for bar in Recording.made] == [50, 50]


def test_pandas_calling_the_function_more_often_never_counts_past_the_total(manual):
    """pandas may call the function again on a group (fast and slow paths): n stops at the total."""
    frame = pd.DataFrame({"g": [1, 1, 2], "a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]})
    calls = []
    Recording.pandas(file=io.StringIO())

    def one_group(x):
        calls.append(len(calls))
        return x - x.mean()

    frame.groupby("g").progress_transform(one_group)
    assert len(calls) >= 2 and only_bar().n == 2 == only_bar().total


def test_an_empty_frame_gives_an_empty_result_and_a_complete_bar(manual):
    """No rows: pandas' own result, and a bar of 0/0 that is done."""
    empty = pd.DataFrame({"a": pd.Series([], dtype=float)})
    Recording.pandas(file=io.StringIO())
    assert_equal(empty.progress_apply(lambda r: r.sum(), axis=1), empty.apply(lambda r: r.sum(), axis=1))
    assert (only_bar().total, only_bar().n, only_bar().status) == (0, 0, "done")


def test_an_exception_leaves_the_bar_interrupted(manual, frame):
    """The function's exception reaches the caller, and the bar closes as interrupted."""
    stream = io.StringIO()
    Recording.pandas(file=stream)

    def fails_on_the_third(x):
        if len(Recording.made) and Recording.made[0].n == 3:
            raise ValueError("row 3")
        return x

    with pytest.raises(ValueError, match="row 3"):
        frame.a.progress_apply(fails_on_the_third)
    assert (only_bar().n, only_bar().status) == (3, "interrupted")
    assert last_line(stream).endswith("interrupted")


def test_a_log_file_gets_plain_lines_with_no_control_characters(frame):
    """With the real display threads, a log file holds whole lines: no \\r, \\b or escapes."""
    stream = io.StringIO()
    tqdm.pandas(file=stream, desc="apply")
    frame.progress_apply(lambda r: r.sum(), axis=1)
    frame.groupby("g")[["a"]].progress_apply(lambda x: x.a.sum())
    trainbar.flush()
    text = stream.getvalue()
    assert "apply: 100% 7/7 " in text and "apply: 100% 3/3 " in text
    assert not CONTROL.search(text)


def test_registering_again_replaces_the_options(manual, frame):
    """A second tqdm.pandas(...) call is what later progress_apply calls use."""
    first, second = io.StringIO(), io.StringIO()
    tqdm.pandas(file=first, desc="one")
    frame.a.progress_apply(abs)
    tqdm.pandas(file=second, desc="two")
    frame.a.progress_apply(abs)
    assert "one: 100% 7/7" in first.getvalue() and "two" not in first.getvalue()
    assert "two: 100% 7/7" in second.getvalue()


def test_unknown_options_fail_like_tqdm(frame):
    """An option tqdm does not know is refused when the bar is made, as tqdm(**options) would be."""
    from trainbar.compat.tqdm import TqdmKeyError

    tqdm.pandas(file=io.StringIO(), no_such_option=1)
    with pytest.raises(TqdmKeyError):
        frame.a.progress_apply(abs)


def test_import_trainbar_never_imports_pandas():
    """pandas is loaded by tqdm.pandas() only, not by importing trainbar or its tqdm."""
    code = "import sys, trainbar, trainbar.compat.pandas, trainbar.auto; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
