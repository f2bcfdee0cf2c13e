"""Per-video feature folders with ActivityNet-style JSON annotations, and converters to and from
the W-TALC bundle.

Layout (what `wtalc_to_folders` writes and `load_folders` reads by default)::

    root/
      features/<video>.npy     float (T, D), one row per snippet; memory-mapped on load
      annotations.json         {"database": {video: {"subset", "duration", "annotations":
                                 [{"segment": [start_s, end_s], "label"}]}}}

Any ActivityNet-style JSON works (ActivityNet 1.3, the THUMOS14 JSONs of ActionFormer/OpenTAD);
tadfuse adds optional keys that it reads when present: per video ``video_labels`` (the weak
labels, default: the labels of its segments) and ``ambiguous`` (``[[start_s, end_s], ...]``);
top level ``class_names`` (class order, default: sorted labels) and ``tadfuse``: ``{"snippet_seconds",
"offset_seconds", "train_subset", "test_subset"}``.

Timebase (explicit, never guessed): snippet ``k`` starts at ``(k * stride + offset) / fps``
seconds, i.e. ``snippet_seconds = stride / fps`` and ``offset_seconds = offset / fps`` with
``stride`` and ``offset`` in frames. Give ``fps`` and ``stride``; or ``stride`` alone to use each
video's ``fps`` entry in the JSON; or ``rescaled=True`` for features resampled to a fixed length
per video (``snippet_seconds = duration / T``, common for ActivityNet); or let the JSON's
``tadfuse`` block decide. Annotations alone (``features_dir=None``) need no timebase: it is then
unknown (NaN), and only conversions to snippets need it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np

from tadfuse.annotations import GroundTruth, atomic_write_json, provenance_record
from tadfuse.data._base import (
    DataFormatError,
    NpyFolderFeatures,
    VideoDataset,
    prepare_dataset_dir,
    resolve_subsets,
    warn,
    warn_if_mixed,
)
from tadfuse.data.wtalc import WtalcDataset, load_wtalc, write_wtalc
from tadfuse.errors import InvalidArgumentError

__all__ = ["FolderDataset", "folders_to_wtalc", "load_folders", "write_folders", "wtalc_to_folders"]

PathLike = Union[str, "os.PathLike[str]"]

class FolderDataset(VideoDataset):
    """Per-video feature folder + ActivityNet-style JSON. Extra attributes: ``features_dir``,
    ``annotations_path``."""

    features_dir: Path | None
    annotations_path: Path


def load_folders(
    features_dir: PathLike | None,
    annotations: PathLike | None = None,
    *,
    fps: float | None = None,
    stride: float | None = None,
    offset: float = 0.0,
    rescaled: bool = False,
    class_names: Sequence[str] | None = None,
    missing: Literal["error", "skip"] = "error",
    check_finite: bool = True,
    train_subset: str | None = None,
    test_subset: str | None = None,
) -> FolderDataset:
    """Load per-video features and an ActivityNet-style JSON.

    Parameters
    ----------
    features_dir
        Folder of ``<video>.npy`` files; ``None`` for annotations only. With ``annotations=None``
        this is the dataset root holding ``features/`` and ``annotations.json``.
    annotations
        The JSON file.
    fps, stride, offset
        The timebase (see the module docstring); ``stride`` and ``offset`` in frames. Not
        needed without features (``features_dir=None``): the timebase is then unknown unless
        given here or in the JSON.
    rescaled
        Features were resampled to a fixed number of snippets per video: ``snippet_seconds =
        duration / T`` (needs durations and features).
    class_names
        Class order (integer labels); default: the JSON's ``class_names`` or the sorted labels.
    missing
        A video in the JSON without a feature file: ``"error"`` (default) or ``"skip"`` it with a
        warning.
    check_finite
        Check each video's features for non-finite values the first time it is read.
    train_subset, test_subset
        Subset names behind ``split("train")``/``split("test")``; default from the JSON's
        ``tadfuse`` block, else ``training``→``validation`` (ActivityNet) or
        ``validation``→``test`` (THUMOS14).

    Features stay on disk (memory-mapped); only shapes are read at load time.
    """
    if annotations is None:
        if features_dir is None:
            raise ValueError("load_folders: give features_dir and/or annotations")
        root = Path(features_dir)
        annotations = root / "annotations.json"
        features_dir = root / "features"
        if annotations.is_file():
            warn_if_mixed(root, f"the per-video folders ({annotations.name}, features/)")
    ann_path = Path(annotations)
    gt = GroundTruth.from_activitynet(ann_path, class_names=class_names)
    raw = json.loads(ann_path.read_text(encoding="utf-8"))
    db: dict[str, Any] = raw["database"]
    block = raw.get("tadfuse") if isinstance(raw.get("tadfuse"), dict) else {}

    names = list(gt.videos)
    if features_dir is not None:
        fdir = Path(features_dir)
        if not fdir.is_dir():
            raise DataFormatError(f"{fdir}: feature folder not found")
        have = {p.stem for p in fdir.glob("*.npy")}
        absent = [v for v in names if v not in have]
        if absent:
            msg = (f"{fdir}: {len(absent)} of {len(names)} videos in {ann_path} have no feature file, "
                   f"e.g. {absent[:3]}")
            if missing == "error":
                raise DataFormatError(msg + " (pass missing='skip' (CLI: --missing skip) to leave them out)")
            warn(msg + "; these videos are skipped")
            gt = gt.select(videos=[v for v in names if v in have])
            names = list(gt.videos)
        extra = have - set(names)
        if extra:
            warn(f"{fdir}: {len(extra)} feature files are not in {ann_path} and are ignored, e.g. {sorted(extra)[:3]}")
        store: NpyFolderFeatures | None = NpyFolderFeatures(fdir, names, check_finite=check_finite)
    else:
        fdir = None
        store = None

    n_v = len(names)
    if rescaled:
        if store is None:
            raise ValueError("load_folders: rescaled=True needs the features (their lengths)")
        dur = gt.durations
        if not np.all(np.isfinite(dur) & (dur > 0)):
            bad = names[int(np.flatnonzero(~(np.isfinite(dur) & (dur > 0)))[0])]
            raise DataFormatError(f"{ann_path}: rescaled=True needs a positive 'duration' for every video; {bad!r} has none")
        ss = dur / np.asarray([s[0] for s in store.shapes], np.float64)
        off = np.zeros(n_v)
    elif fps is not None or stride is not None:
        if stride is None:
            raise InvalidArgumentError("load_folders: fps= needs stride= (frames per snippet; CLI: --stride)")
        if not (np.isfinite(stride) and stride > 0):
            raise InvalidArgumentError(f"load_folders: stride (frames per snippet) must be a positive number, got {stride}")
        if fps is not None:
            if not (np.isfinite(fps) and fps > 0):
                raise InvalidArgumentError(f"load_folders: fps must be a positive number, got {fps}")
            fps_v = np.full(n_v, float(fps))
        else:
            lacking = [v for v in names if "fps" not in db[v]]
            if lacking:
                raise DataFormatError(
                    f"{ann_path}: fps=None needs an 'fps' entry for every video; {lacking[0]!r} has none"
                )
            fps_v = np.asarray([float(db[v]["fps"]) for v in names])
            if not np.all(np.isfinite(fps_v) & (fps_v > 0)):
                raise DataFormatError(f"{ann_path}: 'fps' entries must be positive numbers")
        ss = float(stride) / fps_v
        off = float(offset) / fps_v
    elif "snippet_seconds" in block:
        ss = np.full(n_v, float(block["snippet_seconds"]))
        off = np.full(n_v, float(block.get("offset_seconds", 0.0)))
    elif store is None:  # annotations only: the timebase is needed for snippets alone
        ss = np.full(n_v, np.nan)
        off = np.zeros(n_v)
    else:
        raise DataFormatError(
            f"{ann_path}: no timebase; pass fps= and stride= (frames per snippet; CLI: --fps, --stride), "
            "stride= with per-video 'fps' entries, or rescaled=True (CLI: --rescaled)"
        )

    weak: list[list[str]] = []
    for i, v in enumerate(names):
        entry = db[v]
        if "video_labels" in entry:
            labs = entry["video_labels"]
            if not isinstance(labs, list):
                raise DataFormatError(f"{ann_path}: database[{v!r}]['video_labels'] must be a list of class names")
            unknown = [x for x in labs if x not in gt.class_names]
            if unknown:
                raise DataFormatError(f"{ann_path}: database[{v!r}]['video_labels'] has unknown classes {unknown}")
            weak.append([str(x) for x in labs])
        else:  # the classes of its segments
            weak.append([gt.class_names[c] for c in sorted(set(gt.label[gt.video == i].tolist()))])

    gt = GroundTruth(
        videos=gt.videos, subsets=gt.subsets, class_names=gt.class_names, video=gt.video,
        label=gt.label, start=gt.start, end=gt.end, durations=gt.durations, snippet_seconds=ss,
        offset_seconds=off, ambiguous_video=gt.ambiguous_video, ambiguous_start=gt.ambiguous_start,
        ambiguous_end=gt.ambiguous_end, source=str(ann_path),
    )
    train, test = resolve_subsets(gt.subsets, str(ann_path), train_subset, test_subset, block)
    ds = FolderDataset(
        ground_truth=gt, weak_labels=weak, features=store, train_subset=train, test_subset=test,
        source=str(ann_path if fdir is None else fdir.parent),
    )
    ds.features_dir, ds.annotations_path = fdir, ann_path
    return ds


def write_folders(
    out_dir: PathLike,
    *,
    ground_truth: GroundTruth,
    video_labels: Sequence[Sequence[str]],
    features: Iterable[np.ndarray],
    train_subset: str,
    test_subset: str,
    fps: Sequence[float] | np.ndarray | None = None,
    extra: dict[str, Any] | None = None,
    overwrite: bool = False,
    provenance: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``out_dir/features/<video>.npy`` (from ``features``, consumed one video at a time,
    in ``ground_truth.videos`` order) and ``out_dir/annotations.json``. The timebase must be one
    ``snippet_seconds``/``offset_seconds`` for all videos. ``out_dir`` must not hold a dataset of
    either layout unless ``overwrite``, which removes the old dataset's files (both layouts)
    first. The JSON's ``tadfuse`` block holds the timebase, the split names, ``extra`` and
    ``provenance`` (`tadfuse.annotations.provenance_record`: the tadfuse version, and the
    inputs or settings given). Returns ``out_dir``."""
    gt = ground_truth
    ss, off = np.unique(gt.snippet_seconds), np.unique(gt.offset_seconds)
    if ss.size != 1 or off.size != 1 or not np.isfinite(ss[0]):
        raise ValueError(f"write_folders: needs one known timebase for all videos, got {ss[:4]}, {off[:4]}")
    if len(video_labels) != len(gt.videos):
        raise ValueError(f"write_folders: {len(video_labels)} video label lists for {len(gt.videos)} videos")
    out = Path(out_dir)
    prepare_dataset_dir(out, overwrite, also=("features",))
    fdir = out / "features"
    fdir.mkdir()
    written = 0
    for name, arr in zip(gt.videos, features):
        np.save(fdir / f"{name}.npy", np.asarray(arr))
        written += 1
    if written != len(gt.videos):
        raise ValueError(f"write_folders: {written} feature arrays for {len(gt.videos)} videos")
    data = gt.to_activitynet(include_extensions=True)
    for i, name in enumerate(gt.videos):
        entry = data["database"][name]
        entry["video_labels"] = list(video_labels[i])
        if fps is not None and np.isfinite(fps[i]):
            entry["fps"] = float(fps[i])
    data["tadfuse"] = {
        "snippet_seconds": float(ss[0]),
        "offset_seconds": float(off[0]),
        "train_subset": train_subset,
        "test_subset": test_subset,
        **(extra or {}),
        "provenance": provenance_record(provenance),
    }
    atomic_write_json(out / "annotations.json", data)
    return out


