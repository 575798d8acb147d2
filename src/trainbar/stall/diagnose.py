"""What a stall report says: where the stuck thread is, the data-loader workers, memory, hints.

Runs on the watchdog thread, only when a stall is found, so it may take its time (a stack walk,
a few ``/proc`` reads). It never calls into a GPU in a way that waits on it: the CUDA figures are
the caching allocator's host-side counters.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback

from trainbar.render import fmt as _format
from trainbar.render.plain import phase_label

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # trainbar/, not trainbar/stall/
_DEMO_DIR = os.path.join(_PACKAGE_DIR, "demo")
LIBRARY_FRAMES_SHOWN = 8
ALL_THREADS_FRAMES = 40

_PHASE_DETAIL = {
    "data": "waiting for data: inside next() on the loop's iterator",
    "body": "in the loop body: the step itself, between two items",
    "collective": "in a collective (all-reduce, barrier...): another rank may be behind",
    "sync": "in a GPU sync: waiting for the device to finish queued work",
}


def rank() -> int | None:
    """This process's rank in a distributed job (trainbar.rank_info), or None in a single process."""
    from trainbar.distributed import info as _rank

    try:
        info = _rank.rank_info()
    except Exception:  # noqa: BLE001 - a report must not fail on a strange environment
        return None
    return info.rank if info.world_size > 1 else None


# What each rank publishes as its phase (trainbar.distributed), in the words of the B3 design.
_PUBLISHED = {"data": "data", "body": "step", "collective": "collective", "sync": "sync"}


def published_phase(chain: list) -> str | None:
    """The phase a rank publishes: a pause in progress by name, else where its innermost loop is."""
    for bar in reversed(chain):
        if bar.phase is not None:
            return bar.phase
    return _PUBLISHED.get(chain[-1].where) if chain else None


def ranks_line() -> str | None:
    """On the drawing rank of a job: which ranks are behind, silent, or in another phase."""
    distributed = sys.modules.get("trainbar.distributed")
    view = distributed.job_view() if distributed is not None else None
    if view is None:
        return None
    parts = []
    if view.stopped:
        silent = ", ".join(f"r{s.rank} ({_format.seconds(s.silent)})" for s in view.ranks if s.rank in view.stopped)
        parts.append(f"no heartbeat from {silent}: process gone or interpreter wedged")
    for label, ranks in (("exited", view.exited), ("never reported", view.missing), ("behind", view.behind)):
        if ranks:
            parts.append(f"{label}: " + ", ".join(f"r{r}" for r in ranks))
    phases = {s.rank: s.phase for s in view.ranks if s.state == "running" and s.phase}
    if len(phases) > 1:
        common = max(set(phases.values()), key=list(phases.values()).count)
        odd = sorted(r for r, phase in phases.items() if phase != common)
        if odd and len(odd) < len(phases) / 2:
            details = ", ".join(f"r{r} in {phases[r]}" for r in odd)
            parts.append(f"{len(phases) - len(odd)} ranks in {common}, but {details}: look at that rank first")
    return "other ranks: " + "; ".join(parts) if parts else "other ranks: none behind"


def _host() -> str:
    import socket

    try:
        return socket.gethostname()
    except OSError:
        return "?"


# --- the stuck thread's stack -------------------------------------------------------------


