"""Ground truth and detections on disk and in memory: `GroundTruth`, the ActivityNet ground-truth
and result JSON readers and writers, the W-TALC ambiguous list, and the atomic JSON write.

Layouts (seconds everywhere in files):

* Ground truth (ActivityNet): ``{"database": {video: {"subset", "duration", "annotations":
  [{"segment": [start_s, end_s], "label"}]}}}`` plus the optional tadfuse keys described in
  `GroundTruth.from_activitynet`.
* Results (ActivityNet): ``{"version", "results": {video: [{"label", "score", "segment":
  [start_s, end_s], "snippets": [start, end]}]}, "external_data", "tadfuse"}`` (``snippets`` and
  the ``tadfuse`` block are tadfuse's, optional on reading; see `activitynet_results`).

The package's own detections (`Proposals`) are in snippets; they become seconds with the
video's timebase, ``seconds = snippets * snippet_seconds + offset_seconds`` (`snippets_to_seconds`),
and result JSON written by tadfuse keeps the exact snippets beside the seconds. Readers check
every field and name the file and entry at fault; every file written records its provenance
(`provenance_record`). See docs/algorithms.md, "Result and ground-truth files".

This module is the one home of these file formats: `tadfuse.data` (the dataset loaders) and
`tadfuse.evaluation` (the metrics) both import it, and it imports neither
(docs/architecture.md, "Annotations, evaluation and data").
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
import numpy.typing as npt

from tadfuse import _core
from tadfuse._atomic import atomic_write_json
from tadfuse.errors import DataFormatError, EvaluationWarning, InvalidArgumentError, InvalidTypeError
from tadfuse.proposals import SNIPPET_SECONDS, Proposals

__all__ = [
    "INTEGER_LABEL_MODES",
    "IN_MEMORY",
    "DetectionTable",
    "GroundTruth",
    "activitynet_results",
    "as_ground_truth",
    "atomic_write_json",
    "detection_table",
    "proposals_by_video",
    "proposals_from_activitynet",
    "provenance_record",
    "read_activitynet_ground_truth",
    "read_activitynet_results",
    "read_ambiguous_list",
    "snippets_to_seconds",
    "write_activitynet_ground_truth",
    "write_activitynet_results",
]

PathLike = Union[str, "os.PathLike[str]"]

#: How files and results name inputs that were not read from a file.
IN_MEMORY = "in-memory"


def _warn(message: str) -> None:
    warnings.warn(message, EvaluationWarning, stacklevel=3)


# --------------------------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------------------------


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for `json.load`: a key written twice (``json`` would keep the last
    one and silently drop the other) is an error."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(Exception):
    pass


def _read_json(source: PathLike | Mapping[str, Any], what: str) -> tuple[Mapping[str, Any], str]:
    """Return ``(data, name)`` where ``name`` identifies the source in error messages."""
    if isinstance(source, Mapping):
        return source, f"<{what} dict>"
    if not isinstance(source, (str, os.PathLike)):
        raise InvalidTypeError(
            f"{what}: expected a path or a dict in the ActivityNet layout, got {type(source).__name__}"
        )
    path = Path(source)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh, object_pairs_hook=_no_duplicate_keys)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: {what} file not found") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{path}: is a folder, expected a {what} JSON file") from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not a UTF-8 text file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}: not valid JSON ({exc})") from None
    except _DuplicateKey as exc:
        raise DataFormatError(f"{path}: the key {exc.args[0]!r} appears twice in one object") from None
    if not isinstance(data, Mapping):
        raise DataFormatError(f"{path}: the top level of a {what} file must be a JSON object")
    return data, str(path)


def _is_number(value: Any) -> bool:
    """A JSON number (int or float, numpy scalars included), not a bool or a string."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _number(value: Any, where: str, key: str) -> float:
    """``value`` as a finite float; `DataFormatError` naming ``where`` and ``key`` otherwise."""
    if not _is_number(value):
        raise DataFormatError(f"{where}: {key!r} must be a number, got {value!r} ({type(value).__name__})")
    out = float(value)
    if not math.isfinite(out):
        raise DataFormatError(f"{where}: {key!r} must be finite, got {value!r}")
    return out


def _segment(value: Any, where: str, key: str = "segment") -> tuple[float, float]:
    """A ``[start, end]`` pair of finite numbers with ``0 <= start <= end`` (seconds or
    snippets); `DataFormatError` naming ``where`` and ``key`` otherwise."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise DataFormatError(f"{where}: {key!r} must be a list [start, end], got {value!r}")
    if not (_is_number(value[0]) and _is_number(value[1])):
        raise DataFormatError(f"{where}: {key!r} values must be numbers, got {value!r}")
    s, e = float(value[0]), float(value[1])
    if not (math.isfinite(s) and math.isfinite(e)):
        raise DataFormatError(f"{where}: {key!r} must be finite, got {value!r}")
    if s < 0:
        raise DataFormatError(f"{where}: {key!r} starts before 0 ({s})")
    if e < s:
        raise DataFormatError(f"{where}: {key!r} end {e} is before its start {s}")
    return s, e


def _label(value: Any, where: str) -> str | int:
    """A class name (non-empty string) or an integer label; `DataFormatError` otherwise."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    raise DataFormatError(f"{where}: 'label' must be a class name or an integer, got {value!r}")


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DataFormatError(f"{where}: must be an object, got {type(value).__name__}")
    return value




# --------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------


