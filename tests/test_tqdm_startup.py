"""Every tqdm bar drawn by trainbar with no code change: ``trainbar run`` and ``TRAINBAR_TQDM=1``.

The start-up hook is tested on a real install (a wheel built from this checkout into a fresh
virtual environment), since what matters is that the installed ``.pth`` file does its job.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("tqdm")
ROOT = Path(__file__).resolve().parents[1]

PROGRAM = textwrap.dedent(
    """
    import sys
    from tqdm.auto import tqdm
    for _ in tqdm(range(500), desc="library loop"):
        pass
    print("arguments", sys.argv[1:])
    sys.exit(int(sys.argv[-1]))
    """
)


def _environment(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINBAR_")}
    env.update(extra)
    return env


def _is_trainbar_log(text: str) -> bool:
    return "\r" not in text and "\x1b" not in text and "library loop: 100% 500/500" in text


def test_trainbar_run_script_patches_tqdm_and_keeps_arguments_and_exit_status(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(PROGRAM)
    out = subprocess.run(
        [sys.executable, "-m", "trainbar", "run", str(script), "--lr", "0.1", "3"],
        capture_output=True, text=True, timeout=60, env=_environment(),
    )  # fmt: skip
    assert out.returncode == 3
    assert "arguments ['--lr', '0.1', '3']" in out.stdout
    assert _is_trainbar_log(out.stderr), out.stderr


def test_trainbar_run_module(tmp_path):
    (tmp_path / "trainmod.py").write_text(PROGRAM)
    out = subprocess.run(
        [sys.executable, "-m", "trainbar", "run", "-m", "trainmod", "0"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=_environment(PYTHONPATH=str(tmp_path)),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert _is_trainbar_log(out.stderr), out.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A virtual environment with this checkout installed as a user would (not editable)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site,
         "--no-compile", str(ROOT)],
        check=True, capture_output=True, cwd=build, env=_environment(TMPDIR=str(build)),
    )  # fmt: skip
    assert (Path(site) / "trainbar-tqdm.pth").exists()
    return python


def test_trainbar_tqdm_variable_patches_from_interpreter_start(installed, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(PROGRAM)
    out = subprocess.run(
        [str(installed), str(script), "0"], capture_output=True, text=True, timeout=60,
        env=_environment(TRAINBAR_TQDM="1"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert _is_trainbar_log(out.stderr), out.stderr


def test_the_hook_loads_nothing_until_tqdm_is_imported(installed, tmp_path):
    """Unset or off, nothing; set, still nothing until the program imports tqdm (a DataLoader
    worker that never does pays a few standard imports)."""
    code = "import sys; print('trainbar' in sys.modules, 'tqdm' in sys.modules)"
    for value in (None, "0", "off", "false", "no", "1"):
        env = _environment() if value is None else _environment(TRAINBAR_TQDM=value)
        out = subprocess.run([str(installed), "-c", code], capture_output=True, text=True, env=env, check=True)
        assert out.stdout.split() == ["False", "False"], value
    code = "import sys, tqdm; print('trainbar' in sys.modules, tqdm.tqdm.__init__.__module__)"
    for value, patched in (("off", False), ("yes", True)):
        out = subprocess.run([str(installed), "-c", code], capture_output=True, text=True,
                             env=_environment(TRAINBAR_TQDM=value), check=True)  # fmt: skip
        assert out.stdout.split()[0] == str(patched), value
        assert ("trainbar" in out.stdout.split()[1]) == patched, out.stdout


def test_the_hook_ran_from_the_installed_copy_not_the_checkout(installed):
    out = subprocess.run([str(installed), "-c", "import trainbar; print(trainbar.__file__)"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert out.stdout.startswith(str(installed.parent.parent))


def test_trainbar_run_behaves_as_python_does(tmp_path):
    """A package in the current directory with -m, an absolute __file__, a missing script, and a
    KeyboardInterrupt's traceback, all as `python` gives them."""
    import shutil

    command = shutil.which("trainbar") or pytest.skip("the trainbar console script is not on PATH")
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "train.py").write_text("import os, sys\nos.chdir('/')\nprint('file', os.path.exists(__file__), sys.argv[1:])\n")
    (tmp_path / "stop.py").write_text("raise KeyboardInterrupt\n")
    env = _environment()
    as_module = subprocess.run([command, "run", "-m", "mypkg.train", "x"], capture_output=True, text=True,
                               cwd=tmp_path, env=env, timeout=60)  # fmt: skip
    assert as_module.returncode == 0, as_module.stderr
    assert as_module.stdout.strip() == "file True ['x']"
    as_script = subprocess.run([command, "run", "mypkg/train.py"], capture_output=True, text=True,
                               cwd=tmp_path, env=env, timeout=60)  # fmt: skip
    assert as_script.stdout.strip() == "file True []", as_script.stderr
    missing = subprocess.run([command, "run", "nothere.py"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert missing.returncode == 2 and "can't open file" in missing.stderr and "Traceback" not in missing.stderr
    stopped = subprocess.run([command, "run", "stop.py"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert stopped.returncode != 0 and "KeyboardInterrupt" in stopped.stderr  # where it stopped, as python shows
