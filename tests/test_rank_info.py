"""rank_info(): the whole rank set from one launcher family, torch.distributed when initialised."""

import subprocess
import sys
import types

import pytest

import trainbar
from trainbar.distributed import info as _rank


def read(monkeypatch, **environ):
    for name, value in environ.items():
        monkeypatch.setenv(name, str(value))
    _rank.forget()
    return trainbar.rank_info()


def test_single_process_is_rank_zero_of_one(monkeypatch):
    """With no launcher, a process is rank 0 of a world of 1 on node 0."""
    assert read(monkeypatch) == (0, 1, 0, 1, 0, None)


def test_torchrun(monkeypatch):
    """torchrun's variables, with GROUP_RANK as the node and the launcher named."""
    info = read(monkeypatch, RANK=5, WORLD_SIZE=8, LOCAL_RANK=1, LOCAL_WORLD_SIZE=4, GROUP_RANK=1,
                TORCHELASTIC_RUN_ID="abc")  # fmt: skip
    assert info == (5, 8, 1, 4, 1, "torchrun")


def test_plain_env_launcher_derives_the_node(monkeypatch):
    """RANK/WORLD_SIZE without torchrun (Lightning, DeepSpeed): node from rank // local world."""
    info = read(monkeypatch, RANK=6, WORLD_SIZE=8, LOCAL_RANK=2, LOCAL_WORLD_SIZE=4)
    assert (info.node, info.launcher) == (1, "env")


def test_open_mpi(monkeypatch):
    """mpirun (Open MPI) sets OMPI_COMM_WORLD_*."""
    info = read(monkeypatch, OMPI_COMM_WORLD_RANK=3, OMPI_COMM_WORLD_SIZE=4, OMPI_COMM_WORLD_LOCAL_RANK=1,
                OMPI_COMM_WORLD_LOCAL_SIZE=2)  # fmt: skip
    assert info == (3, 4, 1, 2, 1, "openmpi")


def test_mpich_and_intel_mpi(monkeypatch):
    """MPICH Hydra and Intel MPI set PMI_RANK/PMI_SIZE and MPI_LOCALRANKID/MPI_LOCALNRANKS."""
    info = read(monkeypatch, PMI_RANK=2, PMI_SIZE=4, MPI_LOCALRANKID=0, MPI_LOCALNRANKS=2)
    assert info == (2, 4, 0, 2, 1, "mpich")


def test_mvapich2(monkeypatch):
    """MVAPICH2 sets MV2_COMM_WORLD_*."""
    info = read(monkeypatch, MV2_COMM_WORLD_RANK=1, MV2_COMM_WORLD_SIZE=2, MV2_COMM_WORLD_LOCAL_RANK=1,
                MV2_COMM_WORLD_LOCAL_SIZE=2)  # fmt: skip
    assert info == (1, 2, 1, 2, 0, "mvapich2")


def test_slurm_step_reads_tasks_per_node(monkeypatch):
    """In an srun step the local world size comes from SLURM_TASKS_PER_NODE (``4(x2),3``)."""
    info = read(monkeypatch, SLURM_STEP_ID=0, SLURM_PROCID=9, SLURM_NTASKS=11, SLURM_LOCALID=1, SLURM_NODEID=2,
                SLURM_TASKS_PER_NODE="4(x2),3")  # fmt: skip
    assert info == (9, 11, 1, 3, 2, "slurm")


def test_slurm_batch_script_is_not_a_rank(monkeypatch):
    """A batch script (no srun step) has SLURM_PROCID=0 too, but it is one process."""
    assert read(monkeypatch, SLURM_PROCID=0, SLURM_NTASKS=4, SLURM_LOCALID=0).launcher is None


def test_interactive_slurm_session_is_ignored(monkeypatch):
    """Variables leaking from `srun --pty bash` do not make a distributed job (as Lightning)."""
    info = read(monkeypatch, SLURM_STEP_ID=0, SLURM_PROCID=0, SLURM_NTASKS=2, SLURM_JOB_NAME="bash")
    assert info.world_size == 1


def test_rank_beats_slurm_procid(monkeypatch):
    """torchrun inside sbatch leaves SLURM_PROCID=0 on every child: RANK wins."""
    info = read(monkeypatch, SLURM_STEP_ID=0, SLURM_PROCID=0, SLURM_NTASKS=1, RANK=3, WORLD_SIZE=4)
    assert (info.rank, info.world_size, info.launcher) == (3, 4, "env")


def test_families_are_never_mixed(monkeypatch):
    """RANK from one launcher is never paired with another launcher's local rank."""
    info = read(monkeypatch, RANK=3, WORLD_SIZE=4, SLURM_STEP_ID=0, SLURM_LOCALID=1, OMPI_COMM_WORLD_LOCAL_RANK=1)
    assert (info.local_rank, info.local_world_size, info.node) == (None, None, None)


