"""The one decision of how a stream is drawn to, with its precedence."""

import io

import pytest

from trainbar import _settings

from trainbar.runtime import environment as _env
from conftest import FakeTerminal


@pytest.mark.parametrize(
    "env, stream, disable, mode",
    [
        ({}, FakeTerminal(), None, "tty"),
        ({}, io.StringIO(), None, "log"),
        ({"TERM": "dumb"}, FakeTerminal(), None, "log"),
        ({"CI": "true"}, FakeTerminal(), None, "log"),
        ({"CI": "0"}, FakeTerminal(), None, "tty"),
        ({"TRAINBAR_MODE": "log"}, FakeTerminal(), None, "log"),
        ({"TRAINBAR_MODE": "tty"}, io.StringIO(), None, "tty"),
        ({"TRAINBAR_MODE": "off"}, FakeTerminal(), None, "off"),
        ({"TRAINBAR_MODE": "off"}, FakeTerminal(), False, "tty"),
        ({"TRAINBAR_DISABLE": "1"}, FakeTerminal(), None, "off"),
        ({"TRAINBAR_DISABLE": "1"}, FakeTerminal(), False, "tty"),
        ({"TRAINBAR_DISABLE": "0"}, FakeTerminal(), None, "tty"),
        ({}, FakeTerminal(), True, "off"),
        ({"TRAINBAR_MODE": "tty"}, FakeTerminal(), True, "off"),
    ],
)
def test_mode_precedence(monkeypatch, env, stream, disable, mode):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _env.choose_mode(stream, disable) == mode


def test_streams_without_isatty_or_with_a_failing_one_are_not_terminals():
    class NoIsatty:
        def write(self, text):
            pass

    class Broken(io.StringIO):
        def isatty(self):
            raise ValueError("closed")

    assert _env.choose_mode(NoIsatty()) == "log"
    assert _env.choose_mode(Broken()) == "log"


def test_unknown_mode_warns_and_detects(monkeypatch):
    monkeypatch.setenv("TRAINBAR_MODE", "fancy-unknown")
    with pytest.warns(RuntimeWarning, match="TRAINBAR_MODE"):
        assert _env.choose_mode(io.StringIO()) == "log"


@pytest.mark.parametrize("raw, value", [("5", 5.0), ("1.5", 1.5), ("", 30.0)])
def test_log_interval(monkeypatch, raw, value):
    monkeypatch.setenv("TRAINBAR_LOG_INTERVAL", raw)
    assert _settings.current().log_interval == value


@pytest.mark.parametrize("raw", ["-3", "zero", "0", "nan"])
def test_bad_log_interval_warns_and_uses_default(monkeypatch, raw):
    monkeypatch.setenv("TRAINBAR_LOG_INTERVAL", raw)
    with pytest.warns(RuntimeWarning, match="TRAINBAR_LOG_INTERVAL"):
        assert _settings.current().log_interval == 30.0


def test_ascii_only_stream_gets_ascii_bars():
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    assert not _env.supports_unicode(stream)
    assert _env.supports_unicode(io.StringIO())


def test_no_color_wins(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert not _env.use_colour(FakeTerminal())
