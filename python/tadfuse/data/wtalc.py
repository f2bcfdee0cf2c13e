"""The W-TALC ``Thumos14reduced`` bundle: loader and writer.

Files (all ``.npy`` except the last), V videos, C classes:

================================  ===========================================================
``<Name>-I3D-JOINTFeatures.npy``  (V,) object array; entry i is float32 (T_i, D) I3D features
                                  (RGB ⊕ flow, D = 2048), one row per 16-frame snippet at
                                  25 fps, i.e. 0.64 s per snippet
``videoname.npy``                 (V,) bytes, e.g. ``b'video_test_0000004'``
``subset.npy``                    (V,) bytes: ``b'validation'`` (used for training) / ``b'test'``
``classlist.npy``                 (C,) bytes class names
``duration.npy``                  (V, 1) float64 seconds
``segments.npy``                  (V,) object: per video a list of ``[start_s, end_s]``
``labels.npy``                    (V,) object: per video the class names, parallel to segments
``labels_all.npy``                (V,) object: per video the video-level (weak) label list
``original_fps.npy``              (V,) float64 video frame rates (informational)
``extracted_fps.npy``             (V,) int64, a legacy 10 everywhere (informational)
``Ambiguous_test.txt``            ``video start end`` rows (seconds), whitespace separated
================================  ===========================================================

Two layouts are found automatically: the W-TALC one (``root/<Name>-I3D-JOINTFeatures.npy`` with
the annotation files in ``root/<Name>-Annotations/``) and the flat RSKP/GauFuse one (features and
annotation files together in ``root``, i.e. ``dataset_root/Thumos14reduced/``). A folder holding
both (or also a per-video folder dataset) is read with a `DataWarning`: one of them is stale.

Splits: ``split("train")``/``split("test")`` use the subset names that tadfuse recorded when it
wrote the bundle (``tadfuse_timebase.json``), else the names inferred from the subsets present:
``validation`` → ``test`` (THUMOS14) or ``training`` → ``validation`` (ActivityNet-style). Pass
``train_subset=``/``test_subset=`` to `load_wtalc` to choose.

Each video's feature count T is checked against its duration: a `DataWarning` names the videos
with ``|T - duration / snippet_seconds| > max(3, 5%)`` (real W-TALC features differ by a snippet
or two; more suggests features and annotations that do not belong together, or another timebase).

Memory: the feature file is a *pickled* object array, which ``np.load`` cannot memory-map; it is
read once, giving exactly one in-memory copy of the features (≈ 1.1 GB for THUMOS14 at 2048-d).
For memory-mapped access convert it once to per-video folders (`tadfuse.data.wtalc_to_folders`,
``tadfuse data convert``). Loading pickles runs code from the file: load only files you trust.

Known quirks of the real THUMOS14 annotations (kept as released; see `THUMOS14_QUIRKS`):

* ``video_test_0000270`` has an empty video-level label (``labels_all``), and 22 of its 29
  HammerThrow segments (from 187.3 s on, up to 713.7 s) lie past its 176.2 s duration.
* 30 segments in 5 videos lie past their video's duration (all of them start after it):
  video_test_0000270 (22), video_test_0000814 (3, ThrowDiscus, 233.6–337.1 s of 181.2 s),
  video_test_0001081 (1, Diving, 127.5–130.1 s of 117.2 s), video_validation_0000364 (2,
  HighJump, 113.6–127.0 s of 112.6 s) and video_validation_0000856 (2, SoccerPenalty,
  84.3–91.5 s of 83.1 s). They are kept as released; no feature covers them, so detections
  from the features cannot reach them and they only lower recall. `VideoDataset.summary`
  (``tadfuse data info``) counts such segments for any dataset.
* ``video_test_0001496``: the video-level label is FrisbeeCatch while all its segments are
  labelled CricketShot; its content does not match its label.
* Every CliffDiving segment is duplicated as a Diving segment (CliffDiving ⊂ Diving): Diving's
  ground truth contains every CliffDiving instance, so a Diving detector is scored against the
  CliffDiving instances too (it must find them to reach full recall).
* In 28 of the 412 videos (8 validation, 20 test) the video-level label differs from the set of
  segment classes: in 21 it lacks a class that has segments (e.g. video_validation_0000171 is
  labelled CricketBowling but also has CricketShot segments; video_test_0000367 lacks HighJump;
  video_test_0000270 is empty), in 9 it names a class without segments (e.g.
  video_validation_0000316: ThrowDiscus). Training uses the video-level labels as released.
* ``Ambiguous_test.txt`` has 99 rows, 3 of them for video_test_0001292, which is not among the
  412 videos (ignored; noted in ``dataset.notes``).
* 37 segments (17 in the test split) are shorter than one snippet after the W-TALC rounding
  (``round(t*25/16)`` gives an empty snippet range); the ``wtalc`` protocol can never match them.

Papers differ in the test list: all 212 test videos, 211 (without video_test_0000270) or 210
(also without video_test_0001496). Pass ``exclude=THUMOS14_COMMONLY_EXCLUDED`` (or part of it)
to `tadfuse.evaluation.evaluate` and say which list you used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np

from tadfuse.annotations import GroundTruth, atomic_write_json, provenance_record, read_ambiguous_list
from tadfuse.data._base import (
    DataFormatError,
    FeatureStore,
    InMemoryFeatures,
    VideoDataset,
    default_subsets,
    prepare_dataset_dir,
    resolve_subsets,
    save_object_array,
    warn,
    warn_if_mixed,
)
from tadfuse.proposals import SNIPPET_SECONDS

__all__ = [
    "THUMOS14_COMMONLY_EXCLUDED",
    "THUMOS14_QUIRKS",
    "WtalcDataset",
    "load_wtalc",
    "thumos14_annotation_dir",
    "write_wtalc",
]

PathLike = Union[str, "os.PathLike[str]"]

#: Known problems of the THUMOS14 (W-TALC ``Thumos14reduced``) annotations, by video or class.
THUMOS14_QUIRKS: dict[str, str] = {
    "video_test_0000270": "empty video-level label; 22 of its 29 HammerThrow segments (from 187.3 s "
    "on, up to 713.7 s) lie past its 176.2 s duration",
    "segments_past_duration": "30 segments in 5 videos lie past their video's duration: "
    "video_test_0000270 (22), video_test_0000814 (3), video_test_0001081 (1), "
    "video_validation_0000364 (2), video_validation_0000856 (2)",
    "video_test_0001496": "video-level label FrisbeeCatch, all segments labelled CricketShot; "
    "content mismatches its label",
    "CliffDiving": "every CliffDiving segment is duplicated as a Diving segment (CliffDiving ⊂ Diving): "
    "Diving's ground truth contains every CliffDiving instance, so a Diving detector is scored "
    "against the CliffDiving instances too",
    "video_labels": "in 28 of 412 videos (8 validation, 20 test) the video-level label differs from "
    "the set of segment classes: 21 lack a class that has segments (e.g. video_validation_0000171: "
    "CricketBowling, with CricketShot segments too; video_test_0000367 lacks HighJump), 9 name a "
    "class without segments (e.g. video_validation_0000316: ThrowDiscus)",
    "video_test_0001292": "listed in Ambiguous_test.txt (3 rows) but not among the 412 videos",
}

#: Test videos that some papers drop (212 → 211 without the first, 210 without both).
THUMOS14_COMMONLY_EXCLUDED: tuple[str, ...] = ("video_test_0000270", "video_test_0001496")

# Ambiguous_test.txt rows for videos that the 412-video release does not contain.
_KNOWN_AMBIGUOUS_EXTRA = frozenset({"video_test_0001292"})

_REQUIRED = ("videoname", "subset", "classlist", "segments", "labels", "labels_all")
_TIMEBASE_FILE = "tadfuse_timebase.json"


def thumos14_annotation_dir() -> Path:
    """The copy of the real THUMOS14 annotation files shipped with tadfuse (W-TALC release,
    sujoyp/wtalc-pytorch ``Thumos14reduced-Annotations/``); see the README in that folder."""
    return Path(__file__).resolve().parent / "thumos14reduced"


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _decode(x: Any) -> str:
    if isinstance(x, (bytes, np.bytes_)):
        return bytes(x).decode("utf-8")
    return str(x)


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=True, encoding="latin1")
    except FileNotFoundError:
        raise DataFormatError(f"{path}: required annotation file not found") from None
    except Exception as exc:  # corrupt header, truncated pickle, ...
        raise DataFormatError(f"{path}: cannot be read as a .npy file ({exc})") from None


def _find_layout(root: Path) -> tuple[Path, str]:
    """Return (annotation folder, layout name) for a bundle root."""
    subs = sorted(p for p in root.glob("*-Annotations") if (p / "videoname.npy").is_file())
    if (root / "videoname.npy").is_file():
        warn_if_mixed(root, f"the flat W-TALC files in {root} (pass annotation_dir= (CLI: --annotation-dir) to read another)")
        return root, "flat"
    if len(subs) == 1:
        warn_if_mixed(root, f"the W-TALC annotation folder {subs[0].name}/")
        return subs[0], "annotations-subfolder"
    if len(subs) > 1:
        raise DataFormatError(f"{root}: several annotation folders {[p.name for p in subs]}; pass annotation_dir= "
                              "(CLI: --annotation-dir) to choose one")
    raise DataFormatError(
        f"{root}: no W-TALC annotations found (looked for {root / 'videoname.npy'} and "
        f"{root / '<Name>-Annotations/videoname.npy'})"
    )


def _find_features(root: Path, name: str | None) -> Path:
    if name is not None:
        path = root / f"{name}-I3D-JOINTFeatures.npy"
        if not path.is_file():
            raise DataFormatError(f"{path}: feature file not found")
        return path
    found = sorted(root.glob("*-JOINTFeatures.npy"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise DataFormatError(
            f"{root}: no '<Name>-I3D-JOINTFeatures.npy' feature file (pass features=PATH (CLI: "
            "--features), or features=False (CLI: --no-features) for annotations only)"
        )
    raise DataFormatError(f"{root}: several feature files {[p.name for p in found]}; pass name= or features=PATH "
                          "(CLI: --name or --features)")


def _load_features(path: Path, names: Sequence[str], check_finite: bool) -> FeatureStore:
    try:  # a plain (V, T, D) array can be memory-mapped
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError:
        arr = None
    except FileNotFoundError:
        raise DataFormatError(f"{path}: feature file not found") from None
    if arr is not None:
        if arr.ndim != 3:
            raise DataFormatError(
                f"{path}: expected an object array of (T, D) arrays or a (V, T, D) array, got shape {arr.shape}"
            )
        items: Sequence[np.ndarray] = [arr[i] for i in range(arr.shape[0])]
    else:
        obj = _load_npy(path)
        if obj.dtype != object or obj.ndim != 1:
            raise DataFormatError(f"{path}: expected a 1-D object array of (T, D) arrays, got {obj.dtype} {obj.shape}")
        items = list(obj)
        del obj
    if len(items) != len(names):
        raise DataFormatError(
            f"{path}: {len(items)} feature arrays but the annotations list {len(names)} videos "
            "(mismatched video counts)"
        )
    return InMemoryFeatures(items, names, str(path), check_finite=check_finite)


class WtalcDataset(VideoDataset):
    """A W-TALC bundle (see the module docstring). Extra attributes: ``root``,
    ``annotation_dir``, ``feature_file`` (None without features), ``layout`` (``"flat"`` or
    ``"annotations-subfolder"``), ``original_fps`` (V,), ``ignored_ambiguous`` (the
    ``Ambiguous_test.txt`` rows ``(video, start_s, end_s)`` for videos not in the bundle)."""

    root: Path
    annotation_dir: Path
    feature_file: Path | None
    layout: str
    original_fps: np.ndarray
    ignored_ambiguous: list[tuple[str, float, float]]


def _check_lengths(store: FeatureStore, names: Sequence[str], durations: np.ndarray,
                   snippet_seconds: float, where: Path) -> str | None:
    """Warn (and return the message) when feature counts T disagree with the durations by more
    than max(3 snippets, 5%): real W-TALC features are within a snippet or two."""
    T = np.asarray([shape[0] for shape in store.shapes], np.float64)
    expected = durations / snippet_seconds
    with np.errstate(invalid="ignore"):
        off = np.isfinite(expected) & (np.abs(T - expected) > np.maximum(3.0, 0.05 * expected))
    bad = np.flatnonzero(off)
    if not bad.size:
        return None
    examples = ", ".join(f"{names[i]!r} (T = {int(T[i])}, duration {durations[i]:g} s = "
                         f"{expected[i]:.1f} snippets)" for i in bad[:3])
    msg = (f"{where}: {bad.size} of {len(names)} videos have a feature count far from duration / "
           f"{snippet_seconds:g} s: {examples}{' ...' if bad.size > 3 else ''}; the features may not "
           "belong to these annotations (or use another timebase)")
    warn(msg)
    return msg


def _read_tadfuse_json(path: Path) -> dict[str, Any]:
    """``tadfuse_timebase.json``: optional ``snippet_seconds``, ``train_subset``, ``test_subset``."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataFormatError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DataFormatError(f"{path}: expected a JSON object")
    if "snippet_seconds" in data:
        try:
            ss = float(data["snippet_seconds"])
        except (ValueError, TypeError) as exc:
            raise DataFormatError(f"{path}: needs a positive 'snippet_seconds' ({exc})") from None
        if not (np.isfinite(ss) and ss > 0):
            raise DataFormatError(f"{path}: snippet_seconds must be positive, got {ss}")
        data["snippet_seconds"] = ss
    return data


