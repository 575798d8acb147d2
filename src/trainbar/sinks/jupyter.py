"""Display handles in a Jupyter cell: an output shown once, then replaced in place.

Only the public ``IPython.display`` API, with raw MIME bundles (HTML plus a plain-text twin), so
the notebook file keeps the last state of every output. No ipywidgets, ever: a widget's saved
form is a stale "0%" and needs a matching front-end extension to draw at all.
"""

from __future__ import annotations


class NotebookDisplays:
    """Shows and updates outputs of the cell that is running."""

    def __init__(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import display, update_display
        except ImportError:
            raise ImportError(
                "notebook output needs IPython, which is not installed: python3 -m pip install ipython"
            ) from None
        shell = get_ipython()
        if shell is None:
            raise RuntimeError("notebook output needs a running IPython kernel, and there is none")
        self._shell = shell
        self._display = display
        self._update = update_display

    def show(self, bundle: dict) -> str:
        """Put a new output in the cell; returns its display id."""
        handle = self._display(bundle, raw=True, display_id=True)
        return handle.display_id

    def update(self, display_id: str, bundle: dict) -> None:
        """Replace the output ``display_id`` in place (an ``update_display_data`` message)."""
        self._update(bundle, display_id=display_id, raw=True)

    def after_each_cell(self, callback) -> None:
        """Run ``callback()`` at the end of every cell, while the cell's outputs still go to it."""
        events = getattr(self._shell, "events", None)
        if events is None:
            return
        if callback not in events.callbacks.get("post_execute", []):
            events.register("post_execute", callback)