def _check_not_source(paths: Sequence[Path | None], out_dir: PathLike) -> None:
    """The source's files must not be where writing ``out_dir`` removes or replaces files."""
    out = Path(out_dir).resolve()
    for p in paths:
        if p is not None and out in (p.resolve().parent, p.resolve()):
            raise InvalidArgumentError(f"{out_dir}: the output folder holds the source dataset ({p}); choose another one")


def warn_dropped_ambiguous(rows: Sequence[tuple[str, float, float]], out_dir: PathLike) -> None:
    """`DataWarning` for ambiguous-list rows that a per-video folder dataset cannot hold."""
    if rows:
        vids = sorted({v for v, _, _ in rows})
        warn(f"{out_dir}: {len(rows)} ambiguous-list row(s) for {vids[:3]} (not among the videos) are not "
             "written: annotations.json keeps ambiguous intervals per video")


def wtalc_to_folders(source: WtalcDataset | PathLike, out_dir: PathLike, *, overwrite: bool = False) -> Path:
    """Convert a W-TALC bundle to ``out_dir/features/<video>.npy`` + ``out_dir/annotations.json``.

    Everything is kept: subsets, durations, segments, weak labels (``video_labels``), the
    ambiguous list, class order, original fps (``fps``) and the timebase (``tadfuse`` block).
    Features are written one video at a time (no extra copy). ``Ambiguous_test.txt`` rows for
    videos that are not in the bundle (THUMOS14: 3 rows for video_test_0001292) have no video to
    go with and are left out, with a `DataWarning`. Returns ``out_dir``.
    """
    ds = source if isinstance(source, WtalcDataset) else load_wtalc(source)
    if ds.features is None:
        raise ValueError(f"{ds.source}: the bundle was loaded without features")
    _check_not_source([ds.annotation_dir, ds.feature_file], out_dir)
    warn_dropped_ambiguous(getattr(ds, "ignored_ambiguous", []), out_dir)
    store = ds.features
    return write_folders(
        out_dir, ground_truth=ds.gt, video_labels=[ds.video_labels(i) for i in range(len(ds))],
        features=(store[i] for i in range(len(ds))), train_subset=ds.train_subset,
        test_subset=ds.test_subset, fps=ds.original_fps,
        provenance={"inputs": {"converted_from": str(ds.source)}}, overwrite=overwrite,
    )


