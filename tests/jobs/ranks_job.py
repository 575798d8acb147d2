"""A small job for torchrun: every rank counts steps with a trainbar bar and writes a message.

Environment: STEPS, STEP_SECONDS, SLOW_RANK (sleeps twice as long; stops when the others do),
DIE_RANK and DIE_AT (that rank exits abruptly at that step), INIT_PG (set up gloo and a barrier,
so every rank starts together), LATE_RANK and LATE_SECONDS (that rank starts late, so the others
open their bars first). Each bar shows its rank as the metric ``who``. It imports torch as a training script does: trainbar reaches the
job's store only through a torch.distributed that the program itself has imported.
"""

import os
import time

import torch.distributed as dist

import trainbar

rank = int(os.environ["RANK"])
steps = int(os.environ.get("STEPS", "60"))
step_seconds = float(os.environ.get("STEP_SECONDS", "0.05"))
slow = int(os.environ.get("SLOW_RANK", "-1"))
die = int(os.environ.get("DIE_RANK", "-1"))
die_at = int(os.environ.get("DIE_AT", "20"))

if rank == int(os.environ.get("LATE_RANK", "-1")):
    time.sleep(float(os.environ.get("LATE_SECONDS", "2")))

if os.environ.get("INIT_PG"):
    dist.init_process_group("gloo")
    dist.barrier()

trainbar.write(f"job started (rank {rank})")
deadline = time.monotonic() + steps * step_seconds
bar = trainbar.bar(range(steps), desc="train")
bar.log(who=rank)
for step in bar:
    time.sleep(step_seconds * (2 if rank == slow else 1))
    if rank == die and step == die_at:
        os._exit(3)
    if rank == slow and time.monotonic() > deadline:
        break
trainbar.write("job finished")
