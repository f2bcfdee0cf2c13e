"""``tadfuse demo``: the whole method on generated toy data (`tadfuse.demo.run_demo`): trains the
RSKP baseline and the full method, evaluates both with NMS and with fusion, prints one table."""

from __future__ import annotations

import argparse
from typing import Any

from tadfuse.cli._args import add_command, integer

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    from tadfuse.demo import run_demo

    print(run_demo(args.out, seed=args.seed, epochs=args.epochs, videos=args.videos, plots=args.plots,
                   device=args.device, overwrite=args.overwrite))
    return 0


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``tadfuse demo``."""
    p = add_command(subparsers, "demo", parents=parents,
                    help="train the baseline and the method on generated toy data; one table of mAP (NMS vs fusion)",
                    description="Generate the toy dataset, train the RSKP baseline (no pseudo labels) and the full "
                    "method (preset demo), evaluate both with NMS and with fusion and print the paper's Table 4 "
                    "layout; writes the data, run folders, detections JSON and timeline PNGs into --out. "
                    "A minute or so on 2 CPU cores; the same --seed gives the same table.")
    p.add_argument("--out", default="tadfuse-demo", metavar="DIR", help="output folder (default ./tadfuse-demo)")
    p.add_argument("--seed", type=integer(0), default=0, help="seed of the data and the training, >= 0 (default 0)")
    p.add_argument("--epochs", type=integer(1), metavar="N", help="training epochs (default: the demo preset's 40)")
    p.add_argument("--videos", type=integer(4), default=100, metavar="N", help="toy videos, half for training (default 100)")
    p.add_argument("--plots", type=integer(0), default=3, metavar="N", help="timeline PNGs of the first test videos (default 3)")
    p.add_argument("--device", metavar="D", help="torch device (default: cuda if available)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    p.set_defaults(func=run)
    return p
