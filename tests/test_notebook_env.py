"""Telling a Jupyter kernel from a terminal IPython, without importing IPython ourselves."""

import io
import subprocess
import sys
import types

import pytest

from trainbar.runtime import environment as _env
from conftest import FakeTerminal
from ptyrun import child_environment, run_in_pty


class ZMQInteractiveShell:
    config: dict = {}


class ColabShell(ZMQInteractiveShell):  # Colab's shell subclasses ipykernel's
    pass


class TerminalInteractiveShell:
    config = {"TerminalIPythonApp": {}}


class OtherKernelShell:
    config = {"IPKernelApp": {"connection_file": "kernel.json"}}


def kernel_stream():
    """A stream of the class ipykernel puts on sys.stdout and sys.stderr."""
    cls = type("OutStream", (io.StringIO,), {"__module__": "ipykernel.iostream"})
    return cls()


@pytest.fixture
def running(monkeypatch):
    """running(shell): pretend IPython and ipykernel are imported and ``shell`` is get_ipython()."""

    def install(shell, with_ipykernel=True):
        fake = types.ModuleType("IPython")
        fake.get_ipython = lambda: shell
        monkeypatch.setitem(sys.modules, "IPython", fake)
        if with_ipykernel:
            monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
        else:
            monkeypatch.delitem(sys.modules, "ipykernel", raising=False)

    return install


@pytest.mark.parametrize("shell", [ZMQInteractiveShell(), ColabShell(), OtherKernelShell()])
def test_a_kernel_output_stream_gets_notebook_mode(running, shell):
    """In a kernel, the cell's own stdout/stderr get notebook output."""
    running(shell)
    assert _env.choose_mode(kernel_stream()) == "notebook"


def test_notebook_mode_wins_over_ci_and_a_dumb_terminal(running, monkeypatch):
    """A notebook executed in CI (nbclient, papermill) is still a notebook."""
    running(ZMQInteractiveShell())
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("TERM", "dumb")
    assert _env.choose_mode(kernel_stream()) == "notebook"


def test_a_real_file_in_a_notebook_stays_a_log(running):
    """file= pointing at a file the user opened gets log lines, even inside a kernel."""
    running(ZMQInteractiveShell())
    assert _env.choose_mode(io.StringIO()) == "log"


def test_terminal_ipython_stays_a_terminal(running):
    """IPython in a terminal is not a notebook, even with ipykernel imported."""
    running(TerminalInteractiveShell())
    assert _env.choose_mode(FakeTerminal()) == "tty"
    assert _env.choose_mode(kernel_stream()) == "log"


def test_no_shell_means_no_kernel(running):
    """IPython imported but not running (get_ipython() is None) is plain Python."""
    running(None)
    assert not _env.in_notebook_kernel()


def test_without_ipykernel_imported_there_is_no_kernel(running):
    """The cheap check comes first: no ipykernel module, no kernel."""
    running(ZMQInteractiveShell(), with_ipykernel=False)
    assert not _env.in_notebook_kernel()


def test_trainbar_mode_notebook_forces_it(monkeypatch):
    """TRAINBAR_MODE=notebook forces notebook output, as tty and log force theirs."""
    monkeypatch.setenv("TRAINBAR_MODE", "notebook")
    assert _env.choose_mode(io.StringIO()) == "notebook"
    assert _env.choose_mode(FakeTerminal(), disable=True) == "off"


def test_a_broken_shell_is_not_a_kernel(running):
    """A get_ipython() whose config cannot be read counts as no kernel, never as an error."""

    class Broken:
        @property
        def config(self):
            raise RuntimeError("half torn down")

    running(Broken())
    assert not _env.in_notebook_kernel()


def test_bars_in_plain_python_never_import_ipython():
    """Drawing bars outside a notebook imports neither IPython nor the notebook code."""
    code = (
        "import sys, trainbar\n"
        "for _ in trainbar.bar(range(3)): pass\n"
        "print(sorted(m for m in ('IPython', 'ipykernel', 'trainbar.runtime.notebook', 'trainbar.render.html') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_terminal_ipython_draws_a_terminal_bar_in_a_real_pty():
    """A real TerminalInteractiveShell in a pseudo-terminal gets the terminal bar, no HTML."""
    pytest.importorskip("IPython")
    pytest.importorskip("ipykernel")
    script = """
        import ipykernel  # imported, as many libraries do: it must not make this a notebook
        from IPython.terminal.interactiveshell import TerminalInteractiveShell
        shell = TerminalInteractiveShell.instance(colors="NoColor")
        shell.run_cell("import trainbar\\nfor _ in trainbar.bar(range(50), desc='ipy'): pass\\nprint('mode', trainbar.runtime.environment.choose_mode(__import__('sys').stderr))")
    """
    result = run_in_pty(script, timeout=60, env=child_environment())
    assert "mode tty" in result.text
    assert "ipy: 100%|" in result.text and "50/50" in result.text
    assert b"<div" not in result.output and b"text/html" not in result.output