def _as_1d(values: Any, dtype: type, name: str, length: int | None = None) -> np.ndarray:
    arr: np.ndarray = np.ascontiguousarray(np.asarray(values, dtype=dtype))
    if arr.ndim != 1:
        raise InvalidArgumentError(f"GroundTruth: `{name}` must be 1-D, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise InvalidArgumentError(f"GroundTruth: `{name}` has length {arr.shape[0]}, expected {length}")
    arr.setflags(write=False)
    return arr


class GroundTruth:
    """Ground-truth action segments of a set of videos, in seconds.

    Per video (V entries, in a fixed order):
      * ``videos``: names; ``subsets``: split names (e.g. ``"validation"``/``"test"`` in W-TALC,
        ``"training"``/``"validation"`` in ActivityNet).
      * ``durations`` (float64, seconds; NaN when unknown).
      * ``snippet_seconds``, ``offset_seconds`` (float64): the feature timebase, ``seconds =
        snippet * snippet_seconds + offset_seconds``; NaN snippet_seconds when unknown (then
        predictions in snippets need an explicit ``snippet_seconds``). A scalar applies to all.

    Per segment (N rows): ``video`` (int64 index into ``videos``), ``label`` (int64 index into
    ``class_names``), ``start``, ``end`` (float64 seconds, ``end >= start``).

    Per ambiguous interval (A rows, the W-TALC ``Ambiguous_test.txt``): ``ambiguous_video``,
    ``ambiguous_start``, ``ambiguous_end``.

    ``source`` says where it came from (a path or a description). Arrays are read-only copies;
    invalid input raises ``ValueError`` naming the source and the offending row.
    """

    videos: tuple[str, ...]
    subsets: tuple[str, ...]
    class_names: tuple[str, ...]
    video: np.ndarray
    label: np.ndarray
    start: np.ndarray
    end: np.ndarray
    durations: np.ndarray
    snippet_seconds: np.ndarray
    offset_seconds: np.ndarray
    ambiguous_video: np.ndarray
    ambiguous_start: np.ndarray
    ambiguous_end: np.ndarray
    source: str

    def __init__(
        self,
        videos: Sequence[str],
        subsets: Sequence[str],
        class_names: Sequence[str],
        video: npt.ArrayLike,
        label: npt.ArrayLike,
        start: npt.ArrayLike,
        end: npt.ArrayLike,
        *,
        durations: npt.ArrayLike | None = None,
        snippet_seconds: float | npt.ArrayLike | None = None,
        offset_seconds: float | npt.ArrayLike | None = None,
        ambiguous_video: npt.ArrayLike | None = None,
        ambiguous_start: npt.ArrayLike | None = None,
        ambiguous_end: npt.ArrayLike | None = None,
        source: str = "<memory>",
    ) -> None:
        self.source = str(source)
        self.videos = tuple(str(v) for v in videos)
        n_v = len(self.videos)
        self._index = {name: i for i, name in enumerate(self.videos)}
        if len(self._index) != n_v:
            dup = next(v for v in self.videos if self.videos.count(v) > 1)
            raise InvalidArgumentError(f"GroundTruth ({self.source}): video {dup!r} appears more than once")
        self.subsets = tuple(str(s) for s in subsets)
        if len(self.subsets) != n_v:
            raise InvalidArgumentError(f"GroundTruth ({self.source}): {len(self.subsets)} subsets for {n_v} videos")
        self.class_names = tuple(str(c) for c in class_names)
        n_c = len(self.class_names)
        if len(set(self.class_names)) != n_c:
            raise InvalidArgumentError(f"GroundTruth ({self.source}): duplicate class names")
        self.video = _as_1d(video, np.int64, "video")
        n = self.video.shape[0]
        self.label = _as_1d(label, np.int64, "label", n)
        self.start = _as_1d(start, np.float64, "start", n)
        self.end = _as_1d(end, np.float64, "end", n)
        if n and (self.video.min() < 0 or self.video.max() >= n_v):
            raise InvalidArgumentError(f"GroundTruth ({self.source}): `video` index out of range [0, {n_v})")
        if n and (self.label.min() < 0 or self.label.max() >= n_c):
            raise InvalidArgumentError(f"GroundTruth ({self.source}): `label` index out of range [0, {n_c})")
        if not (np.all(np.isfinite(self.start)) and np.all(np.isfinite(self.end))):
            raise InvalidArgumentError(f"GroundTruth ({self.source}): non-finite segment bounds")
        bad = np.flatnonzero(self.end < self.start)
        if bad.size:
            i = int(bad[0])
            raise InvalidArgumentError(
                f"GroundTruth ({self.source}): segment {i} of video {self.videos[self.video[i]]!r} ends "
                f"({self.end[i]}) before it starts ({self.start[i]})"
            )

        def per_video(value: Any, default: float, name: str) -> np.ndarray:
            arr = np.full(n_v, default) if value is None else np.broadcast_to(np.asarray(value, np.float64), (n_v,))
            return _as_1d(arr, np.float64, name, n_v)

        self.durations = per_video(durations, np.nan, "durations")
        self.snippet_seconds = per_video(snippet_seconds, np.nan, "snippet_seconds")
        if np.any(self.snippet_seconds[np.isfinite(self.snippet_seconds)] <= 0):
            raise InvalidArgumentError(f"GroundTruth ({self.source}): snippet_seconds must be positive")
        self.offset_seconds = per_video(offset_seconds, 0.0, "offset_seconds")
        self.ambiguous_video = _as_1d([] if ambiguous_video is None else ambiguous_video, np.int64, "ambiguous_video")
        n_a = self.ambiguous_video.shape[0]
        self.ambiguous_start = _as_1d([] if ambiguous_start is None else ambiguous_start, np.float64,
                                      "ambiguous_start", n_a)
        self.ambiguous_end = _as_1d([] if ambiguous_end is None else ambiguous_end, np.float64, "ambiguous_end", n_a)
        if n_a and (self.ambiguous_video.min() < 0 or self.ambiguous_video.max() >= n_v):
            raise InvalidArgumentError(f"GroundTruth ({self.source}): `ambiguous_video` index out of range")

    # ---- basic queries ------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of segments."""
        return int(self.video.shape[0])

    def __repr__(self) -> str:
        subs = ", ".join(f"{k}: {v}" for k, v in self.subset_counts().items())
        return (
            f"GroundTruth(videos={len(self.videos)} ({subs}), segments={len(self)}, "
            f"classes={len(self.class_names)}, source={self.source!r})"
        )

    def index(self, video: str) -> int:
        """Position of ``video`` in ``videos``; ``KeyError`` naming it if absent."""
        try:
            return self._index[video]
        except KeyError:
            raise KeyError(f"video {video!r} is not in the ground truth ({self.source})") from None

    def __contains__(self, video: object) -> bool:
        return video in self._index

    def video_indices(self, names: Iterable[str]) -> np.ndarray:
        """Position of each name in ``videos``, -1 where absent; int64 array (one per name)."""
        return np.asarray([self._index.get(str(v), -1) for v in names], np.int64)

    def subset_counts(self) -> dict[str, int]:
        """Number of videos per subset, in order of first appearance."""
        out: dict[str, int] = {}
        for s in self.subsets:
            out[s] = out.get(s, 0) + 1
        return out

    def segments_past_duration(self) -> dict[str, int]:
        """Videos with ground-truth segments that end after the video's duration: name → number
        of such segments (``end > duration``), in video order. Videos of unknown duration are not
        checked. (THUMOS14 has 30 such segments in 5 videos, see `tadfuse.data.THUMOS14_QUIRKS`.)"""
        with np.errstate(invalid="ignore"):
            past = self.end > self.durations[self.video]  # NaN durations compare False
        counts = np.bincount(self.video[past], minlength=len(self.videos))
        return {self.videos[i]: int(counts[i]) for i in np.flatnonzero(counts)}

    def segments(self, video: str | int) -> tuple[np.ndarray, np.ndarray]:
        """``(labels (n,) int64, segments (n, 2) float64 seconds)`` of one video, in file order."""
        i = self.index(video) if isinstance(video, str) else int(video)
        rows = np.flatnonzero(self.video == i)
        return self.label[rows].copy(), np.stack([self.start[rows], self.end[rows]], axis=1)

    def ambiguous(self, video: str | int) -> np.ndarray:
        """Ambiguous intervals of one video, shape (a, 2), seconds."""
        i = self.index(video) if isinstance(video, str) else int(video)
        rows = np.flatnonzero(self.ambiguous_video == i)
        return np.stack([self.ambiguous_start[rows], self.ambiguous_end[rows]], axis=1)

    # ---- selection ----------------------------------------------------------------------

    def select(
        self,
        subset: str | None = None,
        videos: Sequence[str] | None = None,
        exclude: Iterable[str] = (),
    ) -> GroundTruth:
        """A copy restricted to some videos.

        ``subset`` keeps the videos of that split; ``videos`` keeps those names in the given
        order (each must exist); ``exclude`` removes names (each must exist). Segment and
        ambiguous rows follow their videos; class names are kept as they are.
        """
        if subset is not None and subset not in self.subset_counts():
            raise InvalidArgumentError(
                f"subset {subset!r} is not in the ground truth ({self.source}); "
                f"it has {self.subset_counts()}"
            )
        if videos is not None:
            if isinstance(videos, str):
                raise InvalidTypeError("`videos` must be a sequence of names, not a single string")
            missing = [v for v in videos if v not in self._index]
            if missing:
                raise InvalidArgumentError(
                    f"{len(missing)} of the requested videos are not in the ground truth "
                    f"({self.source}), e.g. {missing[:3]}"
                )
            keep = [self._index[v] for v in videos]
            if len(set(keep)) != len(keep):
                raise InvalidArgumentError("`videos` lists a video more than once")
        else:
            keep = list(range(len(self.videos)))
        if subset is not None:
            keep = [i for i in keep if self.subsets[i] == subset]
        exclude = list(exclude)
        missing = [v for v in exclude if v not in self._index]
        if missing:
            raise InvalidArgumentError(
                f"`exclude` names videos that are not in the ground truth ({self.source}): {missing[:3]}"
            )
        drop = {self._index[v] for v in exclude}
        keep = [i for i in keep if i not in drop]
        remap = np.full(len(self.videos), -1, np.int64)
        remap[keep] = np.arange(len(keep))
        rows = np.flatnonzero(remap[self.video] >= 0) if len(self) else np.zeros(0, np.int64)
        rows = rows[np.argsort(remap[self.video[rows]], kind="stable")]
        amb = np.flatnonzero(remap[self.ambiguous_video] >= 0)
        amb = amb[np.argsort(remap[self.ambiguous_video[amb]], kind="stable")]
        return GroundTruth(
            videos=tuple(self.videos[i] for i in keep),
            subsets=tuple(self.subsets[i] for i in keep),
            class_names=self.class_names,
            video=remap[self.video[rows]],
            label=self.label[rows],
            start=self.start[rows],
            end=self.end[rows],
            durations=self.durations[keep],
            snippet_seconds=self.snippet_seconds[keep],
            offset_seconds=self.offset_seconds[keep],
            ambiguous_video=remap[self.ambiguous_video[amb]],
            ambiguous_start=self.ambiguous_start[amb],
            ambiguous_end=self.ambiguous_end[amb],
            source=self.source,
        )

    # ---- ActivityNet JSON ---------------------------------------------------------------

    @classmethod
    def from_activitynet(
        cls,
        source: PathLike | Mapping[str, Any],
        *,
        class_names: Sequence[str] | None = None,
    ) -> GroundTruth:
        """Read the ActivityNet ground-truth layout (a path or an already parsed dict).

        Layout: ``{"database": {video: {"subset": str, "duration": seconds (optional),
        "annotations": [{"segment": [start_s, end_s], "label": str}, ...]}}}``. ``taxonomy`` and
        ``version`` are not required. Three optional tadfuse extensions are read when present:
        ``"ambiguous": [[start_s, end_s], ...]`` per video, a top-level ``"class_names"`` list
        that fixes the class order, and a top-level ``"tadfuse"`` block whose
        ``snippet_seconds``/``offset_seconds`` give the feature timebase (its ``provenance``,
        which tadfuse writes, and other keys are not used here). Without ``class_names`` the
        class order is the sorted set of labels in the whole database (all subsets), so it is
        the same for every subset.

        Labels are class *names*: a JSON integer label ``3`` is the class named ``"3"`` (labels
        are stored as strings; a result JSON's ``3`` or ``"3"`` matches it). When every label in
        the file is a JSON integer the default order is numeric (``"2"`` before ``"10"``),
        otherwise it is text order.

        Every field is checked as in `read_activitynet_results`: segments and ``ambiguous``
        intervals are ``[start, end]`` pairs of finite JSON numbers with ``0 <= start <= end``,
        labels non-empty strings or integers, ``subset`` a string, ``duration`` a positive number
        or absent/null (unknown). Violations raise `DataFormatError` naming the file, the video
        and the entry.
        """
        data, name = _read_json(source, "ground truth")
        if "database" not in data:
            raise DataFormatError(f"{name}: missing key 'database' (the ActivityNet ground-truth layout)")
        db = _object(data["database"], f"{name}: 'database'")
        videos, subsets, durations, ambiguous = [], [], [], []
        rows: list[tuple[int, str, float, float]] = []
        raw_labels: list[str | int] = []  # labels as written (to detect all-integer label sets)
        for vi, (vid, entry) in enumerate(db.items()):
            where = f"{name}: database[{vid!r}]"
            entry = _object(entry, where)
            if "subset" not in entry:
                raise DataFormatError(f"{where}: missing key 'subset'")
            subset = entry["subset"]
            if not isinstance(subset, str):
                raise DataFormatError(f"{where}: 'subset' must be a split name (a string), got {subset!r}")
            anns = entry.get("annotations")
            if not isinstance(anns, list):
                raise DataFormatError(f"{where}: missing key 'annotations' (a list, possibly empty)")
            dur = entry.get("duration")
            dur_f = float("nan") if dur is None else _number(dur, where, "duration")
            if dur_f <= 0:
                raise DataFormatError(f"{where}: 'duration' must be positive, got {dur!r}")
            videos.append(str(vid))
            subsets.append(subset)
            durations.append(dur_f)
            for k, ann in enumerate(anns):
                w = f"{where}['annotations'][{k}]"
                if not isinstance(ann, Mapping) or "segment" not in ann or "label" not in ann:
                    raise DataFormatError(f"{w}: needs keys 'segment' and 'label'")
                s, e = _segment(ann["segment"], w)
                lab = _label(ann["label"], w)
                raw_labels.append(lab)
                rows.append((vi, str(lab), s, e))
            amb_rows = entry.get("ambiguous", [])
            if not isinstance(amb_rows, list):
                raise DataFormatError(f"{where}: 'ambiguous' must be a list of [start, end] pairs")
            for k, seg in enumerate(amb_rows):
                s, e = _segment(seg, f"{where}['ambiguous'][{k}]", "ambiguous")
                ambiguous.append((vi, s, e))
        if class_names is None and "class_names" in data:
            listed = data["class_names"]
            if not isinstance(listed, list):
                raise DataFormatError(f"{name}: 'class_names' must be a list of class names")
            class_names = [str(_label(c, f"{name}: class_names[{k}]")) for k, c in enumerate(listed)]
            if len(set(class_names)) != len(class_names):
                dup = next(c for c in class_names if class_names.count(c) > 1)
                raise DataFormatError(f"{name}: 'class_names' lists {dup!r} twice")
        if class_names is None:
            if raw_labels and all(isinstance(x, int) for x in raw_labels):
                class_names = [str(x) for x in sorted(set(raw_labels))]  # numeric, not "10" < "2"
            else:
                class_names = sorted({r[1] for r in rows})
        class_names = tuple(str(c) for c in class_names)
        cindex = {c: i for i, c in enumerate(class_names)}
        unknown = sorted({r[1] for r in rows} - set(cindex))
        if unknown:
            raise DataFormatError(f"{name}: labels not in class_names: {unknown[:5]}")
        block = _object(data.get("tadfuse", {}), f"{name}: 'tadfuse'")
        if "provenance" in block:
            _object(block["provenance"], f"{name}: 'tadfuse': 'provenance'")
        snippet_seconds = offset_seconds = None
        if "snippet_seconds" in block:
            snippet_seconds = _number(block["snippet_seconds"], f"{name}: 'tadfuse'", "snippet_seconds")
            offset_seconds = _number(block.get("offset_seconds", 0.0), f"{name}: 'tadfuse'", "offset_seconds")
            if snippet_seconds <= 0:
                raise DataFormatError(f"{name}: 'tadfuse': 'snippet_seconds' must be positive, got {snippet_seconds}")
        return cls(
            videos=tuple(videos),
            subsets=tuple(subsets),
            class_names=class_names,
            video=[r[0] for r in rows],
            label=[cindex[r[1]] for r in rows],
            start=[r[2] for r in rows],
            end=[r[3] for r in rows],
            durations=durations,
            snippet_seconds=snippet_seconds,
            offset_seconds=offset_seconds,
            ambiguous_video=[a[0] for a in ambiguous],
            ambiguous_start=[a[1] for a in ambiguous],
            ambiguous_end=[a[2] for a in ambiguous],
            source=name,
        )

    def to_activitynet(self, *, include_extensions: bool = True) -> dict[str, Any]:
        """The ActivityNet ground-truth layout (JSON-ready). With ``include_extensions`` the
        tadfuse keys ``class_names`` (top level) and ``ambiguous`` (per video, when non-empty)
        are added so that `from_activitynet` reproduces this object exactly."""
        db: dict[str, Any] = {}
        for i, vid in enumerate(self.videos):
            labels, segs = self.segments(i)
            entry: dict[str, Any] = {"subset": self.subsets[i]}
            if np.isfinite(self.durations[i]):
                entry["duration"] = float(self.durations[i])
            entry["annotations"] = [
                {"segment": [float(s), float(e)], "label": self.class_names[int(c)]}
                for c, (s, e) in zip(labels, segs)
            ]
            amb = self.ambiguous(i)
            if include_extensions and amb.shape[0]:
                entry["ambiguous"] = amb.tolist()
            db[vid] = entry
        out: dict[str, Any] = {"version": "tadfuse", "database": db}
        if include_extensions:
            out["class_names"] = list(self.class_names)
            ss, off = np.unique(self.snippet_seconds), np.unique(self.offset_seconds)
            if ss.size == 1 and off.size == 1 and np.isfinite(ss[0]):
                out["tadfuse"] = {"snippet_seconds": float(ss[0]), "offset_seconds": float(off[0])}
        return out


def read_activitynet_ground_truth(
    source: PathLike | Mapping[str, Any], *, class_names: Sequence[str] | None = None
) -> GroundTruth:
    """Read an ActivityNet ground-truth JSON (see `GroundTruth.from_activitynet`)."""
    return GroundTruth.from_activitynet(source, class_names=class_names)


def write_activitynet_ground_truth(
    path: PathLike, ground_truth: GroundTruth, *, provenance: Mapping[str, Any] | None = None
) -> Path:
    """Write ``ground_truth`` as ActivityNet JSON (with the tadfuse extensions, see
    `GroundTruth.to_activitynet`) and ``"tadfuse": {"provenance": provenance_record(provenance)}``
    (the tadfuse version, and the preset, configuration and inputs when given). Returns the
    path."""
    data = ground_truth.to_activitynet()
    data.setdefault("tadfuse", {})["provenance"] = provenance_record(provenance)
    return atomic_write_json(path, data)


def read_ambiguous_list(path: PathLike) -> list[tuple[str, float, float]]:
    """Read a W-TALC ``Ambiguous_test.txt``: one ``video start end`` row per line (seconds).

    Fields are separated by any whitespace (the released file uses a double space, which the
    original code handled with ``split(' ')`` and fixed column positions). Blank lines are
    skipped; any other malformed line (not three fields, non-numbers, non-finite values, a start
    before 0 or an end before the start) raises `DataFormatError` with the file and line number.
    """
    path = Path(path)
    out: list[tuple[str, float, float]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: ambiguous-segment list not found") from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not a UTF-8 text file ({exc})") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3:
            raise DataFormatError(f"{path}:{lineno}: expected 'video start end', got {line!r}")
        try:
            s, e = float(fields[1]), float(fields[2])
        except ValueError:
            raise DataFormatError(f"{path}:{lineno}: start/end are not numbers: {line!r}") from None
        if not (math.isfinite(s) and math.isfinite(e)) or s < 0 or e < s:
            raise DataFormatError(f"{path}:{lineno}: invalid interval [{s}, {e}]")
        out.append((fields[0], s, e))
    return out


def as_ground_truth(obj: Any) -> GroundTruth:
    """Coerce to a `GroundTruth`: a GroundTruth, a dataset object (anything with a
    ``ground_truth()`` method returning one, e.g. a ``tadfuse.data`` dataset), a per-video
    folder dataset (a folder holding ``annotations.json``), or an ActivityNet ground-truth JSON
    path/dict.

    W-TALC bundles are ``.npy`` files that only `tadfuse.data` reads: a folder without
    ``annotations.json`` raises `ValueError` pointing to ``tadfuse.data.load_ground_truth``,
    which accepts every source this function does plus dataset folders of both layouts (and is
    what `tadfuse.evaluation.evaluate` uses)."""
    if isinstance(obj, GroundTruth):
        return obj
    gt_method = getattr(obj, "ground_truth", None)
    if callable(gt_method):  # a tadfuse.data dataset
        gt = gt_method()
        if not isinstance(gt, GroundTruth):
            raise InvalidTypeError(f"{type(obj).__name__}.ground_truth() did not return a GroundTruth")
        return gt
    if isinstance(obj, (str, os.PathLike)) and Path(obj).is_dir():
        if (Path(obj) / "annotations.json").is_file():  # a per-video folder dataset
            return GroundTruth.from_activitynet(Path(obj) / "annotations.json")
        raise InvalidArgumentError(
            f"{obj}: a folder without annotations.json (a W-TALC bundle?); read dataset folders "
            "with tadfuse.data.load_ground_truth"
        )
    if isinstance(obj, (str, os.PathLike, Mapping)):
        return GroundTruth.from_activitynet(obj)
    raise InvalidTypeError(
        "ground_truth must be a GroundTruth, a tadfuse.data dataset, a dataset folder, or an "
        f"ActivityNet JSON path/dict; got {type(obj).__name__}"
    )

# --------------------------------------------------------------------------------------------
# Detections
# --------------------------------------------------------------------------------------------


@dataclass
class DetectionTable:
    """Detections of many videos as one flat table (N rows), what `tadfuse.evaluation` scores.

    * ``video``: N video names; ``label`` (N,) int64: index into the ``class_names`` the table
      was built against, or -1 for a label not among them (counted in ``unknown_labels``).
    * ``start``, ``end``, ``score`` (N,) float64; ``unit`` says whether times are ``"seconds"``
      (a result JSON) or ``"snippets"`` (`Proposals`).
    * ``snippet_start``, ``snippet_end`` (N,) float64: the exact snippet boundaries, unclipped
      (a result JSON's ``"snippets"``; NaN for rows without them; equal to ``start``/``end``
      for `Proposals`).
    * ``snippet_seconds``, ``offset_seconds`` (N,) float64: the timebase the producer recorded
      for each row's video (a result JSON's ``tadfuse`` block), NaN where none was recorded.
    * ``unknown_labels``: label as written → count, for the labels not in ``class_names``;
      ``unknown_int_labels``: one of them was a JSON integer (see `integer_label_hint`).
    * ``all_videos``: every video key of the input, in order, including videos without rows.
    * ``source``: the file's path, or ``"in-memory"``; ``provenance``: the ``tadfuse.provenance``
      block of a result JSON (see `provenance_record`), or None.
    """

    video: list[str]
    label: np.ndarray
    start: np.ndarray
    end: np.ndarray
    score: np.ndarray
    unit: Literal["seconds", "snippets"]
    snippet_start: np.ndarray
    snippet_end: np.ndarray
    snippet_seconds: np.ndarray
    offset_seconds: np.ndarray
    unknown_labels: dict[str, int]
    all_videos: list[str]
    unknown_int_labels: bool = False
    source: str = IN_MEMORY
    provenance: Mapping[str, Any] | None = None

    def integer_label_hint(self, integer_labels: str) -> str:
        """A sentence to append to a message about unknown labels when integer labels were
        read by name and might have been meant as positions (empty otherwise)."""
        if self.unknown_int_labels and integer_labels == "name":
            return (" (integer labels are matched by name, e.g. 3 is the class '3'; pass "
                    "integer_labels='index' (CLI: --integer-labels index) if they are positions in class_names)")
        return ""


#: How a result JSON's integer labels are read (see `tadfuse.evaluation.evaluate`).
INTEGER_LABEL_MODES = ("name", "index")


def _check_integer_labels(integer_labels: str) -> None:
    if integer_labels not in INTEGER_LABEL_MODES:
        raise InvalidArgumentError(
            f"integer_labels must be one of {INTEGER_LABEL_MODES}, got {integer_labels!r}"
        )


def proposals_by_video(proposals: Proposals, video_names: Sequence[str]) -> dict[str, Proposals]:
    """Split a batch `Proposals` (with a ``video`` column) into ``{name: Proposals}``.

    ``video_names[k]`` names video index ``k``. Videos without rows get an empty container;
    row order within a video is kept.
    """
    if proposals.video is None:
        raise InvalidArgumentError("proposals_by_video: the proposals have no `video` column")
    n = len(video_names)
    if len(proposals) and (proposals.video.max() >= n):
        raise InvalidArgumentError(
            f"proposals_by_video: video index {int(proposals.video.max())} but only {n} names"
        )
    return {name: proposals.for_video(k) for k, name in enumerate(video_names)}


def _table_from_proposals(
    preds: Mapping[str, Proposals], class_names: Sequence[str]
) -> DetectionTable:
    n_c = len(class_names)
    videos: list[str] = []
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("label", "start", "end", "score")}
    unknown: dict[str, int] = {}
    for vid, p in preds.items():
        if not isinstance(p, Proposals):
            raise InvalidTypeError(
                f"predictions[{vid!r}]: expected Proposals, got {type(p).__name__}"
            )
        videos.extend([str(vid)] * len(p))
        lab = p.label.copy()
        out_of_range = lab >= n_c
        for k in np.unique(lab[out_of_range]):
            unknown[str(int(k))] = unknown.get(str(int(k)), 0) + int(np.sum(lab == k))
        lab[out_of_range] = -1
        cols["label"].append(lab)
        for k in ("start", "end", "score"):
            cols[k].append(getattr(p, k))

    def cat(k: str, dt: type) -> np.ndarray:
        return np.concatenate(cols[k]) if cols[k] else np.zeros(0, dt)

    start, end = cat("start", np.float64), cat("end", np.float64)
    nan = np.full(start.size, np.nan)
    return DetectionTable(video=videos, label=cat("label", np.int64), start=start, end=end,
                          score=cat("score", np.float64), unit="snippets", snippet_start=start,
                          snippet_end=end, snippet_seconds=nan, offset_seconds=nan,
                          unknown_labels=unknown, all_videos=[str(v) for v in preds])


