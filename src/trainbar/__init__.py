"""trainbar: progress bars for machine-learning training.

    import trainbar as tb

    for epoch in tb.bar(range(epochs), desc="epoch"):
        for batch in tb.bar(loader, desc="train", leave=False):
            loss = step(batch)
            tb.log(loss=loss)
    tb.write("done")

``from trainbar import tqdm, trange`` is a drop-in for tqdm. Nothing optional is imported here:
integrations live in their own modules and load their framework only when used.
"""

from trainbar.compat.patch import patch_tqdm, unpatch_tqdm
from trainbar.compat.tqdm import tqdm, trange
from trainbar.core.bar import Bar, bar
from trainbar.distributed.info import rank_info
from trainbar.runtime.configure import configure
from trainbar.runtime.output import flush, log, print, waiting, write

__version__ = "0.1.0"

__all__ = [
    "Bar",
    "__version__",
    "bar",
    "configure",
    "flush",
    "log",
    "patch_tqdm",
    "print",
    "rank_info",
    "tqdm",
    "trange",
    "unpatch_tqdm",
    "waiting",
    "write",
]
