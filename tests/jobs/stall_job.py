"""A job for torchrun whose rank 1 hangs in its data loader once, while the others wait for it.

Every step ends in an all-reduce, as data-parallel training does, so the other ranks stall too:
inside the collective, with rank 1 stuck in next(). HANG_SECONDS: how long rank 1's read hangs.
"""

import os
import time

import torch
import torch.distributed as dist

import trainbar

dist.init_process_group("gloo")
rank = int(os.environ["RANK"])
hang = float(os.environ.get("HANG_SECONDS", "6"))


def batches():
    for step in range(12):
        if rank == 1 and step == 6:
            time.sleep(hang)  # the planted fault: a read that hangs on this rank only
        yield torch.ones(4)


dist.barrier()
for batch in trainbar.bar(batches(), total=12, desc="train"):
    dist.all_reduce(batch)
    time.sleep(0.1)
dist.barrier()
dist.destroy_process_group()
