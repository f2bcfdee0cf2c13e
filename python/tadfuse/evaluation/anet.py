"""The ``anet`` protocol: the official ActivityNet ``eval_detection.py`` semantics.

Continuous temporal IoU in seconds (`tadfuse.evaluation.metrics.iou_continuous`). Predictions in
snippets (`Proposals`) are converted with the video's timebase, ``seconds = snippets *
snippet_seconds + offset_seconds``, clipped to the video's duration when known (as the result
JSON writer does); a result JSON is already in seconds (its exact ``snippets`` are not used). Per class, predictions
are visited in descending score order; each one takes the unmatched ground-truth segment of its
video and class with the highest tIoU, provided that tIoU is ``>= threshold``; otherwise it is a
false positive. Predictions on videos that have no ground truth of their class count as false
positives, exactly like the official code. See docs/algorithms.md, "Evaluation protocols".
"""

from __future__ import annotations

import numpy as np

from tadfuse.annotations import DetectionTable, GroundTruth, snippets_to_seconds
from tadfuse.errors import DataFormatError
from tadfuse.evaluation.metrics import iou_continuous

__all__ = ["ANET_TIOU_THRESHOLDS", "TITLE", "iou", "prepare"]

#: How `tadfuse.evaluation.EvalResult.table` names the protocol.
TITLE = "anet (official ActivityNet eval_detection semantics: continuous tIoU in seconds)"

#: ActivityNet 1.3 thresholds: ``np.linspace(0.5, 0.95, 10)`` (the official default and this
#: protocol's default).
ANET_TIOU_THRESHOLDS: tuple[float, ...] = tuple(float(t) for t in np.linspace(0.5, 0.95, 10))

#: Overlap of this protocol.
iou = iou_continuous


def prepare(
    gt: GroundTruth,
    table: DetectionTable,
    vidx: np.ndarray,
    in_list: np.ndarray,
    ss_v: np.ndarray,
    off_v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Prediction and ground-truth bounds in seconds: ``(pred_start, pred_end, gt_start,
    gt_end)``.

    ``vidx`` (N,) is each prediction's index into ``gt.videos`` (-1 outside), ``in_list`` (N,)
    the rows that are kept and inside the list (only those are converted from snippets), and
    ``ss_v``/``off_v`` (V,) the timebase per evaluated video. `Proposals` are converted with
    `tadfuse.annotations.snippets_to_seconds`, clipped to the video's duration when the ground
    truth knows it, exactly as `tadfuse.annotations.activitynet_results` writes them given the
    durations; a result JSON's seconds are used as they are.
    """
    start, end = table.start, table.end
    if table.unit == "snippets":
        rows = np.flatnonzero(in_list)
        bad = rows[~np.isfinite(ss_v[vidx[rows]])] if rows.size else rows
        if bad.size:
            raise DataFormatError(
                f"predictions are in snippets, but the ground truth ({gt.source}) has no timebase for video "
                f"{gt.videos[vidx[bad[0]]]!r}; pass snippet_seconds= (CLI: --snippet-seconds)"
            )
        start, end = start.copy(), end.copy()
        v = vidx[rows]
        start[rows], end[rows] = snippets_to_seconds(start[rows], end[rows], ss_v[v], off_v[v], gt.durations[v])
    return start, end, gt.start, gt.end
