"""Pure formatting: durations, numbers, rates, widths and sanitising."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trainbar.render import fmt as _format


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "00:00"), (59.9, "00:59"), (61, "01:01"), (3600, "1:00:00"), (3 * 86400 + 5, "3d 00:00:05"),
     (None, "?"), (float("inf"), "?"), (float("nan"), "?"), (-1, "?")],
)  # fmt: skip
def test_duration(seconds, text):
    assert _format.duration(seconds) == text


@pytest.mark.parametrize(
    "value, text",
    [(0, "0.00"), (999, "999"), (1000, "1.00k"), (12345, "12.3k"), (1.5e6, "1.50M"), (2**40, "1.10T"), (-2500, "-2.50k")],
)
def test_si_prefixes(value, text):
    assert _format.si(value) == text


def test_si_binary_divisor():
    assert _format.si(2048, 1024) == "2.00k"


@pytest.mark.parametrize(
    "rate, text",
    [(12.345, "12.3it/s"), (1234.5, "1234it/s"), (0.5, "2.00s/it"), (None, "?it/s"), (0, "?it/s"), (float("inf"), "?it/s")],
)
def test_rate_text(rate, text):
    assert _format.rate(rate) == text


def test_rate_with_unit_scale():
    assert _format.rate(2.5e6, "tok", unit_scale=True) == "2.50Mtok/s"


@pytest.mark.parametrize(
    "value, text",
    [(3, "3"), (0.23146, "0.2315"), (1e-4, "1.000e-4"), (123456.0, "1.235e+5"), (0.0, "0"), (0.5, "0.5000"),
     (1.0, "1.000"), (1234.0, "1234"), (12345.0, "1.234e+4"), (-2.5, "-2.500"),
     (float("nan"), "nan"), (float("inf"), "inf"), (float("-inf"), "-inf"), (True, "True"), ("ok", "ok")],
)  # fmt: skip
def test_number(value, text):
    assert _format.number(value) == text


def test_sanitize_keeps_visible_text_of_hyperlinks_and_colours():
    text = "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\ \x1b[31mred\x1b[0m\x07\r\nnext"
    assert _format.sanitize(text) == "click red next"


@pytest.mark.parametrize("hostile", ["\x1b[2J", "\x1b[10A", "\x1bc", "\x9b31m", "\x1bP1$r\x1b\\", "\x00\x08\x7f"])
def test_sanitize_removes_every_control(hostile):
    cleaned = _format.sanitize(f"a{hostile}b")
    assert cleaned == "ab"


def test_sanitize_message_keeps_newlines_and_colour_but_not_cursor_moves():
    text = "line one\n\x1b[32mgreen\x1b[0m\r\x1b[2Aup\n"
    assert _format.sanitize_message(text) == "line one\n\x1b[32mgreen\x1b[0mup\n"


@pytest.mark.parametrize("text, columns", [("abc", 3), ("日本語", 6), ("e\u0301", 1), ("🙂x", 3), ("", 0)])
def test_display_width(text, columns):
    assert _format.width(text) == columns


def test_truncate_counts_wide_characters():
    assert _format.truncate("日本語テキスト", 7) == "日本語…"
    assert _format.width(_format.truncate("日本語テキスト", 7)) <= 7
    assert _format.truncate("short", 10) == "short"
    assert _format.truncate("anything", 0) == ""


@pytest.mark.parametrize("rate, text", [(99.96, "100it/s"), (9.999, "10.0it/s"), (99_999.7, "100kit/s"), (1.87e6, "1.87Mit/s")])
def test_rate_rounding_never_shows_an_extra_digit(rate, text):
    assert _format.rate(rate) == text


def test_sanitize_removes_bidi_overrides():
    assert _format.sanitize("abc\u202edef\u2066g") == "abcdefg"


@given(st.floats(min_value=1e-3, max_value=9999.0))
def test_numbers_keep_four_significant_digits(value):
    """Within the plain range every float shows exactly four significant digits, zeros kept."""
    digits = _format.number(value).replace(".", "").lstrip("0")
    assert len(digits) == 4


def test_numbers_keep_their_width_within_a_decade():
    """A loss moving from 0.5 to 0.5123 to 0.25 keeps the width of its text."""
    assert {len(_format.number(v)) for v in (0.5, 0.5123, 0.25, 0.1, 0.999)} == {6}


def test_tqdm_style_numbers_drop_trailing_zeros():
    """stable=False is tqdm's compact form, for the drop-in's postfix."""
    assert _format.number(0.5, stable=False) == "0.5"


def test_sparkline_scales_between_its_extremes():
    """A falling series reads from the top block to the bottom one."""
    assert _format.sparkline([8, 7, 6, 5, 4, 3, 2, 1]) == "█▇▆▅▄▃▂▁"


def test_sparkline_buckets_a_long_series_into_its_columns():
    """100 points become 8 columns, each the mean of its share."""
    assert _format.sparkline(range(100), 8) == "▁▂▃▄▅▆▇█"


def test_sparkline_of_a_flat_or_short_series():
    """A flat series is a flat line; fewer than two finite points draw nothing."""
    assert _format.sparkline([2.0, 2.0, 2.0]) == "▅▅▅"
    assert _format.sparkline([1.0, float("nan")]) == ""
