"""The ``tadfuse`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser"]


def _demo(args: argparse.Namespace) -> int:
    from tadfuse.demo import run_demo

    print(run_demo(videos=args.videos, seed=args.seed))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from tadfuse import __version__

    parser = argparse.ArgumentParser(
        prog="tadfuse",
        description="Weakly supervised temporal action localization with fused pseudo labels.",
    )
    parser.add_argument("--version", action="version", version=f"tadfuse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="post-processing demo on generated TCAMs: detections and fusion-vs-NMS timing")
    demo.add_argument("--videos", type=int, default=212, help="number of generated videos (default 212)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.set_defaults(func=_demo)

    from tadfuse.cli_commands import add_data_command, add_eval_command, add_plot_command

    add_eval_command(sub)
    add_data_command(sub)
    add_plot_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
