"""Temporal action detection mAP with named protocols.

One evaluator (`evaluate`), two named protocols (docs/algorithms.md, "Evaluation protocols").
Both score a set of detections against ground truth with greedy matching in score order and
all-points interpolated average precision (`tadfuse.evaluation.metrics`); they differ in how
overlap is measured and which predictions take part:

``anet`` (`tadfuse.evaluation.anet`)
    The official ActivityNet ``eval_detection.py`` semantics: continuous temporal IoU in
    seconds; AP is the VOC 2011 all-points interpolated AP; mAP is the mean over the classes
    that have ground truth in the evaluated videos; a class without predictions scores 0 (only
    that class). Predictions on videos that have no ground truth of their class count as false
    positives, exactly like the official code.

``wtalc`` (`tadfuse.evaluation.wtalc`)
    The in-house evaluator of W-TALC, RSKP and GauFuse (``detectionMAP.getLocMAP``): IoU of
    snippet index sets, ambiguous segments removed, only videos with ground truth evaluated,
    predictions in seconds truncated while the ground truth is rounded, the "mAP 0 when a class
    has no prediction" bug only behind ``zero_map_bug=True``.

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
offset_seconds``); ActivityNet result JSON is in seconds. The file formats, `GroundTruth` and the
result JSON readers and writers live in `tadfuse.annotations`.

Modules: `tadfuse.evaluation.api` (`evaluate`), `.anet` and `.wtalc` (the protocols),
`.metrics` (IoU, matching, AP), `.result` (`EvalResult`).
"""

from tadfuse.evaluation.anet import ANET_TIOU_THRESHOLDS
from tadfuse.evaluation.api import PROTOCOLS, evaluate
from tadfuse.evaluation.metrics import average_precision
from tadfuse.evaluation.result import EvalResult
from tadfuse.evaluation.wtalc import THUMOS14_TIOU_THRESHOLDS

__all__ = [
    "ANET_TIOU_THRESHOLDS",
    "PROTOCOLS",
    "THUMOS14_TIOU_THRESHOLDS",
    "EvalResult",
    "average_precision",
    "evaluate",
]
