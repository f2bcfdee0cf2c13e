"""Video-level classification mAP (numpy only): how well the video scores rank the videos of
each class. The released evaluation prints it beside the detection mAP ("Classification map",
GauFuse/RSKP evaluation/classificationMAP.py; 96.57 in GauFuse's released log).

Per class ``c`` with at least one positive video: sort the videos by decreasing score (ties: the
lower video index first, where the released ``np.argsort`` leaves them unspecified), and
``AP_c = (1 / P) Σ_{positives k} precision@rank(k)``, ``P`` the number of positives — the
released ``getAP`` exactly (no interpolation). The mAP is the mean over those classes. The
released code divides by zero (NaN) for a class without positives; here such classes are left
out and named in :attr:`ClassificationMAP.skipped`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tadfuse._checks import float_array
from tadfuse.errors import InvalidArgumentError

__all__ = ["ClassificationMAP", "classification_ap", "classification_map"]


def classification_ap(scores: npt.ArrayLike, positives: npt.ArrayLike) -> float:
    """AP of one class: ``scores`` ``(n,)`` of the videos, ``positives`` ``(n,)`` 0/1 labels with
    at least one 1. A fraction in ``(0, 1]``."""
    s = float_array("scores", scores, 1)
    y = float_array("positives", positives, 1)
    if s.shape != y.shape:
        raise InvalidArgumentError(f"`positives` must have the shape of `scores` {s.shape}, got {y.shape}")
    if not np.all(np.isfinite(s)):
        raise InvalidArgumentError("`scores` must be finite")
    if not np.isin(y, (0.0, 1.0)).all():
        raise InvalidArgumentError("`positives` must hold only 0 and 1")
    npos = int(y.sum())
    if npos == 0:
        raise InvalidArgumentError("`positives`: the class has no positive video, its AP is undefined")
    hit = y[np.argsort(-s, kind="stable")] == 1
    precision = np.cumsum(hit) / np.arange(1, hit.size + 1)
    return float(precision[hit].sum() / npos)


@dataclass(frozen=True)
class ClassificationMAP:
    """``mAP`` (a fraction) over the classes with a positive video; ``ap`` per class index
    (NaN for a skipped class); ``skipped``: class indices without a positive video."""

    mAP: float
    ap: np.ndarray
    skipped: tuple[int, ...]


def classification_map(scores: npt.ArrayLike, labels: npt.ArrayLike) -> ClassificationMAP:
    """Classification mAP of ``scores`` ``(n, C)`` (video scores of the ``C`` action classes, the
    background column removed) against ``labels`` ``(n, C)`` multi-hot video labels."""
    s = float_array("scores", scores, 2)
    y = float_array("labels", labels, 2)
    if s.shape != y.shape:
        raise InvalidArgumentError(f"`labels` must have the shape of `scores` {s.shape}, got {y.shape}")
    if s.shape[0] == 0 or s.shape[1] == 0:
        raise InvalidArgumentError(f"`scores` must have at least one video and one class, got shape {s.shape}")
    ap = np.full(s.shape[1], np.nan)
    skipped = []
    for c in range(s.shape[1]):
        if not y[:, c].any():
            skipped.append(c)
            continue
        ap[c] = classification_ap(s[:, c], y[:, c])
    if len(skipped) == s.shape[1]:
        raise InvalidArgumentError("`labels`: no class has a positive video")
    return ClassificationMAP(float(np.nanmean(ap)), ap, tuple(skipped))
