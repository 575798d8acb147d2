"""Bars trainbar does not own, from the real libraries, after ``trainbar.patch_tqdm()``.

``jobs/library_bars.py`` runs each library's own tqdm bar (datasets' ``map``, huggingface_hub's,
transformers', accelerate's, tqdm.contrib.concurrent's thread and process maps, pandas'
``progress_apply``, Lightning's TQDMProgressBar). Each setting runs it once and each library is
checked on its own: in a log file, on a real terminal replayed through pyte, in a real Jupyter
kernel, and under torchrun with two ranks.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from ptyrun import REDRAW, child_environment, run_in_pty  # noqa: E402

pytest.importorskip("tqdm")
JOB = Path(__file__).parent / "jobs" / "library_bars.py"
SRC = str(Path(__file__).parent.parent / "src")
DESCRIPTIONS = {
    "datasets": "datasets map", "hub": "hub download", "transformers": "transformers loop",
    "accelerate": "accelerate loop", "threads": "threads map", "processes": "processes map",
    "pandas": "pandas apply", "lightning": "Epoch 0",
}  # fmt: skip
TOTALS = {"datasets": 2000, "hub": 300, "transformers": 300, "accelerate": 300, "threads": 200, "processes": 200,
          "pandas": 500, "lightning": 16}  # fmt: skip
NEEDS = {"datasets": "datasets", "hub": "huggingface_hub", "transformers": "transformers", "accelerate": "accelerate",
         "pandas": "pandas", "lightning": "lightning"}  # fmt: skip
PRESENT = [name for name in DESCRIPTIONS if name not in NEEDS or importlib.util.find_spec(NEEDS[name]) is not None]
LIBRARIES = [pytest.param(name, marks=pytest.mark.skipif(name not in PRESENT, reason=f"{NEEDS.get(name)} not installed"))
             for name in DESCRIPTIONS]  # fmt: skip
CONTROLS = re.compile(r"[\r\b\x1b]")


def _environment(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINBAR_") and k != "CI"}
    env.update(PYTHONPATH=SRC + os.pathsep + env.get("PYTHONPATH", ""), OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    env.update(extra)
    return env


def _bar_lines(lines, name):
    return [line.strip() for line in lines if line.strip().startswith(DESCRIPTIONS[name] + ":")]


# --- a log file ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def log_file(tmp_path_factory):
    """The job as a batch job runs it: standard output and error in one file."""
    path = tmp_path_factory.mktemp("log") / "job.log"
    with open(path, "w") as handle:
        done = subprocess.run([sys.executable, str(JOB), *PRESENT], stdout=handle, stderr=subprocess.STDOUT,
                              env=_environment(), timeout=300, cwd=path.parent)  # fmt: skip
    text = path.read_text()
    assert done.returncode == 0, text
    return text


@pytest.mark.parametrize("name", LIBRARIES)
def test_in_a_log_file_each_library_bar_is_plain_lines(log_file, name):
    assert not CONTROLS.search(log_file), repr(CONTROLS.findall(log_file)[:5])
    lines = _bar_lines(log_file.splitlines(), name)
    assert lines, log_file
    total = TOTALS[name]
    assert f"100% {total}/{total}" in lines[-1] and lines[-1].endswith("done"), lines
    assert len(lines) <= 3, lines  # a start line, maybe one periodic line, the final one: never frames


# --- a terminal ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def terminal():
    code = f"import sys; sys.argv = ['library_bars.py', *{PRESENT!r}]; exec(open({str(JOB)!r}).read())"
    result = run_in_pty(code, cols=120, rows=60, timeout=240, env=child_environment(
        PYTHONPATH=SRC, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false"))  # fmt: skip
    assert result.returncode == 0, result
    return result


@pytest.mark.parametrize("name", LIBRARIES)
def test_on_a_terminal_each_library_bar_is_one_line(terminal, name):
    final = _bar_lines(terminal.lines, name)
    assert len(final) == 1 and f"{TOTALS[name]}/{TOTALS[name]}" in final[0], terminal
    for screen in terminal.screens_after(REDRAW):
        assert len(_bar_lines(screen.display, name)) <= 1, screen.display  # live or final, never a dump


# --- a Jupyter kernel ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notebook(tmp_path_factory):
    pytest.importorskip("jupyter_client")
    pytest.importorskip("ipykernel")
    from jupyterrun import Kernel, hermetic_env

    env = hermetic_env(str(tmp_path_factory.mktemp("kernel")))
    env.update(PYTHONPATH=SRC + os.pathsep + env.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    with Kernel(env) as kernel:
        run = kernel.run(f"import sys; sys.argv = ['library_bars.py', *{PRESENT!r}]; exec(open({str(JOB)!r}).read())",
                         timeout=300)  # fmt: skip
    assert not run.of("error"), run.of("error")
    return run


@pytest.mark.parametrize("name", LIBRARIES)
def test_in_a_notebook_each_library_bar_is_html_and_never_a_widget(notebook, name):
    assert notebook.count("comm_open", "comm_msg") == 0
    for message in notebook.of("display_data", "update_display_data"):
        assert "application/vnd.jupyter.widget-view+json" not in message.content.get("data", {})
    assert "\r" not in notebook.streams()
    found = [bundle["text/html"] for bundle in notebook.displays() if DESCRIPTIONS[name] in bundle.get("text/html", "")]
    assert found, notebook.summary()
    assert re.search(rf"{TOTALS[name]}\s*/\s*{TOTALS[name]}", found[-1]), found[-1]


# --- torchrun, two ranks -----------------------------------------------------------------


def _torchrun(libraries):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(JOB),
               *libraries]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env=_environment(TRAINBAR_MODE="log"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def two_ranks():
    pytest.importorskip("torch.distributed")
    others = [name for name in PRESENT if name != "lightning"]
    text = _torchrun(others)
    if "lightning" in PRESENT:
        text += _torchrun(["lightning"])
    return text


@pytest.mark.parametrize("name", LIBRARIES)
def test_under_torchrun_each_library_bar_is_drawn_once_per_job(two_ranks, name):
    final = [line for line in _bar_lines(two_ranks.splitlines(), name) if line.endswith("done")]
    assert len(final) == 1, two_ranks  # the rank rule: one bar per job, not one per rank
    assert not CONTROLS.search(two_ranks)
