"""What a progress bar sends to a notebook: IOPub messages and bytes, trainbar beside its peers.

    python benchmarks/notebook_messages.py          # about half a minute, one real kernel

Each library draws the same two loops in the same kernel: a million steps lasting about 2.5 s,
and a nested training loop (3 epochs of 100 steps of 8 ms). The figures are the messages and
bytes the kernel published for the cell (every type but status), per second of the run, and the
number of outputs the saved notebook would keep. Ratios are to tqdm.auto, which without ipywidgets
falls back to its text bar (with ipywidgets installed it draws widgets instead, as in a browser).
Printed, never asserted: the counts depend on the machine's speed.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

MILLION = """
import time{imports}
start = time.perf_counter()
for i in {bar}(range(1_000_000){desc}):
    while time.perf_counter() < start + i * 2.5e-6:
        pass
"""

NESTED = """
import time{imports}
for epoch in {bar}(range(3){desc}):
    for step in {bar}(range(100), leave=False):
        time.sleep(0.008)
    print(f"epoch {{epoch}} done")
"""

LIBRARIES = {
    "trainbar": ("\nimport trainbar", "trainbar.bar", ", desc='run'"),
    "tqdm.auto": ("\nimport warnings; warnings.simplefilter('ignore')\nfrom tqdm.auto import tqdm", "tqdm", ", desc='run'"),
    "tqdm (std)": ("\nfrom tqdm import tqdm", "tqdm", ", desc='run'"),
}


def run(client, code: str) -> dict:
    msg_id = client.execute(code)
    started, count, size, outputs = time.monotonic(), 0, 0, set()
    while True:
        msg = client.get_iopub_msg(timeout=300)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "status":
            if msg["content"]["execution_state"] == "idle":
                break
            continue
        if kind == "execute_input":
            continue
        count += 1
        size += len(json.dumps(msg["content"]))
        if kind == "display_data":
            outputs.add(msg["content"].get("transient", {}).get("display_id") or count)
        elif kind == "stream":
            outputs.add(("stream", count))  # saved as its own output unless coalesced
        elif kind == "comm_open":
            outputs.add("widget")
    seconds = time.monotonic() - started
    return {"seconds": seconds, "messages": count, "bytes": size, "outputs": len(outputs)}


def main() -> None:
    from jupyter_client.manager import start_new_kernel

    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINBAR_")}
    env["IPYTHONDIR"] = tempfile.mkdtemp()
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        run(client, "import trainbar, tqdm")
        for name, template in (("1M steps", MILLION), ("nested training", NESTED)):
            print(f"\n{name}")
            print(f"  {'library':<12} {'msgs':>6} {'msgs/s':>7} {'kB/s':>7} {'outputs':>8} {'msgs vs tqdm.auto':>18}")
            results = {lib: run(client, template.format(imports=i, bar=b, desc=d)) for lib, (i, b, d) in LIBRARIES.items()}
            reference = results["tqdm.auto"]["messages"]
            for lib, r in results.items():
                print(
                    f"  {lib:<12} {r['messages']:>6} {r['messages'] / r['seconds']:>7.1f} "
                    f"{r['bytes'] / r['seconds'] / 1000:>7.1f} {r['outputs']:>8} {r['messages'] / reference:>17.2f}x"
                )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


if __name__ == "__main__":
    sys.exit(main())