def load_wtalc(
    root: PathLike,
    *,
    name: str | None = None,
    features: bool | PathLike = True,
    check_finite: bool = True,
    annotation_dir: PathLike | None = None,
    train_subset: str | None = None,
    test_subset: str | None = None,
) -> WtalcDataset:
    """Load a W-TALC bundle (``Thumos14reduced`` or one written by `write_wtalc`).

    Parameters
    ----------
    root
        The bundle folder (either layout), or an annotation folder with ``features=False``.
    name
        Dataset name for the feature file ``<name>-I3D-JOINTFeatures.npy``; default: the single
        ``*-JOINTFeatures.npy`` in ``root``.
    features
        ``True`` to load the feature file found in ``root``; a path to load that file; ``False``
        for annotations only.
    check_finite
        Check every feature value is finite at load time (one pass over the features).
    annotation_dir
        Use this annotation folder instead of looking in ``root``.
    train_subset, test_subset
        Subset names behind ``split("train")``/``split("test")``; default: the names recorded
        by tadfuse in ``tadfuse_timebase.json``, else ``validation``→``test`` (THUMOS14) or
        ``training``→``validation`` (ActivityNet-style subsets).

    Returns a `WtalcDataset`: video-level multi-hot labels from ``labels_all.npy``, ground truth
    in seconds (and snippets via ``segments(i, "snippets")``), the train/test splits, durations,
    the ambiguous list, and the features (one copy in memory). Feature counts far from
    ``duration / snippet_seconds`` are warned about (`DataWarning`, see the module docstring).

    Raises `DataFormatError` naming the file for missing files or keys, wrong shapes,
    mismatched video counts, unknown class names and non-finite features.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataFormatError(f"{root}: {'not a directory' if root.exists() else 'not found'}")
    if annotation_dir is not None:
        ann, layout = Path(annotation_dir), "custom"
        if not (ann / "videoname.npy").is_file():
            raise DataFormatError(f"{ann}: no videoname.npy (not a W-TALC annotation folder)")
    else:
        ann, layout = _find_layout(root)

    raw = {key: _load_npy(ann / f"{key}.npy") for key in _REQUIRED}
    names = [_decode(v) for v in np.ravel(raw["videoname"])]
    n_v = len(names)
    if len(set(names)) != n_v:
        dup = next(v for v in names if names.count(v) > 1)
        raise DataFormatError(f"{ann / 'videoname.npy'}: video {dup!r} is listed twice")
    for key in _REQUIRED[1:]:
        if key == "classlist":
            continue
        if len(raw[key]) != n_v:
            raise DataFormatError(
                f"{ann / (key + '.npy')}: {len(raw[key])} entries but videoname.npy has {n_v} "
                "(mismatched video counts)"
            )
    subsets = [_decode(s) for s in np.ravel(raw["subset"])]
    class_names = [_decode(c) for c in np.ravel(raw["classlist"])]
    cindex = {c: i for i, c in enumerate(class_names)}
    if len(cindex) != len(class_names):
        raise DataFormatError(f"{ann / 'classlist.npy'}: duplicate class names")

    dpath = ann / "duration.npy"
    if dpath.is_file():
        dur = np.asarray(_load_npy(dpath), np.float64).reshape(-1)
        if dur.shape[0] != n_v:
            raise DataFormatError(f"{dpath}: {dur.shape[0]} durations but videoname.npy has {n_v} (mismatched video counts)")
    else:
        warn(f"{dpath}: missing; durations are unknown (NaN)")
        dur = np.full(n_v, np.nan)
    fpath = ann / "original_fps.npy"
    original_fps = np.asarray(_load_npy(fpath), np.float64).reshape(-1) if fpath.is_file() else np.full(n_v, np.nan)
    if original_fps.shape[0] != n_v:
        raise DataFormatError(f"{fpath}: {original_fps.shape[0]} entries but videoname.npy has {n_v}")

    seg_v: list[int] = []
    seg_l: list[int] = []
    seg_s: list[float] = []
    seg_e: list[float] = []
    for i in range(n_v):
        segs, labs = raw["segments"][i], raw["labels"][i]
        segs = [] if segs is None else list(segs)
        labs = [] if labs is None else list(labs)
        if len(segs) != len(labs):
            raise DataFormatError(
                f"{ann}: video {names[i]!r} has {len(segs)} segments in segments.npy but "
                f"{len(labs)} labels in labels.npy"
            )
        for k, (seg, lab) in enumerate(zip(segs, labs)):
            lab = _decode(lab)
            if lab not in cindex:
                raise DataFormatError(f"{ann / 'labels.npy'}: video {names[i]!r} segment {k}: unknown class {lab!r}")
            try:
                s, e = (float(x) for x in seg)
            except (TypeError, ValueError):
                raise DataFormatError(
                    f"{ann / 'segments.npy'}: video {names[i]!r} segment {k} is not [start, end]: {seg!r}"
                ) from None
            if not (np.isfinite(s) and np.isfinite(e)) or e < s:
                raise DataFormatError(f"{ann / 'segments.npy'}: video {names[i]!r} segment {k} is invalid: [{s}, {e}]")
            seg_v.append(i)
            seg_l.append(cindex[lab])
            seg_s.append(s)
            seg_e.append(e)
    weak: list[list[str]] = []
    for i in range(n_v):
        labs = raw["labels_all"][i]
        labs = [] if labs is None else [_decode(x) for x in (labs if isinstance(labs, (list, tuple, np.ndarray)) else [labs])]
        unknown = [x for x in labs if x not in cindex]
        if unknown:
            raise DataFormatError(f"{ann / 'labels_all.npy'}: video {names[i]!r}: unknown classes {unknown}")
        weak.append(labs)

    notes: list[str] = []
    amb_path = ann / "Ambiguous_test.txt"
    amb_v: list[int] = []
    amb_s: list[float] = []
    amb_e: list[float] = []
    ignored_amb: list[tuple[str, float, float]] = []
    if amb_path.is_file():
        index = {v: i for i, v in enumerate(names)}
        unknown_amb = []
        for vid, s, e in read_ambiguous_list(amb_path):
            if vid not in index:
                unknown_amb.append(vid)
                ignored_amb.append((vid, s, e))
                continue
            amb_v.append(index[vid])
            amb_s.append(s)
            amb_e.append(e)
        known = [v for v in unknown_amb if v in _KNOWN_AMBIGUOUS_EXTRA]
        other = [v for v in unknown_amb if v not in _KNOWN_AMBIGUOUS_EXTRA]
        if known:
            notes.append(f"{amb_path.name}: {len(known)} rows for {sorted(set(known))} (not among the "
                         "videos; a known THUMOS14 quirk) are ignored")
        if other:
            warn(f"{amb_path}: {len(other)} rows name videos not in videoname.npy and are ignored, "
                 f"e.g. {sorted(set(other))[:3]}")

    recorded = _read_tadfuse_json(ann / _TIMEBASE_FILE)
    snippet_seconds = float(recorded.get("snippet_seconds", SNIPPET_SECONDS))

    gt = GroundTruth(
        videos=tuple(names), subsets=tuple(subsets), class_names=tuple(class_names),
        video=seg_v, label=seg_l, start=seg_s, end=seg_e, durations=dur,
        snippet_seconds=snippet_seconds, offset_seconds=0.0,
        ambiguous_video=amb_v, ambiguous_start=amb_s, ambiguous_end=amb_e,
        source=str(ann),
    )

    store: FeatureStore | None = None
    feature_file: Path | None = None
    if features is not False:
        feature_file = _find_features(root, name) if features is True else Path(features)  # type: ignore[arg-type]
        store = _load_features(feature_file, names, check_finite)
        length_msg = _check_lengths(store, names, dur, snippet_seconds, feature_file)
        if length_msg is not None:
            notes.append(length_msg)

    train, test = resolve_subsets(subsets, str(ann), train_subset, test_subset, recorded)
    ds = WtalcDataset(ground_truth=gt, weak_labels=weak, features=store, train_subset=train,
                      test_subset=test, source=str(root))
    ds.root, ds.annotation_dir, ds.feature_file, ds.layout = root, ann, feature_file, layout
    ds.original_fps = original_fps
    ds.ignored_ambiguous = ignored_amb
    ds.notes.extend(notes)
    return ds


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _bytes_array(values: Sequence[str]) -> np.ndarray:
    return np.array([v.encode("utf-8") for v in values])


def _object_array(values: Sequence[Any]) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        arr[i] = v
    return arr


def write_wtalc(
    out_dir: PathLike,
    *,
    name: str,
    videos: Sequence[str],
    subsets: Sequence[str],
    class_names: Sequence[str],
    durations: Sequence[float] | np.ndarray,
    segments: Sequence[Sequence[Sequence[float]]],
    segment_labels: Sequence[Sequence[str]],
    video_labels: Sequence[Sequence[str]],
    features: Sequence[np.ndarray] | None,
    ambiguous: Iterable[tuple[str, float, float]] = (),
    original_fps: Sequence[float] | np.ndarray | None = None,
    snippet_seconds: float = SNIPPET_SECONDS,
    layout: Literal["flat", "annotations-subfolder"] = "flat",
    overwrite: bool = False,
    train_subset: str | None = None,
    test_subset: str | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> Path:
    """Write a W-TALC bundle (the format of the module docstring); returns the bundle root.

    ``segments[i]`` are ``[start_s, end_s]`` pairs with class names ``segment_labels[i]``;
    ``video_labels[i]`` is the weak label list. ``features[i]`` is (T_i, D); the feature file is
    an object array pickled with protocol 5, written straight from the arrays (no second copy;
    readable by ``np.load(..., allow_pickle=True)`` on Python >= 3.8). ``layout="flat"`` puts
    everything in ``out_dir`` (RSKP/GauFuse), ``"annotations-subfolder"`` puts the annotation files
    in ``out_dir/<name>-Annotations/`` (W-TALC). A timebase other than 0.64 s is recorded in
    ``tadfuse_timebase.json`` (W-TALC-family code assumes 0.64 s and will not read it), and so are
    ``train_subset``/``test_subset`` when they differ from what `load_wtalc` would infer from the
    subset names (W-TALC-family code trains on ``validation`` and tests on ``test``). That file
    is also written when ``provenance`` is given; whenever it is written it records
    ``provenance`` (`tadfuse.annotations.provenance_record`: the tadfuse version, and the
    inputs or settings given). A bundle that needs none of this is written exactly in the
    released format, without it.

    ``out_dir`` must not hold a dataset of either layout unless ``overwrite``; with it, the
    old dataset's files (both layouts, see `tadfuse.data._base.prepare_dataset_dir`) are removed
    first, so old annotations are never paired with new features. With ``features=None`` an
    existing ``<name>-I3D-JOINTFeatures.npy`` is kept.
    """
    out = Path(out_dir)
    n_v = len(videos)
    for what, seq in (("subsets", subsets), ("durations", durations), ("segments", segments),
                      ("segment_labels", segment_labels), ("video_labels", video_labels)):
        if len(seq) != n_v:
            raise ValueError(f"write_wtalc: {len(seq)} {what} for {n_v} videos")
    if features is not None and len(features) != n_v:
        raise ValueError(f"write_wtalc: {len(features)} feature arrays for {n_v} videos")
    if layout not in ("flat", "annotations-subfolder"):
        raise ValueError(f"layout must be 'flat' or 'annotations-subfolder', got {layout!r}")
    ann = out if layout == "flat" else out / f"{name}-Annotations"
    feat_path = out / f"{name}-I3D-JOINTFeatures.npy"
    inferred = default_subsets(subsets)
    splits: dict[str, str] = {}
    for key, given, default in (("train_subset", train_subset, inferred[0]), ("test_subset", test_subset, inferred[1])):
        if given is not None and given not in set(subsets):
            raise ValueError(f"write_wtalc: {key}={given!r} is not one of the subsets {sorted(set(subsets))}")
        if given is not None and given != default:
            splits[key] = given
    cset = set(class_names)
    for i in range(n_v):
        if len(segments[i]) != len(segment_labels[i]):
            raise ValueError(f"write_wtalc: video {videos[i]!r} has {len(segments[i])} segments but "
                             f"{len(segment_labels[i])} labels")
        bad = (set(segment_labels[i]) | set(video_labels[i])) - cset
        if bad:
            raise ValueError(f"write_wtalc: video {videos[i]!r} uses unknown classes {sorted(bad)}")
    prepare_dataset_dir(out, overwrite, keep=[feat_path] if features is None else [])
    ann.mkdir(parents=True, exist_ok=True)
    np.save(ann / "videoname.npy", _bytes_array(videos))
    np.save(ann / "subset.npy", _bytes_array(subsets))
    np.save(ann / "classlist.npy", _bytes_array(class_names))
    np.save(ann / "duration.npy", np.asarray(durations, np.float64).reshape(n_v, 1))
    np.save(ann / "segments.npy",
            _object_array([[[float(s), float(e)] for s, e in segs] for segs in segments]), allow_pickle=True)
    np.save(ann / "labels.npy", _object_array([list(map(str, x)) for x in segment_labels]), allow_pickle=True)
    np.save(ann / "labels_all.npy", _object_array([list(map(str, x)) for x in video_labels]), allow_pickle=True)
    fps = np.full(n_v, 25.0) if original_fps is None else np.asarray(original_fps, np.float64)
    np.save(ann / "original_fps.npy", fps)
    np.save(ann / "extracted_fps.npy", np.full(n_v, 10, np.int64))
    lines = [f"{v}  {float(s)!r} {float(e)!r}" for v, s, e in ambiguous]
    (ann / "Ambiguous_test.txt").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    tb = ann / _TIMEBASE_FILE
    record: dict[str, Any] = {}
    if abs(snippet_seconds - SNIPPET_SECONDS) > 1e-12:
        warn(f"{out}: snippet_seconds {snippet_seconds} differs from W-TALC's 0.64 s; recorded in {tb.name} "
             "(tadfuse reads it; W-TALC-family code assumes 0.64 s)")
        record["snippet_seconds"] = snippet_seconds
    record.update(splits)
    if record or provenance is not None:
        record["provenance"] = provenance_record(provenance)
        atomic_write_json(tb, record)
    if features is not None:
        save_object_array(feat_path, features)
    return out
