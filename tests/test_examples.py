"""docs/examples: every example compiles, and every trainbar name it imports exists."""

import ast
import importlib
import os
import pathlib

import pytest
from frameworks import need

os.environ.setdefault("KERAS_BACKEND", "torch")  # the examples' own default

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / "docs" / "examples").glob("*.py"))
INTEGRATIONS = ("trainbar.keras", "trainbar.lightning", "trainbar.transformers")


def marked(path: pathlib.Path):
    """Examples that import a framework integration are slow to check: marked as such."""
    slow = any(name in path.read_text() for name in INTEGRATIONS)
    return pytest.param(path, id=path.name, marks=[pytest.mark.frameworks] if slow else [])


def trainbar_imports(tree: ast.AST) -> list:
    """(module, name) for each ``from trainbar... import name`` and ``import trainbar...``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "trainbar":
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names if alias.name.split(".")[0] == "trainbar"]
    return found


def test_there_is_an_example_for_each_seed_and_integration():
    """Five seeds adapted, plus one example per framework integration."""
    assert len(EXAMPLES) >= 7


@pytest.mark.parametrize("path", [marked(path) for path in EXAMPLES])
def test_example_compiles_and_its_trainbar_names_exist(path):
    """The example parses, and what it takes from trainbar is really there."""
    tree = ast.parse(path.read_text(), filename=str(path))
    compile(tree, str(path), "exec")
    assert ast.get_docstring(tree), "an example says what it shows and how to run it"
    for module_name, name in trainbar_imports(tree):
        framework = module_name.split(".")[1] if "." in module_name else None
        if framework in ("keras", "lightning", "transformers"):
            need(framework, framework)
        module = importlib.import_module(module_name)
        if name is not None:
            assert hasattr(module, name), f"{path.name}: {module_name} has no {name}"
