"""Training throughput with a progress bar showing the loss: what a per-step ``.item()`` costs.

    python benchmarks/metrics_sync.py            # CUDA when available, else CPU
    python benchmarks/metrics_sync.py --quick    # a smoke run: figures not meaningful

The same training loop, run four ways, repetitions interleaved so drift hits all alike:

* ``no bar``: the loop alone;
* ``tqdm + .item()``: ``pbar.set_postfix(loss=loss.item())`` every step, the common idiom;
* ``trainbar + tensors``: ``bar.update(1, loss=loss, acc=acc)``: tensors, read when drawn;
* ``trainbar + .item()`` (for reference): trainbar, but given ``loss.item()`` every step, which
  separates the cost of the synchronisation from the cost of tqdm's drawing.

Two models: a small MLP at batch 64 (launch-bound: the CPU queues kernels barely ahead of the
GPU, so every sync leaves the GPU idle) and a wide MLP at a large batch (GEMM-bound). Bars draw
to a pseudo-terminal, drained by a thread, as a real terminal would be. On CUDA, the number of
host-device synchronisations per step is counted too (``torch.cuda.set_sync_debug_mode``).
On a CPU there is nothing to synchronise with: the figures then show only what each bar adds.
The figure is the median steps per second; ratios are to ``no bar``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))
sys.path.insert(0, HERE)

import torch  # noqa: E402
from overhead import pseudo_terminal  # noqa: E402

import trainbar  # noqa: E402


def model_and_data(kind: str, device: str):
    if kind == "launch-bound":
        width, depth, batch = 256, 4, 64
    elif device == "cuda":
        width, depth, batch = 4096, 4, 4096
    else:
        width, depth, batch = 1024, 3, 512  # the GEMM-bound shape, cut down for a CPU
    layers = []
    for _ in range(depth):
        layers += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1], torch.nn.Linear(width, 10)).to(device)
    optimiser = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.randn(batch, width, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    return model, optimiser, x, y


def make_step(model, optimiser, x, y):
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimiser.zero_grad(set_to_none=True)
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
        optimiser.step()
        return loss, (out.argmax(1) == y).float().mean()

    return step


def run_variant(variant: str, step, steps: int, stream) -> None:
    if variant == "no bar":
        for _ in range(steps):
            step()
    elif variant == "tqdm + .item()":
        from tqdm import tqdm

        with tqdm(total=steps, file=stream) as pbar:
            for _ in range(steps):
                loss, acc = step()
                pbar.set_postfix(loss=loss.item(), acc=acc.item())
                pbar.update(1)
    elif variant == "trainbar + tensors":
        with trainbar.bar(total=steps, desc="train", file=stream) as bar:
            for _ in range(steps):
                loss, acc = step()
                bar.update(1, loss=loss, acc=acc)
    elif variant == "trainbar + .item()":
        with trainbar.bar(total=steps, desc="train", file=stream) as bar:
            for _ in range(steps):
                loss, acc = step()
                bar.update(1, loss=loss.item(), acc=acc.item())
    else:
        raise ValueError(variant)


VARIANTS = ("no bar", "tqdm + .item()", "trainbar + tensors", "trainbar + .item()")


def synchronise(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def syncs_per_step(variant: str, step, steps: int, stream) -> float:
    """Host-device synchronisations per step, counted by CUDA's sync debug mode."""
    synchronise("cuda")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            run_variant(variant, step, steps, stream)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few steps, one repetition")
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions (default 5)")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(1)  # intra-op threads fighting over a shared machine drown the signal
    reps = 1 if args.quick else args.reps
    name = torch.cuda.get_device_name() if device == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"device: {name}; torch {torch.__version__}; median of {reps} interleaved repetitions\n")
    with pseudo_terminal() as stream:
        for kind in ("launch-bound", "GEMM-bound"):
            model, optimiser, x, y = model_and_data(kind, device)
            step = make_step(model, optimiser, x, y)
            budget = {("cuda", "launch-bound"): 3000, ("cuda", "GEMM-bound"): 300,
                      ("cpu", "launch-bound"): 500, ("cpu", "GEMM-bound"): 20}[(device, kind)]  # fmt: skip
            steps = max(budget // 20, 5) if args.quick else budget
            for _ in range(max(steps // 10, 3)):  # warm-up: allocator, kernels, caches
                step()
            synchronise(device)
            rates: dict = {v: [] for v in VARIANTS}
            for _ in range(reps):
                for variant in VARIANTS:
                    synchronise(device)
                    start = time.perf_counter()
                    run_variant(variant, step, steps, stream)
                    synchronise(device)
                    rates[variant].append(steps / (time.perf_counter() - start))
            baseline = statistics.median(rates["no bar"])
            print(f"{kind} ({steps} steps per run)")
            header = f"  {'variant':22} {'steps/s':>10} {'vs no bar':>10}"
            print(header + (f" {'syncs/step':>11}" if device == "cuda" else ""))
            for variant in VARIANTS:
                rate = statistics.median(rates[variant])
                line = f"  {variant:22} {rate:10.1f} {rate / baseline:10.3f}"
                if device == "cuda":
                    line += f" {syncs_per_step(variant, step, min(steps, 200), stream):11.2f}"
                print(line)
            print()


if __name__ == "__main__":
    main()
