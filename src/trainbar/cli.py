"""The command line: ``trainbar demo``, ``trainbar watch`` and ``trainbar run``."""

from __future__ import annotations

import argparse
import importlib
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trainbar",
        description="Progress bars for machine-learning training.",
        formatter_class=argparse.RawTextHelpFormatter,  # --version's lines kept as written
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run a small, real training loop with trainbar's bars")
    demo.add_argument("--epochs", type=int, default=4, help="epochs to train (default 4)")
    demo.add_argument("--fast", action="store_true", help="no simulated data-loading delay")
    demo.add_argument(
        "--stall", action="store_true", help="plant a hang in the data loader and watch the watchdog report it"
    )
    backend = demo.add_mutually_exclusive_group()
    backend.add_argument("--torch", dest="use_torch", action="store_true", default=None, help="require PyTorch")
    backend.add_argument("--no-torch", dest="use_torch", action="store_false", help="use the pure-Python model")
    _add_watch(commands)
    run = commands.add_parser(
        "run", help="run a Python script (or -m module) with every tqdm bar in it drawn by trainbar"
    )
    run.add_argument("-m", dest="module", action="store_true", help="run TARGET as a module, as python -m does")
    run.add_argument("target", metavar="TARGET", help="the script's path, or the module's name with -m")
    run.add_argument("args", nargs=argparse.REMAINDER, help="the program's own arguments")
    return parser


def _positive(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _add_watch(commands) -> None:
    watch = commands.add_parser(
        "watch", help="draw the bars of other processes from their event files (TRAINBAR_JSONL)"
    )
    watch.add_argument("files", nargs="+", metavar="FILE",
                       help="event files to follow, one per rank; a glob pattern ('ev.*.jsonl') is expanded "
                            "by watch itself, again as files appear")  # fmt: skip
    watch.add_argument("--exit-when-done", action="store_true", help="stop once every top-level bar has closed")
    watch.add_argument("--stale-after", type=_positive, default=None, metavar="SECONDS",
                       help="mark a writer stale after this long without events "
                            "(default: twice its own progress interval)")  # fmt: skip
    watch.add_argument("--interval", type=_positive, default=0.2, metavar="SECONDS",
                       help="seconds between reads of the files (default 0.2)")  # fmt: skip


def _version() -> str:
    """The version, and which per-step counter runs: the compiled one is built at install time
    when a C compiler is there, and the pure-Python one is used otherwise."""
    import platform

    import trainbar
    from trainbar._settings import flag
    from trainbar.core import counter

    if counter.COMPILED:
        kind = "compiled (C)"
    elif flag("TRAINBAR_PURE_PYTHON"):
        kind = "pure Python (TRAINBAR_PURE_PYTHON is set)"
    else:
        kind = "pure Python: the C extension was not built (no C compiler at install time?)"
    return (
        f"trainbar {trainbar.__version__} (Python {platform.python_version()}, {platform.python_implementation()})\n"
        f"per-step counter: {kind}\n"
        f"installed at: {trainbar.__path__[0]}"
    )


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def main(argv: list | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        return _run_program(args.target, args.args, as_module=args.module)
    try:
        return _main(args)
    except KeyboardInterrupt:
        # The demo's bars are already marked interrupted where they stopped: a traceback adds nothing.
        print("trainbar: interrupted", file=sys.stderr)
        return 130


def _main(args: argparse.Namespace) -> int:
    if args.command == "demo" and args.stall:
        from trainbar.demo import stall as _stall_demo

        _stall_demo.run(hang=1.5 if args.fast else 3.5)
    elif args.command == "demo":
        from trainbar.demo import training as _demo

        if args.epochs < 1:
            print("trainbar demo: --epochs must be at least 1", file=sys.stderr)
            return 2
        if args.use_torch and not _importable("torch"):
            print(
                "trainbar demo: --torch needs PyTorch, which is not installed here. Install the CPU build "
                "with: python3 -m pip install torch --index-url https://download.pytorch.org/whl/cpu "
                "(or run the demo without --torch: it trains a pure-Python model then).",
                file=sys.stderr,
            )
            return 2
        _demo.run(epochs=args.epochs, io_delay=0.0 if args.fast else 0.004, use_torch=args.use_torch)
    elif args.command == "watch":
        from trainbar.events import watch as _watch

        return _watch.run(args.files, sys.stdout, exit_when_done=args.exit_when_done,
                          stale_after=args.stale_after, poll=args.interval)  # fmt: skip
    return 0


def _run_program(target: str, args: list, *, as_module: bool) -> int:
    """Run a program as ``python`` would (its path, arguments, exit status and tracebacks as
    there), after patching tqdm."""
    import os
    import runpy

    from trainbar.compat.patch import patch_tqdm

    if not as_module and not os.path.isfile(target):
        print(f"trainbar run: can't open file {os.path.abspath(target)!r}: no such file", file=sys.stderr)
        return 2
    patch_tqdm()
    sys.argv = [target, *args]
    if as_module:
        sys.path.insert(0, os.getcwd())  # as python -m puts the current directory first
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        path = os.path.abspath(target)  # __file__ is absolute under python, so a chdir keeps it valid
        sys.path.insert(0, os.path.dirname(path))
        runpy.run_path(path, run_name="__main__")
    return 0
