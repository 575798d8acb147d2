"""The event renderer: snapshots to JSON objects that strict parsers accept, golden-tested."""

import json
import math

import pytest

from trainbar.core.snapshot import DONE, Snapshot
from trainbar.render.jsonl import VERSION, bar_event, display_options, encode, json_number, json_value, write_event

IDENTITY = {"rank": 3, "host": "node7", "pid": 4242}


def strict(line):
    """Parse as a strict JSON parser would: NaN, Infinity and -Infinity literals are errors."""

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(line, parse_constant=refuse)


def snap(**fields):
    base = dict(desc="train", n=450, total=1000, elapsed=62.0, rate=7.25, eta=76.0, unit="step")
    base.update(fields)
    return Snapshot(**base)


def test_bar_event_golden():
    """A progress event holds the version, who wrote it, the bar's ids, position, times and metrics."""
    event = bar_event("progress", snap(), time=1700000000.5, identity=IDENTITY, bar=2, parent=1, metrics={"loss": 0.25, "lr": 1e-4})
    assert event == {
        "v": VERSION, "event": "progress", "time": 1700000000.5, "rank": 3, "host": "node7", "pid": 4242,
        "bar": 2, "parent": 1, "desc": "train", "n": 450, "total": 1000, "unit": "step",
        "elapsed": 62.0, "rate": 7.25, "eta": 76.0, "status": "running", "phase": None, "data": None,
        "metrics": {"loss": 0.25, "lr": 0.0001},
    }  # fmt: skip


def test_closed_bar_event_carries_status_and_extra_fields():
    """Fields an event kind adds come after the common ones, made JSON-safe too."""
    event = bar_event("close", snap(status=DONE), time=1.0, identity=IDENTITY, bar=1, parent=None, metrics={}, stall={"seconds": math.inf})
    assert event["status"] == "done" and event["parent"] is None
    assert event["stall"] == {"seconds": "Infinity"}


@pytest.mark.parametrize(
    ("value", "written"),
    [(math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity"), (0.5, 0.5), (3, 3), (None, None), (True, True)],
)
def test_non_finite_numbers_are_written_by_name(value, written):
    """NaN and the infinities become the strings float() reads back; other numbers stay numbers."""
    assert json_number(value) == written


def test_metric_values_of_any_type_become_json():
    """Strings stay strings, containers are walked, and an unknown object is written as its text."""

    class Opaque:
        def __str__(self):
            return "opaque!"

    assert json_value({"a": [1, math.nan, "x"], "b": Opaque()}) == {"a": [1, "NaN", "x"], "b": "opaque!"}


def test_integer_like_counts_stay_integers():
    """A count that is an integer of another type (numpy's, say) is written as a JSON integer."""

    class Index:
        def __index__(self):
            return 7

    assert json_number(Index()) == 7 and isinstance(json_number(Index()), int)


def test_encoded_line_passes_a_strict_parser_with_every_non_finite_value():
    """The line never holds a bare NaN or Infinity: json.loads with no constants accepts it."""
    event = bar_event(
        "progress", snap(n=math.nan, total=None, rate=math.inf, eta=None), time=2.0, identity=IDENTITY,
        bar=1, parent=None, metrics={"loss": math.nan, "grad": -math.inf},
    )  # fmt: skip
    line = encode(event)
    assert "\n" not in line
    parsed = strict(line)
    assert parsed["n"] == "NaN" and parsed["rate"] == "Infinity" and parsed["metrics"] == {"loss": "NaN", "grad": "-Infinity"}
    assert math.isnan(float(parsed["metrics"]["loss"]))


def test_non_ascii_text_stays_readable_and_a_lone_surrogate_is_escaped():
    """Unicode is written as UTF-8 text; a string with no UTF-8 form is escaped, never an error."""
    assert "训练" in encode(write_event("训练\n", time=1.0, identity=IDENTITY))
    line = encode(write_event("bad \udcff name", time=1.0, identity=IDENTITY))
    line.encode("utf-8")
    assert strict(line)["text"] == "bad \udcff name"


def test_display_options_hold_what_a_reader_needs_to_draw_the_bar():
    """leave, delay and the snapshot's drawing options, for `trainbar watch`."""
    options = display_options(snap(unit_scale=True, ascii=True, bar_format="{l_bar}{bar}"), leave=False, delay=2.0)
    assert options["leave"] is False and options["delay"] == 2.0
    assert options["unit_scale"] is True and options["ascii"] is True and options["bar_format"] == "{l_bar}{bar}"


def test_write_event_keeps_the_text_as_printed():
    """A message keeps its line breaks and line ending; it carries no bar fields."""
    event = write_event("a\nb\n", time=5.0, identity=IDENTITY)
    assert event == {"v": VERSION, "event": "write", "time": 5.0, "rank": 3, "host": "node7", "pid": 4242, "text": "a\nb\n"}
