"""``TRAINBAR_TQDM=1``: every tqdm bar drawn by trainbar from interpreter start, with no code change.

trainbar installs ``trainbar-tqdm.pth`` beside itself (see setup.py). Python runs that file's one
line at start-up, and the line imports this module only when ``TRAINBAR_TQDM`` is set. It is a
module of its own, outside the ``trainbar`` package, so that start-up costs a few standard
imports: trainbar itself is loaded only when tqdm is, and a program (a DataLoader worker) that
never imports tqdm never loads either.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import warnings
from typing import Any


def _patch() -> None:
    try:
        from trainbar.compat.patch import patch_tqdm

        patch_tqdm()
    except Exception as error:  # noqa: BLE001 - a start-up hook must never stop the program
        warnings.warn(f"trainbar: TRAINBAR_TQDM is set but tqdm could not be patched: {error!r}", stacklevel=2)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: it wraps the loading of ``tqdm.std`` so the patch follows it."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "tqdm.std":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        loader, load = spec.loader, spec.loader.exec_module

        def exec_module(module: Any) -> None:
            load(module)
            _patch()

        loader.exec_module = exec_module  # type: ignore[method-assign]  # this spec's loader only
        return spec


def install() -> None:
    """Patch tqdm now if it is loaded, or as soon as it is."""
    if "tqdm.std" in sys.modules:
        _patch()
    elif not any(isinstance(finder, _PatchOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())
