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
