"""Bars trainbar does not own: each library's own tqdm, drawn through ``trainbar.patch_tqdm()``.

    python library_bars.py [LIBRARY ...]     (all of them by default)

The libraries are imported before the patch, as in a real script, so each has bound tqdm's names
already. Each bar's description names its library (``Epoch 0`` is Lightning's own). Under
torchrun every rank runs the same bars, and the process group is torn down at the end, as a
real job does. Run in a kernel with ``exec``, after setting ``sys.argv``.
"""

import os
import sys

# Every library's bar, each named for the test that reads it.
ALL = ["datasets", "hub", "transformers", "accelerate", "threads", "processes", "pandas", "lightning"]
wanted = [name for name in sys.argv[1:] if not name.startswith("-")] or ALL

import operator  # noqa: E402

import tqdm.contrib.concurrent  # noqa: E402

if "datasets" in wanted:
    import datasets
if "hub" in wanted:
    import huggingface_hub.utils
if "transformers" in wanted:
    import transformers.utils.logging
if "accelerate" in wanted:
    import accelerate.utils
if "pandas" in wanted:
    import pandas
    import tqdm as tqdm_package
if "lightning" in wanted:
    import lightning.pytorch as pl
    import torch

import trainbar  # noqa: E402

trainbar.patch_tqdm()


def run_datasets():
    table = datasets.Dataset.from_dict({"x": list(range(2000))})
    mapped = table.map(lambda row: {"y": row["x"] * 2}, desc="datasets map")
    assert mapped[1999]["y"] == 3998


def run_hub():
    for _ in huggingface_hub.utils.tqdm(range(300), desc="hub download"):
        pass


def run_transformers():
    for _ in transformers.utils.logging.tqdm(range(300), desc="transformers loop"):
        pass


def run_accelerate():
    # main_process_only=False: the rank rule is trainbar's to apply, not accelerate's.
    for _ in accelerate.utils.tqdm(range(300), desc="accelerate loop", main_process_only=False):
        pass


def run_threads():
    assert tqdm.contrib.concurrent.thread_map(operator.neg, range(200), desc="threads map") == [-i for i in range(200)]


def run_processes():
    # chunksize 1, tqdm's default: tqdm 4.70 counts chunks, not items.
    result = tqdm.contrib.concurrent.process_map(abs, range(-100, 100), desc="processes map", max_workers=2)
    assert result == [abs(i) for i in range(-100, 100)]


def run_pandas():
    tqdm_package.tqdm.pandas(desc="pandas apply")
    frame = pandas.DataFrame({"a": range(500)})
    assert frame["a"].progress_apply(lambda v: v + 1).sum() == sum(range(1, 501))


def run_lightning():
    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch, _):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x), y)
            self.log("loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    data = torch.utils.data.TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
    distributed = "WORLD_SIZE" in os.environ
    # Lightning 2.6 defaults to its Rich bar when rich is installed: that one is not tqdm.
    trainer = pl.Trainer(
        callbacks=[pl.callbacks.TQDMProgressBar()], max_epochs=1, accelerator="cpu", devices=int(os.environ.get("WORLD_SIZE", "1")),
        strategy="ddp" if distributed else "auto", logger=False, enable_checkpointing=False,
        enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0,
    )  # fmt: skip
    trainer.fit(Tiny(), torch.utils.data.DataLoader(data, batch_size=2 if distributed else 4))


for name in wanted:
    globals()[f"run_{name}"]()

if "torch.distributed" in sys.modules:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