def _library_roots() -> list:
    import site
    import sysconfig

    # "scripts": a console script's `sys.exit(main())` is an installed program's, not the user's.
    roots = {sysconfig.get_paths().get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib", "scripts")}
    try:
        roots.update(site.getsitepackages())
        roots.add(site.getusersitepackages())
    except AttributeError:  # some embedded interpreters lack these
        pass
    return sorted((os.path.abspath(root) + os.sep for root in roots if root), key=len, reverse=True)


_USER_PSEUDO_FILES = ("<string>", "<stdin>", "<ipython-input-")  # python -c, a pipe, IPython cells


def _kind(filename: str, roots: list) -> str:
    if filename.startswith(_USER_PSEUDO_FILES):
        return "user"
    if filename.startswith("<"):
        return "library"  # frozen importlib and friends
    path = os.path.abspath(filename)
    if path.startswith(_DEMO_DIR + os.sep):
        return "user"  # `trainbar demo` plays the user's training script
    if path.startswith(_PACKAGE_DIR + os.sep):
        return "trainbar"
    if any(path.startswith(root) for root in roots) or f"{os.sep}site-packages{os.sep}" in path:
        return "library"
    return "user"


def _short(filename: str, kind: str, roots: list) -> str:
    if filename.startswith("<"):
        return filename
    path = os.path.abspath(filename)
    if kind == "user":
        try:
            relative = os.path.relpath(path)
        except ValueError:
            return path
        return path if relative.startswith("..") else relative
    if kind == "trainbar":
        return "trainbar/" + os.path.relpath(path, _PACKAGE_DIR)
    for root in roots:
        if path.startswith(root):
            return path[len(root) :]
    return path


def thread_stack(thread_id: int) -> list:
    """The thread's frames, outermost first: dicts of file, line, function, code and kind."""
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return []
    roots = _library_roots()
    frames = []
    for summary in traceback.extract_stack(frame):
        kind = _kind(summary.filename, roots)
        frames.append(
            {
                "file": _short(summary.filename, kind, roots),
                "line": summary.lineno,
                "function": summary.name,
                "code": (summary.line or "").strip(),
                "kind": kind,
            }
        )
    return frames


def _frame_line(frame: dict) -> str:
    code = f": {frame['code']}" if frame["code"] else ""
    return f"{frame['file']}:{frame['line']} in {frame['function']}{code}"


def _stack_lines(frames: list) -> list:
    """The user's own frames first, then the innermost library frames, each outermost first."""
    own = [f for f in frames if f["kind"] == "user"]
    others = [f for f in frames if f["kind"] != "user"]
    lines = []
    if own:
        lines.append("your code (innermost last):")
        lines += ["  " + _frame_line(f) for f in own]
    if others:
        hidden = len(others) - LIBRARY_FRAMES_SHOWN
        lines.append("inside libraries (innermost last):")
        if hidden > 0:
            lines.append(f"  ... {hidden} outer frames left out")
        lines += ["  " + _frame_line(f) for f in others[-LIBRARY_FRAMES_SHOWN:]]
    return lines


def _thread_name(thread_id: int) -> str:
    for thread in threading.enumerate():
        if thread.ident == thread_id:
            return thread.name
    return f"thread {thread_id:#x}"


# --- data-loader workers ------------------------------------------------------------------

_STATES = {"R": "running", "S": "sleeping", "D": "in uninterruptible I/O (D)", "T": "stopped", "t": "stopped (traced)"}


def _proc_state(pid: int):
    """(state letter, raw exit status) from /proc, or None where /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except FileNotFoundError:
        return ("gone", None)
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    status = int(fields[49]) if len(fields) > 49 and fields[49].lstrip("-").isdigit() else None
    return (fields[0], status)


def _exit_text(status: int | None) -> str:
    if status is None:
        return "exited"
    if status & 0x7F:
        signal = status & 0x7F
        hint = " (SIGKILL: often the out-of-memory killer)" if signal == 9 else ""
        return f"killed by signal {signal}{hint}"
    return f"exited with code {status >> 8}"


def _worker(process) -> dict:
    pid = process.pid
    # /proc first: Process.is_alive() reaps a dead worker, which DataLoader's own check expects to do.
    state = _proc_state(pid) if pid is not None and os.path.isdir("/proc") else None
    if state is not None:
        letter, status = state
        if letter in ("Z", "X", "gone"):
            return {"pid": pid, "alive": False, "state": _exit_text(status)}
        return {"pid": pid, "alive": True, "state": _STATES.get(letter, letter)}
    try:
        alive = process.is_alive()
        code = process.exitcode
    except Exception:  # noqa: BLE001 - e.g. asked from a process that is not the parent
        return {"pid": pid, "alive": None, "state": "unknown"}
    if alive:
        return {"pid": pid, "alive": True, "state": "alive"}
    return {"pid": pid, "alive": False, "state": f"exited with code {code}" if code is not None else "exited"}


def _is_loader_iterator(obj) -> bool:
    module = type(obj).__module__ or ""
    return module.startswith("torch.utils.data") and hasattr(obj, "_num_workers") and hasattr(obj, "_timeout")


def _loader_iterators(bars: list, thread_id: int | None) -> list:
    found = []
    for bar in bars:
        source = bar.iterator
        if source is not None and _is_loader_iterator(source):
            found.append((bar.title(), source))
    if found or thread_id is None:
        return found
    # A loop counted by hand: a DataLoader it waits on is ``self`` in the stuck thread's frames.
    frame = sys._current_frames().get(thread_id)
    while frame is not None:
        if "torch" in frame.f_code.co_filename and "self" in frame.f_code.co_varnames:
            candidate = frame.f_locals.get("self")
            if _is_loader_iterator(candidate) and all(candidate is not seen for _, seen in found):
                found.append(("", candidate))
        frame = frame.f_back
    return found


def loaders(bars: list, thread_id: int | None = None) -> list:
    """Each DataLoader iterator of these loops: its timeout and its workers' liveness."""
    result = []
    for desc, iterator in _loader_iterators(bars, thread_id):
        workers = [_worker(process) for process in getattr(iterator, "_workers", None) or []]
        result.append(
            {"desc": desc, "num_workers": iterator._num_workers, "timeout": iterator._timeout, "workers": workers}
        )
    return result


def _loader_lines(found: list) -> list:
    lines = []
    for loader in found:
        name = f" ({loader['desc']})" if loader["desc"] else ""
        if not loader["num_workers"]:
            lines.append(f"data loader{name}: num_workers=0, so loading runs in the stuck thread (see its stack)")
            continue
        workers = loader["workers"]
        alive = sum(1 for w in workers if w["alive"])
        details = ", ".join(f"pid {w['pid']} {w['state']}" for w in workers)
        lines.append(f"data-loader workers{name}: {alive} of {loader['num_workers']} alive: {details}")
    return lines


# --- memory ---------------------------------------------------------------------------------


def _rss() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (ImportError, OSError):
        return None
    return peak if sys.platform == "darwin" else peak * 1024  # the peak, where the current is unknown


def _cuda() -> list:
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    if cuda is None or not cuda.is_initialized():
        return []  # never initialise CUDA ourselves
    devices = []
    for index in range(cuda.device_count()):
        # Allocator bookkeeping on the host: none of these waits for the device.
        stats = cuda.memory_stats(index)
        reserved = stats.get("reserved_bytes.all.current", 0)
        if not reserved:
            continue
        devices.append(
            {
                "device": index,
                "allocated": stats.get("allocated_bytes.all.current", 0),
                "reserved": reserved,
                "peak": stats.get("allocated_bytes.all.peak", 0),
                "alloc_retries": stats.get("num_alloc_retries", 0),
                "ooms": stats.get("num_ooms", 0),
            }
        )
    return devices


def memory() -> dict:
    """Process RSS and, where CUDA is in use, the caching allocator's figures per device."""
    try:
        cuda = _cuda()
    except Exception:  # noqa: BLE001 - a broken CUDA must not cost the rest of the report
        cuda = []
    return {"rss": _rss(), "cuda": cuda}


def _bytes(value: int | None) -> str:
    if value is None:
        return "?"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return "?"


def _memory_line(mem: dict) -> str:
    parts = [f"process RSS {_bytes(mem['rss'])}"]
    for device in mem["cuda"]:
        text = (
            f"cuda:{device['device']} allocated {_bytes(device['allocated'])}, reserved {_bytes(device['reserved'])}, "
            f"peak {_bytes(device['peak'])}"
        )
        if device["alloc_retries"] or device["ooms"]:
            text += f", {device['alloc_retries']} allocator retries and {device['ooms']} OOMs (memory thrash)"
        parts.append(text)
    return "memory: " + "; ".join(parts)


# --- hints ----------------------------------------------------------------------------------


def _distributed() -> bool:
    dist = sys.modules.get("torch.distributed")
    try:
        if dist is not None and dist.is_available() and dist.is_initialized():
            return True
    except Exception:  # noqa: BLE001
        pass
    return os.environ.get("WORLD_SIZE", "1").strip() not in ("", "0", "1")


def hints(phase: str | None, found_loaders: list, pid: int) -> list:
    """What to try next, most specific first."""
    result = []
    waiting_on_workers = any(loader["num_workers"] and not loader["timeout"] for loader in found_loaders)
    if phase == "data" or waiting_on_workers:
        result.append("DataLoader(timeout=600) makes a stuck worker raise instead of hanging forever")
    result.append(f"py-spy dump --pid {pid} --native shows every thread, C and CUDA frames included")
    workers = [w["pid"] for loader in found_loaders for w in loader["workers"] if w["alive"]]
    if phase == "data" and workers:
        result.append(f"py-spy dump --pid {workers[0]} shows where a data-loader worker is (one per worker pid)")
    nccl_trace_off = os.environ.get("TORCH_NCCL_TRACE_BUFFER_SIZE", "0").strip() in ("", "0")
    if (phase in ("collective", "sync") or _distributed()) and nccl_trace_off:
        result.append(
            "TORCH_NCCL_TRACE_BUFFER_SIZE=2000 TORCH_NCCL_DUMP_ON_TIMEOUT=1 record the last collectives "
            "(NCCL flight recorder) and dump them when a collective times out"
        )
    return result


# --- the reports ----------------------------------------------------------------------------


def stall_info(
    subject, bars: list, *, thread_id: int, seconds: float, limit: float, pace, steps: int, resolution: float = 1.0
) -> dict:
    """Everything known about a stall, as plain data (the event stream writes it as JSON)."""
    phase = subject.where
    found = loaders(bars, thread_id)
    return {
        "desc": subject.title(),
        "seconds": seconds,
        "threshold": limit,
        "median_step": pace,
        "resolution": resolution,
        "steps": steps,
        "n": subject.n,
        "total": subject.total,
        "phase": phase_label(phase) or "unknown",  # in words, as docs/events.md has it
        "phase_code": phase,  # data, body, collective, sync, or None
        "thread": _thread_name(thread_id),
        "stack": thread_stack(thread_id),
        "loaders": found,
        "memory": memory(),
        "hints": hints(phase, found, os.getpid()),
        "ranks": _safe(ranks_line),
        "rank": rank(),
        "pid": os.getpid(),
        "host": _host(),
    }


def _safe(function):
    try:
        return function()
    except Exception:  # noqa: BLE001 - another part's fault must not cost the rest of the report
        return None


def _who(info: dict) -> str:
    where = f"rank {info['rank']}, " if info.get("rank") is not None else ""
    return f"{where}pid {info['pid']}"


def stall_report(info: dict) -> str:
    """The text printed once per stall: what, where, workers, memory, hints."""
    desc = f' in "{info["desc"]}"' if info["desc"] else ""
    pace = ""
    if info["median_step"]:
        # The watchdog looks about once a second: a shorter step cannot be told apart from that.
        shortest = 2 * info.get("resolution", 1.0)
        step = info["median_step"]
        pace = (
            f", median step {_format.seconds(step)}"
            if step > shortest
            else f", steps under {_format.seconds(shortest)}"
        )
    total = f"/{info['total']}" if info.get("total") is not None else ""
    head = (
        f"trainbar: stall{desc} ({_who(info)}): no progress for {_format.seconds(info['seconds'])} "
        f"at {info['n']}{total} (threshold {_format.seconds(info['threshold'])}{pace})"
    )
    phase = info["phase_code"]
    lines = [
        f"phase: {_PHASE_DETAIL.get(phase, phase_label(phase) or 'unknown (a loop counted by hand, or a fast loop)')}"
    ]
    lines.append(f"stuck thread: {info['thread']}")
    lines += ["  " + line for line in _stack_lines(info["stack"])]
    lines += _loader_lines(info["loaders"])
    if info.get("ranks"):
        lines.append(info["ranks"])
    lines.append(_memory_line(info["memory"]))
    lines += ["try: " + hint for hint in info["hints"]]
    return _format.sanitize(head) + "\n" + "".join(f"  {_format.sanitize(line)}\n" for line in lines)


def recovery_info(subject, *, seconds: float, phase: str | None, stalled_at) -> dict:
    return {
        "desc": subject.title() if subject is not None else "",
        "seconds": seconds,
        "phase": phase_label(phase) or "unknown",
        "phase_code": phase,
        "stalled_at": stalled_at,
        "n": subject.n if subject is not None else None,
        "rank": rank(),
        "pid": os.getpid(),
    }


def recovery_report(info: dict) -> str:
    desc = f' "{info["desc"]}"' if info["desc"] else ""
    where = phase_label(info["phase_code"])
    text = f"trainbar:{desc} recovered after {_format.seconds(info['seconds'])}" + (
        f" (it was {where})" if where else ""
    )
    return _format.sanitize(text) + "\n"


def all_threads_report(desc: str, seconds: float) -> str:
    """Every thread's stack, most recent call first as faulthandler prints it."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    roots = _library_roots()
    desc = f' in "{desc}"' if desc else ""
    lines = [f"trainbar: still stalled{desc} after {_format.seconds(seconds)} (pid {os.getpid()}); every thread:"]
    for thread_id, frame in sys._current_frames().items():
        if names.get(thread_id) == "trainbar-watchdog":
            continue  # this very thread, writing the report
        lines.append(f"  Thread {thread_id:#x} ({names.get(thread_id, '?')}), most recent call first:")
        summaries = traceback.extract_stack(frame)[::-1][:ALL_THREADS_FRAMES]
        for summary in summaries:
            kind = _kind(summary.filename, roots)
            lines.append(f'    File "{_short(summary.filename, kind, roots)}", line {summary.lineno} in {summary.name}')
    return "\n".join(_format.sanitize(line) for line in lines) + "\n"


def combined_report(reports: dict, phases: dict, ranks: str | None) -> str:
    """The stall reports of several ranks (rank -> report text) as the one report of the job.

    The ranks the others wait on come first (see ``summary.suspects``), each report indented
    under one header; ``ranks`` is the drawing rank's fresh line on the other
    ranks, which replaces the one each report carried when it was made. A hint already given by
    an earlier rank is not repeated.
    """
    if len(reports) == 1:
        return next(iter(reports.values()))
    from trainbar.distributed.summary import suspects

    culprits = suspects({rank: phases.get(rank) for rank in reports})
    order = culprits + [rank for rank in sorted(reports) if rank not in culprits]
    head = f"trainbar: stall in the job: {len(reports)} ranks report no progress"
    if culprits:
        named = ", ".join(f"r{rank}" + (f" (in {phases[rank]})" if phases.get(rank) else "") for rank in culprits[:3])
        head += f"; the others wait on {named}: look there first"
    lines = [_format.sanitize(head)]
    if ranks and culprits:  # the header has said who to look at: keep the rest of the line
        kept = [part for part in ranks.removeprefix("other ranks: ").split("; ") if "look at that rank" not in part]
        ranks = "other ranks: " + "; ".join(kept) if kept and kept != ["none behind"] else None
    if ranks:
        lines.append("  " + _format.sanitize(ranks))
    hints: set = set()
    for rank in order:
        first, *body = reports[rank].rstrip("\n").split("\n")
        lines.append("  " + first.removeprefix("trainbar: "))
        for line in body:
            if line.startswith("  other ranks:"):
                continue
            if line.startswith("  try: "):
                if line in hints:
                    continue
                hints.add(line)
            lines.append("  " + line)
    return "\n".join(lines) + "\n"