def test_lsf_jsrun(monkeypatch):
    """LSF's jsrun sets JSM_NAMESPACE_*."""
    info = read(monkeypatch, JSM_NAMESPACE_RANK=5, JSM_NAMESPACE_SIZE=6, JSM_NAMESPACE_LOCAL_RANK=2,
                JSM_NAMESPACE_LOCAL_SIZE=3)  # fmt: skip
    assert info == (5, 6, 2, 3, 1, "lsf")


def test_horovod(monkeypatch):
    """horovodrun (gloo) sets HOROVOD_*, with the node as HOROVOD_CROSS_RANK."""
    info = read(monkeypatch, HOROVOD_RANK=1, HOROVOD_SIZE=4, HOROVOD_LOCAL_RANK=1, HOROVOD_LOCAL_SIZE=2,
                HOROVOD_CROSS_RANK=0)  # fmt: skip
    assert info == (1, 4, 1, 2, 0, "horovod")


def test_a_rank_that_is_not_a_number_skips_its_family(monkeypatch):
    """RANK=x makes the torchrun family absent: the next family present is used."""
    assert read(monkeypatch, RANK="x", WORLD_SIZE=4, PMI_RANK=1, PMI_SIZE=2).launcher == "mpich"


def test_a_rank_outside_the_world_is_ignored(monkeypatch):
    """RANK=4 of WORLD_SIZE=4 is no rank at all."""
    assert read(monkeypatch, RANK=4, WORLD_SIZE=4).world_size == 1


def test_inconsistent_local_rank_is_unknown(monkeypatch):
    """A local rank not below the local world size is dropped rather than trusted."""
    info = read(monkeypatch, RANK=1, WORLD_SIZE=4, LOCAL_RANK=3, LOCAL_WORLD_SIZE=2)
    assert (info.local_rank, info.local_world_size) == (None, None)


def fake_torch_distributed(rank, world, initialised=True):
    module = types.ModuleType("torch.distributed")
    module.is_available = lambda: True
    module.is_initialized = lambda: initialised
    module.get_rank = lambda: rank
    module.get_world_size = lambda: world
    return module


def test_initialised_process_group_wins(monkeypatch):
    """An initialised process group gives rank and world size, even with no launcher variables."""
    monkeypatch.setitem(sys.modules, "torch.distributed", fake_torch_distributed(2, 3))
    assert read(monkeypatch) == (2, 3, None, None, None, "torch.distributed")


def test_process_group_agreeing_with_launcher_keeps_its_details(monkeypatch):
    """When the launcher's numbers match the process group, its local rank and node are kept."""
    monkeypatch.setitem(sys.modules, "torch.distributed", fake_torch_distributed(1, 2))
    info = read(monkeypatch, RANK=1, WORLD_SIZE=2, LOCAL_RANK=1, LOCAL_WORLD_SIZE=2, TORCHELASTIC_RUN_ID="j")
    assert info == (1, 2, 1, 2, 0, "torchrun")


def test_process_group_initialised_later_is_seen(monkeypatch):
    """A process group set up after the first call is picked up by the next call."""
    module = fake_torch_distributed(1, 2, initialised=False)
    monkeypatch.setitem(sys.modules, "torch.distributed", module)
    assert read(monkeypatch).world_size == 1
    module.is_initialized = lambda: True
    assert trainbar.rank_info().rank == 1


def test_environment_is_read_once(monkeypatch):
    """Changing the environment after the first call changes nothing."""
    assert read(monkeypatch, RANK=1, WORLD_SIZE=2).rank == 1
    monkeypatch.setenv("RANK", "0")
    assert trainbar.rank_info().rank == 1


def test_rank_info_imports_no_torch():
    """Asking for the rank never imports torch."""
    code = "import sys, trainbar; trainbar.rank_info(); trainbar.bar(range(3)).close(); print('torch' in sys.modules)"
    env = {"RANK": "1", "WORLD_SIZE": "2", "PATH": "/usr/bin:/bin"}
    import os

    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("spec, node, expected", [("4(x2),3", 0, 4), ("4(x2),3", 2, 3), ("2", 0, 2), ("junk", 0, None)])
def test_slurm_tasks_per_node_parsing(spec, node, expected):
    """SLURM_TASKS_PER_NODE's compressed form expands to the count of the given node."""
    assert _rank._slurm_tasks_per_node(spec, node) == expected


def test_two_torchrun_jobs_without_a_run_id_have_different_ids():
    """torchrun without --rdzv-id gives every job the run id "none": the master's port tells
    two jobs of one host apart, so they never share a node-leader lock or store keys."""
    first = {"TORCHELASTIC_RUN_ID": "none", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}
    second = dict(first, MASTER_PORT="29501")
    assert _rank.job_id(first) != _rank.job_id(second)
    assert _rank.job_id(first) == _rank.job_id(dict(first))  # every rank of one job agrees


def test_a_restarted_torchrun_job_is_a_new_job():
    first = {"TORCHELASTIC_RUN_ID": "abc", "TORCHELASTIC_RESTART_COUNT": "0", "MASTER_PORT": "29500"}
    assert _rank.job_id(first) != _rank.job_id(dict(first, TORCHELASTIC_RESTART_COUNT="1"))
