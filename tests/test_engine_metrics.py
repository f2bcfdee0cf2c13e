"""Video-level classification mAP: against a restatement of the released ``getAP`` (GauFuse /
RSKP evaluation/classificationMAP.py, read, not copied) on hypothesis-drawn scores without ties,
against a brute-force precision-at-rank definition, and at the edges."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tadfuse.engine.metrics import classification_ap, classification_map
from tadfuse.errors import InvalidArgumentError


def released_get_ap(conf: np.ndarray, labels: np.ndarray) -> float:
    """The released per-class AP: sort by descending confidence, cumulative TP/FP counts in
    float32, ``sum(precision at the positives) / npos``."""
    order = np.argsort(-conf)
    tp = labels[order] == 1
    fp = labels[order] != 1
    npos = np.sum(labels)
    fp_c = np.cumsum(fp).astype("float32")
    tp_c = np.cumsum(tp).astype("float32")
    prec = tp_c / (fp_c + tp_c)
    return float(np.sum(tp.astype("float32") * prec) / npos)


def brute_ap(scores: list[float], labels: list[int]) -> float:
    """For each positive: (positives ranked at or above it) / (its rank), averaged."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    total = 0.0
    for r, i in enumerate(order, start=1):
        if labels[i] == 1:
            total += sum(labels[j] for j in order[:r]) / r
    return total / sum(labels)


@st.composite
def videos(draw):
    n = draw(st.integers(1, 30))
    c = draw(st.integers(1, 5))
    scores = np.array(draw(st.lists(st.integers(0, 10**6), min_size=n * c, max_size=n * c, unique=True)),
                      dtype=np.float64).reshape(n, c) / 10**6
    labels = np.array(draw(st.lists(st.integers(0, 1), min_size=n * c, max_size=n * c)), dtype=np.float64)
    return scores, labels.reshape(n, c)


@given(videos())
def test_matches_the_released_get_ap_without_ties(data):
    scores, labels = data
    for c in range(scores.shape[1]):
        if labels[:, c].any():
            got = classification_ap(scores[:, c], labels[:, c])
            assert got == pytest.approx(released_get_ap(scores[:, c], labels[:, c]), rel=1e-6)
            assert got == pytest.approx(brute_ap(scores[:, c].tolist(), labels[:, c].astype(int).tolist()), rel=1e-12)


@given(videos())
def test_map_is_the_mean_over_classes_with_positives(data):
    scores, labels = data
    if not labels.any():
        with pytest.raises(InvalidArgumentError, match="no class has a positive"):
            classification_map(scores, labels)
        return
    r = classification_map(scores, labels)
    present = [c for c in range(labels.shape[1]) if labels[:, c].any()]
    assert r.skipped == tuple(c for c in range(labels.shape[1]) if c not in present)
    assert r.mAP == pytest.approx(np.mean([brute_ap(scores[:, c].tolist(), labels[:, c].astype(int).tolist())
                                           for c in present]), rel=1e-12)
    assert np.isnan(r.ap[list(r.skipped)]).all()


def test_engineered_values():
    assert classification_ap([0.9, 0.8, 0.1], [1, 0, 1]) == pytest.approx((1 + 2 / 3) / 2)
    assert classification_ap([0.1, 0.9], [0, 1]) == 1.0
    assert classification_ap([0.5, 0.5, 0.5], [0, 0, 1]) == pytest.approx(1 / 3)  # ties: lower index first
    assert classification_ap([0.5, 0.5, 0.5], [1, 0, 0]) == 1.0
    r = classification_map([[0.9, 0.1], [0.2, 0.8]], [[1, 0], [0, 1]])
    assert r.mAP == 1.0 and r.skipped == ()


def test_bad_inputs_are_named():
    with pytest.raises(InvalidArgumentError, match="no positive video"):
        classification_ap([0.1, 0.2], [0, 0])
    with pytest.raises(InvalidArgumentError, match="only 0 and 1"):
        classification_ap([0.1, 0.2], [0, 2])
    with pytest.raises(InvalidArgumentError, match="finite"):
        classification_ap([np.nan, 0.2], [0, 1])
    with pytest.raises(InvalidArgumentError, match="`positives` must have the shape"):
        classification_ap([0.1, 0.2], [1])
    with pytest.raises(InvalidArgumentError, match="`labels` must have the shape"):
        classification_map(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(InvalidArgumentError, match="at least one video"):
        classification_map(np.zeros((0, 3)), np.zeros((0, 3)))
