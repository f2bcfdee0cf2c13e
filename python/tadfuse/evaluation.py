"""Temporal action detection mAP with named protocols, and ActivityNet JSON I/O.

One evaluator, two named protocols (DESIGN §3.8). Both score a set of detections against ground
truth with greedy matching in score order and all-points interpolated average precision; they
differ in how overlap is measured and which predictions take part.

``anet``
    The official ActivityNet ``eval_detection.py`` semantics. Continuous temporal IoU in seconds.
    Per class, predictions are visited in descending score order; each one takes the unmatched
    ground-truth segment of its video and class with the highest tIoU, provided that tIoU is
    ``>= threshold``; otherwise it is a false positive. AP is the VOC 2011 all-points interpolated
    AP; mAP is the mean over the classes that have ground truth in the evaluated videos; a class
    without predictions scores 0 (only that class). Predictions on videos that have no ground
    truth of their class count as false positives, exactly like the official code.

``wtalc``
    The in-house evaluator of W-TALC, RSKP and GauFuse (``detectionMAP.getLocMAP``). Overlap is
    the IoU of *snippet index sets*: a prediction ``[s, e)`` in snippets covers ``range(int(s),
    int(e))``, a ground-truth segment ``[a, b]`` in seconds covers ``range(round(a*f),
    round(b*f))`` with ``f = 1 / snippet_seconds`` (25/16 for I3D at 25 fps, stride 16; ``round``
    is half-to-even as in Python). Before matching, every prediction whose snippet set intersects
    an entry of the ambiguous list (``Ambiguous_test.txt``) of its video is removed. Only videos
    with at least one ground-truth segment are evaluated (predictions elsewhere are dropped).
    Matching and AP are as for ``anet``. The original returns mAP 0 for *every* class when any
    class has no predictions; that bug is reproduced only with ``zero_map_bug=True``.
    Predictions in seconds (result JSON) are *truncated* to snippets (``int(t * f)``) while the
    ground truth is *rounded*, as in the original code, so the ground truth scored against itself
    does not reach mAP 1.0 under ``wtalc`` (a note says so), and ground-truth segments shorter than
    one snippet after rounding (an empty snippet range) can never be matched (noted with their
    count).

Ties are broken deterministically everywhere: predictions of equal score keep their input order;
among equally good ground-truth candidates the lowest index (input order) wins. The official
codes break these ties with numpy's unstable quicksort (the ActivityNet code even prefers the
*last* of equal-tIoU candidates for short lists); on inputs without score or tIoU ties the
results are identical to theirs.

Deviations from the reference codes, all on inputs those codes cannot handle:

* A zero-length union (a zero-length prediction against a zero-length ground truth at the same
  point, or two empty snippet sets) has IoU 0 here. The official ActivityNet code computes
  ``0/0 = NaN`` and then matches it as a true positive; the W-TALC code raises
  ``ZeroDivisionError``.
* Predictions whose label has no ground truth in the evaluated videos are ignored with a warning
  (the ActivityNet code raises ``KeyError``; W-TALC never produces them).
* Predictions on videos outside the evaluated list follow ``unknown_videos`` (see `evaluate`).
* The "blocked videos" list that the ActivityNet code downloads is not used.

Time units: ground truth is in seconds. The package's own predictions (`Proposals`) are in
snippets and are converted with the video's timebase (``seconds = snippets * snippet_seconds +
offset_seconds``); ActivityNet result JSON is in seconds.
"""

from __future__ import annotations

import hashlib
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

from tadfuse.errors import DataFormatError, EvaluationWarning, InvalidArgumentError
from tadfuse.proposals import SNIPPET_SECONDS, Proposals

__all__ = [
    "ANET_TIOU_THRESHOLDS",
    "PROTOCOLS",
    "THUMOS14_TIOU_THRESHOLDS",
    "EvalResult",
    "EvaluationWarning",
    "GroundTruth",
    "activitynet_results",
    "as_ground_truth",
    "average_precision",
    "evaluate",
    "proposals_by_video",
    "proposals_from_activitynet",
    "read_activitynet_ground_truth",
    "read_activitynet_results",
    "read_ambiguous_list",
    "write_activitynet_ground_truth",
    "write_activitynet_results",
]

#: The protocol names accepted by `evaluate`.
PROTOCOLS = ("anet", "wtalc")

#: THUMOS14 thresholds used by the WTAL papers: 0.1, 0.2, ..., 0.7.
THUMOS14_TIOU_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)

#: ActivityNet 1.3 thresholds: ``np.linspace(0.5, 0.95, 10)`` (the official default).
ANET_TIOU_THRESHOLDS: tuple[float, ...] = tuple(float(t) for t in np.linspace(0.5, 0.95, 10))

# Named averages printed with a result when all of their thresholds were evaluated.
_NAMED_AVERAGES: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("0.1:0.5", (0.1, 0.2, 0.3, 0.4, 0.5)),
    ("0.3:0.7", (0.3, 0.4, 0.5, 0.6, 0.7)),
    ("0.1:0.7", THUMOS14_TIOU_THRESHOLDS),
    ("0.5:0.95", ANET_TIOU_THRESHOLDS),
)

_PROTOCOL_TITLES = {
    "anet": "anet (official ActivityNet eval_detection semantics: continuous tIoU in seconds)",
    "wtalc": "wtalc (W-TALC/RSKP/GauFuse in-house: snippet-set IoU, ambiguous segments removed)",
}

PathLike = Union[str, "os.PathLike[str]"]


def _warn(message: str) -> None:
    warnings.warn(message, EvaluationWarning, stacklevel=3)


# --------------------------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------------------------


def _read_json(source: PathLike | Mapping[str, Any], what: str) -> tuple[Mapping[str, Any], str]:
    """Return ``(data, name)`` where ``name`` identifies the source in error messages."""
    if isinstance(source, Mapping):
        return source, f"<{what} dict>"
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            f"{what}: expected a path or a dict in the ActivityNet layout, got {type(source).__name__}"
        )
    path = Path(source)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: {what} file not found") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{path}: is a folder, expected a {what} JSON file") from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not a UTF-8 text file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, Mapping):
        raise DataFormatError(f"{path}: the top level of a {what} file must be a JSON object")
    return data, str(path)


def _segment(value: Any, where: str) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise DataFormatError(f"{where}: 'segment' must be a list [start, end], got {value!r}")
    try:
        s, e = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        raise DataFormatError(f"{where}: 'segment' values must be numbers, got {value!r}") from None
    if not (math.isfinite(s) and math.isfinite(e)):
        raise DataFormatError(f"{where}: 'segment' must be finite, got {value!r}")
    if e < s:
        raise DataFormatError(f"{where}: 'segment' end {e} is before its start {s}")
    return s, e


