"""What the framework integrations share, checked without any framework: the import error that
names the extra, and hooks that can never stop training."""

import importlib
import io
import sys
import warnings

import pytest

from trainbar.integrations import common as _integration

MODULES = [("keras", "keras"), ("lightning", "lightning"), ("transformers", "transformers")]


@pytest.mark.parametrize("framework, extra", MODULES)
def test_a_missing_framework_names_the_extra_to_install(monkeypatch, framework, extra):
    """Without the framework, importing trainbar.<name> says what to install: the package itself,
    or the extra from a checkout (trainbar is not on the package index yet)."""
    for name in list(sys.modules):
        if name == framework or name.startswith(framework + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, framework, None)  # what an absent package looks like to import
    monkeypatch.delitem(sys.modules, f"trainbar.{framework}", raising=False)
    monkeypatch.delitem(sys.modules, f"trainbar.integrations.{framework}", raising=False)
    with pytest.raises(ImportError) as caught:
        importlib.import_module(f"trainbar.{framework}")
    assert f"python3 -m pip install {extra}" in str(caught.value)
    assert f"pip install '.[{extra}]'" in str(caught.value)
    assert "'trainbar[" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_framework_that_fails_inside_keeps_its_own_error(tmp_path, monkeypatch):
    """A framework that is installed but lacks a dependency raises its own error, not ours."""
    (tmp_path / "broken_framework").mkdir()
    (tmp_path / "broken_framework" / "__init__.py").write_text("import backend_that_is_not_there_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="backend_that_is_not_there_xyz"):
        _integration.require("broken_framework", extra="broken", what="Broken")


class Callback:
    """A stand-in framework callback with one bar and hooks that may fail."""

    def __init__(self, stream) -> None:
        self._bars = _integration.Bars(stream)
        self.calls = 0

    @_integration.guarded
    def begin(self) -> None:
        self._bars.open("steps", total=10, desc="train")

    @_integration.guarded
    def step(self, fail: bool = False) -> str:
        self.calls += 1
        if fail:
            raise ValueError("bad metric")
        self._bars.get("steps").update(1)
        return "ok"


def test_a_failing_hook_warns_once_and_closes_its_bars(manual):
    """The first error in a hook: one warning, the open bars closed as interrupted, None returned."""
    stream = io.StringIO()
    callback = Callback(stream)
    callback.begin()
    callback.step()
    with pytest.warns(RuntimeWarning, match=r"Callback.step failed \(ValueError: bad metric\).*training goes on"):
        assert callback.step(fail=True) is None
    assert stream.getvalue().splitlines()[-1].startswith("train: 10% 1/10")
    assert stream.getvalue().splitlines()[-1].endswith("interrupted")


def test_after_a_failure_the_hooks_do_nothing(manual):
    """Once failed, the callback's hooks return at once, without another warning."""
    callback = Callback(io.StringIO())
    callback.begin()
    with pytest.warns(RuntimeWarning):
        callback.step(fail=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert callback.step() is None
        callback.begin()
    assert callback.calls == 1


def test_opening_a_role_again_closes_the_old_bar_as_interrupted(manual):
    """A run that died without its end hook leaves no bar open for the next one to nest under."""
    stream = io.StringIO()
    bars = _integration.Bars(stream)
    first = bars.open("steps", total=4, desc="first")
    bars.open("steps", total=4, desc="second")
    assert first.status == "interrupted"
    assert bars.get("steps").desc == "second"


def test_an_endless_loader_gets_a_bar_with_no_total(manual):
    """A total of inf (Lightning's endless loaders) becomes a bar that counts up."""
    bar = _integration.Bars(io.StringIO()).open("steps", total=float("inf"), desc="train")
    assert bar.total is None


def test_advance_never_moves_a_bar_back(manual):
    """Batch hooks run on a thread pool may arrive out of order: the bar keeps the furthest."""
    bar = _integration.Bars(io.StringIO()).open("steps", total=10, desc="train")
    _integration.advance(bar, 5)
    _integration.advance(bar, 3)
    assert bar.n == 5


def test_a_file_that_is_not_a_stream_is_refused():
    """file= must be writable; the error names the argument."""
    with pytest.raises(TypeError, match="file must be a writable text stream"):
        _integration.Bars(file="train.log")


@pytest.mark.parametrize("mode, expected", [("auto", True), ("log", False), ("off", False)])
def test_in_notebook_follows_the_mode_the_bars_get(monkeypatch, mode, expected):
    """A kernel's stream is a notebook's, unless TRAINBAR_MODE sends the bars elsewhere: then
    no training view is drawn, and a callback must not leave out lines the view would hold."""
    from trainbar.runtime import environment

    monkeypatch.setattr(environment, "is_notebook_stream", lambda stream: True)  # as a kernel's stderr
    monkeypatch.setenv("TRAINBAR_MODE", mode)
    assert _integration.Bars().in_notebook() is expected
