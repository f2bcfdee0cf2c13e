"""The ``tadfuse eval``, ``tadfuse data`` and ``tadfuse plot`` sub-commands.

`tadfuse.cli` adds them with `add_eval_command`, `add_data_command` and `add_plot_command`;
each sets ``func`` on the parsed namespace to a handler returning the exit status. Heavy modules
are imported inside the handlers so that ``tadfuse --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_data_command", "add_eval_command", "add_plot_command"]


def _read_video_list(path: str) -> list[str]:
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise FileNotFoundError(f"{p}: video list not found") from None
    return [ln.split()[0] for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


# --------------------------------------------------------------------------------------------
# eval
# --------------------------------------------------------------------------------------------


def _eval(args: argparse.Namespace) -> int:
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
        videos=_read_video_list(args.videos) if args.videos else None,
        exclude=exclude,
        snippet_seconds=args.snippet_seconds,
        unknown_videos=args.unknown_videos,
        ambiguous=args.ambiguous,
        zero_map_bug=args.zero_map_bug,
        integer_labels=args.integer_labels,
    )
    print(result)
    if args.per_class:
        width = max(len(c) for c in result.ap_per_class)
        print("\nAP (%) per class")
        print(" " * width + "  " + "  ".join(f"{t:>6g}" for t in result.tiou_thresholds))
        for c, ap in result.ap_per_class.items():
            print(c.ljust(width) + "  " + "  ".join(f"{100 * a:6.2f}" for a in ap))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=1))
        print(f"wrote {args.json}")
    return 0


def add_eval_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``tadfuse eval``: detection mAP of an ActivityNet result JSON under a named protocol."""
    p = subparsers.add_parser(
        "eval",
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
    p.add_argument("--tiou", type=float, nargs="+", metavar="T",
                   help="tIoU thresholds (default 0.1..0.7 for wtalc, 0.5..0.95 for anet)")
    p.add_argument("--videos", metavar="FILE", help="file with the video names to evaluate, one per line")
    p.add_argument("--exclude", nargs="+", metavar="VIDEO", help="videos to leave out (predictions too)")
    p.add_argument("--thumos-list", type=int, choices=(212, 211, 210),
                   help="THUMOS14 test list: 211 drops video_test_0000270, 210 also video_test_0001496")
    p.add_argument("--snippet-seconds", type=float, help="seconds per snippet (overrides the ground truth's timebase)")
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
    p.set_defaults(func=_eval)
    return p


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


def _data_synth(args: argparse.Namespace) -> int:
    from tadfuse.data import load_dataset, synthesize

    if args.layout is not None and args.format == "folders":
        raise ValueError("tadfuse data synth: --layout applies to --format wtalc only")
    kwargs: dict[str, Any] = dict(seed=args.seed, layout=args.layout or "flat", format=args.format,
                                  overwrite=args.overwrite)
    if args.feature_dim is not None:
        kwargs["feature_dim"] = args.feature_dim
    if args.kind == "toy":
        kwargs.update(num_videos=40 if args.num_videos is None else args.num_videos,
                      num_classes=4 if args.num_classes is None else args.num_classes)
    elif args.num_videos is not None or args.num_classes is not None:
        raise ValueError("tadfuse data synth: --num-videos/--num-classes apply to --kind toy only")
    out = synthesize(args.kind, args.out, **kwargs)
    print(load_dataset(out).summary())
    return 0


def _data_info(args: argparse.Namespace) -> int:
    from tadfuse.data import VideoDataset, load_folders, load_wtalc
    from tadfuse.data._base import warn_if_mixed

    path = Path(args.path)
    ds: VideoDataset
    if (path / "annotations.json").is_file():
        if args.no_features:  # annotations only: a timebase is optional
            warn_if_mixed(path, "the per-video folders (annotations.json)")
            ds = load_folders(None, path / "annotations.json", **_timebase_kwargs(args))
        else:
            ds = load_folders(path, **_timebase_kwargs(args))
    else:
        ds = load_wtalc(path, features=not args.no_features)
    print(ds.summary())
    if args.validate and ds.has_features:
        ds.validate()
        print("  all features finite")
    return 0


def _timebase_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if getattr(args, "fps", None) is not None:
        kw["fps"] = args.fps
    if getattr(args, "stride", None) is not None:
        kw["stride"] = args.stride
    if getattr(args, "offset", None):
        kw["offset"] = args.offset
    if getattr(args, "rescaled", False):
        kw["rescaled"] = True
    return kw


def _data_convert(args: argparse.Namespace) -> int:
    from tadfuse.data import folders_to_wtalc, load_dataset, load_folders, wtalc_to_folders

    src = Path(args.src)
    if args.to == "folders":
        ignored = [opt for opt, given in (("--fps", args.fps is not None), ("--stride", args.stride is not None),
                                          ("--offset", args.offset is not None), ("--rescaled", args.rescaled),
                                          ("--name", args.name is not None), ("--layout", args.layout is not None))
                   if given]
        if ignored:
            raise ValueError(f"tadfuse data convert: {', '.join(ignored)} apply to --to wtalc only (a W-TALC "
                             "source has its own timebase, name and layout)")
        out = wtalc_to_folders(src, args.out, overwrite=args.overwrite)
    else:
        ds = load_folders(src, **_timebase_kwargs(args))
        out = folders_to_wtalc(ds, args.out, name=args.name or "Custom", layout=args.layout or "flat",
                               overwrite=args.overwrite)
    print(load_dataset(out).summary())
    return 0


def add_data_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``tadfuse data {synth,info,convert}``."""
    p = subparsers.add_parser("data", help="synthetic datasets, dataset summaries and layout conversion")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    s = sub.add_parser("synth", help="write a synthetic dataset (W-TALC layout by default)",
                       description="Write a synthetic dataset with planted ground truth.")
    s.add_argument("--kind", choices=("toy", "thumos14-structured"), required=True,
                   help="toy: small and fast; thumos14-structured: THUMOS14's real annotation structure")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--feature-dim", type=int, help="feature dimension (default: toy 32, thumos14-structured 2048)")
    s.add_argument("--num-videos", type=int, help="toy: number of videos (default 40)")
    s.add_argument("--num-classes", type=int, help="toy: number of classes (default 4)")
    s.add_argument("--layout", choices=("flat", "annotations-subfolder"),
                   help="--format wtalc: flat (RSKP/GauFuse, default) or annotations-subfolder (W-TALC)")
    s.add_argument("--format", choices=("wtalc", "folders"), default="wtalc",
                   help="wtalc bundle (default) or per-video folders + annotations.json")
    s.add_argument("--overwrite", action="store_true",
                   help="replace an existing dataset in --out (its files of either layout are removed)")
    s.set_defaults(func=_data_synth)

    i = sub.add_parser("info", help="summarise a dataset folder (either layout)")
    i.add_argument("path", help="W-TALC bundle/annotation folder or per-video folder dataset")
    i.add_argument("--no-features", action="store_true", help="read the annotations only")
    i.add_argument("--validate", action="store_true", help="read every feature once and check it")
    for a, kw in (("--fps", dict(type=float)), ("--stride", dict(type=float)),
                  ("--offset", dict(type=float, default=0.0)), ("--rescaled", dict(action="store_true"))):
        i.add_argument(a, help="folder datasets: timebase (see tadfuse.data.load_folders)", **kw)  # type: ignore[arg-type]
    i.set_defaults(func=_data_info)

    c = sub.add_parser("convert", help="convert between the W-TALC bundle and per-video folders")
    c.add_argument("src", help="source dataset folder")
    c.add_argument("out", help="output folder")
    c.add_argument("--to", choices=("folders", "wtalc"), required=True, help="target layout")
    c.add_argument("--name", help="--to wtalc: dataset name in the feature file name (default Custom)")
    c.add_argument("--layout", choices=("flat", "annotations-subfolder"),
                   help="--to wtalc: bundle layout (default flat)")
    for a, kw in (("--fps", dict(type=float)), ("--stride", dict(type=float)),
                  ("--offset", dict(type=float)), ("--rescaled", dict(action="store_true"))):
        c.add_argument(a, help="--to wtalc (folder sources): timebase (see tadfuse.data.load_folders)", **kw)  # type: ignore[arg-type]
    c.add_argument("--overwrite", action="store_true",
                   help="replace an existing dataset in OUT (its files of either layout are removed)")
    c.set_defaults(func=_data_convert)
    return p


# --------------------------------------------------------------------------------------------
# plot
# --------------------------------------------------------------------------------------------


def _plot(args: argparse.Namespace) -> int:
    import numpy as np

    from tadfuse.annotations import proposals_from_activitynet, read_activitynet_results
    from tadfuse.data import load_ground_truth
    from tadfuse.errors import MissingExtraError
    from tadfuse.proposals import SNIPPET_SECONDS
    from tadfuse.viz import _matplotlib, load_cas_file, save_timeline, timeline_rows_from_cas

    try:
        _matplotlib()  # before reading any input
    except ImportError:
        raise MissingExtraError('tadfuse plot needs matplotlib, an optional extra: pip install "tadfuse[plot]" '
                                "(or pip install matplotlib)") from None
    gt = load_ground_truth(args.gt) if args.gt else None
    cas, scores = load_cas_file(args.cas) if args.cas else ({}, {})
    class_names: list[str]
    if gt is not None:
        class_names = list(gt.class_names)
    else:
        labels: set[str] = set()
        for path in (args.pred, args.nms, args.proposals):
            if path:
                for dets in read_activitynet_results(path)["results"].values():
                    labels |= {str(d["label"]) for d in dets}
        class_names = sorted(labels)

    def timebase(vid: str) -> tuple[float, float]:
        if args.snippet_seconds is not None:
            return args.snippet_seconds, 0.0
        if gt is not None and vid in gt and np.isfinite(gt.snippet_seconds[gt.index(vid)]):
            i = gt.index(vid)
            return float(gt.snippet_seconds[i]), float(gt.offset_seconds[i])
        return SNIPPET_SECONDS, 0.0

    rows: dict[str, dict[str, Any]] = {}
    for key, path in (("fused", args.pred), ("nms", args.nms), ("proposals", args.proposals)):
        if path:
            data = read_activitynet_results(path)  # validated: names the file and what is wrong
            vids = [str(v) for v in data["results"]]
            ss = {v: timebase(v)[0] for v in vids}
            off = {v: timebase(v)[1] for v in vids}
            for vid, p in proposals_from_activitynet(data, class_names, snippet_seconds=ss, offset_seconds=off).items():
                rows.setdefault(vid, {})[key] = p
    if args.videos:
        videos = list(args.videos)
        known = set(cas) | set(rows) | (set(gt.videos) if gt is not None else set())
        unknown = [v for v in videos if v not in known]
        if unknown and len(unknown) == len(videos):
            raise ValueError(f"tadfuse plot: none of the --videos is in the inputs: {unknown[:5]}"
                             + (f" (e.g. {sorted(known)[:3]})" if known else ""))
        if unknown:
            print(f"tadfuse: warning: {len(unknown)} of the --videos are in none of the inputs and are "
                  f"skipped: {unknown[:5]}", file=sys.stderr)
            videos = [v for v in videos if v in known]
    else:
        videos = sorted(set(cas) | set(rows))
        if not videos and gt is not None:
            videos = list(gt.videos)
        videos = videos[: args.max_videos]
    if not videos:
        raise ValueError("tadfuse plot: no videos to plot (give --cas, --pred or --videos)")
    cfg = None
    if args.postprocess != "none" and cas:
        from tadfuse.config import PostprocessConfig

        cfg = PostprocessConfig.official() if args.postprocess == "official" else PostprocessConfig.paper()
    out = Path(args.out)
    for vid in videos:
        kw: dict[str, Any] = dict(rows.get(vid, {}))
        ss_v, off_v = timebase(vid)
        if vid in cas:
            kw["cas"] = cas[vid]
            if cfg is not None and not {"proposals", "fused", "nms"} <= set(kw):
                if vid in scores:
                    sc = scores[vid]
                else:  # no video scores: process the classes of the ground truth
                    sc = np.zeros(cas[vid].shape[1])
                    if gt is not None and vid in gt:
                        sc[[c for c in gt.segments(vid)[0] if c < sc.size]] = 1.0
                computed = timeline_rows_from_cas(cas[vid], sc, cfg)
                for k, v in computed.items():
                    kw.setdefault(k, v)
        if gt is not None and vid in gt:
            kw["ground_truth"] = gt.segments(vid)
            kw["ambiguous"] = gt.ambiguous(vid)
            if np.isfinite(gt.durations[gt.index(vid)]):
                kw["duration"] = float(gt.durations[gt.index(vid)])
        if not kw:
            print(f"skipped {vid}: nothing to draw", file=sys.stderr)
            continue
        path = save_timeline(out / f"{vid}.png", class_names=class_names, snippet_seconds=ss_v,
                             offset_seconds=off_v, title=vid, **kw)
        print(f"wrote {path}")
    return 0


def add_plot_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``tadfuse plot``: timeline PNGs (TCAM, proposals, fused, NMS, ground truth) per video."""
    p = subparsers.add_parser(
        "plot",
        help="timeline PNGs per video: TCAM, proposals, fused and NMS detections, ground truth",
        description="Write one timeline PNG per video into --out. Needs matplotlib "
        "(pip install 'tadfuse[plot]').",
    )
    p.add_argument("--out", required=True, help="output folder for <video>.png")
    p.add_argument("--gt", help="ground truth (ActivityNet JSON, W-TALC folder or folder dataset)")
    p.add_argument("--pred", help="fused detections, ActivityNet result JSON (seconds)")
    p.add_argument("--nms", help="NMS detections, ActivityNet result JSON (seconds)")
    p.add_argument("--proposals", help="raw proposals, ActivityNet result JSON (seconds)")
    p.add_argument("--cas", help="TCAMs: .npz with <video> -> (T, K) and optional <video>:scores -> (K,)")
    p.add_argument("--postprocess", choices=("official", "paper", "none"), default="official",
                   help="with --cas: compute the rows not given as files with this preset (default official)")
    p.add_argument("--videos", nargs="+", metavar="VIDEO", help="videos to plot (default: those in the inputs)")
    p.add_argument("--max-videos", type=int, default=20, help="at most this many videos when --videos is not given")
    p.add_argument("--snippet-seconds", type=float, help="seconds per snippet (default: the ground truth's, else 0.64)")
    p.set_defaults(func=_plot)
    return p