def _atomic_write_json(path: PathLike, data: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------


def _as_1d(values: Any, dtype: type, name: str, length: int | None = None) -> np.ndarray:
    arr: np.ndarray = np.ascontiguousarray(np.asarray(values, dtype=dtype))
    if arr.ndim != 1:
        raise ValueError(f"GroundTruth: `{name}` must be 1-D, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"GroundTruth: `{name}` has length {arr.shape[0]}, expected {length}")
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
            raise ValueError(f"GroundTruth ({self.source}): video {dup!r} appears more than once")
        self.subsets = tuple(str(s) for s in subsets)
        if len(self.subsets) != n_v:
            raise ValueError(f"GroundTruth ({self.source}): {len(self.subsets)} subsets for {n_v} videos")
        self.class_names = tuple(str(c) for c in class_names)
        n_c = len(self.class_names)
        if len(set(self.class_names)) != n_c:
            raise ValueError(f"GroundTruth ({self.source}): duplicate class names")
        self.video = _as_1d(video, np.int64, "video")
        n = self.video.shape[0]
        self.label = _as_1d(label, np.int64, "label", n)
        self.start = _as_1d(start, np.float64, "start", n)
        self.end = _as_1d(end, np.float64, "end", n)
        if n and (self.video.min() < 0 or self.video.max() >= n_v):
            raise ValueError(f"GroundTruth ({self.source}): `video` index out of range [0, {n_v})")
        if n and (self.label.min() < 0 or self.label.max() >= n_c):
            raise ValueError(f"GroundTruth ({self.source}): `label` index out of range [0, {n_c})")
        if not (np.all(np.isfinite(self.start)) and np.all(np.isfinite(self.end))):
            raise ValueError(f"GroundTruth ({self.source}): non-finite segment bounds")
        bad = np.flatnonzero(self.end < self.start)
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"GroundTruth ({self.source}): segment {i} of video {self.videos[self.video[i]]!r} ends "
                f"({self.end[i]}) before it starts ({self.start[i]})"
            )

        def per_video(value: Any, default: float, name: str) -> np.ndarray:
            arr = np.full(n_v, default) if value is None else np.broadcast_to(np.asarray(value, np.float64), (n_v,))
            return _as_1d(arr, np.float64, name, n_v)

        self.durations = per_video(durations, np.nan, "durations")
        self.snippet_seconds = per_video(snippet_seconds, np.nan, "snippet_seconds")
        if np.any(self.snippet_seconds[np.isfinite(self.snippet_seconds)] <= 0):
            raise ValueError(f"GroundTruth ({self.source}): snippet_seconds must be positive")
        self.offset_seconds = per_video(offset_seconds, 0.0, "offset_seconds")
        self.ambiguous_video = _as_1d([] if ambiguous_video is None else ambiguous_video, np.int64, "ambiguous_video")
        n_a = self.ambiguous_video.shape[0]
        self.ambiguous_start = _as_1d([] if ambiguous_start is None else ambiguous_start, np.float64,
                                      "ambiguous_start", n_a)
        self.ambiguous_end = _as_1d([] if ambiguous_end is None else ambiguous_end, np.float64, "ambiguous_end", n_a)
        if n_a and (self.ambiguous_video.min() < 0 or self.ambiguous_video.max() >= n_v):
            raise ValueError(f"GroundTruth ({self.source}): `ambiguous_video` index out of range")

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

    def subset_counts(self) -> dict[str, int]:
        """Number of videos per subset, in order of first appearance."""
        out: dict[str, int] = {}
        for s in self.subsets:
            out[s] = out.get(s, 0) + 1
        return out

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
                raise TypeError("`videos` must be a sequence of names, not a single string")
            missing = [v for v in videos if v not in self._index]
            if missing:
                raise InvalidArgumentError(
                    f"{len(missing)} of the requested videos are not in the ground truth "
                    f"({self.source}), e.g. {missing[:3]}"
                )
            keep = [self._index[v] for v in videos]
            if len(set(keep)) != len(keep):
                raise ValueError("`videos` lists a video more than once")
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
        ``version`` are not required. Two optional tadfuse extensions are read when present:
        ``"ambiguous": [[start_s, end_s], ...]`` per video, a top-level ``"class_names"``
        list that fixes the class order, and a top-level ``"tadfuse"`` block whose
        ``snippet_seconds``/``offset_seconds`` give the feature timebase. Otherwise ``class_names`` defaults to the sorted set of
        labels in the whole database (all subsets), so the class order is the same for every
        subset.

        Labels are class *names*: a JSON integer label ``3`` is the class named ``"3"`` (labels
        are stored as strings; a result JSON's ``3`` or ``"3"`` matches it). When every label in
        the file is a JSON integer the default order is numeric (``"2"`` before ``"10"``),
        otherwise it is text order.

        Raises ``ValueError`` naming the file, the video and what is wrong.
        """
        data, name = _read_json(source, "ground truth")
        db = data.get("database")
        if not isinstance(db, Mapping):
            raise DataFormatError(f"{name}: missing key 'database' (the ActivityNet ground-truth layout)")
        videos, subsets, durations, ambiguous = [], [], [], []
        rows: list[tuple[int, str, float, float]] = []
        raw_labels: list[Any] = []  # labels as written (to detect all-integer label sets)
        for vi, (vid, entry) in enumerate(db.items()):
            where = f"{name}: database[{vid!r}]"
            if not isinstance(entry, Mapping):
                raise DataFormatError(f"{where}: must be an object")
            if "subset" not in entry:
                raise DataFormatError(f"{where}: missing key 'subset'")
            anns = entry.get("annotations")
            if not isinstance(anns, list):
                raise DataFormatError(f"{where}: missing key 'annotations' (a list, possibly empty)")
            dur = entry.get("duration")
            try:
                dur_f = float("nan") if dur is None else float(dur)
            except (TypeError, ValueError):
                raise DataFormatError(f"{where}: 'duration' must be a number, got {dur!r}") from None
            videos.append(str(vid))
            subsets.append(str(entry["subset"]))
            durations.append(dur_f)
            for k, ann in enumerate(anns):
                w = f"{where}['annotations'][{k}]"
                if not isinstance(ann, Mapping) or "segment" not in ann or "label" not in ann:
                    raise DataFormatError(f"{w}: needs keys 'segment' and 'label'")
                s, e = _segment(ann["segment"], w)
                raw_labels.append(ann["label"])
                rows.append((vi, str(ann["label"]), s, e))
            for k, seg in enumerate(entry.get("ambiguous", ())):
                s, e = _segment(seg, f"{where}['ambiguous'][{k}]")
                ambiguous.append((vi, s, e))
        if class_names is None and isinstance(data.get("class_names"), list):
            class_names = [str(c) for c in data["class_names"]]
        if class_names is None:
            if raw_labels and all(isinstance(x, int) and not isinstance(x, bool) for x in raw_labels):
                class_names = [str(x) for x in sorted(set(raw_labels))]  # numeric, not "10" < "2"
            else:
                class_names = sorted({r[1] for r in rows})
        class_names = tuple(str(c) for c in class_names)
        cindex = {c: i for i, c in enumerate(class_names)}
        unknown = sorted({r[1] for r in rows} - set(cindex))
        if unknown:
            raise DataFormatError(f"{name}: labels not in class_names: {unknown[:5]}")
        block = data.get("tadfuse")
        snippet_seconds = offset_seconds = None
        if isinstance(block, Mapping) and "snippet_seconds" in block:
            try:
                snippet_seconds = float(block["snippet_seconds"])
                offset_seconds = float(block.get("offset_seconds", 0.0))
            except (TypeError, ValueError):
                raise DataFormatError(f"{name}: 'tadfuse' block: snippet_seconds/offset_seconds must be numbers") from None
            if not (math.isfinite(snippet_seconds) and snippet_seconds > 0 and math.isfinite(offset_seconds)):
                raise DataFormatError(f"{name}: 'tadfuse' block: invalid timebase {snippet_seconds}, {offset_seconds}")
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


def write_activitynet_ground_truth(path: PathLike, ground_truth: GroundTruth) -> Path:
    """Write ``ground_truth`` as ActivityNet JSON (with the tadfuse extensions). Returns the path."""
    return _atomic_write_json(path, ground_truth.to_activitynet())


def read_ambiguous_list(path: PathLike) -> list[tuple[str, float, float]]:
    """Read a W-TALC ``Ambiguous_test.txt``: one ``video start end`` row per line (seconds).

    Fields are separated by any whitespace (the released file uses a double space, which the
    original code handled with ``split(' ')`` and fixed column positions). Blank lines are
    skipped; any other malformed line raises ``ValueError`` with the file and line number.
    """
    path = Path(path)
    out: list[tuple[str, float, float]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: ambiguous-segment list not found") from None
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
        if not (math.isfinite(s) and math.isfinite(e)) or e < s:
            raise DataFormatError(f"{path}:{lineno}: invalid interval [{s}, {e}]")
        out.append((fields[0], s, e))
    return out


def as_ground_truth(obj: Any) -> GroundTruth:
    """Coerce to a `GroundTruth`: a GroundTruth, a ``tadfuse.data`` dataset, a W-TALC bundle or
    annotation folder, a per-video folder dataset (``annotations.json``), or an ActivityNet
    ground-truth JSON path/dict."""
    if isinstance(obj, GroundTruth):
        return obj
    gt_method = getattr(obj, "ground_truth", None)
    if callable(gt_method):  # a tadfuse.data dataset
        gt = gt_method()
        if not isinstance(gt, GroundTruth):
            raise TypeError(f"{type(obj).__name__}.ground_truth() did not return a GroundTruth")
        return gt
    if isinstance(obj, (str, os.PathLike)) and Path(obj).is_dir():
        if (Path(obj) / "annotations.json").is_file():  # a per-video folder dataset
            return GroundTruth.from_activitynet(Path(obj) / "annotations.json")
        from tadfuse.data import load_wtalc  # a W-TALC bundle or annotation folder

        return load_wtalc(obj, features=False).ground_truth()
    if isinstance(obj, (str, os.PathLike, Mapping)):
        return GroundTruth.from_activitynet(obj)
    raise TypeError(
        "ground_truth must be a GroundTruth, a tadfuse.data dataset, a W-TALC annotation "
        f"folder, or an ActivityNet JSON path/dict; got {type(obj).__name__}"
    )


# --------------------------------------------------------------------------------------------
# Predictions
# --------------------------------------------------------------------------------------------


@dataclass
class _Predictions:
    """Flat prediction table; ``label`` is an index into the GT class names or -1 (unknown)."""

    video: list[str]
    label: np.ndarray
    start: np.ndarray
    end: np.ndarray
    score: np.ndarray
    unit: Literal["seconds", "snippets"]
    unknown_labels: dict[str, int]  # label as written -> count, for labels not in class_names
    all_videos: list[str]  # every video key, in input order (including videos without rows)
    unknown_int_labels: bool = False  # some unknown label was a JSON integer (for the hint)


#: How a result JSON's integer labels are read (see `evaluate`).
_INTEGER_LABEL_MODES = ("name", "index")


def _check_integer_labels(integer_labels: str) -> None:
    if integer_labels not in _INTEGER_LABEL_MODES:
        raise ValueError(
            f"integer_labels must be one of {_INTEGER_LABEL_MODES}, got {integer_labels!r}"
        )


def _integer_label_hint(preds: _Predictions, integer_labels: str) -> str:
    if preds.unknown_int_labels and integer_labels == "name":
        return (" (integer labels are matched by name, e.g. 3 is the class '3'; pass "
                "integer_labels='index' (CLI: --integer-labels index) if they are positions in class_names)")
    return ""


def proposals_by_video(proposals: Proposals, video_names: Sequence[str]) -> dict[str, Proposals]:
    """Split a batch `Proposals` (with a ``video`` column) into ``{name: Proposals}``.

    ``video_names[k]`` names video index ``k``. Videos without rows get an empty container;
    row order within a video is kept.
    """
    if proposals.video is None:
        raise ValueError("proposals_by_video: the proposals have no `video` column")
    n = len(video_names)
    if len(proposals) and (proposals.video.max() >= n):
        raise ValueError(
            f"proposals_by_video: video index {int(proposals.video.max())} but only {n} names"
        )
    return {name: proposals.for_video(k) for k, name in enumerate(video_names)}


def _predictions_from_proposals(
    preds: Mapping[str, Proposals], class_names: Sequence[str]
) -> _Predictions:
    n_c = len(class_names)
    videos: list[str] = []
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("label", "start", "end", "score")}
    unknown: dict[str, int] = {}
    for vid, p in preds.items():
        if not isinstance(p, Proposals):
            raise TypeError(
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
    cat = lambda k, dt: np.concatenate(cols[k]) if cols[k] else np.zeros(0, dt)
    return _Predictions(videos, cat("label", np.int64), cat("start", np.float64),
                        cat("end", np.float64), cat("score", np.float64), "snippets", unknown,
                        [str(v) for v in preds])


def _predictions_from_activitynet(
    source: PathLike | Mapping[str, Any],
    class_names: Sequence[str],
    name: str | None = None,
    integer_labels: str = "name",
) -> _Predictions:
    """Parse a result JSON. A string label is looked up by name; an integer label by its
    decimal name (``3`` -> ``"3"``, the same class a ground-truth label ``3`` or ``"3"``
    defines) unless ``integer_labels == "index"``, which reads it as a position in
    ``class_names`` (explicit opt-in only: a position in a derived, sorted class list is
    easily not the class the producer meant)."""
    _check_integer_labels(integer_labels)
    data, default_name = _read_json(source, "predictions")
    name = name or default_name
    results = data.get("results")
    if not isinstance(results, Mapping):
        raise DataFormatError(f"{name}: missing key 'results' (the ActivityNet result layout)")
    cindex = {c: i for i, c in enumerate(class_names)}
    n_c = len(class_names)
    videos: list[str] = []
    label: list[int] = []
    start: list[float] = []
    end: list[float] = []
    score: list[float] = []
    unknown: dict[str, int] = {}
    unknown_int = False
    for vid, dets in results.items():
        where = f"{name}: results[{vid!r}]"
        if not isinstance(dets, list):
            raise DataFormatError(f"{where}: must be a list of detections")
        for k, det in enumerate(dets):
            w = f"{where}[{k}]"
            if not isinstance(det, Mapping):
                raise DataFormatError(f"{w}: must be an object")
            for key in ("label", "score", "segment"):
                if key not in det:
                    raise DataFormatError(f"{w}: missing key {key!r}")
            s, e = _segment(det["segment"], w)
            try:
                sc = float(det["score"])
            except (TypeError, ValueError):
                raise DataFormatError(f"{w}: 'score' must be a number, got {det['score']!r}") from None
            if not math.isfinite(sc):
                raise DataFormatError(f"{w}: 'score' must be finite, got {sc}")
            lab = det["label"]
            if isinstance(lab, bool) or not isinstance(lab, (str, int)):
                raise DataFormatError(f"{w}: 'label' must be a class name or an integer, got {lab!r}")
            if isinstance(lab, int) and integer_labels == "index":
                idx = lab if 0 <= lab < n_c else -1
            else:
                idx = cindex.get(str(lab), -1)
            if idx < 0:
                unknown[str(lab)] = unknown.get(str(lab), 0) + 1
                unknown_int |= isinstance(lab, int)
            videos.append(str(vid))
            label.append(idx)
            start.append(s)
            end.append(e)
            score.append(sc)
    return _Predictions(videos, np.asarray(label, np.int64), np.asarray(start, np.float64),
                        np.asarray(end, np.float64), np.asarray(score, np.float64), "seconds",
                        unknown, [str(v) for v in results], unknown_int)


def _as_predictions(obj: Any, class_names: Sequence[str], integer_labels: str = "name") -> _Predictions:
    if isinstance(obj, Proposals):
        raise TypeError(
            "predictions: a bare Proposals has no video names; pass {video_name: Proposals} "
            "(see tadfuse.evaluation.proposals_by_video)"
        )
    if isinstance(obj, Mapping) and "results" not in obj:
        if all(isinstance(v, Proposals) for v in obj.values()):
            return _predictions_from_proposals(obj, class_names)
        raise ValueError(
            "predictions: a dict must be either the ActivityNet result layout (key 'results') "
            "or {video_name: Proposals}"
        )
    if isinstance(obj, (str, os.PathLike, Mapping)):
        return _predictions_from_activitynet(obj, class_names, integer_labels=integer_labels)
    raise TypeError(
        "predictions must be {video_name: Proposals} or an ActivityNet result JSON path/dict; "
        f"got {type(obj).__name__}"
    )


def activitynet_results(
    detections: Mapping[str, Proposals],
    class_names: Sequence[str],
    *,
    snippet_seconds: float | Mapping[str, float] = SNIPPET_SECONDS,
    offset_seconds: float | Mapping[str, float] = 0.0,
    version: str = "tadfuse",
    external_data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Detections in snippets → the ActivityNet result layout in seconds (JSON-ready).

    ``detections`` maps video names to `Proposals` (time in snippets); every video appears in
    ``results`` (an empty list when it has no detection). ``segment = [start, end] *
    snippet_seconds + offset_seconds`` (per video when mappings are given). Labels are written
    as class names (``class_names[label]``). Rows keep their order.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    n_c = len(class_names)
    for vid, p in detections.items():
        if not isinstance(p, Proposals):
            raise TypeError(f"detections[{vid!r}]: expected Proposals, got {type(p).__name__}")
        ss = snippet_seconds[vid] if isinstance(snippet_seconds, Mapping) else snippet_seconds
        off = offset_seconds[vid] if isinstance(offset_seconds, Mapping) else offset_seconds
        if not (math.isfinite(ss) and ss > 0 and math.isfinite(off)):
            raise ValueError(f"video {vid!r}: invalid timebase snippet_seconds={ss}, offset={off}")
        if len(p) and p.label.max() >= n_c:
            raise ValueError(
                f"detections[{vid!r}]: label {int(p.label.max())} but only {n_c} class names"
            )
        segs = p.segments_seconds(ss) + off
        out[str(vid)] = [
            {"label": class_names[int(c)], "score": float(sc), "segment": [float(s), float(e)]}
            for c, sc, (s, e) in zip(p.label, p.score, segs)
        ]
    return {"version": version, "results": out, "external_data": dict(external_data or {})}


def proposals_from_activitynet(
    source: PathLike | Mapping[str, Any],
    class_names: Sequence[str],
    *,
    snippet_seconds: float | Mapping[str, float] = SNIPPET_SECONDS,
    offset_seconds: float | Mapping[str, float] = 0.0,
    integer_labels: Literal["name", "index"] = "name",
) -> dict[str, Proposals]:
    """An ActivityNet result JSON (seconds) → ``{video: Proposals}`` in snippets, the inverse of
    `activitynet_results`: ``snippets = (seconds - offset_seconds) / snippet_seconds``.

    Labels are looked up by name in ``class_names``; an integer label ``3`` is the class named
    ``"3"``, unless ``integer_labels="index"`` (then it is ``class_names[3]``). Detections with
    a label outside ``class_names`` are dropped with an `EvaluationWarning` giving the count.
    ``inner`` is set to the score. Row order is kept.
    """
    preds = _predictions_from_activitynet(source, class_names, integer_labels=integer_labels)
    if preds.unknown_labels:
        _warn(f"{sum(preds.unknown_labels.values())} detection(s) with labels not in class_names "
              f"were dropped: {sorted(preds.unknown_labels)[:8]}"
              + _integer_label_hint(preds, integer_labels))
    out: dict[str, Proposals] = {}
    order: dict[str, list[int]] = {}
    for i, v in enumerate(preds.video):
        order.setdefault(v, []).append(i)
    for vid in preds.all_videos:
        rows = np.asarray(order.get(vid, []), np.int64)
        rows = rows[preds.label[rows] >= 0] if rows.size else rows
        ss = snippet_seconds[vid] if isinstance(snippet_seconds, Mapping) else snippet_seconds
        off = offset_seconds[vid] if isinstance(offset_seconds, Mapping) else offset_seconds
        if not (math.isfinite(ss) and ss > 0 and math.isfinite(off)):
            raise ValueError(f"video {vid!r}: invalid timebase snippet_seconds={ss}, offset={off}")
        out[vid] = Proposals(preds.label[rows], (preds.start[rows] - off) / ss,
                             (preds.end[rows] - off) / ss, preds.score[rows])
    return out


def write_activitynet_results(
    path: PathLike,
    detections: Mapping[str, Proposals] | Mapping[str, Any],
    class_names: Sequence[str] | None = None,
    **kwargs: Any,
) -> Path:
    """Write detections as an ActivityNet result JSON; returns the path.

    ``detections`` is either ``{video: Proposals}`` (converted with `activitynet_results`,
    ``class_names`` required, ``kwargs`` passed on) or an already built result dict (validated
    by reading it back through the same parser as `read_activitynet_results`).
    """
    if isinstance(detections, Mapping) and "results" in detections:
        _predictions_from_activitynet(detections, class_names or ())  # validates the layout
        data = dict(detections)
    else:
        if class_names is None:
            raise ValueError("write_activitynet_results: class_names is required for Proposals")
        data = activitynet_results(detections, class_names, **kwargs)  # type: ignore[arg-type]
    return _atomic_write_json(path, data)


def read_activitynet_results(source: PathLike | Mapping[str, Any]) -> dict[str, Any]:
    """Read and validate an ActivityNet result JSON; returns the parsed dict.

    Every detection must have ``label`` (a class name; a JSON integer is read as the name
    ``str(label)``), a finite ``score`` and a
    ``segment`` [start, end] in seconds with ``end >= start``; otherwise ``ValueError`` names
    the file, video and detection index. ``version``/``external_data`` are optional.
    """
    data, name = _read_json(source, "predictions")
    _predictions_from_activitynet(data, (), name=name)
    return dict(data)


# --------------------------------------------------------------------------------------------
# Core: IoU, matching, AP
# --------------------------------------------------------------------------------------------


def _iou_continuous(ps: np.ndarray, pe: np.ndarray, gs: np.ndarray, ge: np.ndarray) -> np.ndarray:
    """tIoU of predictions (P,) against ground truth (G,), shape (P, G); 0 for an empty union.

    Same operation order as ActivityNet's ``segment_iou`` so values agree bit for bit.
    """
    tt1 = np.maximum(ps[:, None], gs[None, :])
    tt2 = np.minimum(pe[:, None], ge[None, :])
    inter = (tt2 - tt1).clip(0)
    union = (ge - gs)[None, :] + (pe - ps)[:, None] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def _iou_ranges(pa: np.ndarray, pb: np.ndarray, ga: np.ndarray, gb: np.ndarray) -> np.ndarray:
    """IoU of integer ranges ``range(pa, pb)`` (P,) and ``range(ga, gb)`` (G,) as index sets,
    shape (P, G); 0 for an empty union (the W-TALC code divides by zero there)."""
    lp = np.maximum(pb - pa, 0)[:, None]
    lg = np.maximum(gb - ga, 0)[None, :]
    inter = np.maximum(np.minimum(pb[:, None], gb[None, :]) - np.maximum(pa[:, None], ga[None, :]), 0)
    union = lp + lg - inter
    out = np.zeros(inter.shape, np.float64)
    np.divide(inter.astype(np.float64), union.astype(np.float64), out=out, where=union > 0)
    return out


def _match(iou: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Greedy matching of predictions (rows, already in score order) to ground truth (columns).

    For each threshold independently, each prediction takes the still-unmatched ground truth
    with the highest IoU (lowest column index among equals) if that IoU is ``>= threshold``.
    Returns ``tp`` of shape (K, P), bool.
    """
    n_k = thresholds.shape[0]
    n_p, n_g = iou.shape
    tp = np.zeros((n_k, n_p), bool)
    if n_g == 0 or n_p == 0:
        return tp
    candidates = np.flatnonzero(iou.max(axis=1) >= thresholds.min())
    free = np.ones((n_k, n_g), bool)
    rows = np.arange(n_k)
    thr = thresholds[:, None]
    for p in candidates:
        ok = free & (iou[p][None, :] >= thr)
        masked = np.where(ok, iou[p][None, :], -1.0)
        j = masked.argmax(axis=1)
        hit = ok[rows, j]
        if hit.any():
            tp[hit, p] = True
            free[rows[hit], j[hit]] = False
            if not free.any():
                break
    return tp


def average_precision(tp: npt.ArrayLike, num_positives: int) -> np.ndarray | float:
    """All-points interpolated AP (VOC 2011) of ranked hit flags.

    ``tp``: shape (P,) or (K, P), truthy where the prediction at that rank is a true positive.
    ``num_positives``: number of ground-truth instances (> 0). Returns a float64 array of shape
    (K,) (a float for 1-D input). Computed exactly as ActivityNet's
    ``interpolated_prec_rec`` (and W-TALC's ``_ap_from_pr``) do.
    """
    tp_arr = np.asarray(tp, bool)
    squeeze = tp_arr.ndim == 1
    tp_arr = np.atleast_2d(tp_arr)
    if num_positives <= 0:
        raise ValueError(f"average_precision: num_positives must be > 0, got {num_positives}")
    out = np.zeros(tp_arr.shape[0], np.float64)
    if tp_arr.shape[1]:
        tp_c = np.cumsum(tp_arr, axis=1).astype(np.float64)
        fp_c = np.cumsum(~tp_arr, axis=1).astype(np.float64)
        rec = tp_c / num_positives
        prec = tp_c / (tp_c + fp_c)
        for k in range(tp_arr.shape[0]):
            mprec = np.hstack([[0.0], prec[k], [0.0]])
            mrec = np.hstack([[0.0], rec[k], [1.0]])
            mprec = np.maximum.accumulate(mprec[::-1])[::-1]
            idx = np.where(mrec[1::] != mrec[0:-1])[0] + 1
            out[k] = np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx])
    return float(out[0]) if squeeze else out


