"""Shared by the framework-integration tests: loading a framework, and running a script the way
a user's job runs, with its output going to a log file.

The frameworks are real (Keras on the torch backend, Lightning on the CPU, a tiny GPT-2 built from
a config). A machine without one skips its tests, except in CI, where a missing framework is a
failure: CI installs them all, and a skip there would hide a broken install step.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys
import textwrap

import pytest

# Raw bytes a log file must never hold: carriage returns, backspaces, escape sequences.
TERMINAL_CONTROL = re.compile(rb"[\r\b\x1b]")


def need(module: str, extra: str):
    """Import ``module`` for a test module, or skip the module (never in CI) when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{module} is not installed ({error}): pip install -e '.[{extra}]'", allow_module_level=True)


def need_installed(module: str, extra: str) -> None:
    """Like ``need``, without importing: for tests that run the framework in another process only."""
    try:
        found = importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        found = False
    if not found:
        if os.environ.get("CI"):
            raise ImportError(f"{module} is not installed: pip install -e '.[{extra}]'")
        pytest.skip(f"{module} is not installed: pip install -e '.[{extra}]'", allow_module_level=True)


def script_environment(**extra: str) -> dict:
    """The environment of a job whose output goes to a log file: no trainbar or CI overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINBAR_")}
    env.update(PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", KERAS_BACKEND="torch")
    env.setdefault("OMP_NUM_THREADS", "1")  # several processes on a small machine: no oversubscription
    env.update(extra)
    return env


def run_logged(command: list, log_path, *, env: dict, timeout: float, cwd=None) -> bytes:
    """Run ``command`` as ``command > log 2>&1`` would, and return the log's bytes."""
    with open(log_path, "wb") as log:
        proc = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              env=env, timeout=timeout, cwd=cwd)  # fmt: skip
    output = log_path.read_bytes()
    assert proc.returncode == 0, output.decode(errors="replace")[-4000:]
    return output


def write_script(path, source: str):
    path.write_text(textwrap.dedent(source))
    return path


def python() -> str:
    return sys.executable
