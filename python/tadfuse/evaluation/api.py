"""`evaluate`: the dispatcher that selects the videos, reads the predictions, applies the
protocol's conversions and filters (`tadfuse.evaluation.anet`, `tadfuse.evaluation.wtalc`) and
scores them (`tadfuse.evaluation.metrics`)."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from tadfuse.annotations import IN_MEMORY, GroundTruth, PathLike, detection_table, provenance_record
from tadfuse.data import load_ground_truth
from tadfuse.errors import DataFormatError, EvaluationWarning, InvalidArgumentError
from tadfuse.evaluation import anet, wtalc
from tadfuse.evaluation.metrics import class_average_precision
from tadfuse.evaluation.result import EvalResult
from tadfuse.proposals import Proposals

__all__ = ["PROTOCOLS", "evaluate"]

#: The protocol names accepted by `evaluate`.
PROTOCOLS = ("anet", "wtalc")


def _warn(message: str) -> None:
    warnings.warn(message, EvaluationWarning, stacklevel=3)


def _check_thresholds(tiou_thresholds: Any, protocol: str) -> np.ndarray:
    if tiou_thresholds is None:
        ts = wtalc.THUMOS14_TIOU_THRESHOLDS if protocol == "wtalc" else anet.ANET_TIOU_THRESHOLDS
        return np.asarray(ts, np.float64)
    thr = np.atleast_1d(np.asarray(tiou_thresholds, np.float64))
    if thr.ndim != 1 or thr.size == 0:
        raise InvalidArgumentError(f"tiou_thresholds must be a non-empty 1-D sequence, got {tiou_thresholds!r}")
    if not np.all((thr > 0) & (thr <= 1)):
        raise InvalidArgumentError(f"tiou_thresholds must lie in (0, 1], got {thr.tolist()}")
    return thr


def _source(arg: Any, recorded: str) -> str:
    """How the result names the ground truth it was given: the path given, the file it was
    read from (a `GroundTruth` or dataset keeps it as ``source``), or ``"in-memory"``."""
    if isinstance(arg, (str, os.PathLike)):
        return str(arg)
    return IN_MEMORY if recorded.startswith("<") else recorded


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
    provenance: Mapping[str, Any] | None = None,
) -> EvalResult:
    """Detection mAP of ``predictions`` against ``ground_truth`` under a named protocol.

    Parameters
    ----------
    ground_truth
        A `GroundTruth`, a ``tadfuse.data`` dataset (its ``ground_truth()``), a dataset folder
        of either layout, or an ActivityNet ground-truth JSON (path or dict); see
        `tadfuse.data.load_ground_truth`.
    predictions
        ``{video_name: Proposals}`` (time in snippets, integer labels indexing the ground truth's
        ``class_names``), or an ActivityNet result JSON (path or dict; seconds; labels are class
        names, see ``integer_labels``; validated as `tadfuse.annotations.read_activitynet_results`
        describes). ``anet`` converts `Proposals` to seconds clipped to the ground truth's known
        durations; ``wtalc`` scores a file's exact ``snippets`` when it has them. Either way a
        result file written by `tadfuse.annotations.write_activitynet_results` (with the
        durations) scores exactly like the `Proposals` it was written from.
    tiou_thresholds
        IoU thresholds in (0, 1]. Default: 0.1:0.1:0.7 for ``wtalc``, 0.5:0.05:0.95 for ``anet``.
    protocol
        ``"anet"`` or ``"wtalc"`` (see `tadfuse.evaluation`).
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

    provenance
        Recorded in the result's ``provenance`` (see `tadfuse.annotations.provenance_record`):
        e.g. ``{"preset": ..., "config": {...}}``; its ``inputs`` are added to the ground-truth
        and prediction sources that `evaluate` records itself.

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
    caller = dict(provenance_record(provenance))  # checked before any work
    gt_all = load_ground_truth(ground_truth)
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
        gt = wtalc.evaluated_videos(gt, notes)
    if len(gt) == 0:
        raise DataFormatError(
            f"no ground-truth segments in the evaluated videos ({len(gt.videos)} videos, "
            f"source {gt_all.source}); nothing to evaluate"
        )
    ev_subset = subset
    if ev_subset is None and len(gt.subset_counts()) == 1:
        ev_subset = next(iter(gt.subset_counts()))

    # ---- predictions ----------------------------------------------------------------------
    preds = detection_table(predictions, gt.class_names, integer_labels)
    n_in = len(preds.video)
    vidx = gt.video_indices(preds.video)
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
               f"evaluated videos were ignored: {names[:8]}" + preds.integer_label_hint(integer_labels))
        _warn(msg)
        notes.append(msg)
        keep &= lab_ok
    in_list = keep & (vidx >= 0)

    # ---- the protocol: units, overlap, filters ----------------------------------------------
    if protocol == "anet":
        if snippet_seconds is not None:
            ss_v, off_v = np.full(len(gt.videos), float(snippet_seconds)), np.zeros(len(gt.videos))
        else:
            ss_v, off_v = gt.snippet_seconds, gt.offset_seconds
        start, end, gt_a, gt_b = anet.prepare(gt, preds, vidx, in_list, ss_v, off_v)
        iou = anet.iou
    else:
        start, end, gt_a, gt_b, keep = wtalc.prepare(gt, gt_all, preds, vidx, in_list, keep,
                                                     snippet_seconds, ambiguous, notes)
        iou = wtalc.iou

    # ---- per class --------------------------------------------------------------------------
    ap, scored, empty = class_average_precision(
        gt_classes, gt.video, gt.label, gt_a, gt_b, vidx, preds.label, preds.score, start, end, keep, thr, iou)
    empty_classes = [gt.class_names[gt_classes[ci]] for ci in empty]
    if empty_classes:
        notes.append(f"{len(empty_classes)} class(es) without predictions score AP 0: {empty_classes[:8]}")
    mAP = ap.mean(axis=0)
    if zero_map_bug and empty_classes:
        mAP = np.zeros_like(mAP)
        notes.append("zero_map_bug: mAP set to 0 because a class has no predictions "
                     "(reproducing the original W-TALC evaluator)")
    inputs = {"ground_truth": _source(ground_truth, gt_all.source), "predictions": preds.source,
              **caller.pop("inputs", {})}
    record = {"tadfuse_version": caller.pop("tadfuse_version"), "inputs": inputs, **caller}
    if preds.provenance is not None:
        record["predictions_provenance"] = dict(preds.provenance)
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
        provenance=record,
    )
