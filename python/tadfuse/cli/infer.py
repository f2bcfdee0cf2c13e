"""``tadfuse infer``: a checkpoint and a dataset in, detections out (ActivityNet JSON or JSON lines,
seconds), streamed (`tadfuse.engine.inference.infer_to_file`): resumable (``--resume``), the raw
TCAMs saved (``--save-raw``) or post-processed again without the network (``--from-raw``)."""

from __future__ import annotations

import argparse
from typing import Any

from tadfuse.cli._args import add_command, add_config_options, config_overrides, integer
from tadfuse.errors import InvalidArgumentError

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    from tadfuse.config import load_config
    from tadfuse.engine.inference import infer_to_file

    if args.engine == "ray":
        ray_only = [f for f, v in (("--from-raw", args.from_raw), ("--resume", args.resume or None),
                                   ("--format jsonl", args.format == "jsonl" or None)) if v is not None]
        if ray_only:
            raise InvalidArgumentError(f"--engine ray writes one JSON at the end: drop {', '.join(ray_only)}")
        from tadfuse.cli._ray import run_ray

        return run_ray(args)
    common = dict(fmt=args.format, resume=args.resume, on_error=args.on_error, window=args.window,
                  queue_size=args.queue_size, num_threads=args.threads)
    if args.from_raw is not None:
        given = [f for f, v in (("--checkpoint", args.checkpoint), ("--data", args.data),
                                ("--save-raw", args.save_raw), ("--device", args.device)) if v is not None]
        if given:
            raise InvalidArgumentError(f"--from-raw reads TCAMs: drop {', '.join(given)}")
        config = load_config(args.preset, args.config, config_overrides(args))
        res = infer_to_file(args.out, from_raw=args.from_raw, config=config, **common)  # type: ignore[arg-type]
    else:
        if args.checkpoint is None or args.data is None:
            raise InvalidArgumentError("--checkpoint and --data are required (or --from-raw RAWDIR)")
        res = infer_to_file(args.out, args.checkpoint, args.data, split=args.split, preset=args.preset,
                            config_file=args.config, overrides=config_overrides(args), device=args.device,
                            save_raw=args.save_raw, **common)  # type: ignore[arg-type]
    preset, method = res.provenance["preset"], res.provenance["config"]["postprocess"]["method"]
    sec = res.seconds
    print(f"wrote {res.path}: {res.detections} detections in {res.videos} videos"
          f" ({method}, preset {preset})"
          f"{f'; {res.resumed} done before (--resume)' if res.resumed else ''}"
          f"{f'; {len(res.skipped)} skipped (--on-error skip)' if res.skipped else ''}")
    print("time: " + ", ".join(f"{k.replace('_', '+')} {v:.2f} s" for k, v in sec.items()))
    if args.save_raw is not None:
        print(f"wrote {args.save_raw}: TCAMs (tcam (l, C+1), video_scores (C+1,))")
    return 0


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``tadfuse infer``."""
    p = add_command(
        subparsers, "infer", parents=parents,
        help="detections of a trained model: checkpoint + dataset in, ActivityNet detections JSON out",
        description="Run a checkpoint over a split of a dataset and post-process its TCAMs (the background column "
        "is never detected), streaming: the forward passes and the post-processing overlap, memory stays bounded, "
        "and the output is written so that a crash never leaves a corrupt file (--resume continues). CKPT is a run "
        "folder (its checkpoints/last.pt), a tadfuse checkpoint, or a released GauFuse/RSKP .pkl (configuration: "
        "--preset, default official; its TCAMs follow the released test path). The output records the "
        "configuration, the inputs and exact snippet boundaries, videos sorted by name; seconds are clipped to "
        "the videos' durations.",
    )
    p.add_argument("--checkpoint", metavar="CKPT", help="run folder, tadfuse checkpoint or released .pkl")
    p.add_argument("--data", metavar="DIR", help="dataset folder (W-TALC bundle or per-video folders)")
    p.add_argument("--split", default="test", metavar="SPLIT", help="train, test or a subset name (default test)")
    p.add_argument("--out", required=True, metavar="PRED", help="output detections file")
    p.add_argument("--format", choices=("json", "jsonl"), default="json",
                   help="json: ActivityNet results (default); jsonl: a provenance header line, then one line per "
                        "video {\"video\", \"detections\"}")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run with the same settings: the videos in PRED.partial.jsonl are "
                        "kept, the others computed")
    p.add_argument("--save-raw", metavar="RAWDIR",
                   help="also write the TCAMs and video scores the post-processing consumed as a TCAM folder")
    p.add_argument("--from-raw", metavar="RAWDIR",
                   help="post-process a TCAM folder (of --save-raw) instead: no checkpoint, no features")
    p.add_argument("--on-error", choices=("fail", "skip"), default="fail",
                   help="a video whose feature (or raw TCAM) file is corrupt: fail (default) or skip it with a "
                        "warning naming the file (counted in the provenance)")
    p.add_argument("--window", type=integer(1), metavar="N",
                   help="videos per forward window (default: four forward batches; 256 with --from-raw)")
    p.add_argument("--queue-size", type=integer(1), default=4, metavar="N",
                   help="windows waiting for the post-processing at most (default 4)")
    p.add_argument("--threads", type=integer(1), metavar="N", help="post-processing threads (default: all cores)")
    p.add_argument("--device", metavar="D", help="torch device, e.g. cpu or cuda:0 (default: cuda if available)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: this process, streaming (default); ray: Ray Data over the cluster of ray.init() "
                        "(needs the ray extra; docs/scale-out.md)")
    add_config_options(p, method=True)
    p.set_defaults(func=run)
    return p
