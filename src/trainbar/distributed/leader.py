"""Which ranks draw: the one rule that bars, ``trainbar.write`` and ``trainbar.print`` follow.

``TRAINBAR_RANKS``:

* unset or ``0`` (default): global rank 0 draws; any other integer names the rank that draws
  (``-1`` is the last rank, where pipeline-parallel runs keep their loss);
* ``node``: one process per node draws, the node leader;
* ``all``: every rank draws, each line prefixed with ``[r3]``.

Ranks that do not draw still count, and still publish their progress for the drawing rank.

The node leader is elected with an exclusive ``flock`` on a node-local file named after the
job and the node: the first process of the node that asks holds it for its whole life. That does
not trust ``LOCAL_RANK == 0``, which torchrun's ``--virtual-local-rank`` sets on every worker
and which ``srun`` does not set at all. Where locking is impossible, local rank 0 is the last
resort.
"""

from __future__ import annotations

import os
import threading

from trainbar import _settings
from trainbar._warnings import warn_once
from trainbar.distributed import info as _rank

ZERO, NODE, ALL = "zero", "node", "all"

in_forked_child = False  # a forked child (a DataLoader worker) shares the rank's number only
_lock_fd: int | None = None
_lock_path: str | None = None
_leader_of: str | None = None  # the lock this process decided on, once it has
_is_leader = False
_deciding = threading.Lock()


def policy() -> tuple:
    """(``zero``, rank) | (``node``, None) | (``all``, None), from ``TRAINBAR_RANKS``."""
    raw = _settings.current().ranks
    if raw in ("", "0", "zero", "rank0"):
        return ZERO, 0
    if raw in (NODE, ALL):
        return raw, None
    try:
        return ZERO, int(raw)
    except ValueError:
        warn_once(f"trainbar: TRAINBAR_RANKS={raw!r} is not 0, a rank number, node or all; rank 0 draws")
        return ZERO, 0


def draws() -> bool:
    """Whether this process draws bars and prints ``trainbar.write`` messages."""
    info = _rank.rank_info()
    if info.world_size <= 1:
        return True
    kind, chosen = policy()
    if kind == ALL:
        return True
    if kind == NODE:
        return node_leader(info)
    if not -info.world_size <= chosen < info.world_size:
        warn_once(
            f"trainbar: TRAINBAR_RANKS={chosen} is not a rank of this job (world size {info.world_size}); rank 0 draws"
        )
        chosen = 0
    return info.rank == chosen % info.world_size


def gathers() -> bool:
    """Whether this process reads the other ranks' progress (the one that draws them)."""
    info = _rank.rank_info()
    return info.world_size > 1 and policy()[0] != ALL and draws()


def line_prefix() -> str:
    """``[r3] `` on every line when every rank draws, ``[n1] `` per node when nodes draw."""
    info = _rank.rank_info()
    if info.world_size <= 1:
        return ""
    kind = policy()[0]
    if kind == ALL:
        return f"[r{info.rank}] "
    if kind == NODE and (info.local_world_size or 0) < info.world_size:
        return f"[n{info.node}] " if info.node is not None else f"[{_rank.hostname()}] "
    return ""


def node_leader(info: _rank.RankInfo | None = None) -> bool:
    """Whether this process leads its node: it holds the node's lock (or, failing that, is local 0)."""
    global _leader_of, _is_leader
    with _deciding:  # two threads asking at once must not take the lock against each other
        if _leader_of is not None:
            return _is_leader  # decided once per process (forget() starts over)
        info = _rank.rank_info() if info is None else info
        name = _lock_name(_rank.job_id(), _rank.node_key(info))
        held = _try_lock(name)
        _leader_of = name
        _is_leader = info.local_rank == 0 if held is None else held
        return _is_leader


def _lock_name(job: str, node: str) -> str:
    import hashlib  # only a node-leader election needs it: `import trainbar` stays light

    digest = hashlib.sha1(f"{job}\0{node}".encode()).hexdigest()[:16]
    return f"leader-{digest}.lock"


def _uid() -> int:
    return os.getuid() if hasattr(os, "getuid") else 0


def _lock_root() -> str:
    # /dev/shm is local to the machine on every Linux; a temp dir may be on a shared filesystem,
    # where the job and node in the name still keep nodes apart.
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return "/dev/shm"
    import tempfile

    return tempfile.gettempdir()


def _lock_dir() -> str | None:
    """A directory of this user's own (mode 0700) for lock files, or None if there is none safe.

    A path planted by someone else (a symbolic link, a directory of another owner or open to
    others) is refused.
    """
    import stat

    folder = os.path.join(_lock_root(), f"trainbar-{_uid()}")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        found = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != _uid() or found.st_mode & 0o077:
        warn_once(f"trainbar: {folder} is not a private directory of this user; the node leader is local rank 0")
        return None
    return folder


def _try_lock(name: str) -> bool | None:
    """True: we hold it now; False: another live process does; None: locking is not possible."""
    global _lock_fd, _lock_path
    try:
        import fcntl
        import stat
    except ImportError:
        return None
    folder = _lock_dir()
    if folder is None:
        return None
    path = os.path.join(folder, name)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError:
        return None  # a symbolic link planted at the path ends here (ELOOP)
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or found.st_uid != _uid():
            os.close(fd)
            return None
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    except OSError:
        os.close(fd)
        return None
    _close_lock()
    _lock_fd, _lock_path = fd, path  # held until the process ends: the kernel releases it then
    from trainbar.runtime import lifecycle  # noqa: F401 - its exit hook removes the file

    return True


def _close_lock() -> None:
    global _lock_fd, _lock_path
    if _lock_fd is not None:
        try:
            os.close(_lock_fd)
        except OSError:
            pass
    _lock_fd = _lock_path = None


def release() -> None:
    """At exit or on SIGTERM: remove the lock file we hold, so the directory does not collect one
    per job (only the holder removes it)."""
    path = _lock_path
    if path is not None:
        try:
            os.unlink(path)
        except OSError:
            pass
    _close_lock()


def forget() -> None:
    """Decide again on the next call, giving up any lock held (tests change the environment)."""
    global _leader_of, _is_leader
    _close_lock()
    _leader_of, _is_leader = None, False


def after_fork_in_child() -> None:
    """A forked child shares the parent's lock; it must not believe it leads the node too."""
    global _lock_fd, _lock_path, _leader_of, _is_leader, in_forked_child, _deciding
    _deciding = threading.Lock()  # a thread of the parent may have held it at the fork
    _lock_fd = _lock_path = None
    _leader_of, _is_leader = None, False
    in_forked_child = True
