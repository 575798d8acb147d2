"""Nested bars that stay put in a notebook, a terminal or a log file.

The problem: in VS Code's Jupyter, a tqdm bar over epochs with an inner loop of tensor work jumps,
disappears, or only shows after ``sys.stdout.flush()`` calls sprinkled through the loop.

With trainbar the loop needs no flushing and no special notebook import: the bars are drawn by a
background thread at a steady pace, whatever the inner loop does, and the same code runs in a
terminal, in a notebook cell, or with its output redirected to a file.

    python docs/examples/notebook_nested_loops.py
"""

import torch

import trainbar as tb

data = torch.randn(1000, 10)
model = torch.nn.Linear(10, 1)

for epoch in tb.bar(range(5), desc="epoch"):
    for i in tb.bar(range(100), desc="batch", leave=False):
        out = model(torch.sin(data))  # a stand-in for real work
        tb.log(mean=out.mean().detach())  # a tensor: read when a frame is drawn, never on every step
    tb.write(f"epoch {epoch} finished")
