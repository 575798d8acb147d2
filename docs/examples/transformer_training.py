"""Training a small transformer with a bar that tells you it is alive.

A common question asks why a transformer's bar sits at 0%, and suggests checking that the data loader
yields a batch (``next(iter(loader))``) before training. Both steps are here, with trainbar:
while the first batch is awaited the bar's elapsed time keeps running, so a stalled loader shows
as a bar at 0/N whose clock still moves, not as a frozen line.

(The question's model passes its hidden size as ``nhead``, which PyTorch rejects; fixed here.)

    python docs/examples/transformer_training.py
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import trainbar as tb


class SimpleTransformer(nn.Module):
    def __init__(self, vocab_size: int, d_model: int, heads: int, layers: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.transformer = nn.Transformer(d_model, heads, layers, layers, dim_feedforward=64, batch_first=True)
        self.fc = nn.Linear(d_model, vocab_size)

    def forward(self, x):
        embedded = self.embedding(x)
        return self.fc(self.transformer(embedded, embedded).mean(dim=1))


vocab_size = 100
data = torch.randint(0, vocab_size, (128, 20))
labels = torch.randint(0, vocab_size, (128,))
loader = DataLoader(TensorDataset(data, labels), batch_size=32)

first = next(iter(loader))  # the question's check: does the loader yield anything at all?
tb.write(f"data loads: first batch {tuple(first[0].shape)}")

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
model = SimpleTransformer(vocab_size, d_model=32, heads=4, layers=2).to(device)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

for epoch in tb.bar(range(3), desc="epochs"):
    for batch, target in tb.bar(loader, desc=f"epoch {epoch + 1}", leave=False):
        batch, target = batch.to(device), target.to(device)
        optimizer.zero_grad()
        loss = criterion(model(batch), target)
        loss.backward()
        optimizer.step()
        tb.log(loss=loss.detach())  # on a GPU: no sync here, the value is read when drawn
tb.write("Training finished.")
