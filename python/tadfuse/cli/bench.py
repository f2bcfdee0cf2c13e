"""``tadfuse bench``: the side-by-side tables of `tadfuse.bench` from the installed package
(post-processing vs the numpy restatement of the released code, fusion / NMS / soft-NMS
kernels, exact vs fast official mode, LinPro reduced vs full LP), printed as markdown;
``--json`` writes the measured numbers with their provenance."""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path
from typing import Any

from tadfuse.cli._args import add_command, integer
from tadfuse.errors import InvalidArgumentError
from tadfuse.postprocess import MAX_THREADS

__all__ = ["add_parser", "command_line", "run"]


def _table_names(text: str) -> list[str]:
    from tadfuse.bench import TABLE_NAMES

    names = [n.strip() for n in text.split(",")]
    for n in names:
        if n not in TABLE_NAMES:
            raise argparse.ArgumentTypeError(f"unknown table {n!r}; choose from {', '.join(TABLE_NAMES)} "
                                             "(comma-separated or repeated)")
    return names


def _default_threads() -> int:
    """The CPUs this process may run on (all cores), at most MAX_THREADS."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_THREADS))


def command_line(args: argparse.Namespace, names: list[str]) -> str:
    """The ``tadfuse bench`` line that repeats this run (every setting spelled out)."""
    parts = ["tadfuse", "bench"] + (["--quick"] if args.quick else [])
    parts += ["--repeat", str(args.repeat), "--threads", str(args.threads), "--seed", str(args.seed)]
    parts += ["--only", ",".join(names)]
    if args.json:
        parts += ["--json", args.json]
    return shlex.join(parts)


def run(args: argparse.Namespace) -> int:
    from tadfuse.annotations import atomic_write_json
    from tadfuse.bench import FULL, QUICK, TABLE_NAMES, Settings, provenance, render_header, to_json
    from tadfuse.bench import run as measure

    size = QUICK if args.quick else FULL
    if args.repeat is None:
        args.repeat = size.repeat
    if args.threads is None:
        args.threads = _default_threads()
    names = [n for n in TABLE_NAMES if n in (args.only or TABLE_NAMES)]
    if args.json and Path(args.json).is_dir():  # before minutes of measuring, not after
        raise InvalidArgumentError(f"--json {args.json}: is a directory; give a file name")
    settings = Settings(size, args.repeat, args.threads, args.seed)
    prov = provenance(command_line(args, names))
    print(render_header(settings, prov), flush=True)
    tables = measure(settings, names, after_table=lambda t: print("\n" + t.markdown(), flush=True))
    if args.json:
        path = atomic_write_json(args.json, to_json(tables, settings, prov))
        print(f"\nwrote {path}")
    return 0


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``tadfuse bench``."""
    from tadfuse.bench import FULL, QUICK, TABLE_NAMES

    p = add_command(
        subparsers, "bench", parents=parents,
        help="side-by-side timings: tadfuse vs the numpy restatement of the released code, exact vs fast, "
        "LinPro vs the full LP",
        description="Times tadfuse against the released code's approach in one process, on workloads generated "
        "over the THUMOS14 annotations shipped with tadfuse, and prints one markdown table per comparison: "
        "postprocess (THUMOS14-like detection, numpy vs tadfuse with 1 and --threads threads), kernels (fusion, "
        "NMS, soft-NMS of one class), exact (exact vs fast official mode), linpro (LinPro labels vs the dense "
        "LP per class). Outputs are checked to agree before anything is timed; the contenders of a table run in "
        "interleaved rounds and each reports the median over the rounds; ratios are ratios of medians. "
        "The full size takes about a minute or two; --quick a few seconds.",
    )
    p.add_argument("--quick", action="store_true",
                   help=f"small workloads ({QUICK.test_videos} test and {QUICK.train_videos} training videos, "
                   f"{' and '.join(f'{n:,}' for n in QUICK.kernel_segments)} segments) and short rounds: seconds on "
                   "a laptop; the ratios are noisier")
    p.add_argument("--repeat", type=integer(1, 1000), metavar="N",
                   help=f"interleaved rounds per table (default {FULL.repeat}, --quick {QUICK.repeat})")
    p.add_argument("--threads", type=integer(1, MAX_THREADS), metavar="N",
                   help="threads of the multi-threaded rows; 1 leaves them out (default: all cores)")
    p.add_argument("--seed", type=integer(0), default=0, help="seed of the generated workloads, >= 0 (default 0)")
    p.add_argument("--only", type=_table_names, action="extend", metavar="TABLE[,TABLE]",
                   help=f"measure only these tables: {', '.join(TABLE_NAMES)} (comma-separated or repeated; "
                   "default: all)")
    p.add_argument("--json", metavar="OUT", help="write the measured numbers and their provenance as JSON")
    p.set_defaults(func=run)
    return p
