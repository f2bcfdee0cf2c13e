"""``tadfuse data {synth,info,convert,export-gt}``: synthetic datasets, summaries, layout
conversion and ground-truth export.

Options mean the same in every action: ``--name``, ``--features`` and ``--annotation-dir``
choose what is read of (or, ``--name`` with ``--to wtalc``, written as) a W-TALC bundle;
``--fps``, ``--stride``, ``--offset``, ``--rescaled`` and ``--missing`` say how a per-video
folder dataset is read. An option the action would ignore for its input is an error.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from tadfuse.cli._args import add_command, integer, real
from tadfuse.cli._errors import unwarned
from tadfuse.errors import DataFormatError, InvalidArgumentError

__all__ = ["add_parser"]

_WTALC_OPTIONS = ("name", "features", "annotation_dir")
#: The ``tadfuse data synth`` options that only some kinds take.
_KIND_OPTIONS: dict[str, tuple[str, ...]] = {
    "toy": ("num_videos", "num_classes"),
    "thumos14-structured": (),
    "anet-structured": ("num_videos", "split_fractions"),
}
_FOLDER_OPTIONS = ("fps", "stride", "offset", "rescaled", "missing")


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _given(args: argparse.Namespace, dests: tuple[str, ...]) -> list[str]:
    """The flags among ``dests`` that were given (not at their default)."""
    return [_flag(d) for d in dests if getattr(args, d, None) is not None and getattr(args, d) is not False]


def _reject(args: argparse.Namespace, dests: tuple[str, ...], why: str) -> None:
    given = _given(args, dests)
    if given:
        raise InvalidArgumentError(f"tadfuse data {args.data_command}: {', '.join(given)} "
                                   f"{'applies' if len(given) == 1 else 'apply'} to {why}")


def _layout(path: Path) -> str | None:
    """``"folders"`` for a per-video folder dataset, ``"wtalc"`` for a W-TALC bundle, else None."""
    from tadfuse.data._base import wtalc_annotation_dirs

    if (path / "annotations.json").is_file():
        return "folders"
    return "wtalc" if path.is_dir() and wtalc_annotation_dirs(path) else None


def _folder_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """`tadfuse.data.load_folders` keywords from the folder options."""
    kw: dict[str, Any] = {k: getattr(args, k) for k in ("fps", "stride", "offset") if getattr(args, k) is not None}
    if args.rescaled:
        kw["rescaled"] = True
    if args.missing is not None:
        kw["missing"] = args.missing
    return kw


def _load_wtalc(path: Path, args: argparse.Namespace, features: bool) -> Any:
    from tadfuse.data import load_wtalc

    feat: bool | str = (args.features or True) if features else False
    return load_wtalc(path, name=getattr(args, "name", None), features=feat, annotation_dir=args.annotation_dir)


# --------------------------------------------------------------------------------------------
# actions
# --------------------------------------------------------------------------------------------


def _synth(args: argparse.Namespace) -> int:
    from tadfuse.data import ANET_WITHHELD_FILE, load_dataset, synthesize

    if args.layout is not None and args.format == "folders":
        raise InvalidArgumentError("tadfuse data synth: --layout applies to --format wtalc only")
    kwargs: dict[str, Any] = dict(seed=args.seed, layout=args.layout or "flat", format=args.format,
                                  overwrite=args.overwrite)
    if args.feature_dim is not None:
        kwargs["feature_dim"] = args.feature_dim
    for dest in _KIND_OPTIONS["toy"] + _KIND_OPTIONS["anet-structured"]:
        if getattr(args, dest) is None:
            continue
        if dest not in _KIND_OPTIONS[args.kind]:
            kinds = " and ".join(k for k, opts in _KIND_OPTIONS.items() if dest in opts)
            raise InvalidArgumentError(f"tadfuse data synth: {_flag(dest)} applies to --kind {kinds} only")
        kwargs[dest] = getattr(args, dest)
    out = synthesize(args.kind, args.out, **kwargs)
    ds = load_dataset(out)
    ds.notes[:] = unwarned(ds.notes)
    print(ds.summary())
    if args.kind == "anet-structured" and (out / ANET_WITHHELD_FILE).is_file():
        print(f"  testing labels withheld: {out / ANET_WITHHELD_FILE}")
    return 0


def _fractions(text: str) -> tuple[float, float, float]:
    """An argparse type: ``TRAIN,VAL,TEST``, three numbers in [0, 1] (their sum is checked by
    the generator)."""
    parts = text.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) and 0 <= v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"must be three numbers in [0, 1] separated by commas, e.g. "
                                         f"0.5,0.25,0.25, got {text!r}")
    return values  # type: ignore[return-value]


def _info(args: argparse.Namespace) -> int:
    from tadfuse.data import VideoDataset, load_folders
    from tadfuse.data._base import warn_if_mixed

    path = Path(args.path)
    ds: VideoDataset
    if _layout(path) == "folders":
        _reject(args, _WTALC_OPTIONS, f"W-TALC bundles; {path} is a per-video folder dataset")
        if args.no_features:  # annotations only: a timebase is optional
            _reject(args, ("rescaled", "missing"), "reading features (not with --no-features)")
            warn_if_mixed(path, "the per-video folders (annotations.json)")
            ds = load_folders(None, path / "annotations.json", **_folder_kwargs(args))
        else:
            ds = load_folders(path, **_folder_kwargs(args))
    else:
        _reject(args, _FOLDER_OPTIONS, f"per-video folder datasets (annotations.json); {path} is not one")
        ds = _load_wtalc(path, args, features=not args.no_features)
    ds.notes[:] = unwarned(ds.notes)
    print(ds.summary())
    if args.validate and ds.has_features:
        ds.validate()
        print("  all features finite")
    return 0


def _convert(args: argparse.Namespace) -> int:
    from tadfuse.data import folders_to_wtalc, load_dataset, load_folders, wtalc_to_folders

    src = Path(args.src)
    found = _layout(src)
    if found is None:
        raise DataFormatError(f"{src}: no dataset found (neither a per-video folder dataset with annotations.json "
                              "nor a W-TALC bundle)")
    if args.to == "folders":
        if found == "folders" and not (src.is_dir() and _has_wtalc(src)):
            raise InvalidArgumentError(f"tadfuse data convert: {src} is a per-video folder dataset already; "
                                       "--to folders converts a W-TALC bundle (--to wtalc converts this one)")
        _reject(args, (*_FOLDER_OPTIONS, "layout"), "--to wtalc only (a W-TALC source has its own timebase and layout)")
        out = wtalc_to_folders(_load_wtalc(src, args, features=True), args.out, overwrite=args.overwrite)
    else:
        if found == "wtalc":
            raise InvalidArgumentError(f"tadfuse data convert: {src} is a W-TALC bundle already; --to wtalc "
                                       "converts a per-video folder dataset (--to folders converts this one)")
        _reject(args, ("features", "annotation_dir"), "--to folders only (they choose what is read of a W-TALC source)")
        ds = load_folders(src, **_folder_kwargs(args))
        out = folders_to_wtalc(ds, args.out, name=args.name or "Custom", layout=args.layout or "flat",
                               overwrite=args.overwrite)
    ds_out = load_dataset(out)
    ds_out.notes[:] = unwarned(ds_out.notes)
    print(ds_out.summary())
    return 0


def _has_wtalc(path: Path) -> bool:
    from tadfuse.data._base import wtalc_annotation_dirs

    return bool(wtalc_annotation_dirs(path))


def _export_gt(args: argparse.Namespace) -> int:
    from tadfuse.annotations import write_activitynet_ground_truth
    from tadfuse.data import load_folders
    from tadfuse.data._base import warn_if_mixed

    path = Path(args.dataset)
    if _layout(path) == "folders":
        _reject(args, ("annotation_dir",), f"W-TALC bundles; {path} is a per-video folder dataset")
        warn_if_mixed(path, "the per-video folders (annotations.json)")
        ann = path / "annotations.json"
        if Path(args.out).resolve() == ann.resolve():
            raise InvalidArgumentError(f"tadfuse data export-gt: --out {args.out} is the dataset's own annotation "
                                       "file; choose another path")
        ds = load_folders(None, ann)
    else:
        ds = _load_wtalc(path, args, features=False)
    gt = ds.ground_truth(args.subset)
    out = write_activitynet_ground_truth(args.out, gt)
    which = f" (subset {args.subset!r})" if args.subset else ""
    print(f"wrote {out}: {len(gt.videos)} videos{which}, {len(gt)} segments, {len(gt.class_names)} classes")
    return 0


# --------------------------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------------------------


def _wtalc_options(p: argparse.ArgumentParser, which: str, *, features: bool = True) -> None:
    g = p.add_argument_group(f"W-TALC bundles ({which})")
    if features:
        g.add_argument("--name", help="dataset name: read <NAME>-I3D-JOINTFeatures.npy (default: the only "
                       "*-JOINTFeatures.npy in the folder)")
        g.add_argument("--features", metavar="FILE", help="the feature file to read (instead of looking for one)")
    g.add_argument("--annotation-dir", metavar="DIR",
                   help="the annotation folder to read (default: the folder itself or its only *-Annotations/)")


def _folder_options(p: argparse.ArgumentParser, which: str, *, missing: bool = True) -> None:
    g = p.add_argument_group(f"per-video folder datasets ({which}); see tadfuse.data.load_folders")
    g.add_argument("--fps", type=real(0.0, lo_open=True), help="frames per second of every video (with --stride)")
    g.add_argument("--stride", type=real(0.0, lo_open=True), help="frames per snippet")
    g.add_argument("--offset", type=real(0.0), help="frames before the first snippet (default 0)")
    g.add_argument("--rescaled", action="store_true",
                   help="features were resampled to a fixed length: snippet seconds = duration / T")
    if missing:
        g.add_argument("--missing", choices=("error", "skip"),
                       help="a video without a feature file: error (default) or skip it with a warning")


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``tadfuse data`` and its actions."""
    p = add_command(subparsers, "data", parents=parents,
                    help="synthetic datasets, dataset summaries, layout conversion and ground-truth export")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    s = add_command(sub, "synth", parents=parents, help="write a synthetic dataset (W-TALC layout by default)",
                    description="Write a synthetic dataset with planted ground truth.")
    s.add_argument("--kind", choices=tuple(_KIND_OPTIONS), required=True,
                   help="toy: small and fast; thumos14-structured: THUMOS14's real annotation structure; "
                   "anet-structured: ActivityNet 1.3's measured structure (200 classes, testing labels withheld)")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--seed", type=integer(0), default=0, help="random seed, >= 0 (default 0)")
    s.add_argument("--feature-dim", type=integer(1),
                   help="feature dimension (default: toy 32, thumos14-structured 2048, anet-structured 64)")
    s.add_argument("--num-videos", type=integer(2),
                   help="toy: number of videos, >= 2 (default 40); anet-structured: >= 4 (default 400)")
    s.add_argument("--num-classes", type=integer(1), help="toy: number of classes (default 4)")
    s.add_argument("--split-fractions", type=_fractions, metavar="TRAIN,VAL,TEST",
                   help="anet-structured: fractions of the videos in training, validation and testing, summing "
                   "to 1 (default 0.5,0.25,0.25)")
    s.add_argument("--layout", choices=("flat", "annotations-subfolder"),
                   help="--format wtalc: flat (RSKP/GauFuse, default) or annotations-subfolder (W-TALC)")
    s.add_argument("--format", choices=("wtalc", "folders"), default="wtalc",
                   help="wtalc bundle (default) or per-video folders + annotations.json")
    s.add_argument("--overwrite", action="store_true",
                   help="replace an existing dataset in --out (its files of either layout are removed)")
    s.set_defaults(func=_synth)

    i = add_command(sub, "info", parents=parents, help="summarise a dataset folder (either layout)")
    i.add_argument("path", help="W-TALC bundle/annotation folder or per-video folder dataset")
    i.add_argument("--no-features", action="store_true", help="read the annotations only")
    i.add_argument("--validate", action="store_true", help="read every feature once and check it")
    _wtalc_options(i, "PATH is one")
    _folder_options(i, "PATH is one")
    i.set_defaults(func=_info)

    c = add_command(sub, "convert", parents=parents, help="convert between the W-TALC bundle and per-video folders")
    c.add_argument("src", help="source dataset folder")
    c.add_argument("out", help="output folder")
    c.add_argument("--to", choices=("folders", "wtalc"), required=True, help="target layout")
    c.add_argument("--layout", choices=("flat", "annotations-subfolder"),
                   help="--to wtalc: bundle layout (default flat)")
    c.add_argument("--overwrite", action="store_true",
                   help="replace an existing dataset in OUT (its files of either layout are removed)")
    _wtalc_options(c, "--to folders: the source; --name with --to wtalc: the name written, default Custom")
    _folder_options(c, "--to wtalc: the source")
    c.set_defaults(func=_convert)

    e = add_command(sub, "export-gt", parents=parents,
                    help="write a dataset's ground truth as ActivityNet JSON (seconds)",
                    description="Write the ground truth of a dataset folder (either layout) as an ActivityNet "
                    "ground-truth JSON in seconds, with tadfuse's extensions (class order, ambiguous intervals, "
                    "timebase), for tadfuse eval --gt or other evaluators.")
    e.add_argument("dataset", help="W-TALC bundle/annotation folder or per-video folder dataset")
    e.add_argument("--out", required=True, metavar="GT.json", help="output JSON file")
    e.add_argument("--subset", help="only this subset; train and test name the dataset's train/test subsets")
    _wtalc_options(e, "DATASET is one", features=False)
    e.set_defaults(func=_export_gt)
    return p
