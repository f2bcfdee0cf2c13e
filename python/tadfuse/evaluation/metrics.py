"""Overlap, greedy matching and average precision: the parts both protocols share.

Overlaps come in two kinds: the continuous temporal IoU of intervals (`iou_continuous`, the
``anet`` protocol) and the IoU of integer snippet ranges taken as index sets (`iou_ranges`, the
``wtalc`` protocol). Matching (`match`) and AP (`average_precision`) are the same for both;
`class_average_precision` runs them per class and video. See docs/algorithms.md, "Evaluation
protocols".
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from tadfuse.errors import InvalidArgumentError

__all__ = [
    "average_precision",
    "class_average_precision",
    "group_bounds",
    "iou_continuous",
    "iou_ranges",
    "match",
]

#: An overlap function: predictions ``(start (P,), end (P,))`` against ground truth
#: ``(start (G,), end (G,))`` → IoU matrix (P, G).
IoU = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def iou_continuous(ps: np.ndarray, pe: np.ndarray, gs: np.ndarray, ge: np.ndarray) -> np.ndarray:
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


def iou_ranges(pa: np.ndarray, pb: np.ndarray, ga: np.ndarray, gb: np.ndarray) -> np.ndarray:
    """IoU of integer ranges ``range(pa, pb)`` (P,) and ``range(ga, gb)`` (G,) as index sets,
    shape (P, G); 0 for an empty union (the W-TALC code divides by zero there)."""
    lp = np.maximum(pb - pa, 0)[:, None]
    lg = np.maximum(gb - ga, 0)[None, :]
    inter = np.maximum(np.minimum(pb[:, None], gb[None, :]) - np.maximum(pa[:, None], ga[None, :]), 0)
    union = lp + lg - inter
    out = np.zeros(inter.shape, np.float64)
    np.divide(inter.astype(np.float64), union.astype(np.float64), out=out, where=union > 0)
    return out


def match(iou: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
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
        raise InvalidArgumentError(f"average_precision: num_positives must be > 0, got {num_positives}")
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


def group_bounds(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For sorted ``keys``: (unique keys, start offsets including the end), so that group ``k``
    is ``keys[starts[k]:starts[k + 1]]``."""
    if keys.size == 0:
        return keys, np.zeros(1, np.int64)
    cut = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([[0], cut, [keys.size]])
    return keys[starts[:-1]], starts


def class_average_precision(
    classes: np.ndarray,
    gt_video: np.ndarray,
    gt_label: np.ndarray,
    gt_start: np.ndarray,
    gt_end: np.ndarray,
    pred_video: np.ndarray,
    pred_label: np.ndarray,
    pred_score: np.ndarray,
    pred_start: np.ndarray,
    pred_end: np.ndarray,
    keep: np.ndarray,
    thresholds: np.ndarray,
    iou: IoU,
) -> tuple[np.ndarray, int, list[int]]:
    """AP per class and threshold of the kept predictions.

    Ground truth: G rows (``gt_video`` index, ``gt_label``, bounds in the protocol's unit).
    Predictions: N rows; ``pred_video`` is the index of the video in the same list, or -1 for a
    video outside it (always a false positive); only rows with ``keep`` take part. For each
    class in ``classes`` (C,), its predictions are ranked by descending score (equal scores
    keep their input order), matched per video with `match` using ``iou`` and scored with
    `average_precision`. Returns ``(ap (C, K), number of predictions scored, the indices into
    classes of the classes without predictions)``; those score AP 0.
    """
    ap = np.zeros((classes.size, thresholds.size))
    scored = 0
    empty: list[int] = []
    gt_order = np.lexsort((np.arange(gt_video.size), gt_video, gt_label))
    gt_lab_sorted = gt_label[gt_order]
    for ci, c in enumerate(classes):
        g_rows = gt_order[np.searchsorted(gt_lab_sorted, c, "left"):np.searchsorted(gt_lab_sorted, c, "right")]
        p_rows = np.flatnonzero(keep & (pred_label == c))
        if p_rows.size == 0:
            empty.append(ci)
            continue
        scored += p_rows.size
        ranked = p_rows[np.argsort(-pred_score[p_rows], kind="stable")]
        tp = np.zeros((thresholds.size, ranked.size), bool)
        pv = pred_video[ranked]
        by_video = np.argsort(pv, kind="stable")
        uv, st = group_bounds(pv[by_video])
        g_v = gt_video[g_rows]
        for k, v in enumerate(uv):
            if v < 0:
                continue  # videos outside the list: false positives
            pos = by_video[st[k]:st[k + 1]]
            gsel = g_rows[np.searchsorted(g_v, v, "left"):np.searchsorted(g_v, v, "right")]
            if gsel.size == 0:
                continue
            r = ranked[pos]
            tp[:, pos] = match(iou(pred_start[r], pred_end[r], gt_start[gsel], gt_end[gsel]), thresholds)
        ap[ci] = average_precision(tp, g_rows.size)
    return ap, scored, empty
