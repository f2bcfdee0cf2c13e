"""``tadfuse demo``: the post-processing demo on generated TCAMs (`tadfuse.demo.run_demo`)."""

from __future__ import annotations

import argparse
from typing import Any

from tadfuse.cli._args import add_command, integer

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    from tadfuse.demo import run_demo

    print(run_demo(videos=args.videos, seed=args.seed))
    return 0


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``tadfuse demo``."""
    p = add_command(subparsers, "demo", parents=parents,
                    help="post-processing demo on generated TCAMs: detections and fusion-vs-NMS timing")
    p.add_argument("--videos", type=integer(1), default=212, help="number of generated videos (default 212)")
    p.add_argument("--seed", type=integer(0), default=0, help="random seed, >= 0 (default 0)")
    p.set_defaults(func=run)
    return p
