"""``from trainbar.auto import tqdm, trange``: the twin of ``tqdm.auto``.

trainbar picks terminal, notebook or log-file output by itself, so the "auto" bar is the one bar.
"""

from trainbar.compat.tqdm import tqdm, trange

__all__ = ["tqdm", "trange"]
