"""Which ranks draw: the one rule that bars, ``trainbar.write`` and ``trainbar.print`` follow.

``TRAINBAR_RANKS``:

* unset or ``0`` (default): global rank 0 draws; any other integer names the rank that draws
  (``-1`` is the last rank, where pipeline-parallel runs keep their loss);
* ``node``: one process per node draws, the node leader;
* ``all``: every rank draws, each line prefixed with ``[r3]``.

Ranks that do not draw still count, and still publish their progress for the drawing rank.

The node leader is the lowest local rank of the node whose process is alive, whichever opened
a bar first: each process holds an exclusive ``flock`` on a node-local file named after the
job, the node and its local rank (see :class:`Election`), and the kernel lets go of it when the
process ends. Under torchrun the local rank is worked out from the global rank, since
``--virtual-local-rank`` sets ``LOCAL_RANK=0`` on every worker; two processes that still claim
one local rank are told apart by the lock. Where locking is impossible, local rank 0 leads.

Limits: leadership is looked at again about once a second, but a bar that opened while this
process did not lead stays undrawn (the next bar follows the new verdict); and a process that
is not local rank 0 waits up to 30 s for lower ranks that have not started yet.
"""

from __future__ import annotations

import os
import threading

from trainbar import _settings
from trainbar._warnings import warn_once
from trainbar.core import clock as _clock
from trainbar.distributed import info as _rank

ZERO, NODE, ALL = "zero", "node", "all"

# A process that is not local rank 0 and sees no lower rank of its node waits this long for them
# to start before it leads without them.
ARRIVAL_GRACE = 30.0
RECHECK = 1.0  # seconds between looks at the node's other processes

in_forked_child = False  # a forked child (a DataLoader worker) shares the rank's number only
_election: Election | Fixed | None = None
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
    """Whether this process leads its node now: the lowest local rank of the node that is alive."""
    global _election
    with _deciding:  # two threads asking at once must not take the slot against each other
        now = _clock.now()
        if _election is None:
            info = _rank.rank_info() if info is None else info
            position = node_position(info)
            folder = _lock_dir() if _can_lock() else None
            if folder is None:
                _election = Fixed(position == 0)  # no locks here: local rank 0 is the last resort
            else:
                _election = Election(folder, _node_name(_rank.job_id(), _rank.node_key(info)), position, now)
        return _election.leads(now)


def node_position(info: _rank.RankInfo) -> int:
    """This process's local rank, as the election orders them.

    Under torchrun the local rank follows from the global rank and the node's index, which
    stays right where ``--virtual-local-rank`` sets ``LOCAL_RANK=0`` on every worker. Elsewhere
    the launcher's local rank is used; with none, every process is 0 and the lock decides.
    """
    if info.launcher in ("env", "torchrun") and info.node is not None and info.local_world_size:
        position = info.rank - info.node * info.local_world_size
        if 0 <= position < info.local_world_size:
            return position
    return info.local_rank if info.local_rank is not None else 0


class Fixed:
    """A verdict that never changes: where no election can be held."""

    def __init__(self, verdict: bool) -> None:
        self.verdict = verdict

    def leads(self, now: float) -> bool:
        return self.verdict

    def release(self) -> None:
        pass


class Election:
    """This process's place in its node's election of a leader.

    Each process holds an exclusive lock on its local rank's file for its whole life; the kernel
    lets go of it when the process ends, however it ends. The leader is the lowest local rank
    whose file is held. A process that is not local rank 0 and finds none of the lower ranks
    alive waits for them to come (they may simply start later) for ``ARRIVAL_GRACE`` seconds;
    once it has seen a lower rank alive, that rank's end makes it lead at once. Two processes
    claiming one local rank are told apart by the lock: the one that holds it takes part.
    """

    def __init__(self, folder: str, node: str, position: int, now: float) -> None:
        self.folder = folder
        self.prefix = f"{node}-"
        self.position = position
        self.path = os.path.join(folder, f"{self.prefix}{position}.lock")
        self.fd: int | None = None
        self.asked = now
        self.saw_lower = False
        self.verdict = False
        self.checked: float | None = None

    def leads(self, now: float) -> bool:
        if self.checked is None or now - self.checked >= RECHECK:
            self.checked = now
            self.verdict = self._decide(now)
        return self.verdict

    def _decide(self, now: float) -> bool:
        if self.fd is None:
            self.fd = _hold(self.path)
            if self.fd is None:
                return False  # another live process holds this local rank
        if any(_held(path) for path in self._lower()):
            self.saw_lower = True
            return False
        return self.position == 0 or self.saw_lower or now - self.asked >= ARRIVAL_GRACE

    def _lower(self) -> list:
        paths: list[str] = []
        try:
            names = os.listdir(self.folder)
        except OSError:
            return paths
        for name in names:
            if name.startswith(self.prefix) and name.endswith(".lock"):
                position = name[len(self.prefix) : -len(".lock")]
                if position.isdigit() and int(position) < self.position:
                    paths.append(os.path.join(self.folder, name))
        return paths

    def release(self) -> None:
        """At exit: remove our file (only its holder does), so the folder keeps none per job."""
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        try:
            os.close(self.fd)
        except OSError:
            pass
        self.fd = None


def _node_name(job: str, node: str) -> str:
    import hashlib  # only a node-leader election needs it: `import trainbar` stays light

    return "node-" + hashlib.sha1(f"{job}\0{node}".encode()).hexdigest()[:16]


def _can_lock() -> bool:
    try:
        import fcntl  # noqa: F401
    except ImportError:
        return False
    return True


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


def _open(path: str, create: bool) -> int | None:
    """A descriptor of ``path``, a regular file of ours; None for anything else (a planted link
    ends at O_NOFOLLOW with ELOOP)."""
    import stat

    flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError:
        return None
    try:
        found = os.fstat(fd)
    except OSError:
        found = None
    if found is None or not stat.S_ISREG(found.st_mode) or found.st_uid != _uid():
        os.close(fd)
        return None
    return fd


def _hold(path: str) -> int | None:
    """Take the file's lock for the life of the process: its descriptor, or None when another
    live process holds it."""
    import fcntl
    import time

    fd = _open(path, create=True)
    if fd is None:
        return None
    # Another process may be looking at this file this very moment (see _held): try again
    # before deciding that someone else holds it.
    for pause in (0.001, 0.005, 0.02, 0.0):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            time.sleep(pause)
            continue
        except OSError:
            break
        from trainbar.runtime import lifecycle  # noqa: F401 - its exit hook removes the file

        return fd
    os.close(fd)
    return None


def _held(path: str) -> bool:
    """Whether a live process holds the file's lock (a file left by one that ended is not held)."""
    import fcntl

    fd = _open(path, create=False)
    if fd is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing lets go of our shared lock too
    return False


def release() -> None:
    """At exit or on SIGTERM: give up our place in the node's election."""
    if _election is not None:
        _election.release()


def forget() -> None:
    """Decide again on the next call, giving up any place held (tests change the environment)."""
    global _election
    release()
    _election = None


def after_fork_in_child() -> None:
    """A forked child is not the process that holds the parent's place; it must not lead too.

    Its copy of the parent's descriptor is closed: the lock stays with the parent, and ends with
    it rather than with the last of its DataLoader workers.
    """
    global _election, in_forked_child, _deciding
    _deciding = threading.Lock()  # a thread of the parent may have held it at the fork
    election = _election
    if isinstance(election, Election) and election.fd is not None:
        try:
            os.close(election.fd)
        except OSError:
            pass
    _election = None
    in_forked_child = True
