"""A synchronous job for torchrun (gloo, CPU), as data-parallel training runs: every step ends in
an all-reduce, so a slow or stuck rank holds the others back.

Environment: STEPS, STEP_SECONDS; SLOW_RANK and SLOW_SECONDS (that rank's steps take that much
longer); FAULT_RANK, FAULT_AT (a step) and FAULT: ``hang`` (its loader blocks for HANG_SECONDS),
``stop`` (it SIGSTOPs itself) or ``kill`` (it SIGKILLs itself); any other value only marks the
moment. The faulty rank writes ``fault <kind>`` to its standard error, straight to the file,
just before the fault, or the time of the fault to FAULT_FILE when that is set.
"""

import os
import signal
import time

import torch
import torch.distributed as dist

import trainbar

dist.init_process_group("gloo")
rank = dist.get_rank()
steps = int(os.environ.get("STEPS", "40"))
step_seconds = float(os.environ.get("STEP_SECONDS", "0.05"))
slow = int(os.environ.get("SLOW_RANK", "-1"))
slow_seconds = float(os.environ.get("SLOW_SECONDS", "0.3"))
fault_rank = int(os.environ.get("FAULT_RANK", "-1"))
fault_at = int(os.environ.get("FAULT_AT", "10"))
fault = os.environ.get("FAULT", "")


def loader():
    for step in range(steps):
        if rank == fault_rank and step == fault_at:
            if os.environ.get("FAULT_FILE"):  # a terminal test keeps its screen to the bars
                with open(os.environ["FAULT_FILE"], "w") as mark:
                    mark.write(f"{time.time()}\n")
            else:
                os.write(2, f"fault {fault}\n".encode())
            if fault == "hang":
                time.sleep(float(os.environ.get("HANG_SECONDS", "30")))
            elif fault == "stop":
                os.kill(os.getpid(), signal.SIGSTOP)
            elif fault == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
        yield torch.ones(4)


total = torch.zeros(4)
for batch in trainbar.bar(loader(), total=steps, desc="train"):
    time.sleep(step_seconds + (slow_seconds if rank == slow else 0.0))  # the step's own work
    with trainbar.waiting():
        dist.all_reduce(batch)  # where the others wait for the slowest
    total += batch

dist.barrier()
dist.destroy_process_group()
