"""Pins the slow references in ``reference.py`` with cases worked out by hand.

Nothing here imports the Rust extension: these tests say what the contract means, the parity
tests then hold tadfuse to the references.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from reference import (
    DEFAULT_THRESHOLDS,
    official_transcription,
    ref_config,
    ref_detect,
    ref_extract,
    ref_fuse,
    ref_nms,
    ref_overlap,
    ref_soft_nms,
    student_t_location,
    weighted_lower_median,
)

TOL = dict(rtol=1e-12, atol=1e-12)


def cols(label, start, end, score, inner=None, video=None):
    score = np.asarray(score, float)
    return {
        "label": np.asarray(label, np.int64),
        "start": np.asarray(start, float),
        "end": np.asarray(end, float),
        "score": score,
        "inner": score.copy() if inner is None else np.asarray(inner, float),
        "video": None if video is None else np.asarray(video, np.int64),
    }


def check(actual, expected):
    """expected: list of (label, start, end, score, inner) rows."""
    assert len(actual["label"]) == len(expected), (actual, expected)
    exp = np.array(expected, dtype=float).reshape(-1, 5)
    np.testing.assert_array_equal(actual["label"], exp[:, 0].astype(np.int64))
    for k, name in enumerate(("start", "end", "score", "inner"), start=1):
        np.testing.assert_allclose(actual[name], exp[:, k], **TOL, err_msg=name)


# ---------------------------------------------------------------------------------------------
# extraction, a 6-snippet CAS by hand
# ---------------------------------------------------------------------------------------------

X6 = np.array([0.01, 0.03, 0.05, 0.02, 0.0, 0.04])


def test_default_thresholds():
    assert len(DEFAULT_THRESHOLDS) == 20
    np.testing.assert_array_equal(DEFAULT_THRESHOLDS, np.arange(0.001, 0.04, 0.002))


def test_extract_official_six_snippets():
    # theta 0.015: mask F T T T F T -> runs [1,4) (n=3) and [5,6) (n=1, too short)
    #   inner = mean(x[1:5]) = (0.03+0.05+0.02+0.0)/4 = 0.025
    #   pad = 0.0785*3^0.9 = 0.211: left = range(int(0.789)=0, 1) = {0} -> 0.01,
    #   right = range(5, min(5, int(5.211)=5)) = {} ; outer = 0.01 ; stored [1, 5)
    # theta 0.025: mask F T T F F T -> run [1,3) (n=2)
    #   inner = mean(x[1:4]) = 0.1/3 ; left {0} -> 0.01 ; right range(4, min(5, 4)) = {}
    out = ref_extract(X6[:, None], [0.015, 0.025])
    check(out, [(0, 1, 5, 0.025 - 0.01, 0.025), (0, 1, 4, 0.1 / 3 - 0.01, 0.1 / 3)])
    assert out["video"] is None


def test_extract_official_min_length_one_and_end_past_video():
    # run [5,6): inner = mean(x[5:7]) = x[5] (no snippet past the end), pad = 0.0785,
    # left = range(int(4.92)=4, 5) = {4} -> 0.0, right empty; stored end = 7 > l = 6 (quirk)
    out = ref_extract(X6[:, None], [0.015], min_length=1)
    check(out, [(0, 1, 5, 0.015, 0.025), (0, 5, 7, 0.04, 0.04)])


def test_extract_paper_six_snippets():
    # alpha 0.25: w = int(0.25*n) = 0 for n = 3 and n = 2 -> outer empty -> 0
    out = ref_extract(X6[:, None], [0.015, 0.025], preset="paper")
    check(out, [(0, 1, 4, 0.1 / 3, 0.1 / 3), (0, 1, 3, 0.04, 0.04)])
    # alpha 0.5: w = int(1.5) = 1 for n = 3: outer {0, 4} -> 0.005 ; w = int(1.0) = 1 for n = 2:
    # outer {0, 3} -> 0.015
    out = ref_extract(X6[:, None], [0.015, 0.025], preset="paper", alpha=0.5)
    check(out, [(0, 1, 4, 0.1 / 3 - 0.005, 0.1 / 3), (0, 1, 3, 0.04 - 0.015, 0.04)])


def test_extract_official_long_run_right_outer():
    # a run of 17 snippets: pad = 0.0785*17^0.9 = 1.0053 > 1
    x = np.zeros(22)
    x[0], x[1:18], x[18], x[19], x[20], x[21] = 0.002, 0.03, 0.0, 0.006, 0.0, 0.05
    pad = 0.0785 * 17**0.9
    assert 1.0 < pad < 1.01
    # run [1,18): inner = mean(x[1:19]) = 17*0.03/18 ; left range(int(1-pad)=0, 1) = {0};
    # right = range(19, min(21, int(18+pad+1)=20)) = {19}; outer = (0.002+0.006)/2
    out = ref_extract(x[:, None], [0.01])
    check(out, [(0, 1, 19, 0.51 / 18 - 0.004, 0.51 / 18)])
    # the same run at the very end of a 19-snippet video: min(l-1, .) = 18 cuts the right side
    out = ref_extract(x[:19, None], [0.01])
    check(out, [(0, 1, 19, 0.51 / 18 - 0.002, 0.51 / 18)])


def test_extract_strict_threshold_classes_and_order():
    th = DEFAULT_THRESHOLDS
    # column 0 equals thresholds[3] exactly on [2,5): x > theta is strict, so that run exists for
    # thresholds[0..2] only; column 1 is a plateau above every threshold
    cas = np.zeros((8, 2))
    cas[2:5, 0] = th[3]
    cas[1:4, 1] = 0.5
    out = ref_extract(cas)
    assert list(out["label"]) == [0, 0, 0] + [1] * 20
    np.testing.assert_array_equal(out["start"], [2.0] * 3 + [1.0] * 20)
    np.testing.assert_array_equal(out["end"], [6.0] * 3 + [5.0] * 20)
    # column 1: inner = mean(x[1:5]) = 1.5/4 ; left = {0} -> 0 ; right empty
    np.testing.assert_allclose(out["inner"][3:], 0.375, **TOL)
    np.testing.assert_allclose(out["score"][3:], 0.375, **TOL)
    # classes are processed in ascending order whatever order they are given in
    out2 = ref_extract(cas, classes=[1, 0])
    np.testing.assert_array_equal(out2["label"], out["label"])
    only1 = ref_extract(cas, classes=[1])
    assert list(only1["label"]) == [1] * 20
    # thresholds are used in the order given
    rev = ref_extract(cas[:, :1], thresholds=[th[2], th[0]])
    assert len(rev["label"]) == 2


def test_extract_edge_shapes():
    assert len(ref_extract(np.zeros((0, 3)))["label"]) == 0
    assert len(ref_extract(np.ones((1, 2)))["label"]) == 0  # l = 1: no run of length 2
    one = ref_extract(np.ones((1, 1)), [0.5], min_length=1)
    # run [0,1): inner = x[0:2] = 1 ; pad 0.0785: left range(0,0), right range(2, min(0, .)) -> 0
    check(one, [(0, 0, 2, 1.0, 1.0)])
    assert len(ref_extract(np.ones((5, 0)))["label"]) == 0


# ---------------------------------------------------------------------------------------------
# overlap
# ---------------------------------------------------------------------------------------------


def test_overlap_definitions():
    # coverage: inclusive +1 lengths, relative to the candidate
    assert ref_overlap(3, 10, 0, 3, "coverage") == 0.25  # adjacent segments "overlap" by 1
    assert ref_overlap(0, 10, 2, 10, "coverage") == 1.0
    assert ref_overlap(0, 1, 5, 6, "coverage") == 0.0
    assert ref_overlap(0, 4, 3, 4, "iou") == 0.25
    assert ref_overlap(0, 4, 4, 8, "iou") == 0.0
    assert ref_overlap(2, 2, 2, 2, "iou") == 0.0  # union 0
    assert ref_overlap(0, 10, 5, 10, "iou") == 0.5


# ---------------------------------------------------------------------------------------------
# fusion
# ---------------------------------------------------------------------------------------------


def test_fuse_two_plus_one():
    p = cols([0, 0, 0], [0, 2, 20], [10, 10, 25], [0.9, 0.8, 0.7], [0.5, 0.3, 0.4])
    # A,B: coverage(A -> B) = 9/9 > 0.25 ; C is disjoint. g = softmax([5, 3]) at T = 0.1
    ga, gb = 1 / (1 + math.exp(-2)), math.exp(-2) / (1 + math.exp(-2))
    out = ref_fuse(p, 0.1)
    check(out, [
        (0, 2 * gb, 10, 0.9 * ga + 0.8 * gb, 0.5 * ga + 0.3 * gb),
        (0, 20, 25, 0.7, 0.4),
    ])
    # weight = score: g = softmax([9, 8])
    ga, gb = 1 / (1 + math.exp(-1)), math.exp(-1) / (1 + math.exp(-1))
    out = ref_fuse(p, 0.1, weight="score")
    check(out, [
        (0, 2 * gb, 10, 0.9 * ga + 0.8 * gb, 0.5 * ga + 0.3 * gb),
        (0, 20, 25, 0.7, 0.4),
    ])


def test_fuse_three_way_equal_weights_and_output_order():
    # pivot P (score 0.6) swallows Q and R (equal inner -> g = 1/3 each); S stays alone with a
    # higher score than the fused group -> S comes first in the output
    p = cols([0] * 4, [0, 1, 2, 50], [8, 9, 10, 60], [0.6, 0.1, 0.2, 0.5], [0.2, 0.2, 0.2, 0.9])
    out = ref_fuse(p, 0.2)
    check(out, [(0, 50, 60, 0.5, 0.9), (0, 1, 9, 0.3, 0.2)])


def test_fuse_threshold_exact_coverage():
    # pivot [3,10); candidate [0,3): coverage = 1/4 exactly -> NOT merged
    p = cols([0, 0], [3, 0], [10, 3], [1.0, 0.5])
    out = ref_fuse(p, 0.2)
    check(out, [(0, 3, 10, 1.0, 1.0), (0, 0, 3, 0.5, 0.5)])
    # candidate [0.001, 3): coverage = 1/3.999 > 0.25 -> merged
    p = cols([0, 0], [3, 0.001], [10, 3], [1.0, 0.5])
    out = ref_fuse(p, 0.2)
    assert len(out["label"]) == 1
    # iou exactly 0.25 -> not merged, just above -> merged
    p = cols([0, 0], [0, 3], [4, 4], [1.0, 0.5])
    assert len(ref_fuse(p, 0.2, overlap="iou")["label"]) == 2
    p = cols([0, 0], [0, 2.9], [4, 4], [1.0, 0.5])
    assert len(ref_fuse(p, 0.2, overlap="iou")["label"]) == 1


def test_fuse_ties_lowest_index_pivot_and_groups():
    # two disjoint segments with the same score: the lower index is picked first and, with equal
    # fused scores, stays first; labels/videos form independent groups, ascending
    p = cols([1, 0, 1, 0], [0, 0, 10, 10], [5, 5, 15, 15], [0.5, 0.5, 0.5, 0.5],
             video=[1, 1, 0, 0])
    out = ref_fuse(p, 0.2)
    assert list(out["video"]) == [0, 0, 1, 1]
    assert list(out["label"]) == [0, 1, 0, 1]
    np.testing.assert_array_equal(out["start"], [10, 10, 0, 0])
    # one group: pivot = index 0 (tie), which swallows index 1 (coverage 1.0)
    p = cols([0, 0, 0], [0, 0, 40], [5, 5, 45], [0.5, 0.5, 0.5], [0.1, 0.3, 0.2])
    out = ref_fuse(p, 1.0)
    # both rows of the group have start 0 end 5 score 0.5 -> fused exactly those, then [40,45)
    np.testing.assert_allclose(out["start"], [0, 40], **TOL)
    g = np.exp(np.array([0.1, 0.3]) - 0.3)
    g /= g.sum()
    np.testing.assert_allclose(out["inner"], [g @ [0.1, 0.3], 0.2], **TOL)


def test_fuse_small_temperature_no_overflow():
    p = cols([0, 0, 0], [0, 1, 2], [10, 11, 12], [0.9, 0.8, 0.7], [1.5, 1.0, 1.49])
    out = ref_fuse(p, 0.0016)
    for name in ("start", "end", "score", "inner"):
        assert np.all(np.isfinite(out[name]))
    # 1.5/T - 1.49/T = 6.25 -> g = [1, e^-6.25] / (1 + e^-6.25) (the 1.0 one underflows to ~e^-312)
    g0 = 1 / (1 + math.exp(-6.25) + math.exp(-312.5))
    g2 = math.exp(-6.25) * g0
    g1 = math.exp(-312.5) * g0
    np.testing.assert_allclose(out["start"], [g1 * 1 + g2 * 2], **TOL)


def test_fuse_empty_and_single():
    e = cols([], [], [], [])
    assert len(ref_fuse(e, 0.2)["label"]) == 0
    one = cols([3], [1.5], [4.5], [0.7], [0.2], video=[9])
    out = ref_fuse(one, 0.0016, template="student_t")
    check(out, [(3, 1.5, 4.5, 0.7, 0.2)])
    assert list(out["video"]) == [9]


def test_templates_on_a_group():
    # three fully overlapping segments with equal weights: g = 1/3 each
    p = cols([0] * 3, [0, 1, 10], [20, 21, 30], [0.5, 0.4, 0.3], [0.2, 0.2, 0.2])
    lap = ref_fuse(p, 0.2, template="laplace")
    check(lap, [(0, 1, 21, 0.4, 0.2)])
    uni = ref_fuse(p, 0.2, template="uniform")
    check(uni, [(0, 5, 25, 0.4, 0.2)])
    gau = ref_fuse(p, 0.2, template="gaussian")
    check(gau, [(0, 11 / 3, 71 / 3, 0.4, 0.2)])
    st = ref_fuse(p, 0.2, template="student_t", dof=3.0)
    # robust location: between the lower median and the mean, solving the weighted t equations
    assert 1.0 < st["start"][0] < 11 / 3
    mu = st["start"][0]
    x = np.array([0.0, 1.0, 10.0])
    g = np.full(3, 1 / 3)
    # fixed point: mu = sum(g u x)/sum(g u), s2 = sum(g u (x-mu)^2)
    m = x @ g
    s2 = g @ (x - m) ** 2
    for _ in range(2000):
        u = 4.0 / (3.0 + (x - m) ** 2 / s2)
        m = (g * u) @ x / (g @ u)
        s2 = (g * u) @ (x - m) ** 2
    np.testing.assert_allclose(mu, m, rtol=1e-10)


def test_weighted_lower_median_rules():
    assert weighted_lower_median([5.0, 1.0], [0.5, 0.5]) == 1.0  # exactly half -> the lower one
    assert weighted_lower_median([5.0, 1.0], [0.6, 0.4]) == 5.0
    assert weighted_lower_median([3.0, 3.0, 1.0], [0.25, 0.25, 0.5]) == 1.0
    assert weighted_lower_median([2.0, 1.0, 3.0], [0.2, 0.2, 0.6]) == 3.0
    assert weighted_lower_median([7.0], [1.0]) == 7.0


def test_student_t_limits():
    x = [0.0, 1.0, 10.0]
    g = [0.2, 0.3, 0.5]
    # infinite dof -> weighted mean
    np.testing.assert_allclose(student_t_location(x, g, 1e15), 5.3, rtol=1e-12)
    # zero variance -> the common value
    assert student_t_location([4.0, 4.0], [0.5, 0.5], 3.0) == 4.0
    # symmetric data, symmetric weights -> centre
    np.testing.assert_allclose(student_t_location([0.0, 1.0, 2.0], [0.25, 0.5, 0.25], 3.0), 1.0,
                               rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# NMS / soft-NMS
# ---------------------------------------------------------------------------------------------


def test_nms_by_hand():
    p = cols([0, 0, 0, 0], [0, 2, 20, 3], [10, 10, 25, 5], [0.9, 0.8, 0.7, 0.95], [1, 2, 3, 4])
    # pick 3 ([3,5), 0.95): coverage on 0: (5-3+1)/11 = 3/11 > 0.25 removed; on 1: 3/9 removed;
    # 2 disjoint. Then pick 2. Rows come out unchanged.
    out = ref_nms(p)
    check(out, [(0, 3, 5, 0.95, 4), (0, 20, 25, 0.7, 3)])
    # iou: iou(3,0) = 2/10, iou(3,1) = 2/8 -> both kept (not > 0.25); then 0 suppresses 1
    out = ref_nms(p, overlap="iou")
    check(out, [(0, 3, 5, 0.95, 4), (0, 0, 10, 0.9, 1), (0, 20, 25, 0.7, 3)])


def test_nms_threshold_and_ties():
    p = cols([0, 0], [3, 0], [10, 3], [1.0, 0.5])
    assert len(ref_nms(p)["label"]) == 2  # coverage exactly 0.25 kept
    p = cols([0, 0], [3, 0.001], [10, 3], [1.0, 0.5])
    assert len(ref_nms(p)["label"]) == 1
    p = cols([0, 0, 0], [0, 0, 100], [5, 5, 105], [0.5, 0.5, 0.5], [1, 2, 3])
    out = ref_nms(p)
    np.testing.assert_array_equal(out["inner"], [1, 3])  # tie -> lowest index, keeps its inner


def test_soft_nms_by_hand():
    p = cols([0, 0, 0], [0, 5, 0], [10, 10, 4], [0.9, 0.8, 0.5], [0.1, 0.2, 0.3])
    # gaussian sigma 0.5: pick A; iou(A,B) = 0.5 -> 0.8 e^-0.5; iou(A,C) = 0.4 -> 0.5 e^-0.32;
    # pick B (0.485 > 0.363); iou(B,C) = 0
    out = ref_soft_nms(p)
    check(out, [(0, 0, 10, 0.9, 0.1), (0, 5, 10, 0.8 * math.exp(-0.5), 0.2),
                (0, 0, 4, 0.5 * math.exp(-0.32), 0.3)])
    # linear, threshold 0.45: B -> 0.8*(1-0.5) = 0.4, C untouched (0.4 not > 0.45)
    out = ref_soft_nms(p, method="linear", threshold=0.45)
    check(out, [(0, 0, 10, 0.9, 0.1), (0, 0, 4, 0.5, 0.3), (0, 5, 10, 0.4, 0.2)])
    # min_score 0.45: C decays to 0.363 and is dropped
    out = ref_soft_nms(p, min_score=0.45)
    check(out, [(0, 0, 10, 0.9, 0.1), (0, 5, 10, 0.8 * math.exp(-0.5), 0.2)])
    # max_out
    out = ref_soft_nms(p, max_out=1)
    check(out, [(0, 0, 10, 0.9, 0.1)])
    # rows below min_score are dropped at the start
    q = cols([0, 0], [0, 20], [10, 30], [0.9, 0.0005])
    out = ref_soft_nms(q)
    check(out, [(0, 0, 10, 0.9, 0.9)])


def test_soft_nms_ties_and_groups():
    p = cols([1, 0, 0], [0, 0, 100], [10, 10, 110], [0.5, 0.5, 0.5], video=[0, 0, 0])
    out = ref_soft_nms(p)
    assert list(out["label"]) == [0, 0, 1]
    np.testing.assert_array_equal(out["start"], [0, 100, 0])


# ---------------------------------------------------------------------------------------------
# detection pipeline and the authors' pipeline
# ---------------------------------------------------------------------------------------------


def test_detect_class_threshold_and_methods():
    cas = np.zeros((12, 3))
    cas[2:6, 0] = 0.03
    cas[4:9, 2] = 0.05
    vs = np.array([0.16, 0.9, 0.1599999])
    out = ref_detect(cas, vs)
    assert set(out["label"].tolist()) == {0}  # >= 0.16 kept, class 1 has nothing, class 2 below
    ext = ref_extract(cas, classes=[0])
    np.testing.assert_allclose(out["start"], ref_fuse(ext, 0.2)["start"], **TOL)
    nms = ref_detect(cas, vs, ref_config("official", method="nms"))
    assert len(nms["label"]) == 1
    soft = ref_detect(cas, vs, ref_config("paper", method="soft_nms", class_threshold=0.0))
    assert set(soft["label"].tolist()) == {0, 2}


def _random_positive_cas(rng, length, k):
    base = rng.uniform(1e-4, 0.05, (length, k))
    bumps = rng.uniform(0, 1, (length, k)) < 0.1
    return base + bumps * rng.uniform(0.0, 0.3, (length, k))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("temperature", [1.0, 0.2, 0.02])
def test_official_transcription_equals_reference(seed, temperature):
    rng = np.random.default_rng(seed)
    length = int(rng.integers(1, 80))
    k = 4
    cas = _random_positive_cas(rng, length, k)
    vs = rng.uniform(0, 0.4, k)
    ours = ref_detect(cas, vs, ref_config("official", temperature=temperature))
    theirs = official_transcription(cas, vs, temperature=temperature)
    for c in range(k):
        sel = ours["label"] == c
        if vs[c] < 0.16:
            assert theirs[c] == [] and not sel.any()
            continue
        t = theirs[c]
        assert t.shape == (int(sel.sum()), 3)
        np.testing.assert_allclose(ours["start"][sel], t[:, 0], **TOL)
        np.testing.assert_allclose(ours["end"][sel], t[:, 1], **TOL)
        np.testing.assert_allclose(ours["score"][sel], t[:, 2], **TOL)
