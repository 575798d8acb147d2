import io

import pytest

from trainbar.runtime import runtime as _runtime
from trainbar import _settings
from trainbar.core import metrics as _metrics
from trainbar.distributed import leader as _leader
from trainbar.distributed import info as _rank
from trainbar.testing import manual_display

_ENVIRONMENT = (
    "TRAINBAR_MODE", "TRAINBAR_DISABLE", "TRAINBAR_LOG_INTERVAL", "TRAINBAR_RANKS", "TRAINBAR_STALL",
    "TRAINBAR_JSONL", "CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "TF_BUILD",
    "NO_COLOR", "FORCE_COLOR", "TRAINBAR_HEARTBEAT_TIMEOUT", "TRAINBAR_GATHER", "TRAINBAR_JSONL_INTERVAL",
    "TRAINBAR_STALL_GRACE", "TRAINBAR_NOTEBOOK_FORMAT", "VSCODE_PID", "VSCODE_CWD",
)  # fmt: skip


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "reliability(area, tried, holds): a row of docs/reliability.md (tests/reliability_report.py)"
    )


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Each test starts from a neutral environment and a display of its own."""
    for name in _ENVIRONMENT + _rank.VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    _rank.forget()
    _leader.forget()
    _settings.reset()
    _metrics.forget_overruns()
    previous = _runtime.replace(_runtime.Runtime())
    yield
    current = _runtime.replace(previous)
    if current is not None:
        current.shutdown()
    _rank.forget()
    _leader.forget()
    _settings.reset()


@pytest.fixture
def manual():
    """(clock, display): a fake clock and a display that draws only when ticked."""
    with manual_display() as pair:
        yield pair


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal of a fixed width."""

    def __init__(self, columns: int = 80) -> None:
        super().__init__()
        self.columns = columns

    def isatty(self) -> bool:
        return True


@pytest.fixture
def log_stream():
    return io.StringIO()
