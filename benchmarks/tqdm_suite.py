"""tqdm's own test suite, run against ``trainbar.tqdm``.

    python benchmarks/tqdm_suite.py                       # downloads the installed tqdm's sdist
    python benchmarks/tqdm_suite.py tqdm-4.70.1.tar.gz    # or an sdist (or unpacked one) at hand
    python benchmarks/tqdm_suite.py --check docs/tqdm_suite.md
    python benchmarks/tqdm_suite.py --mode tty --show -k format    # frames, pytest's own report

The sdist's ``tests/`` are copied to a temporary folder and only their imports are rewritten:
``tqdm``, ``trange`` and the other names imported from ``tqdm``, ``tqdm.std``, ``tqdm.auto``,
``tqdm.notebook`` and ``tqdm.contrib*`` come from trainbar where trainbar has the name; the rest
(tqdm's internals: ``EMA``, ``std.Bar``, ``TMonitor``...) stay tqdm's. pytest then runs them in a
subprocess with tqdm's own settings (warnings are errors, 30 s per test), and each test's
outcome is printed, then a summary. pytest's capture is not a terminal, so trainbar writes log
lines there; ``--mode tty`` has it draw terminal frames instead, to tell which failures come
from that alone.

``--check TABLE`` compares the outcomes with the committed table (docs/tqdm_suite.md): every
failing test must be listed there as ``deliberate`` or ``internal``; a test listed as ``bug``
that still fails, or a listed test that now passes, fails the check too, so the table stays
what the suite shows.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

# The files run, and those left out with the reason (both are repeated in the table's header).
IN_SCOPE = (
    "tests_tqdm.py",  # the bar: format_meter, arguments, methods, output
    "tests_perf.py",  # overhead against a bare loop
    "tests_synchronisation.py",  # threads, pools, tqdm's monitor thread
    "tests_rlock.py",  # no multiprocessing lock made on import
    "tests_notebook.py",  # tqdm.notebook's bar
    "tests_contrib.py",  # tenumerate, tzip, tmap
    "tests_itertools.py",  # tqdm.contrib.itertools
    "tests_concurrent.py",  # thread_map, process_map
    "tests_contrib_logging.py",  # logging_redirect_tqdm
    "tests_pandas.py",  # tqdm.pandas()
)
LEFT_OUT = {
    "tests_main.py": "tqdm's command line (python -m tqdm)",
    "tests_gui.py": "tqdm.gui (matplotlib)",
    "tests_tk.py": "tqdm.tk",
    "tests_rich.py": "tqdm.rich",
    "tests_dask.py": "tqdm.dask",
    "tests_keras.py": "tqdm.keras (loaded by importorskip, not imported: nothing to rewrite)",
    "tests_asyncio.py": "tqdm.asyncio, a module of its own",
    "tests_utils.py": "tqdm.utils, tqdm's internals",
    "tests_version.py": "tqdm's own version string",
}

# Where each tqdm module's public names live in trainbar. For tqdm and tqdm.std a name is taken
# only when trainbar.compat.tqdm defines it itself (so tqdm.std.Bar, a bar-graphic helper, is
# never swapped for trainbar's Bar); for tqdm.contrib* whatever trainbar.contrib* has.
_OWN = {"tqdm": "trainbar", "trange": "trainbar"}
_TWINS = {"tqdm.auto": "trainbar.auto", "tqdm.autonotebook": "trainbar.auto", "tqdm.notebook": "trainbar.notebook"}

OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
FAILING = ("failed", "error", "xpassed")
CLASSES = ("deliberate", "internal", "bug")

PLUGIN = """
import json, os

_outcomes = {}

def pytest_runtest_logreport(report):
    previous = _outcomes.get(report.nodeid)
    if report.when == "call":
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        else:
            outcome = report.outcome
    elif report.failed:
        outcome = "error"
    elif report.skipped:
        outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
    else:
        outcome = previous or "passed"
    if previous in ("error", "failed") and outcome in ("passed", "skipped"):
        outcome = previous
    if previous == "failed" and outcome == "error":
        outcome = "failed"
    _outcomes[report.nodeid] = outcome

def pytest_sessionfinish(session):
    with open(os.environ["TQDM_SUITE_OUTCOMES"], "w") as out:
        json.dump(_outcomes, out)