def _snap_trunc(x: np.ndarray) -> np.ndarray:
    """``int(x)`` (toward zero), after snapping values within 1e-9 of an integer onto it (so
    that seconds → snippets conversions like ``3.2 * 1.5625`` do not lose a snippet)."""
    r = np.round(x)
    close = np.abs(x - r) <= 1e-9 * np.maximum(1.0, np.abs(x))
    return np.trunc(np.where(close, r, x)).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EvalResult:
    """Detection mAP of one evaluation, with what produced it.

    * ``protocol``: ``"anet"`` or ``"wtalc"``.
    * ``tiou_thresholds`` (K,) and ``mAP`` (K,): fractions in [0, 1] (multiply by 100 for the
      papers' percentages).
    * ``ap_per_class``: class name → AP array (K,), for every evaluated class (the classes with
      ground truth in the evaluated videos), in class order.
    * ``videos``: the evaluated video list; ``subset``: the split it came from (or None);
      ``video_list_digest``: first 12 hex digits of the SHA-1 of the sorted names, so two
      numbers can be checked to come from the same list.
    * ``num_ground_truth``: segments scored against; ``num_predictions``: predictions scored.
    * ``notes``: what was filtered or dropped, in words.
    """

    protocol: str
    tiou_thresholds: np.ndarray
    mAP: np.ndarray
    ap_per_class: dict[str, np.ndarray]
    videos: tuple[str, ...]
    subset: str | None
    num_ground_truth: int
    num_predictions: int
    notes: tuple[str, ...] = ()

    @property
    def average_mAP(self) -> float:
        """Mean of ``mAP`` over all evaluated thresholds (a fraction)."""
        return float(np.mean(self.mAP))

    @property
    def averages(self) -> dict[str, float]:
        """The usual averages whose thresholds were all evaluated: ``"0.1:0.5"``, ``"0.3:0.7"``,
        ``"0.1:0.7"`` (THUMOS14), ``"0.5:0.95"`` (ActivityNet); fractions."""
        out: dict[str, float] = {}
        for name, ts in _NAMED_AVERAGES:
            pos = [np.flatnonzero(np.isclose(self.tiou_thresholds, t, rtol=0, atol=1e-9)) for t in ts]
            if all(p.size for p in pos):
                out[name] = float(np.mean([self.mAP[p[0]] for p in pos]))
        return out

    @property
    def video_list_digest(self) -> str:
        return hashlib.sha1("\n".join(sorted(self.videos)).encode()).hexdigest()[:12]

    def table(self) -> str:
        """The papers' table: mAP (%) per tIoU threshold and the usual averages, with a header
        saying which protocol and which video list produced the numbers."""
        subset = f"subset {self.subset!r}" if self.subset is not None else "all subsets"
        lines = [
            f"protocol: {_PROTOCOL_TITLES.get(self.protocol, self.protocol)}",
            f"videos: {len(self.videos)} ({subset}, list sha1 {self.video_list_digest}); "
            f"ground-truth segments: {self.num_ground_truth}; classes: {len(self.ap_per_class)}; "
            f"predictions scored: {self.num_predictions}",
        ]
        lines += [f"note: {n}" for n in self.notes]
        heads = [f"{t:g}" for t in self.tiou_thresholds]
        vals = [f"{100 * m:.2f}" for m in self.mAP]
        avgs = self.averages or {"all": self.average_mAP}
        heads += [f"avg {k}" for k in avgs]
        vals += [f"{100 * v:.2f}" for v in avgs.values()]
        widths = [max(len(h), len(v)) for h, v in zip(heads, vals)]
        lines.append("tIoU      " + "  ".join(h.rjust(w) for h, w in zip(heads, widths)))
        lines.append("mAP (%)   " + "  ".join(v.rjust(w) for v, w in zip(vals, widths)))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (fractions, not percentages)."""
        return {
            "protocol": self.protocol,
            "subset": self.subset,
            "num_videos": len(self.videos),
            "video_list_sha1": self.video_list_digest,
            "videos": list(self.videos),
            "num_ground_truth": self.num_ground_truth,
            "num_predictions": self.num_predictions,
            "tiou_thresholds": self.tiou_thresholds.tolist(),
            "mAP": self.mAP.tolist(),
            "average_mAP": self.average_mAP,
            "averages": self.averages,
            "ap_per_class": {k: v.tolist() for k, v in self.ap_per_class.items()},
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------------------------
# evaluate
# --------------------------------------------------------------------------------------------


def _check_thresholds(tiou_thresholds: Any, protocol: str) -> np.ndarray:
    if tiou_thresholds is None:
        ts = THUMOS14_TIOU_THRESHOLDS if protocol == "wtalc" else ANET_TIOU_THRESHOLDS
        return np.asarray(ts, np.float64)
    thr = np.atleast_1d(np.asarray(tiou_thresholds, np.float64))
    if thr.ndim != 1 or thr.size == 0:
        raise InvalidArgumentError(f"tiou_thresholds must be a non-empty 1-D sequence, got {tiou_thresholds!r}")
    if not np.all((thr > 0) & (thr <= 1)):
        raise InvalidArgumentError(f"tiou_thresholds must lie in (0, 1], got {thr.tolist()}")
    return thr


def _group_bounds(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For sorted ``keys``: (unique keys, start offsets incl. the end)."""
    if keys.size == 0:
        return keys, np.zeros(1, np.int64)
    cut = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([[0], cut, [keys.size]])
    return keys[starts[:-1]], starts


