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
``tadfuse`` block decide.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np

from tadfuse.data._base import DataFormatError, NpyFolderFeatures, VideoDataset, warn
from tadfuse.data.wtalc import WtalcDataset, load_wtalc, write_wtalc
from tadfuse.evaluation import GroundTruth, _atomic_write_json

__all__ = ["FolderDataset", "folders_to_wtalc", "load_folders", "write_folders", "wtalc_to_folders"]

PathLike = Union[str, "os.PathLike[str]"]

_TRAIN_NAMES = ("training", "train", "validation", "Validation")
_TEST_AFTER_TRAINING = ("validation", "Validation")
_TEST_NAMES = ("test", "Test", "testing")


class FolderDataset(VideoDataset):
    """Per-video feature folder + ActivityNet-style JSON. Extra attributes: ``features_dir``,
    ``annotations_path``."""

    features_dir: Path | None
    annotations_path: Path


def _default_subsets(subsets: Sequence[str]) -> tuple[str, str]:
    present = set(subsets)
    train = next((s for s in _TRAIN_NAMES if s in present), "")
    pool = _TEST_AFTER_TRAINING if train in ("training", "train") else _TEST_NAMES
    test = next((s for s in pool if s in present and s != train), "")
    return train, test


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
        The timebase (see the module docstring); ``stride`` and ``offset`` in frames.
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
                raise DataFormatError(msg + " (pass missing='skip' to leave them out)")
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
        if stride is None or not (np.isfinite(stride) and stride > 0):
            raise ValueError(f"load_folders: stride (frames per snippet) must be a positive number, got {stride}")
        if fps is not None:
            if not (np.isfinite(fps) and fps > 0):
                raise ValueError(f"load_folders: fps must be a positive number, got {fps}")
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
    else:
        raise DataFormatError(
            f"{ann_path}: no timebase; pass fps= and stride= (frames per snippet), stride= with "
            "per-video 'fps' entries, or rescaled=True"
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
    d_train, d_test = _default_subsets(gt.subsets)
    ds = FolderDataset(
        ground_truth=gt, weak_labels=weak, features=store,
        train_subset=train_subset or str(block.get("train_subset", d_train)),
        test_subset=test_subset or str(block.get("test_subset", d_test)),
        source=str(ann_path if fdir is None else fdir.parent),
    )
    ds.features_dir, ds.annotations_path = fdir, ann_path
    return ds


def _prepare_out(out: Path, overwrite: bool, what: Sequence[str]) -> None:
    for name in what:
        p = out / name
        if p.exists():
            if not overwrite:
                raise FileExistsError(f"{p}: exists (pass overwrite=True to replace it)")
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()
    out.mkdir(parents=True, exist_ok=True)


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
) -> Path:
    """Write ``out_dir/features/<video>.npy`` (from ``features``, consumed one video at a time,
    in ``ground_truth.videos`` order) and ``out_dir/annotations.json``. The timebase must be one
    ``snippet_seconds``/``offset_seconds`` for all videos. Returns ``out_dir``."""
    gt = ground_truth
    ss, off = np.unique(gt.snippet_seconds), np.unique(gt.offset_seconds)
    if ss.size != 1 or off.size != 1 or not np.isfinite(ss[0]):
        raise ValueError(f"write_folders: needs one known timebase for all videos, got {ss[:4]}, {off[:4]}")
    if len(video_labels) != len(gt.videos):
        raise ValueError(f"write_folders: {len(video_labels)} video label lists for {len(gt.videos)} videos")
    out = Path(out_dir)
    _prepare_out(out, overwrite, ("features", "annotations.json"))
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
    }
    _atomic_write_json(out / "annotations.json", data)
    return out


def wtalc_to_folders(source: WtalcDataset | PathLike, out_dir: PathLike, *, overwrite: bool = False) -> Path:
    """Convert a W-TALC bundle to ``out_dir/features/<video>.npy`` + ``out_dir/annotations.json``.

    Everything is kept: subsets, durations, segments, weak labels (``video_labels``), the
    ambiguous list, class order, original fps (``fps``) and the timebase (``tadfuse`` block).
    Features are written one video at a time (no extra copy). Returns ``out_dir``.
    """
    ds = source if isinstance(source, WtalcDataset) else load_wtalc(source)
    if ds.features is None:
        raise ValueError(f"{ds.source}: the bundle was loaded without features")
    store = ds.features
    return write_folders(
        out_dir, ground_truth=ds.gt, video_labels=[ds.video_labels(i) for i in range(len(ds))],
        features=(store[i] for i in range(len(ds))), train_subset=ds.train_subset,
        test_subset=ds.test_subset, fps=ds.original_fps,
        extra={"converted_from": str(ds.source)}, overwrite=overwrite,
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
    pickled straight from the memory-mapped files. Returns the bundle root.
    """
    ds = source if isinstance(source, FolderDataset) else load_folders(source)
    if ds.features is None:
        raise ValueError(f"{ds.source}: the dataset was loaded without features")
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
    )
