"""``tadfuse infer``: a checkpoint and a dataset in, ActivityNet detections JSON (seconds) out
(`tadfuse.engine.infer`), optionally with the raw TCAMs as a TCAM folder (``--save-raw``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tadfuse.cli._args import add_command, add_config_options, config_overrides
from tadfuse.errors import DataFormatError

__all__ = ["add_parser", "run"]


def _save_raw(folder: str, inference: Any, provenance: dict[str, Any]) -> None:
    from tadfuse.tcam_io import write_tcam, write_tcam_meta

    timebases = {(inference.snippet_seconds[v], inference.offset_seconds[v]) for v in inference.videos}
    if len(timebases) != 1:
        raise DataFormatError(f"--save-raw {folder}: the videos have {len(timebases)} different timebases "
                              f"(snippet seconds, offset); a TCAM folder holds one")
    (ss, off), = timebases
    write_tcam_meta(folder, class_names=list(inference.class_names), background=True, snippet_seconds=ss,
                    offset_seconds=off, producer="tadfuse infer", provenance=provenance)
    for video, tcam, scores in zip(inference.videos, inference.tcams, inference.video_scores):
        write_tcam(folder, video, tcam, scores)


def run(args: argparse.Namespace) -> int:
    from tadfuse.annotations import write_activitynet_results
    from tadfuse.engine import infer

    inference = infer(args.checkpoint, args.data, split=args.split, preset=args.preset, config_file=args.config,
                      overrides=config_overrides(args), device=args.device)
    config = inference.config
    detections = inference.detections()
    inputs = {"command": "tadfuse infer", **inference.provenance}
    provenance = {"preset": config.preset, "config": config.to_dict(), "inputs": inputs}
    if args.save_raw is not None:
        _save_raw(args.save_raw, inference, provenance)
    path = write_activitynet_results(args.out, detections, list(inference.class_names),
                                     snippet_seconds=inference.snippet_seconds, offset_seconds=inference.offset_seconds,
                                     durations=inference.durations, provenance=provenance)
    n = sum(len(p) for p in detections.values())
    print(f"wrote {path}: {n} detections in {len(detections)} videos ({config.postprocess.method}, preset "
          f"{config.preset}{', released test path' if inputs['released_test_path'] else ''})")
    if args.save_raw is not None:
        print(f"wrote {Path(args.save_raw)}: {len(inference.videos)} TCAMs (tcam (l, C+1), video_scores (C+1,))")
    return 0


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``tadfuse infer``."""
    p = add_command(
        subparsers, "infer", parents=parents,
        help="detections of a trained model: checkpoint + dataset in, ActivityNet detections JSON out",
        description="Run a checkpoint over a split of a dataset and post-process its TCAMs (the background column "
        "is never detected). CKPT is a run folder (its checkpoints/last.pt), a tadfuse checkpoint, or a released "
        "GauFuse/RSKP .pkl (configuration: --preset, default official; its TCAMs follow the released test path). "
        "The JSON records the configuration, the inputs and exact snippet boundaries; seconds are clipped to the "
        "videos' durations.",
    )
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="run folder, tadfuse checkpoint or released .pkl")
    p.add_argument("--data", required=True, metavar="DIR", help="dataset folder (W-TALC bundle or per-video folders)")
    p.add_argument("--split", default="test", metavar="SPLIT", help="train, test or a subset name (default test)")
    p.add_argument("--out", required=True, metavar="PRED.json", help="output detections JSON")
    p.add_argument("--save-raw", metavar="RAWDIR",
                   help="also write the TCAMs and video scores the post-processing consumed as a TCAM folder")
    p.add_argument("--device", metavar="D", help="torch device, e.g. cpu or cuda:0 (default: cuda if available)")
    add_config_options(p, method=True)
    p.set_defaults(func=run)
    return p
