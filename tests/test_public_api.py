"""The public surface: what `import trainbar` exports, and what it must not import."""

import subprocess
import sys

import trainbar

PINNED = ["Bar", "__version__", "bar", "log", "print", "rank_info", "tqdm", "trange", "write"]


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
