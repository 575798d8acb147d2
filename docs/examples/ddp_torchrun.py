"""One set of bars for a distributed job, not one per process.

A common workaround (expmate's ``mp_tqdm``) shows bars only on ``local_rank == 0`` of each node. Here the
bars are shown by global rank 0 only, so a job on several nodes still shows one set; every other
rank trains silently. Run it with two processes on the CPU:

    torchrun --standalone --nproc_per_node=2 docs/examples/ddp_torchrun.py
"""

import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

import trainbar as tb


def main() -> None:
    dist.init_process_group("gloo")  # "nccl" on GPUs
    rank = dist.get_rank()
    hide = True if rank != 0 else None  # None: rank 0 lets trainbar pick the output for its stream

    dataset = TensorDataset(torch.randn(2048, 16), torch.randn(2048, 1))
    sampler = DistributedSampler(dataset, shuffle=True)
    loader = DataLoader(dataset, batch_size=32, sampler=sampler)
    model = DistributedDataParallel(torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    criterion = torch.nn.MSELoss()

    num_epochs = int(os.environ.get("EPOCHS", "3"))
    for epoch in tb.bar(range(num_epochs), desc="epochs", disable=hide):
        sampler.set_epoch(epoch)
        total_loss = torch.zeros(())
        for data, target in tb.bar(loader, desc="train", leave=False, disable=hide):
            optimizer.zero_grad()
            loss = criterion(model(data), target)
            loss.backward()
            optimizer.step()
            total_loss += loss.detach()
            tb.log(loss=loss.detach())
        if rank == 0:
            tb.write(f"Epoch {epoch}: loss={(total_loss / len(loader)).item():.4f}")

    dist.destroy_process_group()


if __name__ == "__main__":
    main()
