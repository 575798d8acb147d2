"""Who are we: rank, world size, local rank, node and launcher, read from the launcher's environment.

The whole set comes from one launcher family, the first one found, in this order: torchrun (and
anything that sets ``RANK``/``WORLD_SIZE``), Open MPI, MPICH/Intel MPI (``PMI_*``), MVAPICH2, a
Slurm ``srun`` step, LSF ``jsrun``, Horovod. ``RANK`` comes before ``SLURM_PROCID`` because torchrun
inside an ``sbatch`` job leaves ``SLURM_PROCID=0`` on every child; MPI comes before Slurm for the
same reason under ``mpirun`` in an allocation.

torch.distributed wins for the rank and world size when it is already imported and initialised:
asking it is a local call, never a collective. torch is never imported here.
"""

from __future__ import annotations

import os
import sys
from operator import itemgetter


class RankInfo(tuple):
    """Where this process sits in a job: ``(rank, world_size, local_rank, local_world_size, node, launcher)``.

    ``rank`` and ``world_size`` are always set (0 and 1 for a single process). ``local_rank``,
    ``local_world_size`` and ``node`` (the node's index) are None when the launcher does not say.
    ``launcher`` names the environment they were read from (``torchrun``, ``env``, ``openmpi``,
    ``mpich``, ``mvapich2``, ``slurm``, ``lsf``, ``horovod``, ``torch.distributed``), or None.
    """

    # A tuple written out rather than a namedtuple: building one costs more at `import trainbar`
    # than the rest of this module.
    __slots__ = ()
    _fields = ("rank", "world_size", "local_rank", "local_world_size", "node", "launcher")

    def __new__(cls, rank, world_size, local_rank, local_world_size, node, launcher):
        return tuple.__new__(cls, (rank, world_size, local_rank, local_world_size, node, launcher))

    rank = property(itemgetter(0))
    world_size = property(itemgetter(1))
    local_rank = property(itemgetter(2))
    local_world_size = property(itemgetter(3))
    node = property(itemgetter(4))
    launcher = property(itemgetter(5))

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def _replace(self, **changes) -> RankInfo:
        return RankInfo(*(changes.pop(name, value) for name, value in zip(self._fields, self)))

    def _asdict(self) -> dict:
        return dict(zip(self._fields, self))

    def __getnewargs__(self) -> tuple:
        return tuple(self)

    def __repr__(self) -> str:
        return "RankInfo(" + ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self)) + ")"


SINGLE = RankInfo(0, 1, 0, 1, 0, None)

