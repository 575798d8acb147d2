"""``from trainbar.notebook import tqdm, tnrange``: the twin of ``tqdm.notebook``.

The same bar as everywhere: in a notebook it draws HTML display updates, with no ipywidgets, and
its final state is saved with the notebook. The names exist so that an import needs no edit.
"""

from trainbar.compat.tqdm import tqdm, trange

tqdm_notebook = tqdm
tnrange = trange

__all__ = ["tnrange", "tqdm", "tqdm_notebook", "trange"]