def _recorded_timebase(block: Mapping[str, Any], key: str, where: str) -> float | dict[str, float] | None:
    """The ``snippet_seconds`` or ``offset_seconds`` a result JSON's ``tadfuse`` block records:
    None, a number, or ``{video: number}``; `DataFormatError` for anything else."""
    value = block.get(key)
    if value is None:
        return None
    items = value.items() if isinstance(value, Mapping) else [(None, value)]
    out: dict[Any, float] = {}
    for vid, x in items:
        w = where if vid is None else f"{where}[{key!r}][{vid!r}]"
        out[vid] = _number(x, w, key)
        if key == "snippet_seconds" and out[vid] <= 0:
            raise DataFormatError(f"{w}: {key!r} must be positive, got {x!r}")
    return out if isinstance(value, Mapping) else out[None]


def _for_video(recorded: float | dict[str, float] | None, vid: str) -> float:
    if isinstance(recorded, dict):
        return recorded.get(vid, math.nan)
    return math.nan if recorded is None else recorded


def _table_from_activitynet(
    source: PathLike | Mapping[str, Any],
    class_names: Sequence[str],
    name: str | None = None,
    integer_labels: str = "name",
) -> DetectionTable:
    """Parse and validate a result JSON (see `read_activitynet_results`). A string label is
    looked up by name; an integer label by its decimal name (``3`` -> ``"3"``, the same class a
    ground-truth label ``3`` or ``"3"`` defines) unless ``integer_labels == "index"``, which
    reads it as a position in ``class_names`` (explicit opt-in only: a position in a derived,
    sorted class list is easily not the class the producer meant)."""
    _check_integer_labels(integer_labels)
    data, default_name = _read_json(source, "predictions")
    name = name or default_name
    if "results" not in data:
        raise DataFormatError(f"{name}: missing key 'results' (the ActivityNet result layout)")
    results = _object(data["results"], f"{name}: 'results'")
    if "external_data" in data:
        _object(data["external_data"], f"{name}: 'external_data'")
    block = _object(data.get("tadfuse", {}), f"{name}: 'tadfuse'")
    provenance = block.get("provenance")
    if provenance is not None:
        provenance = _object(provenance, f"{name}: 'tadfuse': 'provenance'")
    rec_ss = _recorded_timebase(block, "snippet_seconds", f"{name}: 'tadfuse'")
    rec_off = _recorded_timebase(block, "offset_seconds", f"{name}: 'tadfuse'")
    cindex = {c: i for i, c in enumerate(class_names)}
    n_c = len(class_names)
    videos: list[str] = []
    label: list[int] = []
    cols: dict[str, list[float]] = {k: [] for k in ("start", "end", "score", "sn_start", "sn_end", "ss", "off")}
    unknown: dict[str, int] = {}
    unknown_int = False
    for vid, dets in results.items():
        where = f"{name}: results[{vid!r}]"
        if not isinstance(vid, str) or not vid:
            raise DataFormatError(f"{where}: video names must be non-empty strings")
        if not isinstance(dets, list):
            raise DataFormatError(f"{where}: must be a list of detections")
        ss_v, off_v = _for_video(rec_ss, vid), _for_video(rec_off, vid)
        for k, det in enumerate(dets):
            w = f"{where}[{k}]"
            det = _object(det, w)
            for key in ("label", "score", "segment"):
                if key not in det:
                    raise DataFormatError(f"{w}: missing key {key!r}")
            s, e = _segment(det["segment"], w)
            sn_s, sn_e = _segment(det["snippets"], w, "snippets") if "snippets" in det else (math.nan, math.nan)
            sc = _number(det["score"], w, "score")
            lab = _label(det["label"], w)
            if isinstance(lab, int) and integer_labels == "index":
                idx = lab if 0 <= lab < n_c else -1
            else:
                idx = cindex.get(str(lab), -1)
            if idx < 0:
                unknown[str(lab)] = unknown.get(str(lab), 0) + 1
                unknown_int |= isinstance(lab, int)
            videos.append(vid)
            label.append(idx)
            for key, value in zip(cols, (s, e, sc, sn_s, sn_e, ss_v, off_v)):
                cols[key].append(value)
    arr = {k: np.asarray(v, np.float64) for k, v in cols.items()}
    return DetectionTable(video=videos, label=np.asarray(label, np.int64), start=arr["start"], end=arr["end"],
                          score=arr["score"], unit="seconds", snippet_start=arr["sn_start"],
                          snippet_end=arr["sn_end"], snippet_seconds=arr["ss"], offset_seconds=arr["off"],
                          unknown_labels=unknown, all_videos=list(results), unknown_int_labels=unknown_int,
                          source=IN_MEMORY if isinstance(source, Mapping) else name, provenance=provenance)


