"""``tadfuse plot``: one timeline PNG per video (TCAM, proposals, fused and NMS detections,
ground truth), drawn by `tadfuse.viz.save_timeline`."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

from tadfuse.cli._args import add_command, add_config_options, integer, real, resolve_config
from tadfuse.errors import DataFormatError, InvalidArgumentError, TadfuseWarning

__all__ = ["DEFAULT_MAX_VIDEOS", "add_parser", "run"]

#: Videos plotted when ``--videos`` is not given and ``--max-videos`` is not either.
DEFAULT_MAX_VIDEOS = 20


def _check_options(args: argparse.Namespace) -> None:
    """Options that would be ignored are errors."""
    config_given = [f for f, v in (("--preset", args.preset), ("--config", args.config), ("--set", args.set)) if v]
    if args.no_detect and not args.cas:
        raise InvalidArgumentError("tadfuse plot: --no-detect applies to --cas only")
    if config_given and (not args.cas or args.no_detect):
        raise InvalidArgumentError(f"tadfuse plot: {', '.join(config_given)} configure the rows computed from "
                                   "--cas (not given, or --no-detect)")
    if args.videos and args.max_videos is not None:
        raise InvalidArgumentError("tadfuse plot: --max-videos applies without --videos only")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from tadfuse.annotations import proposals_from_activitynet, read_activitynet_results
    from tadfuse.data import load_ground_truth
    from tadfuse.proposals import SNIPPET_SECONDS
    from tadfuse.tcam_io import read_tcam_folder
    from tadfuse.viz import _matplotlib, save_timeline, timeline_rows_from_cas

    _check_options(args)
    _matplotlib()  # MissingExtraError before reading any input
    gt = load_ground_truth(args.gt) if args.gt else None
    tcams = read_tcam_folder(args.cas) if args.cas else None
    cfg = resolve_config(args).postprocess if tcams is not None and not args.no_detect else None

    class_names: list[str]
    if tcams is not None and gt is not None and tuple(gt.class_names) != tcams.meta.class_names:
        raise DataFormatError(f"{Path(args.cas) / 'meta.json'}: class_names {list(tcams.meta.class_names)[:4]}... "
                              f"differ from the ground truth's ({gt.source}) {list(gt.class_names)[:4]}...")
    if gt is not None:
        class_names = list(gt.class_names)
    elif tcams is not None:
        class_names = list(tcams.meta.class_names)
    else:
        labels: set[str] = set()
        for path in (args.pred, args.nms, args.proposals):
            if path:
                for dets in read_activitynet_results(path)["results"].values():
                    labels |= {str(d["label"]) for d in dets}
        class_names = sorted(labels)

    def timebase(vid: str) -> tuple[float, float]:
        """Seconds per snippet and offset: --snippet-seconds, the TCAMs', the ground truth's, 0.64 s."""
        if args.snippet_seconds is not None:
            return args.snippet_seconds, 0.0
        if tcams is not None:
            return tcams.meta.snippet_seconds, tcams.meta.offset_seconds
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
    with_tcam = set(tcams.videos) if tcams is not None else set()
    if args.videos:
        videos = list(args.videos)
        known = with_tcam | set(rows) | (set(gt.videos) if gt is not None else set())
        unknown = [v for v in videos if v not in known]
        if unknown and len(unknown) == len(videos):
            raise InvalidArgumentError(f"tadfuse plot: none of the --videos is in the inputs: {unknown[:5]}"
                                       + (f" (e.g. {sorted(known)[:3]})" if known else ""))
        if unknown:
            warnings.warn(f"{len(unknown)} of the --videos are in none of the inputs and are skipped: {unknown[:5]}",
                          TadfuseWarning, stacklevel=1)
            videos = [v for v in videos if v in known]
    else:
        videos = sorted(with_tcam | set(rows))
        if not videos and gt is not None:
            videos = list(gt.videos)
        cap = DEFAULT_MAX_VIDEOS if args.max_videos is None else args.max_videos
        if len(videos) > cap:
            print(f"plotting the first {cap} of {len(videos)} videos by name (--max-videos N for more, "
                  "--videos to choose)")
            videos = videos[:cap]
    if not videos:
        raise InvalidArgumentError("tadfuse plot: no videos to plot (give --cas, --pred, --nms, --proposals or --gt)")

    # every input is read and checked before the first figure is written
    recs = {v: tcams.read(v) for v in videos if v in with_tcam} if tcams is not None else {}
    out = Path(args.out)
    for vid in videos:
        kw: dict[str, Any] = dict(rows.get(vid, {}))
        ss_v, off_v = timebase(vid)
        if vid in recs:
            assert tcams is not None
            rec = recs[vid]
            c = tcams.meta.num_classes  # the background column, if any, is not drawn
            kw["cas"] = rec.tcam[:, :c]
            if cfg is not None and not {"proposals", "fused", "nms"} <= set(kw):
                for k, v in timeline_rows_from_cas(kw["cas"], rec.video_scores[:c], cfg).items():
                    kw.setdefault(k, v)
        if gt is not None and vid in gt:
            kw["ground_truth"] = gt.segments(vid)
            kw["ambiguous"] = gt.ambiguous(vid)
            if np.isfinite(gt.durations[gt.index(vid)]):
                kw["duration"] = float(gt.durations[gt.index(vid)])
        if not kw:
            warnings.warn(f"{vid}: nothing to draw; skipped", TadfuseWarning, stacklevel=1)
            continue
        path = save_timeline(out / f"{vid}.png", class_names=class_names, snippet_seconds=ss_v,
                             offset_seconds=off_v, title=vid, **kw)
        print(f"wrote {path}")
    return 0


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``tadfuse plot``."""
    p = add_command(
        subparsers, "plot", parents=parents,
        help="timeline PNGs per video: TCAM, proposals, fused and NMS detections, ground truth",
        description="Write one timeline PNG per video into --out. Needs matplotlib "
        "(pip install 'tadfuse[plot]').",
    )
    p.add_argument("--out", required=True, help="output folder for <video>.png")
    p.add_argument("--gt", help="ground truth (ActivityNet JSON, W-TALC folder or folder dataset)")
    p.add_argument("--pred", help="fused detections, ActivityNet result JSON (seconds)")
    p.add_argument("--nms", help="NMS detections, ActivityNet result JSON (seconds)")
    p.add_argument("--proposals", help="raw proposals, ActivityNet result JSON (seconds)")
    p.add_argument("--cas", metavar="FOLDER",
                   help="TCAM folder (<video>.npz with tcam and video_scores, and meta.json; see tadfuse.tcam_io)")
    p.add_argument("--no-detect", action="store_true",
                   help="with --cas: draw the TCAM only; do not compute the proposal, fused and NMS rows from it")
    p.add_argument("--videos", nargs="+", metavar="VIDEO", help="videos to plot (default: those in the inputs)")
    p.add_argument("--max-videos", type=integer(1), metavar="N",
                   help=f"without --videos: plot the first N videos by name (default {DEFAULT_MAX_VIDEOS})")
    p.add_argument("--snippet-seconds", type=real(0.0, lo_open=True),
                   help="seconds per snippet (default: the TCAM folder's, else the ground truth's, else 0.64)")
    add_config_options(p, method=False)
    p.set_defaults(func=run)
    return p
