"""Builds the optional compiled hot path; all other metadata is in pyproject.toml.

The extension is optional: without a C compiler (or on an interpreter other than CPython) the
install still succeeds and trainbar runs its pure-Python twin of the same code.
"""

import platform

from setuptools import Extension, setup

extensions = []
if platform.python_implementation() == "CPython":
    extensions.append(Extension("trainbar.core._speedups", ["src/trainbar/core/_speedups.c"], optional=True))

setup(ext_modules=extensions)
