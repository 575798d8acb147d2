"""Progress for a training loop: epochs, batches, a per-sample loop and a hand-counted bar.

A typical script builds three bars with three libraries: tqdm over epochs with ``tqdm.write`` every 100
batches, alive-progress ticking once per sample, and progressbar2 with ETA widgets. It also warns
that updating a bar on every step costs time, and so updates it every 100 batches.

trainbar does all three, and updating on every step is fine: a step costs an integer store, and
the drawing happens on a background thread a few times a second. The ETA is always shown.

    python docs/examples/training_loop.py
"""

import torch
from torch.utils.data import DataLoader, TensorDataset

import trainbar as tb

# 1. Epochs and batches, the loss on the bar, a message every 100 batches (tqdm in the typical script).
x, y = torch.randn(6_400, 20), torch.randn(6_400, 1)
train_loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
model = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

num_epochs = 2
for epoch in tb.bar(range(num_epochs), desc="epochs"):
    for i, (xb, yb) in enumerate(tb.bar(train_loader, desc=f"epoch {epoch + 1}", leave=False)):
        loss = torch.nn.functional.mse_loss(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        tb.log(loss=loss.detach())  # kept by reference; no .item(), no GPU sync on this line
        if (i + 1) % 100 == 0:
            tb.write(f"Epoch {epoch + 1}, Batch {i + 1}: Loss = {loss.item():.4f}")

# 2. One tick per sample over 100,000 samples (alive-progress in the typical script): iterating a range
#    through trainbar costs about what the bare loop costs.
num_samples = 100_000
total = 0.0
for i in tb.bar(range(num_samples), desc="samples", unit="sample"):
    total += i * 1e-6

# 3. Counted by hand, with the ETA (progressbar2's widgets in the typical script). `eta` is also readable.
with tb.bar(total=1000, desc="manual", unit="step") as bar:
    for step in range(1000):
        torch.sin(torch.randn(100))
        bar.update(1)
    tb.write(f"manual bar: {bar.n}/{bar.total} steps in {bar.elapsed:.2f}s")
