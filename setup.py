"""Builds the optional compiled hot path and the TRAINBAR_TQDM start-up hook; all other metadata
is in pyproject.toml.

The extension is optional: without a C compiler (or on an interpreter other than CPython) the
install still succeeds and trainbar runs its pure-Python twin of the same code.
"""

import atexit
import os
import platform
import shutil
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

# Python runs a .pth file's import line at start-up: this one costs a dictionary lookup unless
# TRAINBAR_TQDM is set, as any yes/no variable of trainbar's is (src/_trainbar_tqdm.py says what follows).
PTH_NAME = "trainbar-tqdm.pth"
PTH_LINE = (
    "import os; os.environ.get('TRAINBAR_TQDM', '').strip().lower() not in ('', '0', 'false', 'no', 'off') "
    "and __import__('_trainbar_tqdm').install()\n"
)


def write_startup_hook(directory):
    with open(os.path.join(directory, PTH_NAME), "w") as handle:
        handle.write(PTH_LINE)


class BuildWithStartupHook(build_py):
    """build_py, plus the .pth file at the top of what is installed (beside the package)."""

    def run(self):
        super().run()
        write_startup_hook(self.build_lib)

    def get_outputs(self, include_bytecode=1):
        return [*super().get_outputs(include_bytecode), os.path.join(self.build_lib, PTH_NAME)]


class EditableWithStartupHook(editable_wheel):
    """An editable install links the sources and drops build_py's extra files: the hook is put
    in the editable wheel's root, where setuptools puts its own .pth files (setuptools 64-84)."""

    def _install_namespaces(self, installation_dir, pth_prefix):
        super()._install_namespaces(installation_dir, pth_prefix)
        write_startup_hook(installation_dir)


extensions = []
if platform.python_implementation() == "CPython":
    extensions.append(Extension("trainbar.core._speedups", ["src/trainbar/core/_speedups.c"], optional=True))

# Build in a fresh directory that goes when the build does: a build/ left in the checkout would
# hand its stale compiled counter to the next install, even one made without a compiler.
build_base = tempfile.mkdtemp(prefix="trainbar-build-")
atexit.register(shutil.rmtree, build_base, True)

setup(
    ext_modules=extensions,
    cmdclass={"build_py": BuildWithStartupHook, "editable_wheel": EditableWithStartupHook},
    options={"build": {"build_base": build_base}},
)
