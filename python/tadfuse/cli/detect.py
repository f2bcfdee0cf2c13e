"""``tadfuse detect``: post-processing only. TCAMs and video scores from a TCAM folder
(`tadfuse.tcam_io`) in, ActivityNet detections JSON (seconds) out, through
`tadfuse.detect_batch` with a configuration from ``--preset``/``--config``/``--set``/
``--postprocess``. For people who have their own model: write its TCAMs with
`tadfuse.tcam_io.write_tcam_meta` and `tadfuse.tcam_io.write_tcam`, then run this.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tadfuse.cli._args import add_command, add_config_options, integer, resolve_config
from tadfuse.errors import DataFormatError
from tadfuse.postprocess import MAX_THREADS

__all__ = ["BATCH_VIDEOS", "add_parser", "run"]

#: Videos read and post-processed per `detect_batch` call (bounds the TCAMs held in memory).
BATCH_VIDEOS = 256


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from tadfuse.annotations import write_activitynet_results
    from tadfuse.postprocess import detect_batch
    from tadfuse.proposals import Proposals
    from tadfuse.tcam_io import read_tcam_folder

    tcams = read_tcam_folder(args.cas)
    if not len(tcams):
        raise DataFormatError(f"{args.cas}: no <video>.npz TCAM files")
    config = resolve_config(args)
    meta = tcams.meta
    c = meta.num_classes  # the background column, if any, is dropped: it is never detected
    detections: dict[str, Proposals] = {}
    bar = tqdm(total=len(tcams), desc="detect", unit="video", disable=None, leave=False)
    for start in range(0, len(tcams), BATCH_VIDEOS):
        chunk = [tcams.read(v) for v in tcams.videos[start:start + BATCH_VIDEOS]]
        out = detect_batch([r.tcam[:, :c] for r in chunk], [r.video_scores[:c] for r in chunk],
                           config.postprocess, num_threads=args.threads)
        detections.update(zip((r.video for r in chunk), out))
        bar.update(len(chunk))
    bar.close()
    provenance = {"preset": config.preset, "config": config.to_dict(),
                  "inputs": {"command": "tadfuse detect", "cas": str(Path(args.cas).resolve()),
                             "cas_provenance": dict(meta.provenance)}}
    path = write_activitynet_results(args.out, detections, meta.class_names, snippet_seconds=meta.snippet_seconds,
                                     offset_seconds=meta.offset_seconds, provenance=provenance)
    n = sum(len(p) for p in detections.values())
    print(f"wrote {path}: {n} detections in {len(detections)} videos "
          f"({config.postprocess.method}, preset {config.preset})")
    return 0


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``tadfuse detect``."""
    p = add_command(
        subparsers, "detect", parents=parents,
        help="post-process TCAMs into detections: a TCAM folder in, ActivityNet detections JSON out",
        description="Detections from TCAMs and video scores (a TCAM folder: <video>.npz with tcam (l, K) and "
        "video_scores (K,), and meta.json; see tadfuse.tcam_io) through tadfuse.detect_batch, written as an "
        "ActivityNet result JSON in seconds (snippets x the folder's snippet_seconds + offset_seconds) that "
        "records the configuration used. A background column is never detected.",
    )
    p.add_argument("--cas", required=True, metavar="FOLDER", help="TCAM folder")
    p.add_argument("--out", required=True, metavar="PRED.json", help="output detections JSON")
    p.add_argument("--threads", type=integer(1, MAX_THREADS), metavar="N", help="worker threads (default: all cores)")
    add_config_options(p, method=True)
    p.set_defaults(func=run)
    return p
