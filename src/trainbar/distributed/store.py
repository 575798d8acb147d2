"""Reaching a torch.distributed store, and where our keys live in it.

Which store, in order:

1. The initialised default process group's: its TCPStore's host and port, through a client of
   our own. A slow request of ours then never holds the process group's client lock, and our
   keys sit under a prefix of our own, away from ``default_pg/``.
2. Before a process group exists, under torchrun (``TORCHELASTIC_USE_AGENT_STORE=True``): the
   agent's TCPStore at ``MASTER_ADDR:MASTER_PORT``, again through a client of our own. It lives
   in the torchrun agent, so it outlives any worker, rank 0 included.
3. Nothing else: a FileStore or HashStore is not ours to share, and a launcher without a store
   (MPI, a bare ``srun``) gets local bars only.

torch is never imported here: a store is looked for only when the user's program has already
imported ``torch.distributed``.
"""

from __future__ import annotations

import os
import sys

TIMEOUT = 5.0  # seconds, for connecting and for every request
PREFIX = "trainbar"
PLACEHOLDER = b"-"  # seeds a key no rank has written yet, so a read never waits for it


def rank_key(rank: int) -> str:
    return f"r{rank}"


def report_key(rank: int) -> str:
    return f"s{rank}"  # that rank's latest stall reports, numbered, for the drawing rank to print


def members_key(node: str) -> str:
    return f"m/{node}"


def connect(job: str):
    """Our own client of the job's store, under our prefix; None while there is none to reach.

    Raises when a store should be there but cannot be reached: the caller turns gathering off.
    """
    dist = sys.modules.get("torch.distributed")
    if dist is None or not getattr(dist, "is_available", lambda: False)():
        return None
    address = None
    if dist.is_initialized():
        raw = _underlying(dist.distributed_c10d._get_default_store())
        if not isinstance(raw, dist.TCPStore):
            return None
        address = (raw.host, raw.port)
    elif os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True":
        host, port = os.environ.get("MASTER_ADDR"), os.environ.get("MASTER_PORT")
        if host and port:
            address = (host, int(port))
    if address is None:
        return None
    from datetime import timedelta

    client = dist.TCPStore(
        address[0], address[1], is_master=False, wait_for_workers=False, timeout=timedelta(seconds=TIMEOUT)
    )
    return dist.PrefixStore(f"{PREFIX}/{job}", client)  # PrefixStore puts the "/" in


def _underlying(store):
    """The store under any PrefixStore wrappers (``default_pg/0/`` and the group name)."""
    for _ in range(16):
        inner = getattr(store, "_underlying_non_prefix_store", None) or getattr(store, "underlying_store", None)
        if inner is None or inner is store:
            return store
        store = inner
    return store
