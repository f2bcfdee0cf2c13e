"""Exact mode of the official preset reproduces the released test path bit for bit.

The yardstick is `tadfuse.reference.released`, a restatement of the released ``getActLoc`` →
``NonMaximumSuppression`` → ``getLocMAP`` with its arithmetic (NumPy 1.22's casting rules and a
pinned order for equal scores written out explicitly). On generated TCAMs over the real THUMOS14
test annotations (212 videos), float64 and float32, fusion and NMS, ``detect_batch`` with
``PostprocessConfig.official(exact=True)`` must give exactly the released detections, and
``evaluate(protocol="wtalc")`` of them exactly the released mAP; the fast path is measured
against the same numbers (it is close, not equal).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tadfuse
from hypothesis import given, settings
from hypothesis import strategies as st
from tadfuse.errors import ConfigError, InvalidArgumentError, InvalidTypeError, TadfuseWarning
from tadfuse.reference import released
from tadfuse.reference.workload import TIOUS, released_path, thumos14_test_tcams

EXACT = tadfuse.PostprocessConfig.official(exact=True)


# --------------------------------------------------------------------------------------------
# NumPy's means, through the pipeline
# --------------------------------------------------------------------------------------------


PAD = 700  # snippets of sub-threshold noise on each side: long outer regions too


def _one_run(length: int, dtype: type, rng: np.random.Generator, k: int = 3) -> np.ndarray:
    """(PAD + length + PAD, k) TCAM: column 1 is one run over snippets PAD..PAD+length above
    the threshold 0.01, with noise below it elsewhere."""
    cas = np.zeros((length + 2 * PAD, k), dtype)
    cas[:, 1] = rng.uniform(0.0, 0.009, length + 2 * PAD).astype(dtype)
    cas[PAD:PAD + length, 1] = rng.uniform(0.05, 0.9, length).astype(dtype)
    return cas


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_means_are_numpy_means_of_the_strided_column(dtype):
    # The released code takes np.mean of slices of the column view cas[:, c] (strided by k) for
    # the inner mean and of a fancy-indexed copy for the outer one: every length through the
    # pairwise cases (< 8, 8..128, split above 128) and long runs, outer regions up to ~700.
    rng = np.random.default_rng(5)
    lengths = [*range(2, 300), 511, 1000, 1024, 4099, 8192, 8193, 20001]
    cfg = EXACT.replace(method="nms", thresholds=(0.01,), class_threshold=0.0)
    cas_list = [_one_run(n, dtype, rng) for n in lengths]
    out = tadfuse.detect_batch(cas_list, [np.array([-1.0, 1.0, -1.0])] * len(cas_list), cfg)
    for n, cas, det in zip(lengths, cas_list, out):
        col = cas[:, 1]
        assert col.strides[0] == 3 * col.itemsize
        s, e, l = PAD, PAD + n, cas.shape[0]
        assert len(det) == 1 and (det.start[0], det.end[0]) == (s, e + 1)
        inner = np.mean(col[s:e + 1])  # the run plus one snippet past it
        pad = 0.0785 * n**0.9
        outer = np.mean(col[list(range(max(0, int(s - pad)), s)) + list(range(e + 1, min(l - 1, int(e + pad + 1))))])
        assert inner.dtype == outer.dtype == dtype
        assert det.inner[0] == float(inner), n
        assert det.score[0] == float(inner - outer), n


@settings(max_examples=60)
@given(
    values=st.lists(st.floats(0.0, 1.0, width=32), min_size=3, max_size=400),
    dtype=st.sampled_from([np.float64, np.float32]),
    k=st.integers(1, 4),
)
def test_proposal_means_match_the_restatement(values, dtype, k):
    cas = np.zeros((len(values), k), dtype)
    cas[:, k - 1] = np.asarray(values, dtype)
    cfg = EXACT.replace(method="nms", threshold=1.0, class_threshold=0.0)  # threshold 1: nothing suppressed
    det = tadfuse.detect_batch([cas], [np.ones(k)], cfg)[0]
    det = det[det.label == k - 1]
    props = released.video_class_proposals(cas[:, k - 1], cfg.thresholds, 0)
    # NMS output is in pick order: the proposals by score descending, ties by lowest index
    order = np.lexsort((np.arange(len(props)), -props[:, 3]))
    np.testing.assert_array_equal(det.start, props[order, 1])
    np.testing.assert_array_equal(det.end, props[order, 2])
    np.testing.assert_array_equal(det.score, props[order, 3])
    np.testing.assert_array_equal(det.inner, props[order, 4])


@pytest.mark.parametrize("i", range(20))
def test_float32_thresholds_are_rounded_like_numpy_1_22(i):
    # NumPy 1.22 compared a float32 column with the float64 threshold in float32: an activation
    # equal to float32(θ) is never above it. The fast path compares in float64 (NumPy 2 rules),
    # where it is above exactly when float32(θ) rounded θ up.
    theta = tadfuse.OFFICIAL_THRESHOLDS[i]
    x32 = np.float32(theta)
    cas = np.zeros((6, 1), np.float32)
    cas[1:5, 0] = x32
    cfg = dict(thresholds=(theta,), class_threshold=0.0)
    assert len(tadfuse.detect(cas, np.ones(1), EXACT.replace(**cfg))) == 0
    assert len(released.video_class_proposals(cas[:, 0], (theta,), 0)) == 0
    fast = tadfuse.detect(cas, np.ones(1), tadfuse.PostprocessConfig.official(**cfg))
    assert len(fast) == int(float(x32) > theta)


# --------------------------------------------------------------------------------------------
# Fusion sums, engineered cases
# --------------------------------------------------------------------------------------------


def _fused(cas: np.ndarray, scores: np.ndarray, cfg: tadfuse.PostprocessConfig) -> tadfuse.Proposals:
    return tadfuse.detect_batch([cas], [scores], cfg)[0]


def _released_rows(cas, scores, cfg, fusion=True):
    rows = []
    for c in range(cas.shape[1]):
        dets = released.video_class_detections(
            cas[:, c], scores[c], 0, cfg.thresholds, class_threshold=cfg.class_threshold,
            temperature=cfg.temperature, overlap_threshold=cfg.threshold, fusion=fusion)
        if dets:
            table = np.array(dets).reshape(-1, 4)
            rows.append(np.column_stack([np.full(len(table), c), table[np.argsort(-table[:, 3], kind="stable")]]))
    return np.concatenate(rows) if rows else np.zeros((0, 5))


def _assert_same(det: tadfuse.Proposals, rows: np.ndarray, what: str = "") -> None:
    assert len(det) == len(rows), what
    np.testing.assert_array_equal(det.label, rows[:, 0].astype(int), err_msg=what)
    np.testing.assert_array_equal(det.start, rows[:, 2], err_msg=what)
    np.testing.assert_array_equal(det.end, rows[:, 3], err_msg=what)
    np.testing.assert_array_equal(det.score, rows[:, 4], err_msg=what)


def test_plateaus_with_tied_scores_and_folded_copies():
    # Activations exactly on the thresholds, plateaus and repeated bumps: many runs found at
    # several thresholds (folded copies) and distinct runs with equal scores in one group.
    rng = np.random.default_rng(3)
    th = np.asarray(tadfuse.OFFICIAL_THRESHOLDS)
    for trial in range(40):
        length = int(rng.integers(5, 200))
        cas = th[rng.integers(0, 20, (length, 2))] * (rng.uniform(0, 1, (length, 2)) < 0.85)
        if trial % 2:
            cas = np.tile(cas[: max(2, length // 4)], (4, 1))  # repeated patterns: equal scores
        scores = np.array([0.9, 0.5])
        for dtype in (np.float64, np.float32):
            c = cas.astype(dtype)
            _assert_same(_fused(c, scores, EXACT), _released_rows(c, scores, EXACT), f"{trial} {dtype}")
            nms = EXACT.replace(method="nms")
            _assert_same(_fused(c, scores, nms), _released_rows(c, scores, nms, fusion=False), f"{trial} nms")


@settings(max_examples=60)
@given(
    cas=st.integers(1, 120).flatmap(lambda n: st.lists(
        st.lists(st.floats(0.0, 0.25, width=32), min_size=2, max_size=2), min_size=n, max_size=n)),
    dtype=st.sampled_from([np.float64, np.float32]),
    temperature=st.sampled_from([1.0, 0.2, 0.05, 0.02]),
    threshold=st.sampled_from([0.0, 0.25, 0.6, 0.999]),
)
def test_fusion_matches_the_restatement(cas, dtype, temperature, threshold):
    arr = np.asarray(cas, dtype)
    cfg = EXACT.replace(temperature=temperature, threshold=threshold)
    scores = np.array([0.5, 0.5])
    _assert_same(_fused(arr, scores, cfg), _released_rows(arr, scores, cfg))


def test_no_overlap_threshold_one_keeps_every_copy():
    # threshold 1: no candidate ever joins (coverage <= 1), so nothing is folded; the released
    # formula still divides each singleton's Σ s·k by Σ k.
    rng = np.random.default_rng(9)
    cas = rng.uniform(0, 0.05, (80, 1))
    cfg = EXACT.replace(threshold=1.0)
    _assert_same(_fused(cas, np.ones(1), cfg), _released_rows(cas, np.ones(1), cfg))


def test_overflow_falls_back_to_shifted_form_with_a_warning_and_count():
    cas = np.full((12, 1), 1e-4)
    cas[2:9, 0] = [300.0, 310.0, 320.0, 320.0, 310.0, 300.0, 290.0]  # inner / T > 709.78 at T = 0.2
    with pytest.warns(TadfuseWarning, match="shifted softmax"):
        (det,), stats = tadfuse.detect_batch([cas], [np.ones(1)], EXACT, return_stats=True)
    assert stats.total_shifted >= 1 and stats.shifted_groups.shape == (1,)
    assert np.all(np.isfinite(det.start)) and np.all(np.isfinite(det.score))
    fast = tadfuse.detect(cas, np.ones(1))
    np.testing.assert_allclose(det.start, fast.start, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, quiet = tadfuse.detect_batch([cas * 1e-3], [np.ones(1)], EXACT, return_stats=True)
    assert quiet.total_shifted == 0


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "key"), [
    (dict(preset="paper"), "preset"),
    (dict(method="soft_nms"), "method"),
    (dict(overlap="iou"), "overlap"),
    (dict(weight="score"), "weight"),
    (dict(template="laplace"), "template"),
])
def test_exact_needs_the_released_choices(changes, key):
    with pytest.raises(ConfigError, match=f"`{key}`"):
        tadfuse.PostprocessConfig.official(exact=True, **changes)
    with pytest.raises(ConfigError, match="exact"):
        tadfuse.PostprocessConfig.paper(exact=True) if key == "preset" else EXACT.replace(**changes)


def test_exact_is_a_bool_and_defaults_off():
    assert tadfuse.PostprocessConfig.official().exact is False
    assert EXACT.exact is True and EXACT.to_dict()["exact"] is True
    with pytest.raises(InvalidTypeError, match="exact"):
        tadfuse.PostprocessConfig(exact="yes")
    # NMS keeps any template / weight (they are not used)
    assert tadfuse.PostprocessConfig.official(exact=True, method="nms", template="laplace").exact


def test_exact_refuses_other_dtypes_naming_the_video():
    ok = np.zeros((5, 2))
    with pytest.raises(InvalidTypeError, match=r"`cas\[1\]`.*int64"):
        tadfuse.detect_batch([ok, np.zeros((5, 2), np.int64)], [np.ones(2)] * 2, EXACT)
    with pytest.raises(InvalidTypeError, match="float16"):
        tadfuse.detect(np.zeros((5, 2), np.float16), np.ones(2), EXACT)
    # the fast path converts them, and float32 TCAMs read as float64 there
    assert len(tadfuse.detect(np.zeros((5, 2), np.float16), np.ones(2))) == 0
    with pytest.raises(InvalidArgumentError, match="cas"):
        tadfuse.detect(np.full((5, 2), np.nan, np.float32), np.ones(2), EXACT)


def test_fast_path_float32_equals_float64_conversion():
    rng = np.random.default_rng(2)
    cas = rng.uniform(0, 0.06, (300, 4)).astype(np.float32)
    a = tadfuse.detect(cas, np.ones(4))
    b = tadfuse.detect(cas.astype(np.float64), np.ones(4))
    assert a == b


# --------------------------------------------------------------------------------------------
# The released test path on THUMOS14
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def thumos():
    return thumos14_test_tcams(2023)


def _tadfuse_map(w, dets):
    preds = dict(zip(w.annotations.video_names, dets))
    res = tadfuse.evaluate(w.folder, preds, protocol="wtalc", tiou_thresholds=TIOUS, zero_map_bug=True)
    return 100 * res.mAP


@pytest.mark.parametrize("method", ["fusion", "nms"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_released_test_path_on_thumos14(thumos, dtype, method):
    w = thumos.astype(dtype)
    per_video, released_map = released_path(w, fusion=method == "fusion")
    assert released_map.min() > 5.0  # a real test: detections hit the ground truth

    exact = tadfuse.detect_batch(w.cas, w.video_scores, EXACT.replace(method=method), num_threads=2)
    for i, (det, rows) in enumerate(zip(exact, per_video)):
        _assert_same(det, rows, f"video {i}")
    exact_map = _tadfuse_map(w, exact)
    np.testing.assert_allclose(exact_map, released_map, rtol=0, atol=1e-9)

    # The fast path is close, not equal (benches/RESULTS.md, "Exact mode" records by how much).
    fast = tadfuse.detect_batch(w.cas, w.video_scores, tadfuse.PostprocessConfig.official(method=method))
    fast_map = _tadfuse_map(w, fast)
    assert np.abs(fast_map - released_map).max() < 1.0


def test_fusion_weights_come_from_numpys_exp(monkeypatch):
    # On AVX-512 CPUs np.exp differs from the C library's exp by an ulp for some arguments; the
    # released code used np.exp, so exact mode calls it (once per batch, on all weights).
    rng = np.random.default_rng(4)
    cas = [rng.uniform(0, 0.06, (200, 3)) for _ in range(3)]
    scores = [np.ones(3)] * 3
    before = tadfuse.detect_batch(cas, scores, EXACT)
    calls = []
    real_exp = np.exp

    def spy(x, out=None):
        calls.append(x.size)
        real_exp(x, out=out)
        return np.nextafter(out, np.inf, out=out)  # one ulp up: must show in the results

    monkeypatch.setattr(np, "exp", spy)
    after = tadfuse.detect_batch(cas, scores, EXACT)
    assert len(calls) == 1 and calls[0] > 0
    assert any(not np.array_equal(a.start, b.start) for a, b in zip(after, before))
    calls.clear()
    tadfuse.detect_batch(cas, scores, EXACT.replace(method="nms"))
    tadfuse.detect_batch(cas, scores, tadfuse.PostprocessConfig.official())
    assert calls == []


def test_restated_suppress_by_hand():
    # rows [video, s, e, score, inner]. Ascending by (score, -index): 2, 3, 1, 0 (rows 1 and 3 tie).
    props = np.array([
        [0, 10, 20, 0.9, 0.30],
        [0, 11, 21, 0.5, 0.20],
        [0, 12, 22, 0.1, 0.40],
        [0, 30, 40, 0.5, -0.10],
    ])
    picked, fused = released.suppress(props, 0.25, 0.2)
    # pivot 0 covers 9/11 of row 2 and 10/11 of row 1, none of row 3; then row 3 alone
    assert picked == [0, 3]
    k = [float(np.exp(w / 0.2)) for w in props[:, 4]]
    den = ((0.0 + k[0]) + k[2]) + k[1]
    assert fused[0] == [0.0, (((0.0 + 10 * k[0]) + 12 * k[2]) + 11 * k[1]) / den,
                        (((0.0 + 20 * k[0]) + 22 * k[2]) + 21 * k[1]) / den,
                        (((0.0 + 0.9 * k[0]) + 0.1 * k[2]) + 0.5 * k[1]) / den]
    # a negative inner mean enters the denominator with its sign
    assert fused[1] == [0.0, (30 * k[3]) / -k[3], (40 * k[3]) / -k[3], (0.5 * k[3]) / -k[3]]
    # NMS keeps the pivots; the lower index wins a tie (row 1 would be the pivot before row 3)
    assert released.suppress(props[[1, 3]], 0.25, 0.2)[0] == [0, 1]