"""

PYTEST_INI = """[pytest]
timeout = 30
log_level = INFO
markers =
    asyncio
    slow
python_files = tests_*.py
addopts = -p no:cacheprovider -p tqdm_suite_plugin -W error --tb=short -q
"""


def installed_tqdm_version() -> str:
    from importlib.metadata import version

    return version("tqdm")


def obtain_tests(source: str | None, workdir: Path) -> tuple[Path, str]:
    """The sdist's tests/ folder, unpacked under ``workdir``, and where it came from."""
    if source is None:
        wanted = installed_tqdm_version()
        download = workdir / "download"
        subprocess.run(
            [sys.executable, "-m", "pip", "download", f"tqdm=={wanted}", "--no-binary", ":all:", "--no-deps",
             "--quiet", "-d", str(download)],
            check=True,
        )  # fmt: skip
        source = str(next(download.iterdir()))
    path = Path(source)
    if path.is_dir():
        tests = path / "tests" if (path / "tests").is_dir() else path
        shutil.copytree(tests, workdir / "tests")
        return workdir / "tests", path.name
    with tarfile.open(path) as archive:
        members = [m for m in archive.getmembers() if re.match(r"[^/]+/tests/[^/]+$", m.name) and m.isfile()]
        if not members:
            raise SystemExit(f"{path}: no tests/ folder in this archive")
        (workdir / "tests").mkdir()
        for member in members:
            data = archive.extractfile(member)
            assert data is not None
            (workdir / "tests" / Path(member.name).name).write_bytes(data.read())
    return workdir / "tests", path.name


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def trainbar_home(module: str, name: str) -> str | None:
    """The trainbar module to import ``name`` from, for ``from <module> import <name>``; None
    where trainbar has no such name and tqdm's stays."""
    if module in ("tqdm", "tqdm.std"):
        if name in _OWN:
            return _OWN[name]
        compat = _module("trainbar.compat.tqdm")
        value = getattr(compat, name, None)
        if value is not None and getattr(value, "__module__", "") == "trainbar.compat.tqdm":
            return "trainbar.compat.tqdm"
        return None
    if module in _TWINS:
        return _TWINS[module] if hasattr(_module(_TWINS[module]), name) else None
    if module == "tqdm.contrib" or module.startswith("tqdm.contrib."):
        target = "trainbar" + module[len("tqdm") :]
        found = _module(target)
        if found is not None and (hasattr(found, name) or _module(f"{target}.{name}") is not None):
            return target
    return None


def rewrite(source: str, mapped: dict) -> str:
    """``source`` with each ``from tqdm... import`` split between trainbar and tqdm."""
    lines = source.splitlines(keepends=True)
    for node in sorted(ast.walk(ast.parse(source)), key=lambda n: -getattr(n, "lineno", 0)):
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
            continue
        if node.module != "tqdm" and not node.module.startswith("tqdm."):
            continue
        groups: dict[str, list[str]] = {}
        for alias in node.names:
            home = trainbar_home(node.module, alias.name) or node.module
            groups.setdefault(home, []).append(alias.name + (f" as {alias.asname}" if alias.asname else ""))
            mapped[f"{node.module}.{alias.name}"] = home
        indent = lines[node.lineno - 1][: node.col_offset]
        statements = [f"from {home} import {', '.join(names)}" for home, names in groups.items()]
        end = node.end_lineno or node.lineno
        lines[node.lineno - 1 : end] = [indent + "; ".join(statements) + "\n"]
    return "".join(lines)


def prepare(tests: Path) -> dict:
    """Rewrite the tests in place, drop the files out of scope, and add the runner's files."""
    mapped: dict = {}
    for path in tests.glob("*.py"):
        if path.name.startswith("tests_") and path.name not in IN_SCOPE:
            path.unlink()
            continue
        path.write_text(rewrite(path.read_text(encoding="utf-8"), mapped), encoding="utf-8")
    for path in tests.iterdir():
        if path.suffix != ".py":
            path.unlink() if path.is_file() else shutil.rmtree(path)
    (tests / "tqdm_suite_plugin.py").write_text(PLUGIN)
    (tests / "pytest.ini").write_text(PYTEST_INI)
    return mapped


