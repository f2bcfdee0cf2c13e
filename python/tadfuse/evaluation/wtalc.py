"""The ``wtalc`` protocol: the in-house evaluator of W-TALC, RSKP and GauFuse
(``detectionMAP.getLocMAP``).

Overlap is the IoU of *snippet index sets* (`tadfuse.evaluation.metrics.iou_ranges`): a
prediction ``[s, e)`` in snippets covers ``range(int(s), int(e))``, a ground-truth segment
``[a, b]`` in seconds covers ``range(round(a*f), round(b*f))`` with ``f = 1 / snippet_seconds``
(25/16 for I3D at 25 fps, stride 16; ``round`` is half-to-even as in Python). Before matching,
every prediction whose snippet set intersects an entry of the ambiguous list
(``Ambiguous_test.txt``) of its video is removed. Only videos with at least one ground-truth
segment are evaluated (predictions elsewhere are dropped). The original returns mAP 0 for
*every* class when any class has no predictions; that bug is reproduced only with
``zero_map_bug=True``.

Predictions in seconds (result JSON) are *truncated* to snippets (``int(t * f)``, after snapping
values within 1e-9 of an integer onto it) while the ground truth is *rounded*, as in the original
code, so the ground truth scored against itself does not reach mAP 1.0. Seconds → snippets is
not lossless, so a detection that carries its exact ``"snippets": [s, e]`` (what
`tadfuse.annotations.activitynet_results` writes) is scored from those, truncated with
``int()`` like the released code does for its in-memory predictions and without snapping: a
file scores exactly what the `Proposals` it was written from score. Its recorded timebase must
match the one used here. See docs/algorithms.md, "Evaluation protocols".
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np

from tadfuse.annotations import DetectionTable, GroundTruth, PathLike, read_ambiguous_list
from tadfuse.errors import DataFormatError, EvaluationWarning
from tadfuse.evaluation.metrics import group_bounds, iou_ranges

__all__ = ["THUMOS14_TIOU_THRESHOLDS", "TITLE", "evaluated_videos", "iou", "prepare", "snap_trunc"]

#: How `tadfuse.evaluation.EvalResult.table` names the protocol.
TITLE = "wtalc (W-TALC/RSKP/GauFuse in-house: snippet-set IoU, ambiguous segments removed)"

#: THUMOS14 thresholds used by the WTAL papers: 0.1, 0.2, ..., 0.7 (this protocol's default).
THUMOS14_TIOU_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)

#: Overlap of this protocol.
iou = iou_ranges


def _warn(message: str) -> None:
    warnings.warn(message, EvaluationWarning, stacklevel=4)  # the caller of `evaluate`


def snap_trunc(x: np.ndarray) -> np.ndarray:
    """``int(x)`` (toward zero), after snapping values within 1e-9 of an integer onto it (so
    that seconds → snippets conversions like ``3.2 * 1.5625`` do not lose a snippet)."""
    r = np.round(x)
    close = np.abs(x - r) <= 1e-9 * np.maximum(1.0, np.abs(x))
    return np.trunc(np.where(close, r, x)).astype(np.int64)


def evaluated_videos(gt: GroundTruth, notes: list[str]) -> GroundTruth:
    """``gt`` without the videos that have no ground-truth segment (noted in ``notes``): the
    original evaluator never scores them."""
    has_gt = np.zeros(len(gt.videos), bool)
    has_gt[gt.video] = True
    if has_gt.all():
        return gt
    no_gt = [v for v, h in zip(gt.videos, has_gt) if not h]
    notes.append(f"{len(no_gt)} video(s) without ground-truth segments are not evaluated "
                 f"(wtalc protocol), e.g. {no_gt[:3]}")
    return gt.select(videos=[v for v, h in zip(gt.videos, has_gt) if h])


def _check_recorded_timebase(
    gt: GroundTruth, table: DetectionTable, vidx: np.ndarray, exact: np.ndarray, ss_v: np.ndarray
) -> None:
    """A result file's ``snippets`` are in its producer's timebase; they can stand in for its
    seconds only if that is the timebase the ground truth is converted with here."""
    rows = np.flatnonzero(exact)
    rec_ss, rec_off = table.snippet_seconds[rows], table.offset_seconds[rows]
    used = ss_v[vidx[rows]]
    with np.errstate(invalid="ignore"):
        bad = (np.isfinite(rec_ss) & (np.abs(rec_ss - used) > 1e-9 * used)) | (np.isfinite(rec_off) & (rec_off != 0))
    if bad.any():
        i = rows[int(np.flatnonzero(bad)[0])]
        raise DataFormatError(
            f"{table.source}: {int(bad.sum())} detection(s) (e.g. on {table.video[i]!r}) have 'snippets' written "
            f"with snippet_seconds={table.snippet_seconds[i]:g}, offset_seconds={table.offset_seconds[i]:g}, but the "
            f"wtalc protocol converts the ground truth ({gt.source}) with snippet_seconds={ss_v[vidx[i]]:g} and "
            "offset 0; pass the matching snippet_seconds= (CLI: --snippet-seconds)"
        )


def prepare(
    gt: GroundTruth,
    gt_all: GroundTruth,
    table: DetectionTable,
    vidx: np.ndarray,
    in_list: np.ndarray,
    keep: np.ndarray,
    snippet_seconds: float | None,
    ambiguous: PathLike | Sequence[tuple[str, float, float]] | None,
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Prediction and ground-truth bounds as integer snippet ranges and the kept rows after the
    ambiguous filter: ``(pred_a, pred_b, gt_a, gt_b, keep)``.

    ``gt`` is the evaluated ground truth, ``gt_all`` the whole one (for the ambiguous list's
    video names); ``vidx``, ``in_list`` and ``keep`` (N,) as in `tadfuse.evaluation.anet.prepare`
    (``keep`` is not modified). ``snippet_seconds`` overrides the ground truth's timebase;
    ``ambiguous`` replaces its ambiguous list. What is filtered goes to ``notes``.
    """
    if snippet_seconds is not None:
        ss_v = np.full(len(gt.videos), float(snippet_seconds))
    else:
        ss_v = gt.snippet_seconds
        if np.any(gt.offset_seconds != 0):
            raise DataFormatError("the wtalc protocol needs offset_seconds == 0 (snippet 0 starts at 0 s)")
        if not np.all(np.isfinite(ss_v)):
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
    n_in = len(table.video)
    if table.unit == "seconds":
        rows = np.flatnonzero(in_list)
        f = np.ones(n_in)
        f[rows] = factor[vidx[rows]]
        start, end = snap_trunc(table.start * f), snap_trunc(table.end * f)
        exact = in_list & np.isfinite(table.snippet_start)
        if exact.any():  # the exact boundaries the file records, truncated like Proposals
            _check_recorded_timebase(gt, table, vidx, exact, ss_v)
            start[exact] = np.trunc(table.snippet_start[exact]).astype(np.int64)
            end[exact] = np.trunc(table.snippet_end[exact]).astype(np.int64)
        if (in_list & ~exact).any():
            notes.append("predictions in seconds are truncated to snippets while the ground truth "
                         "is rounded (as in the original wtalc code), so even the ground truth itself "
                         "can score below mAP 1.0 under this protocol")
    else:
        start, end = np.trunc(table.start).astype(np.int64), np.trunc(table.end).astype(np.int64)

    # ambiguous filtering
    if ambiguous is not None:
        rows_amb = read_ambiguous_list(ambiguous) if isinstance(ambiguous, (str, os.PathLike)) \
            else [(str(v), float(s), float(e)) for v, s, e in ambiguous]
        unknown_amb = sorted({v for v, _, _ in rows_amb if v not in gt_all})
        if unknown_amb:
            _warn(f"{len(unknown_amb)} video(s) of the given ambiguous list are not in the ground truth "
                  f"and are ignored, e.g. {unknown_amb[:3]}")
        amb_v = gt.video_indices(v for v, _, _ in rows_amb)
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
        uv, st = group_bounds(amb_v[order_a])
        for k, v in enumerate(uv):
            rows = np.flatnonzero(in_list & (vidx == v))
            if not rows.size:
                continue
            sel_a = order_a[st[k]:st[k + 1]]
            overlap = iou_ranges(start[rows], end[rows], amb_a[sel_a], amb_b[sel_a])
            removed[rows[(overlap > 0).any(axis=1)]] = True
        if removed.any():
            notes.append(f"{int(removed.sum())} prediction(s) overlapping {amb_src} removed")
        keep = keep & ~removed
    return start, end, gt_a, gt_b, keep
