"""The command line: ``trainbar demo``."""

from __future__ import annotations

import argparse
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trainbar", description="Progress bars for machine-learning training.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run a small, real training loop with trainbar's bars")
    demo.add_argument("--epochs", type=int, default=4, help="epochs to train (default 4)")
    demo.add_argument("--fast", action="store_true", help="no simulated data-loading delay")
    demo.add_argument("--stall", action="store_true", help="plant a hang in the data loader and watch the watchdog report it")
    backend = demo.add_mutually_exclusive_group()
    backend.add_argument("--torch", dest="use_torch", action="store_true", default=None, help="require PyTorch")
    backend.add_argument("--no-torch", dest="use_torch", action="store_false", help="use the pure-Python model")
    return parser


def main(argv: list | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo" and args.stall:
        from . import _stall_demo

        _stall_demo.run(hang=1.5 if args.fast else 3.5)
    elif args.command == "demo":
        from . import _demo

        if args.epochs < 1:
            print("trainbar demo: --epochs must be at least 1", file=sys.stderr)
            return 2
        _demo.run(epochs=args.epochs, io_delay=0.0 if args.fast else 0.004, use_torch=args.use_torch)
    return 0