def folders_to_wtalc(
    source: FolderDataset | PathLike,
    out_dir: PathLike,
    *,
    name: str = "Custom",
    layout: Literal["flat", "annotations-subfolder"] = "flat",
    overwrite: bool = False,
) -> Path:
    """Convert a folder dataset to a W-TALC bundle (see `tadfuse.data.write_wtalc`).

    The W-TALC format has a single timebase with snippet 0 at 0 s: every video must share one
    ``snippet_seconds`` and have ``offset_seconds == 0``, else `DataFormatError`. The features are
    pickled straight from the memory-mapped files. The train/test subset names are kept
    (recorded in ``tadfuse_timebase.json`` when `load_wtalc` would not infer them), and so is the
    source (``provenance``, in the same file). Returns the bundle root.
    """
    ds = source if isinstance(source, FolderDataset) else load_folders(source)
    if ds.features is None:
        raise ValueError(f"{ds.source}: the dataset was loaded without features")
    _check_not_source([ds.annotations_path, ds.features_dir], out_dir)
    ss = np.unique(ds.snippet_seconds)
    if ss.size != 1 or np.any(ds.offset_seconds != 0):
        raise DataFormatError(
            f"{ds.source}: the W-TALC format needs one snippet duration and zero offset for all "
            f"videos (found snippet_seconds {ss[:4].tolist()}, offsets {np.unique(ds.offset_seconds)[:4].tolist()})"
        )
    segs, labs = [], []
    for i in range(len(ds)):
        lab, seg = ds.gt.segments(i)
        segs.append(seg.tolist())
        labs.append([ds.class_names[c] for c in lab])
    amb = [(ds.names[v], float(s), float(e)) for v, s, e in
           zip(ds.gt.ambiguous_video, ds.gt.ambiguous_start, ds.gt.ambiguous_end)]
    raw = json.loads(ds.annotations_path.read_text(encoding="utf-8"))["database"]
    fps = [float(raw[v].get("fps", np.nan)) for v in ds.names]
    return write_wtalc(
        out_dir, name=name, videos=ds.names, subsets=ds.subsets, class_names=ds.class_names,
        durations=ds.durations, segments=segs, segment_labels=labs,
        video_labels=[ds.video_labels(i) for i in range(len(ds))],
        features=[ds.features[i] for i in range(len(ds))], ambiguous=amb, original_fps=fps,
        snippet_seconds=float(ss[0]), layout=layout, overwrite=overwrite,
        train_subset=ds.train_subset or None, test_subset=ds.test_subset or None,
        provenance={"inputs": {"converted_from": str(ds.source)}},
    )
