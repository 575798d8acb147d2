"""The public surface: what `import trainbar` exports, and what it must not import."""

import subprocess
import sys

import trainbar

PINNED = [
    "Bar", "__version__", "bar", "configure", "flush", "log", "patch_tqdm", "print", "rank_info", "tqdm", "trange",
    "unpatch_tqdm", "waiting", "write",
]  # fmt: skip


def test_all_is_pinned():
    assert sorted(trainbar.__all__) == sorted(PINNED)
    for name in trainbar.__all__:
        assert hasattr(trainbar, name)


def test_import_pulls_in_no_framework():
    heavy = ["torch", "numpy", "IPython", "ipykernel", "keras", "tensorflow", "jax", "lightning",
             "pytorch_lightning", "transformers", "tqdm", "rich", "logging", "asyncio"]  # fmt: skip
    code = (
        "import sys; before = set(sys.modules); import trainbar; "
        f"print(sorted(set(sys.modules) - before & set({heavy!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_package_is_typed():
    import importlib.resources

    assert importlib.resources.files("trainbar").joinpath("py.typed").is_file()


def _oldest_python():
    import glob
    import shutil

    # pyenv's shim answers `which` even when it cannot run 3.9, so ask each candidate itself.
    for candidate in sorted(glob.glob("/root/.pyenv/versions/3.9*/bin/python3")) + [shutil.which("python3.9")]:
        if candidate and subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


def test_runs_on_python_3_9():
    """The oldest supported Python imports trainbar and draws a nested loop."""
    import pytest
    from pathlib import Path

    python = _oldest_python()
    if python is None:
        pytest.skip("no Python 3.9 on this machine")
    src = Path(trainbar.__file__).resolve().parent.parent
    code = (
        "import io, trainbar\n"
        "f = io.StringIO()\n"
        "for e in trainbar.bar(range(2), desc='epoch', file=f):\n"
        "    for x in trainbar.bar(range(40000), desc='step', file=f): pass\n"
        "print(f.getvalue().splitlines()[-1])\n"
    )
    env = {"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("epoch: 100% 2/2")