def evaluate(
    ground_truth: GroundTruth | PathLike | Mapping[str, Any] | Any,
    predictions: Mapping[str, Proposals] | PathLike | Mapping[str, Any],
    *,
    tiou_thresholds: Sequence[float] | np.ndarray | None = None,
    protocol: Literal["anet", "wtalc"] = "anet",
    subset: str | None = None,
    videos: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
    snippet_seconds: float | None = None,
    unknown_videos: Literal["false_positive", "drop", "error"] | None = None,
    ambiguous: PathLike | Sequence[tuple[str, float, float]] | None = None,
    zero_map_bug: bool = False,
    integer_labels: Literal["name", "index"] = "name",
) -> EvalResult:
    """Detection mAP of ``predictions`` against ``ground_truth`` under a named protocol.

    Parameters
    ----------
    ground_truth
        A `GroundTruth`, a ``tadfuse.data`` dataset (its ``ground_truth()``), a W-TALC
        annotation folder, or an ActivityNet ground-truth JSON (path or dict).
    predictions
        ``{video_name: Proposals}`` (time in snippets, integer labels indexing the ground truth's
        ``class_names``), or an ActivityNet result JSON (path or dict; seconds; labels are class
        names, see ``integer_labels``).
    tiou_thresholds
        IoU thresholds in (0, 1]. Default: 0.1:0.1:0.7 for ``wtalc``, 0.5:0.05:0.95 for ``anet``.
    protocol
        ``"anet"`` or ``"wtalc"`` (see the module docstring).
    subset
        Evaluate the videos of this split. Required when the ground truth holds more than one
        split and ``videos`` is not given (so every number says which list produced it), except
        that ``wtalc`` defaults to ``"test"`` like the original evaluator.
    videos
        Evaluate exactly these videos (each must be in the ground truth); combined with
        ``subset`` if both are given.
    exclude
        Videos removed from the evaluated list (e.g. THUMOS14's ``video_test_0000270``); their
        predictions are dropped too (stated in ``notes``).
    snippet_seconds
        Seconds per snippet for predictions given in snippets (and for ``wtalc``'s ground-truth
        rounding), overriding the ground truth's timebase (with offset 0).
    unknown_videos
        What to do with predictions on videos outside the evaluated list: ``"false_positive"``
        (the official ActivityNet behaviour, default for ``anet``), ``"drop"`` (default for
        ``wtalc``, whose original code never scores them) or ``"error"``. A warning gives the
        count in the first two cases.
    ambiguous
        ``wtalc`` only: an ``Ambiguous_test.txt`` path or ``(video, start_s, end_s)`` rows,
        replacing the ground truth's own list. If neither exists a warning says nothing is
        filtered.
    zero_map_bug
        ``wtalc`` only: reproduce the original's bug that returns mAP 0 at every threshold when
        any evaluated class has no prediction (after ambiguous filtering).
    integer_labels
        How integer labels in a result JSON are read. ``"name"`` (default): by value, as the
        class named ``str(label)``, so ``3`` matches a ground-truth label ``3`` or ``"3"``
        whatever the class order (the official ActivityNet code also matches by value).
        ``"index"``: as a position in the ground truth's ``class_names`` (``gt.class_names[3]``;
        with derived class names that order is the sorted label set). Unmatched integer labels
        are ignored with a warning that mentions this option. Not used for ``Proposals``.

    Returns
    -------
    EvalResult
        ``print(result)`` shows the papers' table.

    Predictions whose label has no ground truth in the evaluated videos are ignored with an
    `EvaluationWarning` (their class is not part of the mAP).
    """
    if protocol not in PROTOCOLS:
        raise InvalidArgumentError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    if unknown_videos is None:
        unknown_videos = "false_positive" if protocol == "anet" else "drop"
    if unknown_videos not in ("false_positive", "drop", "error"):
        raise InvalidArgumentError(f"unknown_videos must be 'false_positive', 'drop' or 'error', got {unknown_videos!r}")
    if zero_map_bug and protocol != "wtalc":
        raise InvalidArgumentError("zero_map_bug applies to protocol 'wtalc' only")
    if ambiguous is not None and protocol != "wtalc":
        raise InvalidArgumentError("ambiguous applies to protocol 'wtalc' only")
    if snippet_seconds is not None and not (math.isfinite(snippet_seconds) and snippet_seconds > 0):
        raise InvalidArgumentError(f"snippet_seconds must be a positive number, got {snippet_seconds}")
    thr = _check_thresholds(tiou_thresholds, protocol)
    gt_all = as_ground_truth(ground_truth)
    notes: list[str] = []

    # ---- the evaluated video list ---------------------------------------------------------
    if (protocol == "wtalc" and subset is None and videos is None and len(gt_all.subset_counts()) > 1
            and "test" in gt_all.subset_counts()):
        subset = "test"  # the in-house evaluator always scores the test split
        notes.append("subset 'test' (the wtalc protocol's default)")
    if subset is None and videos is None and len(gt_all.subset_counts()) > 1:
        raise InvalidArgumentError(
            f"the ground truth ({gt_all.source}) holds several subsets {gt_all.subset_counts()}; "
            "pass subset= or videos= (CLI: --subset or --videos) to say which videos are evaluated"
        )
    exclude = list(exclude)
    gt = gt_all.select(subset=subset, videos=videos, exclude=exclude)
    if protocol == "wtalc":
        has_gt = np.zeros(len(gt.videos), bool)
        has_gt[gt.video] = True
        if not has_gt.all():
            no_gt = [v for v, h in zip(gt.videos, has_gt) if not h]
            notes.append(
                f"{len(no_gt)} video(s) without ground-truth segments are not evaluated "
                f"(wtalc protocol), e.g. {no_gt[:3]}"
            )
            gt = gt.select(videos=[v for v, h in zip(gt.videos, has_gt) if h])
    if len(gt) == 0:
        raise DataFormatError(
            f"no ground-truth segments in the evaluated videos ({len(gt.videos)} videos, "
            f"source {gt_all.source}); nothing to evaluate"
        )
    ev_subset = subset
    if ev_subset is None and len(gt.subset_counts()) == 1:
        ev_subset = next(iter(gt.subset_counts()))
    n_v = len(gt.videos)

    # ---- predictions ----------------------------------------------------------------------
    _check_integer_labels(integer_labels)
    preds = _as_predictions(predictions, gt.class_names, integer_labels)
    n_in = len(preds.video)
    vidx = np.fromiter((gt._index.get(v, -1) for v in preds.video), np.int64, n_in)
    keep = np.ones(n_in, bool)
    if exclude:
        ex = set(exclude)
        is_ex = np.fromiter((v in ex for v in preds.video), bool, n_in)
        if is_ex.any():
            notes.append(f"{int(is_ex.sum())} prediction(s) on excluded videos dropped")
        keep &= ~is_ex
    outside = keep & (vidx < 0)
    if outside.any():
        names = sorted({preds.video[i] for i in np.flatnonzero(outside)})
        msg = (f"{int(outside.sum())} prediction(s) on {len(names)} video(s) outside the "
               f"evaluated list, e.g. {names[:3]}")
        if unknown_videos == "error":
            raise DataFormatError(msg + " (unknown_videos='error'; CLI: --unknown-videos error)")
        if unknown_videos == "drop":
            keep &= ~outside
            _warn(msg + ": dropped")
            notes.append(msg + ": dropped")
        else:
            _warn(msg + ": counted as false positives")
            notes.append(msg + ": counted as false positives")
    # labels
    gt_classes = np.unique(gt.label)
    is_gt_class = np.zeros(len(gt.class_names) + 1, bool)
    is_gt_class[gt_classes] = True
    lab_ok = is_gt_class[preds.label]  # label -1 maps to the extra False slot
    bad_lab = keep & ~lab_ok
    if bad_lab.any():
        names = sorted(set(preds.unknown_labels) |
                       {gt.class_names[c] for c in np.unique(preds.label[bad_lab]) if c >= 0})
        msg = (f"{int(bad_lab.sum())} prediction(s) with labels that have no ground truth in the "
               f"evaluated videos were ignored: {names[:8]}" + _integer_label_hint(preds, integer_labels))
        _warn(msg)
        notes.append(msg)
        keep &= lab_ok

    # ---- timebase ---------------------------------------------------------------------------
    if snippet_seconds is not None:
        ss_v = np.full(n_v, float(snippet_seconds))
        off_v = np.zeros(n_v)
    else:
        ss_v, off_v = gt.snippet_seconds, gt.offset_seconds
    in_list = keep & (vidx >= 0)

    def _need_timebase(rows: np.ndarray, why: str) -> None:
        bad = rows[~np.isfinite(ss_v[vidx[rows]])] if rows.size else rows
        if bad.size:
            raise DataFormatError(
                f"{why}, but the ground truth ({gt.source}) has no timebase for video "
                f"{gt.videos[vidx[bad[0]]]!r}; pass snippet_seconds= (CLI: --snippet-seconds)"
            )

    start, end = preds.start, preds.end
    if protocol == "anet":
        if preds.unit == "snippets":
            rows = np.flatnonzero(in_list)
            _need_timebase(rows, "predictions are in snippets")
            start, end = start.copy(), end.copy()
            start[rows] = start[rows] * ss_v[vidx[rows]] + off_v[vidx[rows]]
            end[rows] = end[rows] * ss_v[vidx[rows]] + off_v[vidx[rows]]
        gt_a, gt_b = gt.start, gt.end
    else:
        if snippet_seconds is None and np.any(off_v != 0):
            raise DataFormatError("the wtalc protocol needs offset_seconds == 0 (snippet 0 starts at 0 s)")
        if snippet_seconds is None and not np.all(np.isfinite(ss_v)):
            bad = int(np.flatnonzero(~np.isfinite(ss_v))[0])
            raise DataFormatError(
                f"the wtalc protocol needs a timebase for every video; {gt.videos[bad]!r} has none "
                f"in {gt.source}; pass snippet_seconds= (CLI: --snippet-seconds)"
            )
        factor = 1.0 / ss_v  # 25/16 exactly for 16/25 s
        gt_a = np.round(gt.start * factor[gt.video]).astype(np.int64)
        gt_b = np.round(gt.end * factor[gt.video]).astype(np.int64)
        n_empty = int(np.sum(gt_a >= gt_b))
        if n_empty:
            notes.append(f"{n_empty} ground-truth segment(s) are shorter than one snippet after rounding "
                         "(empty snippet range) and can never be matched under the wtalc protocol")
        if preds.unit == "seconds":
            rows = np.flatnonzero(in_list)
            f = np.ones(n_in)
            f[rows] = factor[vidx[rows]]
            start, end = _snap_trunc(start * f), _snap_trunc(end * f)
            if rows.size:
                notes.append("predictions in seconds are truncated to snippets while the ground truth "
                             "is rounded (as in the original wtalc code), so even the ground truth itself "
                             "can score below mAP 1.0 under this protocol")
        else:
            start, end = np.trunc(start).astype(np.int64), np.trunc(end).astype(np.int64)
        # ambiguous filtering
        if ambiguous is not None:
            rows_amb = read_ambiguous_list(ambiguous) if isinstance(ambiguous, (str, os.PathLike)) \
                else [(str(v), float(s), float(e)) for v, s, e in ambiguous]
            unknown_amb = sorted({v for v, _, _ in rows_amb if v not in gt_all})
            if unknown_amb:
                _warn(f"{len(unknown_amb)} video(s) of the given ambiguous list are not in the ground truth "
                      f"and are ignored, e.g. {unknown_amb[:3]}")
            amb_v = np.asarray([gt._index.get(v, -1) for v, _, _ in rows_amb], np.int64)
            amb_s = np.asarray([s for _, s, _ in rows_amb], np.float64)
            amb_e = np.asarray([e for _, _, e in rows_amb], np.float64)
            sel = amb_v >= 0
            amb_v, amb_s, amb_e = amb_v[sel], amb_s[sel], amb_e[sel]
            amb_src = "the given ambiguous list"
        else:
            amb_v, amb_s, amb_e = gt.ambiguous_video, gt.ambiguous_start, gt.ambiguous_end
            amb_src = f"the ambiguous list of {gt.source}"
        if amb_v.size == 0 and ambiguous is None and gt_all.ambiguous_video.size == 0:
            _warn("wtalc protocol without an ambiguous-segment list: no predictions are filtered "
                  "(the published numbers filter Ambiguous_test.txt)")
            notes.append("no ambiguous-segment list: nothing filtered")
        if amb_v.size:
            amb_a = np.round(amb_s * factor[amb_v]).astype(np.int64)
            amb_b = np.round(amb_e * factor[amb_v]).astype(np.int64)
            removed = np.zeros(n_in, bool)
            order_a = np.argsort(amb_v, kind="stable")
            uv, st = _group_bounds(amb_v[order_a])
            for k, v in enumerate(uv):
                rows = np.flatnonzero(in_list & (vidx == v))
                if not rows.size:
                    continue
                sel_a = order_a[st[k]:st[k + 1]]
                iou = _iou_ranges(start[rows], end[rows], amb_a[sel_a], amb_b[sel_a])
                removed[rows[(iou > 0).any(axis=1)]] = True
            if removed.any():
                notes.append(f"{int(removed.sum())} prediction(s) overlapping {amb_src} removed")
            keep &= ~removed

    # ---- per class ------------------------------------------------------------------------
    ap = np.zeros((len(gt_classes), thr.size))
    scored = 0
    empty_classes: list[str] = []
    gt_order = np.lexsort((np.arange(len(gt)), gt.video, gt.label))
    gt_lab_sorted = gt.label[gt_order]
    for ci, c in enumerate(gt_classes):
        g_rows = gt_order[np.searchsorted(gt_lab_sorted, c, "left"):np.searchsorted(gt_lab_sorted, c, "right")]
        npos = g_rows.size
        p_rows = np.flatnonzero(keep & (preds.label == c))
        if p_rows.size == 0:
            empty_classes.append(gt.class_names[c])
            continue
        scored += p_rows.size
        ranked = p_rows[np.argsort(-preds.score[p_rows], kind="stable")]
        tp = np.zeros((thr.size, ranked.size), bool)
        pv = vidx[ranked]
        by_video = np.argsort(pv, kind="stable")
        uv, st = _group_bounds(pv[by_video])
        g_v = gt.video[g_rows]
        for k, v in enumerate(uv):
            if v < 0:
                continue  # videos outside the list: false positives
            pos = by_video[st[k]:st[k + 1]]
            gsel = g_rows[np.searchsorted(g_v, v, "left"):np.searchsorted(g_v, v, "right")]
            if gsel.size == 0:
                continue
            r = ranked[pos]
            if protocol == "anet":
                iou = _iou_continuous(start[r], end[r], gt_a[gsel], gt_b[gsel])
            else:
                iou = _iou_ranges(start[r], end[r], gt_a[gsel], gt_b[gsel])
            tp[:, pos] = _match(iou, thr)
        ap[ci] = average_precision(tp, npos)
    if empty_classes:
        notes.append(f"{len(empty_classes)} class(es) without predictions score AP 0: {empty_classes[:8]}")
    mAP = ap.mean(axis=0)
    if zero_map_bug and empty_classes:
        mAP = np.zeros_like(mAP)
        notes.append("zero_map_bug: mAP set to 0 because a class has no predictions "
                     "(reproducing the original W-TALC evaluator)")
    return EvalResult(
        protocol=protocol,
        tiou_thresholds=thr,
        mAP=mAP,
        ap_per_class={gt.class_names[c]: ap[ci] for ci, c in enumerate(gt_classes)},
        videos=gt.videos,
        subset=ev_subset,
        num_ground_truth=len(gt),
        num_predictions=scored,
        notes=tuple(notes),
    )
