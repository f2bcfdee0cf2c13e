"""``tadfuse eval``: detection mAP of an ActivityNet result JSON under a named protocol."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from tadfuse.cli._args import add_command, real
from tadfuse.cli._errors import unwarned
from tadfuse.errors import DataFormatError

__all__ = ["add_parser", "read_video_list", "run"]


def read_video_list(path: str) -> list[str]:
    """Video names from a text file: the first field of each line; blank and ``#`` lines skipped."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise FileNotFoundError(f"{p}: video list not found") from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{p}: the video list is not a UTF-8 text file ({exc})") from None
    return [ln.split()[0] for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def run(args: argparse.Namespace) -> int:
    from tadfuse.annotations import atomic_write_json
    from tadfuse.data import THUMOS14_COMMONLY_EXCLUDED
    from tadfuse.evaluation import evaluate

    exclude = list(args.exclude or [])
    if args.thumos_list is not None:
        drop = {212: 0, 211: 1, 210: 2}[args.thumos_list]
        exclude += [v for v in THUMOS14_COMMONLY_EXCLUDED[:drop] if v not in exclude]
    result = evaluate(
        args.gt,
        args.pred,
        tiou_thresholds=args.tiou,
        protocol=args.protocol,
        subset=args.subset,
        videos=read_video_list(args.videos) if args.videos else None,
        exclude=exclude,
        snippet_seconds=args.snippet_seconds,
        unknown_videos=args.unknown_videos,
        ambiguous=args.ambiguous,
        zero_map_bug=args.zero_map_bug,
        integer_labels=args.integer_labels,
    )
    print(dataclasses.replace(result, notes=tuple(unwarned(result.notes))))  # the file keeps every note
    if args.per_class:
        width = max(len(c) for c in result.ap_per_class)
        print("\nAP (%) per class")
        print(" " * width + "  " + "  ".join(f"{t:>6g}" for t in result.tiou_thresholds))
        for c, ap in result.ap_per_class.items():
            print(c.ljust(width) + "  " + "  ".join(f"{100 * a:6.2f}" for a in ap))
    if args.json:
        atomic_write_json(args.json, result.to_dict())
        print(f"wrote {args.json}")
    return 0


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``tadfuse eval``."""
    p = add_command(
        subparsers, "eval", parents=parents,
        help="detection mAP of predictions against ground truth (protocols anet, wtalc)",
        description="Detection mAP under a named protocol. Prints the papers' table with the "
        "protocol and the evaluated video list (count and SHA-1).",
    )
    p.add_argument("--gt", required=True,
                   help="ground truth: ActivityNet JSON, a W-TALC bundle/annotation folder, or a "
                   "per-video folder dataset (with annotations.json)")
    p.add_argument("--pred", required=True, help="predictions: ActivityNet result JSON (seconds)")
    p.add_argument("--protocol", choices=("anet", "wtalc"), default="anet",
                   help="anet: official ActivityNet semantics; wtalc: W-TALC/RSKP/GauFuse in-house (default anet)")
    p.add_argument("--subset", help="evaluate this split (wtalc defaults to 'test')")
    p.add_argument("--tiou", type=real(0.0, 1.0, lo_open=True), nargs="+", metavar="T",
                   help="tIoU thresholds in (0, 1] (default 0.1..0.7 for wtalc, 0.5..0.95 for anet)")
    p.add_argument("--videos", metavar="FILE", help="file with the video names to evaluate, one per line")
    p.add_argument("--exclude", nargs="+", metavar="VIDEO", help="videos to leave out (predictions too)")
    p.add_argument("--thumos-list", type=int, choices=(212, 211, 210),
                   help="THUMOS14 test list: 211 drops video_test_0000270, 210 also video_test_0001496")
    p.add_argument("--snippet-seconds", type=real(0.0, lo_open=True),
                   help="seconds per snippet (overrides the ground truth's timebase)")
    p.add_argument("--unknown-videos", choices=("false_positive", "drop", "error"),
                   help="predictions on videos outside the evaluated list (default: anet false_positive, wtalc drop)")
    p.add_argument("--ambiguous", metavar="FILE", help="wtalc: Ambiguous_test.txt to use instead of the ground truth's")
    p.add_argument("--zero-map-bug", action="store_true",
                   help="wtalc: reproduce the original's mAP 0 when a class has no prediction")
    p.add_argument("--integer-labels", choices=("name", "index"), default="name",
                   help="integer labels in --pred: 'name' matches 3 to the class named '3' (default); "
                   "'index' reads 3 as a position in the ground truth's class list")
    p.add_argument("--per-class", action="store_true", help="also print AP per class")
    p.add_argument("--json", metavar="OUT", help="write the result (fractions, video list, notes) as JSON")
    p.set_defaults(func=run)
    return p