def detection_table(
    obj: Any, class_names: Sequence[str], integer_labels: Literal["name", "index"] = "name"
) -> DetectionTable:
    """The detections ``obj`` as a `DetectionTable` against ``class_names``.

    ``obj`` is ``{video_name: Proposals}`` (snippets, integer labels indexing ``class_names``;
    labels ``>= len(class_names)`` become -1) or an ActivityNet result JSON (path or dict;
    seconds; labels read as described in `tadfuse.evaluation.evaluate`, ``integer_labels``).
    Invalid input raises `ValueError`/`TypeError` naming the file, video and detection.
    """
    _check_integer_labels(integer_labels)
    if isinstance(obj, Proposals):
        raise InvalidTypeError(
            "predictions: a bare Proposals has no video names; pass {video_name: Proposals} "
            "(see tadfuse.annotations.proposals_by_video)"
        )
    if isinstance(obj, Mapping) and "results" not in obj:
        if all(isinstance(v, Proposals) for v in obj.values()):
            return _table_from_proposals(obj, class_names)
        raise InvalidArgumentError(
            "predictions: a dict must be either the ActivityNet result layout (key 'results') "
            "or {video_name: Proposals}"
        )
    if isinstance(obj, (str, os.PathLike, Mapping)):
        return _table_from_activitynet(obj, class_names, integer_labels=integer_labels)
    raise InvalidTypeError(
        "predictions must be {video_name: Proposals} or an ActivityNet result JSON path/dict; "
        f"got {type(obj).__name__}"
    )