# (launcher, rank, world size, local rank, local world size, node index)
_FAMILIES = (
    ("env", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", ("GROUP_RANK", "NODE_RANK", "CROSS_RANK")),
    ("openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
     "OMPI_COMM_WORLD_LOCAL_SIZE", ("OMPI_COMM_WORLD_NODE_RANK",)),
    ("mpich", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", ()),
    ("mvapich2", "MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_LOCAL_RANK",
     "MV2_COMM_WORLD_LOCAL_SIZE", ()),
    ("slurm", "SLURM_PROCID", None, "SLURM_LOCALID", None, ("SLURM_NODEID",)),
    ("lsf", "JSM_NAMESPACE_RANK", "JSM_NAMESPACE_SIZE", "JSM_NAMESPACE_LOCAL_RANK", "JSM_NAMESPACE_LOCAL_SIZE", ()),
    ("horovod", "HOROVOD_RANK", "HOROVOD_SIZE", "HOROVOD_LOCAL_RANK", "HOROVOD_LOCAL_SIZE", ("HOROVOD_CROSS_RANK",)),
)  # fmt: skip


# Every variable read here, so tests can start from an environment with none of them.
_LAUNCHER_NAMES = tuple(name for family in _FAMILIES for name in (*family[1:5], *family[5]) if name is not None)
_JOB_NAMES = (
    "TORCHELASTIC_RUN_ID", "TORCHELASTIC_RESTART_COUNT", "SLURM_STEP_ID", "SLURM_STEPID", "SLURM_JOB_NAME",
    "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE", "SLURM_JOB_ID",
    "PMIX_NAMESPACE", "OMPI_MCA_orte_hnp_uri", "LSB_JOBID", "MASTER_ADDR", "MASTER_PORT",
    "TORCHELASTIC_USE_AGENT_STORE",
)  # fmt: skip
VARIABLES = (*_LAUNCHER_NAMES, *_JOB_NAMES)


def _int(environ, name: str | None, minimum: int = 0) -> int | None:
    if name is None:
        return None
    try:
        value = int(environ.get(name, "").strip())
    except ValueError:
        return None
    return value if value >= minimum else None


def _slurm_tasks_per_node(spec: str, node: int | None) -> int | None:
    """``SLURM_TASKS_PER_NODE`` (``4(x2),3``): the number of tasks on node ``node``."""
    if node is None:
        return None
    counts: list = []
    try:
        for part in spec.split(","):
            count, _, repeat = part.partition("(x")
            counts += [int(count)] * (int(repeat.rstrip(")")) if repeat else 1)
    except ValueError:
        return None
    return counts[node] if 0 <= node < len(counts) else None


def _slurm_step(environ) -> bool:
    # Only an srun step: a batch script also has SLURM_PROCID=0, and an interactive `srun --pty
    # bash` session leaks its variables into whatever runs in it (Lightning skips those too).
    if "SLURM_STEP_ID" not in environ and "SLURM_STEPID" not in environ:
        return False
    return environ.get("SLURM_JOB_NAME", "") not in ("bash", "interactive")


def _read(environ) -> tuple:
    """(RankInfo, whether the launcher named the node itself rather than it being derived)."""
    for launcher, rank_name, world_name, local_name, local_world_name, node_names in _FAMILIES:
        if launcher == "slurm":
            if not _slurm_step(environ):
                continue
            world = _int(environ, "SLURM_STEP_NUM_TASKS", 1) or _int(environ, "SLURM_NTASKS", 1)
        else:
            world = _int(environ, world_name, 1)
        rank = _int(environ, rank_name)
        if rank is None or world is None or rank >= world:
            continue
        node = next((v for v in (_int(environ, name) for name in node_names) if v is not None), None)
        local_rank = _int(environ, local_name)
        if launcher == "slurm":
            spec = environ.get("SLURM_STEP_TASKS_PER_NODE") or environ.get("SLURM_TASKS_PER_NODE", "")
            local_world = _slurm_tasks_per_node(spec, node)
        else:
            local_world = _int(environ, local_world_name, 1)
        if local_rank is not None and local_world is not None and local_rank >= local_world:
            local_rank = local_world = None  # inconsistent: better unknown than wrong
        named = node is not None
        if node is None and local_world is not None and world % local_world == 0:
            node = rank // local_world  # launchers place ranks node by node unless told otherwise
        if launcher == "env" and "TORCHELASTIC_RUN_ID" in environ:
            launcher = "torchrun"
        return RankInfo(rank, world, local_rank, local_world, node, launcher), named
    return SINGLE, False


def _from_torch(found: RankInfo) -> RankInfo | None:
    """Rank and world size from an initialised default process group, or None."""
    dist = sys.modules.get("torch.distributed")
    if dist is None:
        return None
    try:
        if not (dist.is_available() and dist.is_initialized()):
            return None
        rank, world = int(dist.get_rank()), int(dist.get_world_size())
    except Exception:  # noqa: BLE001 - a broken process group is no reason to fail a bar
        return None
    if found.launcher is not None and (found.rank, found.world_size) == (rank, world):
        return found
    # The launcher's variables describe some other job (leaked from an outer allocation):
    # none of them can be trusted alongside these numbers.
    return RankInfo(rank, world, None, None, None, "torch.distributed")


_environment: RankInfo | None = None
_named_node = False
_settled: RankInfo | None = None


def rank_info() -> RankInfo:
    """Rank, world size, local rank, local world size, node and launcher of this process.

    Read once from the launcher's environment. Until torch.distributed is initialised it is
    asked again on each call (a dictionary lookup when torch is not imported), so a process
    group set up after the first bar still counts.
    """
    global _environment, _named_node, _settled
    if _settled is not None:
        return _settled
    if _environment is None:
        _environment, _named_node = _read(os.environ)
    from_torch = _from_torch(_environment)
    if from_torch is not None:
        _settled = from_torch
        return from_torch
    return _environment


def forget() -> None:
    """Read the environment again on the next call (tests change it)."""
    global _environment, _settled
    _environment = _settled = None


def job_id(environ=None) -> str:
    """A name shared by every process of this job (and attempt), for keys and lock files."""
    environ = os.environ if environ is None else environ
    if environ.get("TORCHELASTIC_RUN_ID"):
        # Without --rdzv-id every torchrun job has the run id "none": the master's address and
        # port (each job has its own) keep two jobs of one host apart.
        master = f"@{environ.get('MASTER_ADDR', '')}:{environ['MASTER_PORT']}" if environ.get("MASTER_PORT") else ""
        return f"{environ['TORCHELASTIC_RUN_ID']}.{environ.get('TORCHELASTIC_RESTART_COUNT', '0')}{master}"
    if environ.get("SLURM_JOB_ID"):
        return f"slurm{environ['SLURM_JOB_ID']}.{environ.get('SLURM_STEP_ID', environ.get('SLURM_STEPID', ''))}"
    for name in ("PMIX_NAMESPACE", "OMPI_MCA_orte_hnp_uri", "LSB_JOBID"):
        if environ.get(name):
            return environ[name]
    if environ.get("MASTER_ADDR") and environ.get("MASTER_PORT"):
        return f"{environ['MASTER_ADDR']}:{environ['MASTER_PORT']}"
    return f"ppid{os.getppid()}"


def hostname() -> str:
    import socket  # here, not at the top: `import trainbar` stays light

    try:
        return socket.gethostname() or "localhost"
    except Exception:  # noqa: BLE001 - a name is all we want; any failure means we have none
        return "localhost"


def node_key(info: RankInfo | None = None) -> str:
    """What tells this node apart from the others: the host, and the launcher's node index.

    The index matters when several simulated nodes share one machine; the host matters when the
    launcher gives no index (MPI, or torch.distributed alone).
    """
    info = rank_info() if info is None else info
    host = hostname()
    # A derived index (rank // local world size) is a guess about placement: the host alone is
    # safer then, since a wrong guess would split one machine into several "nodes".
    if info.node is None or not _named_node or info is not _environment:
        return host
    return f"{host}#{info.node}"
