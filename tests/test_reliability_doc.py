"""docs/reliability.md is generated from the reliability tests and must be current."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_reliability_document_matches_the_tests():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "reliability_report.py"), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr + result.stdout[-2000:]


def test_the_document_does_not_depend_on_what_is_installed():
    """Without torch (a minimal dev install), the modules that skip still have their rows."""
    code = (
        "import runpy, sys; sys.modules['torch'] = None; sys.argv = ['reliability_report.py', '--check']\n"
        f"runpy.run_path({str(ROOT / 'tests' / 'reliability_report.py')!r}, run_name='__main__')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr + result.stdout[-2000:]
