"""The released GauFuse test path, restated: ``getActLoc`` → ``NonMaximumSuppression`` →
``getLocMAP`` of ``evaluation/detectionMAP.py`` (zhou745/GauFuse_WSTAL).

An independent restatement written from reading that code, step by step in its order, with its
arithmetic: ``np.mean`` of the slices in the TCAM's own dtype, the unshifted fusion sums
``Σ x·exp(w/T)`` / ``Σ sign(w)·exp(w/T)`` accumulated pivot first and then in the order of the
ascending-score index array, ``int()`` truncation of the boundaries in the evaluation. It is the
yardstick of tadfuse's exact mode (``PostprocessConfig.official(exact=True)``) and of how far the
fast path is from the published numbers. Two things are pinned where the released code leaves
them to the NumPy it runs on:

* **NumPy 1.22's casting rules.** The released code ran under NumPy 1.22, before NEP 50. A float32
  TCAM compared with a float64 threshold was compared in float32 (value-based casting: the scalar
  was cast to the array's dtype), so the threshold is cast explicitly here
  (``column > column.dtype.type(theta)``); a float32 video score compared with the Python float
  class threshold was compared in float64 (two scalars), so it is converted explicitly here
  (``float(score) < class_threshold``). Everything else computes the same under NumPy 1.22 and 2.x.
* **Ties.** ``np.argsort`` (quicksort, or a SIMD sort on some CPUs) orders equal scores
  differently across NumPy versions and machines. Here the score-ascending index array orders
  equal scores by descending index, so the pivot among equals is the lowest index; the
  cross-video sorts of ``getActLoc`` and ``getLocMAP`` are stable (equal scores keep video order,
  then pick order).

``np.exp`` is NumPy's, as in the released code (on CPUs with AVX-512 it differs from the C
library's ``exp`` by one ulp for some arguments, so this is the reference only for the NumPy it
runs under). Where the released sums overflow this restatement overflows too (inf/NaN).

Everything takes per-video arrays in the order of the released evaluation list: the ``test``
videos of the annotation folder that have ground-truth segments (`load_test_annotations`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "TestAnnotations",
    "act_loc",
    "average_precision",
    "detection_map",
    "load_test_annotations",
    "loc_map",
    "rank_and_filter",
    "suppress",
    "video_class_detections",
    "video_class_proposals",
]

#: The I3D timebase of the W-TALC features: 25 fps, 16 frames per snippet.
FACTOR = 25.0 / 16.0


@dataclass(frozen=True)
class TestAnnotations:
    """The released evaluation's ground truth: test videos with at least one segment, in file order.

    ``segments[i]``: list of ``[start_s, end_s]``; ``labels[i]``: the class name of each segment;
    ``classlist``: all class names (index = TCAM column); ``ambiguous``: ``(video, start_s,
    end_s)`` rows of ``Ambiguous_test.txt`` (empty when the file is absent).
    """

    video_names: list[str]
    segments: list[list[list[float]]]
    labels: list[list[str]]
    classlist: list[str]
    ambiguous: list[tuple[str, float, float]]

    def evaluated_classes(self) -> list[int]:
        """Columns of the classes with ground truth, ordered by class name (as the released code)."""
        names = sorted({name for video in self.labels for name in video})
        return [self.classlist.index(name) for name in names]


def _text(x: object) -> str:
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def load_test_annotations(folder: str | Path) -> TestAnnotations:
    """The ``test`` videos of a W-TALC annotation folder that have segments, as ``getLocMAP`` keeps them."""
    folder = Path(folder)
    load = lambda name: np.load(folder / name, allow_pickle=True)
    subset = [_text(s) for s in load("subset.npy")]
    names = [_text(v) for v in load("videoname.npy")]
    segments, labels = load("segments.npy"), load("labels.npy")
    keep = [i for i, s in enumerate(subset) if s == "test" and len(segments[i])]
    ambiguous: list[tuple[str, float, float]] = []
    amb_path = folder / "Ambiguous_test.txt"
    if amb_path.is_file():
        for line in amb_path.read_text().splitlines():
            fields = line.split(" ")  # the file separates with two spaces: fields 0, 2 and 3
            if len(fields) >= 4:
                ambiguous.append((fields[0], float(fields[2]), float(fields[3])))
    return TestAnnotations(
        video_names=[names[i] for i in keep],
        segments=[[list(map(float, seg)) for seg in segments[i]] for i in keep],
        labels=[[_text(name) for name in labels[i]] for i in keep],
        classlist=[_text(c) for c in load("classlist.npy")],
        ambiguous=ambiguous,
    )


# --------------------------------------------------------------------------------------------
# getActLoc, per (video, class)
# --------------------------------------------------------------------------------------------


def video_class_proposals(column: np.ndarray, thresholds: Sequence[float], video: int) -> np.ndarray:
    """The proposals ``getActLoc`` builds for one class column of one video: an ``(n, 5)`` float64
    array of rows ``[video, s, e + 1, inner - outer, inner]`` (threshold after threshold, runs left
    to right; ``(0, 5)`` when there are none).

    For each threshold, each maximal run ``[s, e)`` of ``column > threshold`` with ``e - s >= 2``:
    inner = ``np.mean(column[s:e+1])``; with ``pad = 0.0785·n^0.9`` the outer snippets are
    ``range(max(0, int(s - pad)), s)`` followed by ``range(e + 1, min(l - 1, int(e + pad + 1)))``,
    gathered into one array; outer = their ``np.mean`` (0 when there are none). Means and the
    difference are computed in the column's dtype.
    """
    length = column.shape[0]
    rows: list[list[float]] = []
    for theta in thresholds:
        above = column > column.dtype.type(theta)  # NumPy 1.22: the scalar takes the array's dtype
        edges = np.diff(np.concatenate([[0], above.astype(np.int8), [0]]))
        for s, e in zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()):
            n = e - s
            if n < 2:
                continue
            inner = np.mean(column[s:e + 1])
            pad = 0.0785 * n**0.9
            outer_from = max(0, int(s - pad))
            outer_to = min(length - 1, int(e + pad + 1))
            outer_idx = list(range(outer_from, s)) + list(range(e + 1, outer_to))
            score = inner - np.mean(column[outer_idx]) if outer_idx else inner - 0
            rows.append([video, s, e + 1, score, inner])
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


def suppress(props: np.ndarray, overlap_threshold: float, temperature: float) -> tuple[list[int], list[list[float]]]:
    """``NonMaximumSuppression`` of one (video, class): ``(picked rows, fused rows)``.

    ``props`` is `video_class_proposals` output. Rows are ordered by score ascending (equal
    scores: descending row index); the last remaining one is the pivot. Every other remaining
    row whose coverage ``max(0, min(e_p, e_j) - max(s_p, s_j) + 1) / (e_j - s_j + 1)`` exceeds
    ``overlap_threshold`` joins it; with ``k = exp(inner / T)`` the fused row is
    ``[video, Σ s·k / D, Σ e·k / D, Σ score·k / D]``, ``D = Σ sign(inner)·k``, the sums taken from
    0 over the pivot and then the members in the array's order. Both lists are in pick order.
    """
    if len(props) == 0:
        return [], []
    start, end, score, weight = props[:, 1], props[:, 2], props[:, 3], props[:, 4]
    area = end - start + 1
    order = np.lexsort((-np.arange(len(props)), score))  # score ascending, ties: index descending
    picked: list[int] = []
    fused: list[list[float]] = []
    while order.size:
        pivot = int(order[-1])
        rest = order[:-1]
        covered = np.maximum(0, np.minimum(end[pivot], end[rest]) - np.maximum(start[pivot], start[rest]) + 1)
        joins = np.flatnonzero(covered / area[rest] > overlap_threshold)
        s_sum = e_sum = q_sum = w_sum = 0.0
        for r in [pivot, *rest[joins].tolist()]:
            k = float(np.exp(weight[r] / temperature))
            s_sum += float(start[r]) * k
            e_sum += float(end[r]) * k
            q_sum += float(score[r]) * k
            w_sum += float(np.sign(weight[r])) * k
        picked.append(pivot)
        fused.append([float(props[pivot, 0]), s_sum / w_sum, e_sum / w_sum, q_sum / w_sum])
        order = np.delete(rest, joins)
    return picked, fused


def video_class_detections(
    column: np.ndarray,
    video_score: float,
    video: int,
    thresholds: Sequence[float],
    *,
    class_threshold: float = 0.16,
    temperature: float = 0.2,
    overlap_threshold: float = 0.25,
    fusion: bool = True,
) -> list[list[float]] | None:
    """Detections of one (video, class) in pick order as rows ``[video, s, e, score]``, or None
    when ``float(video_score) < class_threshold`` (the class is not processed). ``fusion``:
    the fused rows (``use_new_predictor``); otherwise the picked proposals themselves (NMS)."""
    if float(video_score) < class_threshold:  # NumPy 1.22: two scalars compare in float64
        return None
    props = video_class_proposals(column, thresholds, video)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        picked, fused = suppress(props, overlap_threshold, temperature)
    if fusion:
        return fused
    return [props[i, :4].tolist() for i in picked]


def _range_iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """IoU of ``set(range(*a))`` and ``set(range(*b))`` (integer ranges)."""
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(0, a[1] - a[0]) + max(0, b[1] - b[0]) - inter
    return float(inter) / float(union)


def act_loc(
    vid_preds: Sequence[np.ndarray],
    frm_preds: Sequence[np.ndarray],
    annotations: TestAnnotations,
    thresholds: Sequence[float],
    *,
    class_threshold: float = 0.16,
    temperature: float = 0.2,
    overlap_threshold: float = 0.25,
    fusion: bool = True,
    factor: float = FACTOR,
) -> dict[int, np.ndarray]:
    """``getActLoc``: per evaluated class column, an ``(n, 4)`` array of ``[video, s, e, score]``
    over all videos, sorted by score descending (stable) and without the rows whose snippet
    range ``range(int(s), int(e))`` intersects an ambiguous segment ``range(round(a·f),
    round(b·f))`` of their video. ``vid_preds[i]`` (K,) and ``frm_preds[i]`` (l_i, K) belong to
    ``annotations.video_names[i]``."""
    rows: dict[int, list[list[float]]] = {}
    for c in annotations.evaluated_classes():
        rows[c] = []
        for i, (vs, cas) in enumerate(zip(vid_preds, frm_preds)):
            dets = video_class_detections(cas[:, c], vs[c], i, thresholds, class_threshold=class_threshold,
                                          temperature=temperature, overlap_threshold=overlap_threshold, fusion=fusion)
            rows[c] += dets or []
    return rank_and_filter(rows, annotations, factor)


def rank_and_filter(
    rows: dict[int, list[list[float]]], annotations: TestAnnotations, factor: float = FACTOR
) -> dict[int, np.ndarray]:
    """The end of ``getActLoc``: each class's ``[video, s, e, score]`` rows (videos in order, each
    in pick order) sorted by score descending (stable), then ``filter_segments``: rows whose
    ``range(int(s), int(e))`` intersects an ambiguous segment ``range(round(a·f), round(b·f))``
    of their video are removed."""
    out: dict[int, np.ndarray] = {}
    for c, class_rows in rows.items():
        table = np.array(class_rows, dtype=np.float64).reshape(-1, 4)
        table = table[np.argsort(-table[:, 3], kind="stable")]
        if annotations.ambiguous and len(table):
            keep = np.ones(len(table), dtype=bool)
            for r, row in enumerate(table):
                name = annotations.video_names[int(row[0])]
                pred = (int(row[1]), int(row[2]))
                keep[r] = not any(v == name and _range_iou((round(a * factor), round(b * factor)), pred) > 0
                                  for v, a, b in annotations.ambiguous)
            table = table[keep]
        out[c] = table
    return out


# --------------------------------------------------------------------------------------------
# getLocMAP
# --------------------------------------------------------------------------------------------


def average_precision(precision: np.ndarray, recall: np.ndarray) -> float:
    """``_ap_from_pr``: VOC all-points interpolated AP."""
    p = np.concatenate([[0.0], precision, [0.0]])
    r = np.concatenate([[0.0], recall, [1.0]])
    for i in range(len(p) - 2, -1, -1):
        p[i] = max(p[i], p[i + 1])
    steps = np.flatnonzero(r[1:] != r[:-1]) + 1
    return float(np.sum((r[steps] - r[steps - 1]) * p[steps]))


def loc_map(seg_preds: dict[int, np.ndarray], annotations: TestAnnotations, tiou: float, factor: float = FACTOR) -> float:
    """``getLocMAP`` at one tIoU threshold, in percent (its return value).

    Per evaluated class: predictions by score descending (stable); each one is matched with the
    first of the not yet matched ground-truth segments of its video and class whose snippet-set
    IoU is the largest among those ``>= tiou``; AP from the hits. Returns ``100 · mean AP``, and 0
    as soon as a class has no prediction (the released code's early ``return 0``).
    """
    aps = []
    for c in annotations.evaluated_classes():
        preds = seg_preds[c]
        if len(preds) == 0:
            return 0.0
        preds = preds[np.argsort(-preds[:, 3], kind="stable")]
        name = annotations.classlist[c]
        # The class's ground truth as snippet ranges, per video in list order (the released loop
        # scans all of them and skips other videos: the same candidates in the same order).
        unmatched: dict[int, list[tuple[int, int]]] = {}
        positives = 0
        for i, (segs, labs) in enumerate(zip(annotations.segments, annotations.labels)):
            for seg, lab in zip(segs, labs):
                if lab == name:
                    unmatched.setdefault(i, []).append((round(seg[0] * factor), round(seg[1] * factor)))
                    positives += 1
        hits = []
        for row in preds:
            candidates = unmatched.get(int(row[0]), [])
            pred = (int(row[1]), int(row[2]))
            best, best_iou = None, 0.0
            for j, gt in enumerate(candidates):
                iou = _range_iou(gt, pred)
                if iou >= tiou and (best is None or iou > best_iou):
                    best, best_iou = j, iou
            if best is not None:
                del candidates[best]
            hits.append(best is not None)
        tp = np.cumsum(np.array(hits, dtype=np.float64))
        fp = np.cumsum(1.0 - np.array(hits, dtype=np.float64))
        aps.append(0.0 if tp[-1] == 0 else average_precision(tp / (fp + tp), tp / positives))
    return 100 * float(np.mean(aps)) if aps else 0.0


def detection_map(
    vid_preds: Sequence[np.ndarray],
    frm_preds: Sequence[np.ndarray],
    annotations: TestAnnotations,
    thresholds: Sequence[float],
    tious: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7),
    **act_loc_options: object,
) -> list[float]:
    """``getDetectionMAP``: `act_loc` once, then `loc_map` at each tIoU (percent)."""
    seg = act_loc(vid_preds, frm_preds, annotations, thresholds, **act_loc_options)  # type: ignore[arg-type]
    return [loc_map(seg, annotations, t) for t in tious]
