"""tqdm's own test suite against trainbar.tqdm: every failure is one docs/tqdm_suite.md classifies.

The full run downloads tqdm's sdist, so it runs only when asked: ``TRAINBAR_TQDM_SUITE=1``. The
import rewriting and the check it relies on are tested always.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "tqdm_suite.py"


def suite():
    spec = importlib.util.spec_from_file_location("tqdm_suite", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    os.environ.get("TRAINBAR_TQDM_SUITE") != "1", reason="downloads tqdm's sdist: TRAINBAR_TQDM_SUITE=1"
)
def test_every_failure_of_tqdms_suite_is_classified():
    pytest.importorskip("tqdm")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", str(ROOT / "docs" / "tqdm_suite.md")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-4000:]


def test_only_the_imports_are_rewritten_and_only_to_names_trainbar_has():
    source = (
        "from tqdm import TqdmWarning, tqdm, trange, TMonitor\n"
        "from tqdm.std import EMA, Bar\n"
        "def f():\n"
        "    from tqdm.auto import tqdm as auto\n"
        "    return 'from tqdm import tqdm'\n"
    )
    mapped = {}
    assert suite().rewrite(source, mapped) == (
        "from trainbar.compat.tqdm import TqdmWarning; from trainbar import tqdm, trange; from tqdm import TMonitor\n"
        "from tqdm.std import EMA, Bar\n"
        "def f():\n"
        "    from trainbar.auto import tqdm as auto\n"
        "    return 'from tqdm import tqdm'\n"
    )
    assert mapped["tqdm.std.Bar"] == "tqdm.std"  # tqdm's bar graphic, never trainbar's Bar


def test_the_check_wants_every_failure_classified_and_the_table_current():
    check = suite().check
    table = {
        "t.py::deliberate": ("failed", "deliberate", "on purpose"),
        "t.py::fixed": ("failed", "deliberate", "was failing"),
        "t.py::known": ("failed", "bug", "not fixed yet"),
        "t.py::timing": ("failed", "deliberate", "skipped on some machines"),
    }
    outcomes = {
        "t.py::deliberate": "failed",
        "t.py::fixed": "passed",
        "t.py::known": "failed",
        "t.py::new": "error",
        "t.py::timing": "skipped",
    }
    problems = check(outcomes, table)
    assert len(problems) == 3
    assert any(p.startswith("t.py::fixed: passed now") for p in problems)
    assert any(p.startswith("t.py::known: failed, classified as a bug") for p in problems)
    assert any(p.startswith("t.py::new: error, and not classified") for p in problems)
    assert check({"t.py::deliberate": "failed"}, {"t.py::deliberate": table["t.py::deliberate"]}) == []