# --------------------------------------------------------------------------------------------
# Snippets → seconds, provenance, result JSON
# --------------------------------------------------------------------------------------------


def snippets_to_seconds(
    start: np.ndarray, end: np.ndarray, snippet_seconds: float | np.ndarray,
    offset_seconds: float | np.ndarray, duration: float | np.ndarray = math.nan,
) -> tuple[np.ndarray, np.ndarray]:
    """Snippet boundaries → seconds: ``t * snippet_seconds + offset_seconds``, then clipped to
    ``duration`` where it is known (finite; NaN means unknown). Broadcasts; float64.

    The one conversion used both to write result JSON (`activitynet_results`) and by the
    ``anet`` protocol for `Proposals`, so a file and the detections it was written from score
    the same. Clipping matters because the last proposal of the official preset ends one
    snippet past the features, which can pass the video's end."""
    s = np.asarray(start, np.float64) * snippet_seconds + offset_seconds
    e = np.asarray(end, np.float64) * snippet_seconds + offset_seconds
    dur = np.broadcast_to(np.asarray(duration, np.float64), s.shape)
    known = np.isfinite(dur)
    if known.any():
        s = np.where(known, np.minimum(s, dur), s)
        e = np.where(known, np.minimum(e, dur), e)
    return s, e


def provenance_record(provenance: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What produced a file, as written under ``"tadfuse": {"provenance": ...}`` in every JSON
    tadfuse writes (and in `tadfuse.evaluation.EvalResult.to_dict`).

    Always ``{"tadfuse_version": <this version>}``, plus the caller's keys: by convention
    ``"preset"`` (a preset name), ``"config"`` (the full resolved configuration, a dict such as
    ``Config.to_dict()``) and ``"inputs"`` (the files or settings it was computed from, a dict),
    and anything else JSON-serialisable. No timestamps, so that equal runs write equal files.
    Raises `InvalidArgumentError` for a non-mapping, non-string keys, ``tadfuse_version`` given
    by the caller, a ``config`` or ``inputs`` that is not a dict, a ``preset`` that is not a
    string, or values that JSON cannot hold (including NaN and infinity).
    """
    if provenance is None:
        provenance = {}
    if not isinstance(provenance, Mapping):
        raise InvalidArgumentError(f"provenance must be a mapping, got {type(provenance).__name__}")
    bad_keys = [k for k in provenance if not isinstance(k, str)]
    if bad_keys:
        raise InvalidArgumentError(f"provenance: keys must be strings, got {bad_keys[:3]}")
    if "tadfuse_version" in provenance:
        raise InvalidArgumentError("provenance: 'tadfuse_version' is recorded by tadfuse itself")
    for key in ("config", "inputs"):
        if key in provenance and not isinstance(provenance[key], Mapping):
            raise InvalidArgumentError(f"provenance[{key!r}] must be a dict, got {type(provenance[key]).__name__}")
    if "preset" in provenance and not isinstance(provenance["preset"], (str, type(None))):
        raise InvalidArgumentError(f"provenance['preset'] must be a preset name, got {provenance['preset']!r}")
    record = {"tadfuse_version": _core.__version__, **provenance}
    try:
        return json.loads(json.dumps(record, allow_nan=False))  # a plain, JSON-exact copy
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"provenance: not JSON-serialisable ({exc})") from None


def _per_video(value: float | Mapping[str, float] | None, vid: str, name: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, Mapping):
        if vid not in value:
            raise InvalidArgumentError(f"{name} has no entry for video {vid!r}")
        value = value[vid]
    return float(value)


def activitynet_results(
    detections: Mapping[str, Proposals],
    class_names: Sequence[str],
    *,
    snippet_seconds: float | Mapping[str, float] = SNIPPET_SECONDS,
    offset_seconds: float | Mapping[str, float] = 0.0,
    durations: float | Mapping[str, float] | None = None,
    version: str = "tadfuse",
    external_data: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Detections in snippets → the ActivityNet result layout in seconds (JSON-ready).

    ``detections`` maps video names to `Proposals` (time in snippets); every video appears in
    ``results`` (an empty list when it has no detection). Each detection is ``{"label":
    class_names[label], "score", "segment": [start_s, end_s], "snippets": [start, end]}``:

    * ``segment`` = `snippets_to_seconds` of the row with the video's ``snippet_seconds`` and
      ``offset_seconds`` (per video when mappings are given), clipped to the video's duration
      when ``durations`` gives a finite one (NaN or None: not clipped).
    * ``snippets`` = the row's exact ``[start, end]`` in snippets, never clipped. Seconds →
      snippets is not lossless (``61.99999999999999`` snippets would come back as ``62``), so
      the ``wtalc`` protocol and `proposals_from_activitynet` read these when present; the
      ActivityNet tools ignore the extra key.

    A top-level ``"tadfuse"`` block (also ignored by the ActivityNet tools) records
    ``provenance`` (`provenance_record`: the tadfuse version, and the preset, configuration
    and inputs when given), the timebase used (``snippet_seconds``, ``offset_seconds``: numbers
    or ``{video: number}``) and ``clipped_to_duration``, the number of detections whose seconds
    were clipped. Rows keep their order. A detection that would start before 0 s, a label
    without a class name or an invalid timebase raises `InvalidArgumentError` naming the video.
    """
    record = provenance_record(provenance)
    out: dict[str, list[dict[str, Any]]] = {}
    n_c = len(class_names)
    used_ss: dict[str, float] = {}
    used_off: dict[str, float] = {}
    clipped = 0
    for vid, p in detections.items():
        if not isinstance(p, Proposals):
            raise InvalidTypeError(f"detections[{vid!r}]: expected Proposals, got {type(p).__name__}")
        vid = str(vid)
        ss = _per_video(snippet_seconds, vid, "snippet_seconds", SNIPPET_SECONDS)
        off = _per_video(offset_seconds, vid, "offset_seconds", 0.0)
        dur = _per_video(durations, vid, "durations", math.nan)
        if not (math.isfinite(ss) and ss > 0 and math.isfinite(off)):
            raise InvalidArgumentError(f"video {vid!r}: invalid timebase snippet_seconds={ss}, offset={off}")
        if not (math.isnan(dur) or dur > 0):
            raise InvalidArgumentError(f"video {vid!r}: durations must be positive (or NaN for unknown), got {dur}")
        used_ss[vid], used_off[vid] = ss, off
        if len(p) and p.label.max() >= n_c:
            raise InvalidArgumentError(
                f"detections[{vid!r}]: label {int(p.label.max())} but only {n_c} class names"
            )
        s_unclipped = p.start * ss + off
        if len(p) and (p.start.min() < 0 or s_unclipped.min() < 0):
            k = int(np.argmin(np.minimum(p.start, s_unclipped)))
            raise InvalidArgumentError(
                f"detections[{vid!r}]: row {k} starts before 0 ({p.start[k]} snippets, {s_unclipped[k]} s)"
            )
        s_sec, e_sec = snippets_to_seconds(p.start, p.end, ss, off, dur)
        clipped += int(np.sum(e_sec < p.end * ss + off))
        out[vid] = [
            {"label": class_names[int(c)], "score": float(sc), "segment": [float(s), float(e)],
             "snippets": [float(a), float(b)]}
            for c, sc, s, e, a, b in zip(p.label, p.score, s_sec, e_sec, p.start, p.end)
        ]

    def compact(values: dict[str, float]) -> float | dict[str, float]:
        distinct = set(values.values())
        return distinct.pop() if len(distinct) == 1 else values

    block: dict[str, Any] = {"provenance": record, "clipped_to_duration": clipped}
    if used_ss:
        block["snippet_seconds"], block["offset_seconds"] = compact(used_ss), compact(used_off)
    return {"version": version, "results": out, "external_data": dict(external_data or {}), "tadfuse": block}


def proposals_from_activitynet(
    source: PathLike | Mapping[str, Any],
    class_names: Sequence[str],
    *,
    snippet_seconds: float | Mapping[str, float] = SNIPPET_SECONDS,
    offset_seconds: float | Mapping[str, float] = 0.0,
    integer_labels: Literal["name", "index"] = "name",
) -> dict[str, Proposals]:
    """An ActivityNet result JSON → ``{video: Proposals}`` in snippets, the inverse of
    `activitynet_results`: a detection's ``"snippets"`` when present (exact), else
    ``(seconds - offset_seconds) / snippet_seconds``.

    Labels are looked up by name in ``class_names``; an integer label ``3`` is the class named
    ``"3"``, unless ``integer_labels="index"`` (then it is ``class_names[3]``). Detections with
    a label outside ``class_names`` are dropped with an `EvaluationWarning` giving the count.
    ``inner`` is set to the score. Row order is kept.
    """
    preds = _table_from_activitynet(source, class_names, integer_labels=integer_labels)
    if preds.unknown_labels:
        _warn(f"{sum(preds.unknown_labels.values())} detection(s) with labels not in class_names "
              f"were dropped: {sorted(preds.unknown_labels)[:8]}"
              + preds.integer_label_hint(integer_labels))
    out: dict[str, Proposals] = {}
    order: dict[str, list[int]] = {}
    for i, v in enumerate(preds.video):
        order.setdefault(v, []).append(i)
    exact = np.isfinite(preds.snippet_start)
    for vid in preds.all_videos:
        rows = np.asarray(order.get(vid, []), np.int64)
        rows = rows[preds.label[rows] >= 0] if rows.size else rows
        ss = _per_video(snippet_seconds, vid, "snippet_seconds", SNIPPET_SECONDS)
        off = _per_video(offset_seconds, vid, "offset_seconds", 0.0)
        if not (math.isfinite(ss) and ss > 0 and math.isfinite(off)):
            raise InvalidArgumentError(f"video {vid!r}: invalid timebase snippet_seconds={ss}, offset={off}")
        start = np.where(exact[rows], preds.snippet_start[rows], (preds.start[rows] - off) / ss)
        end = np.where(exact[rows], preds.snippet_end[rows], (preds.end[rows] - off) / ss)
        out[vid] = Proposals(preds.label[rows], start, end, preds.score[rows])
    return out


def write_activitynet_results(
    path: PathLike,
    detections: Mapping[str, Proposals] | Mapping[str, Any],
    class_names: Sequence[str] | None = None,
    *,
    provenance: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Path:
    """Write detections as an ActivityNet result JSON; returns the path.

    ``detections`` is either ``{video: Proposals}`` (converted with `activitynet_results`,
    ``class_names`` required, ``provenance`` and ``kwargs`` — ``snippet_seconds``,
    ``offset_seconds``, ``durations``, ``version``, ``external_data`` — passed on) or an already
    built result dict (validated by reading it back through the same parser as
    `read_activitynet_results`; ``provenance``, when given, replaces its
    ``tadfuse.provenance``, and a dict without one gets `provenance_record`'s version).
    """
    if isinstance(detections, Mapping) and "results" in detections:
        if kwargs:
            raise InvalidArgumentError(f"write_activitynet_results: {sorted(kwargs)} apply to Proposals only")
        _table_from_activitynet(detections, class_names or ())  # validates the layout
        data = dict(detections)
        block = dict(data.get("tadfuse", {}))
        if provenance is not None or "provenance" not in block:
            block["provenance"] = provenance_record(provenance)
        data["tadfuse"] = block
    else:
        if class_names is None:
            raise InvalidArgumentError("write_activitynet_results: class_names is required for Proposals")
        data = activitynet_results(detections, class_names, provenance=provenance, **kwargs)  # type: ignore[arg-type]
    return atomic_write_json(path, data)


def read_activitynet_results(source: PathLike | Mapping[str, Any]) -> dict[str, Any]:
    """Read and validate an ActivityNet result JSON; returns the parsed dict.

    Every detection must have ``label`` (a non-empty class name or a JSON integer, read as the
    name ``str(label)``), a ``score`` (a finite JSON number; not a string or a bool) and a
    ``segment`` ``[start, end]`` in seconds (finite numbers, ``0 <= start <= end``); an optional
    ``snippets`` ``[start, end]`` (the exact snippet boundaries tadfuse writes) is held to the
    same rules. ``version`` is optional; ``external_data`` and the ``tadfuse`` block
    (``provenance``, ``snippet_seconds``, ``offset_seconds``, see `activitynet_results`) must be
    objects when present; other keys are ignored. A JSON object that repeats a key is rejected
    (``json`` would keep one silently). Violations raise `DataFormatError` naming the file, the
    video and the detection index.
    """
    data, name = _read_json(source, "predictions")
    _table_from_activitynet(data, (), name=name)
    return dict(data)
