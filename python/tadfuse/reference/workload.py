"""Generated TCAMs over the real THUMOS14 test annotations, and the released test path on them.

The 212 ``test`` videos of the W-TALC annotations shipped with tadfuse, in the released
evaluation's order (`released.load_test_annotations`), each with a 21-column TCAM (20 classes +
background) of its real length (``int(duration · 25/16)`` snippets) on which the ground-truth
segments are planted as activation bumps (`tadfuse.demo.tcam_from_segments`); video scores put
the ground-truth classes above the class threshold, plus two random classes per video drawn in
``[0, 0.4)`` (so some spurious classes are processed), background 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tadfuse.demo import tcam_from_segments
from tadfuse.reference.released import (
    FACTOR,
    TestAnnotations,
    load_test_annotations,
    loc_map,
    rank_and_filter,
    video_class_detections,
)

__all__ = ["TIOUS", "ReleasedWorkload", "released_path", "thumos14_test_tcams"]

NUM_CLASSES = 21


@dataclass(frozen=True)
class ReleasedWorkload:
    """``cas[i]`` (l_i, 21) and ``video_scores[i]`` (21,) of ``annotations.video_names[i]``."""

    annotations: TestAnnotations
    folder: Path
    cas: list[np.ndarray]
    video_scores: list[np.ndarray]

    def astype(self, dtype: npt.DTypeLike) -> ReleasedWorkload:
        """The same workload with TCAMs and video scores rounded to ``dtype``."""
        return ReleasedWorkload(self.annotations, self.folder, [c.astype(dtype) for c in self.cas],
                                [v.astype(dtype) for v in self.video_scores])


def thumos14_test_tcams(seed: int = 2023, folder: str | Path | None = None) -> ReleasedWorkload:
    """The workload (float64), deterministic for a seed; ``folder``: a W-TALC annotation folder
    (default: the THUMOS14 annotations shipped with tadfuse)."""
    if folder is None:
        from tadfuse.data import thumos14_annotation_dir

        folder = thumos14_annotation_dir()
    folder = Path(folder)
    ann = load_test_annotations(folder)
    names = [v.decode() if isinstance(v, bytes) else str(v) for v in np.load(folder / "videoname.npy", allow_pickle=True)]
    duration = np.load(folder / "duration.npy", allow_pickle=True).ravel()
    rng = np.random.default_rng(seed)
    cas, scores = [], []
    for name, segs, labs in zip(ann.video_names, ann.segments, ann.labels):
        length = max(1, int(float(duration[names.index(name)]) * FACTOR))
        seg = np.asarray(segs, float).reshape(-1, 2) * FACTOR
        lab = np.array([ann.classlist.index(x) for x in labs], np.int64)
        v = tcam_from_segments(length, NUM_CLASSES, lab, np.floor(seg[:, 0]), np.ceil(seg[:, 1]), rng)
        vs = v.video_scores.copy()
        vs[rng.choice(NUM_CLASSES - 1, 2, replace=False)] = rng.uniform(0.0, 0.4, 2)
        vs[NUM_CLASSES - 1] = 0.0
        cas.append(v.cas)
        scores.append(vs)
    return ReleasedWorkload(ann, folder, cas, scores)


#: The tIoU thresholds of the THUMOS14 table.
TIOUS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def released_path(
    w: ReleasedWorkload, *, fusion: bool = True, thresholds: Sequence[float] | None = None, tious: Sequence[float] = TIOUS
) -> tuple[list[np.ndarray], np.ndarray]:
    """The released test path on ``w``: per video, its detections as ``(n, 5)`` rows ``[class,
    video, s, e, score]`` (classes ascending; fused rows by score descending, stable in pick
    order, as tadfuse orders them; NMS rows in pick order); and ``getLocMAP`` per tIoU (percent).

    Defaults: the official thresholds, class threshold 0.16, T = 0.2, coverage threshold 0.25.
    """
    from tadfuse.config import OFFICIAL_THRESHOLDS

    th = OFFICIAL_THRESHOLDS if thresholds is None else thresholds
    ann = w.annotations
    evaluated = set(ann.evaluated_classes())
    by_class: dict[int, list[list[float]]] = {c: [] for c in ann.evaluated_classes()}
    per_video = []
    for i, (cas, vs) in enumerate(zip(w.cas, w.video_scores)):
        parts = []
        for c in range(cas.shape[1]):
            dets = video_class_detections(cas[:, c], vs[c], i, th, fusion=fusion)
            if dets is None:
                continue
            if c in evaluated:
                by_class[c] += dets
            table = np.array(dets, dtype=np.float64).reshape(-1, 4)
            if fusion:
                table = table[np.argsort(-table[:, 3], kind="stable")]
            parts.append(np.column_stack([np.full(len(table), c), table]))
        per_video.append(np.concatenate(parts) if parts else np.zeros((0, 5)))
    seg = rank_and_filter(by_class, ann)
    return per_video, np.array([loc_map(seg, ann, t) for t in tious])
