"""PyTorch Lightning with trainbar as its progress bar.

Bars for the sanity check, each epoch (with the metrics logged with ``prog_bar=True`` and the
validation loss on the epoch's final line), validation, test and predict. Lightning reads the
metrics on a timer instead of on every batch. With ``DDP=1`` it runs on two CPU processes and
still shows one set of bars.

    python docs/examples/lightning_fit.py
    DDP=1 python docs/examples/lightning_fit.py
"""

import os

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from trainbar.lightning import TrainbarProgressBar


class Regression(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y), prog_bar=True, sync_dist=True)

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test_loss", torch.nn.functional.mse_loss(self.net(x), y), prog_bar=True, sync_dist=True)

    def predict_step(self, batch, batch_idx):
        return self.net(batch[0])

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-2)


def loader(samples: int, seed: int) -> DataLoader:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, 8, generator=generator)
    return DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=32)


if __name__ == "__main__":  # DDP starts this script again for its second process
    distributed = {"strategy": "ddp", "devices": 2} if os.environ.get("DDP") else {}
    trainer = L.Trainer(
        max_epochs=5,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        callbacks=[TrainbarProgressBar()],
        **distributed,
    )
    model = Regression()
    trainer.fit(model, loader(1024, 0), loader(256, 1))
    trainer.test(model, loader(256, 2))
    trainer.predict(model, loader(128, 3))
