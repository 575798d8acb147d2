"""Build docs/reliability.md from the tests marked ``@pytest.mark.reliability(area, tried, holds)``.

    python tests/reliability_report.py            # rewrite the document
    python tests/reliability_report.py --check    # exit 1 if the document is out of date

The table is generated from the tests, so a row exists only while a test checks it.
"""

from __future__ import annotations

import ast
import contextlib
import io
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"
AREAS = ["Output failures", "Concurrency", "Distributed", "Lifetime", "Numbers", "Hostile text", "Properties"]

HEADER = """# Reliability

A progress bar runs inside jobs that cost days of GPU time, so it must never be what breaks them.
Each row below is checked by the test named in it; the table is generated from those tests
(`python tests/reliability_report.py`), and a test fails when it is out of date.

"""


class _Collector:
    def __init__(self) -> None:
        self.rows: list = []
        self.files: set = set()  # the test modules that imported, and so gave their rows

    def pytest_collection_modifyitems(self, items) -> None:
        for item in items:
            self.files.add(item.nodeid.split("::")[0])
            for mark in item.iter_markers("reliability"):
                area, tried, holds = mark.args
                self.rows.append((area, tried, holds, item.nodeid.split("[")[0]))


def _written_rows(path: Path) -> list:
    """The rows of a test module that did not import here (it needs what is not installed),
    read from its source: such modules write their marks out in full on top-level tests."""
    rows = []
    for node in ast.parse(path.read_text()).body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in node.decorator_list:
            if (
                isinstance(decorator, ast.Call)
                and ast.unparse(decorator.func) == "pytest.mark.reliability"
                and all(isinstance(arg, ast.Constant) for arg in decorator.args)
            ):
                area, tried, holds = (arg.value for arg in decorator.args)
                rows.append((area, tried, holds, f"tests/{path.name}::{node.name}"))
    return rows


def collect() -> list:
    collector = _Collector()
    with contextlib.redirect_stdout(io.StringIO()):  # the listing of every test is noise here
        code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", str(ROOT / "tests")], plugins=[collector])
    if code not in (0, 5):
        raise SystemExit(f"collection failed with exit code {code}")
    rows = list(collector.rows)
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        if f"tests/{path.name}" not in collector.files:
            rows += _written_rows(path)
    return sorted(set(rows), key=lambda r: (AREAS.index(r[0]) if r[0] in AREAS else 99, r[3]))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(rows: list) -> str:
    out = [HEADER]
    for area in dict.fromkeys(row[0] for row in rows):
        out.append(f"## {area}\n\n| what was tried | what holds | test |\n|---|---|---|\n")
        for row_area, tried, holds, test in rows:
            if row_area == area:
                out.append(f"| {_cell(tried)} | {_cell(holds)} | `{test}` |\n")
        out.append("\n")
    return "".join(out)


def main() -> int:
    text = render(collect())
    if "--check" in sys.argv:
        if not DOC.exists() or DOC.read_text() != text:
            print("docs/reliability.md is out of date: run python tests/reliability_report.py", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