def run_suite(tests: Path, extra: list[str], mode: str | None = None) -> tuple[dict, str]:
    outcomes_file = tests.parent / "outcomes.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINBAR_")}
    env["TQDM_SUITE_OUTCOMES"] = str(outcomes_file)
    env["PYTHONPATH"] = os.pathsep.join([str(tests), str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env.pop("COLUMNS", None)
    if mode:
        env["TRAINBAR_MODE"] = mode
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *IN_SCOPE, *extra], cwd=tests, env=env, capture_output=True, text=True
    )
    if not outcomes_file.exists():
        raise SystemExit(f"pytest did not run (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    outcomes = json.loads(outcomes_file.read_text())
    return outcomes, result.stdout + result.stderr


def read_table(path: Path) -> dict:
    """{test id: (outcome, class, reason)} from the table's rows: | `id` | outcome | class | reason |"""
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*`([^`]+)`\s*\|\s*(\w+)\s*\|\s*(\w+)\s*\|(.*)\|\s*$", line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3), match.group(4).strip())
    return rows


def check(outcomes: dict, table: dict, everything_ran: bool = True) -> list[str]:
    """What disagrees between this run and the table; empty when the table holds."""
    problems = []
    for test, outcome in sorted(outcomes.items()):
        if outcome not in FAILING:
            # A skip says nothing either way (a timing test on a machine whose CPU clock is unreliable).
            if test in table and outcome != "skipped":
                problems.append(f"{test}: {outcome} now, but listed in the table as {table[test][0]}: drop the row")
            continue
        if test not in table:
            problems.append(f"{test}: {outcome}, and not classified in the table")
            continue
        listed, kind, _ = table[test]
        if kind not in CLASSES:
            problems.append(f"{test}: class {kind!r} is none of {', '.join(CLASSES)}")
        elif kind == "bug":
            problems.append(f"{test}: {outcome}, classified as a bug: fix it")
        if listed != outcome:
            problems.append(f"{test}: {outcome} now, listed as {listed}")
    for test in sorted(set(table) - set(outcomes)) if everything_ran else ():
        problems.append(f"{test}: in the table, but the suite has no such test")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", help="tqdm's sdist (.tar.gz) or its unpacked folder")
    parser.add_argument("--check", metavar="TABLE", help="fail on any failure the table does not classify")
    parser.add_argument("--show", action="store_true", help="print pytest's own output as well")
    parser.add_argument("-k", help="pytest's -k, to run a few tests")
    parser.add_argument("--mode", choices=("tty", "log"), help="TRAINBAR_MODE for the run (default: trainbar decides)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tqdm-suite-") as tmp:
        tests, origin = obtain_tests(args.source, Path(tmp))
        mapped = prepare(tests)
        outcomes, output = run_suite(tests, ["-k", args.k] if args.k else [], args.mode)

    if args.show:
        print(output)
    print(f"tqdm's test suite from {origin}, run against trainbar.tqdm")
    print("imported from trainbar: " + ", ".join(sorted(k for k, v in mapped.items() if v.startswith("trainbar"))))
    print("left to tqdm:           " + ", ".join(sorted(k for k, v in mapped.items() if not v.startswith("trainbar"))))
    print("left out: " + ", ".join(sorted(LEFT_OUT)))
    print()
    for test, outcome in sorted(outcomes.items()):
        print(f"{outcome:8} {test}")
    counts = {name: sum(1 for o in outcomes.values() if o == name) for name in OUTCOMES}
    print()
    print(f"{len(outcomes)} tests: " + ", ".join(f"{n} {name}" for name, n in counts.items() if n))

    if args.check:
        table = read_table(Path(args.check))
        made_with = re.search(r"tqdm (\d+\.\d+\.\d+)", Path(args.check).read_text(encoding="utf-8"))
        if made_with and made_with.group(1) not in origin:
            print(f"note: the table was made with tqdm {made_with.group(1)}, this run is {origin}")
        classes = [table[t][1] for t, o in outcomes.items() if o in FAILING and t in table]
        print("classified: " + ", ".join(f"{classes.count(c)} {c}" for c in CLASSES))
        problems = check(outcomes, table, everything_ran=not args.k)
        for problem in problems:
            print("CHECK: " + problem)
        if problems:
            return 1
        print(f"check: every failure is classified in {args.check}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
