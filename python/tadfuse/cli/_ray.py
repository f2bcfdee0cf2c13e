"""The Ray engine of ``tadfuse infer`` (`tadfuse.engine.ray_infer.infer_ray`), for the command
that owns the ``--engine`` flag to call: :func:`run_ray` takes that command's parsed arguments
(``checkpoint``, ``data``, ``split``, ``out``, ``preset``, ``config``, ``set``, ``postprocess``,
and optionally ``save_raw``, ``device``) and writes the same detections JSON."""

from __future__ import annotations

import argparse

from tadfuse.cli._args import config_overrides
from tadfuse.errors import InvalidArgumentError

__all__ = ["run_ray"]


def run_ray(args: argparse.Namespace) -> int:
    """``tadfuse infer --engine ray``: the detections JSON at ``args.out``; prints one summary line."""
    if getattr(args, "save_raw", None) is not None:
        raise InvalidArgumentError("--save-raw is not available with --engine ray (the TCAMs stay on the workers)")
    device = getattr(args, "device", None)
    if device is not None:
        raise InvalidArgumentError("--device does not apply to --engine ray (actors take a GPU each where the Ray "
                                   "cluster has GPUs)")
    from tadfuse.engine.ray_infer import infer_ray

    result = infer_ray(args.checkpoint, args.data, args.out, split=args.split, preset=args.preset,
                       config_file=args.config, overrides=config_overrides(args))
    n = sum(len(p) for p in result.detections.values())
    p = result.provenance
    print(f"wrote {result.path}: {n} detections in {len(result.detections)} videos (Ray {p['ray_version']}, "
          f"{p['model_actors']} model actor(s), {p['gpus_per_actor']:g} GPU each)")
    return 0
