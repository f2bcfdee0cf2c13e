"""The pseudo-label refresh: the label TCAM against a numpy restatement, and refresh_labels end
to end on synthetic TCAMs with planted bumps, checked against an independent restatement of the
released pipeline (fusion transcription + the full dense LP of the released W rows)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from tadfuse.config import LinproConfig, PostprocessConfig
from tadfuse.engine import RefreshTimings, label_tcam, label_video_scores, refresh_labels
from tadfuse.errors import InvalidArgumentError, InvalidTypeError
from tadfuse.linpro import LinproStats
from tadfuse.reference.released import video_class_detections

# ---------------------------------------------------------------------------------------------
# label TCAM and video scores


def np_label_tcam(o, m, att, c=0.8):
    """The released ``F.softmax(o)·c + F.softmax(m)·(1 − c)``, times ``att[..., None]``, looped."""
    out = np.zeros(o.shape)
    for idx in np.ndindex(*o.shape[:-1]):
        po = np.exp(o[idx] - o[idx].max())
        pm = np.exp(m[idx] - m[idx].max())
        out[idx] = (po / po.sum() * c + pm / pm.sum() * (1 - c)) * att[idx]
    return out


@pytest.mark.parametrize("shape", [(7, 3), (2, 5, 4)])
def test_label_tcam_matches_numpy_restatement(shape):
    rng = np.random.default_rng(1)
    o, m = rng.normal(size=shape) * 5, rng.normal(size=shape) * 5
    att = 1 / (1 + np.exp(-rng.normal(size=shape[:-1])))
    want = np_label_tcam(o, m, att)
    np.testing.assert_allclose(label_tcam(o, m, att), want, rtol=1e-14)
    np.testing.assert_allclose(label_tcam(o, m, att, 0.85), np_label_tcam(o, m, att, 0.85), rtol=1e-14)
    import torch

    got = label_tcam(torch.tensor(o), torch.tensor(m), torch.tensor(att))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-13)


def test_label_tcam_by_hand():
    # softmax([0, 0]) = [0.5, 0.5]; softmax([log 3, 0]) = [0.75, 0.25]; attention 0.5.
    got = label_tcam([[0.0, 0.0]], [[np.log(3.0), 0.0]], [0.5])
    np.testing.assert_allclose(got, [[(0.5 * 0.8 + 0.75 * 0.2) * 0.5, (0.5 * 0.8 + 0.25 * 0.2) * 0.5]], rtol=1e-15)
    np.testing.assert_allclose(label_video_scores([0.2, 0.8], [0.6, 0.4]), [0.2 * 0.6 + 0.6 * 0.4, 0.8 * 0.6 + 0.4 * 0.4])


def test_label_tcam_errors():
    with pytest.raises(InvalidArgumentError, match="`attention`"):
        label_tcam(np.zeros((4, 3)), np.zeros((4, 3)), np.zeros(5))
    with pytest.raises(InvalidArgumentError, match="one shape"):
        label_tcam(np.zeros((4, 3)), np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(InvalidArgumentError, match="`o_coef`"):
        label_tcam(np.zeros((4, 3)), np.zeros((4, 3)), np.zeros(4), 1.5)
    import torch

    with pytest.raises(InvalidTypeError, match="all torch tensors or all arrays"):
        label_tcam(torch.zeros(4, 3), np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(InvalidArgumentError, match="one shape"):
        label_video_scores(np.zeros(3), np.zeros(4))


# ---------------------------------------------------------------------------------------------
# refresh_labels end to end


def released_w_rows(fused: np.ndarray, length: int) -> np.ndarray:
    """The released ``compute_score_matrix`` rows, restated: +1 on ``[s, e)``, −1 on the pads."""
    w = np.zeros((len(fused), length))
    for r, (start, end, _score) in enumerate(fused):
        s, e = int(start), int(end)
        pad = 0.0785 * (e - s) ** 0.9
        lo, hi = max(0, int(s - pad)), min(int(length - 1), int(e + pad + 1))
        w[r, s:e] = 1.0
        w[r, lo:s] = -1.0
        w[r, e:hi] = -1.0
    return w


def planted(length, bumps, background=0.0, k=3):
    """A (length, k) TCAM: Gaussian bumps ``(column, centre, width, height)`` on zero, and a
    last (background) column ``background`` outside every bump (0 inside)."""
    x = np.zeros((length, k))
    t = np.arange(length)
    inside = np.zeros(length, bool)
    for c, centre, width, height in bumps:
        bump = height * np.exp(-(((t - centre) / width) ** 2))
        x[:, c] = np.maximum(x[:, c], np.where(bump > 1e-4, bump, 0.0))
        inside |= bump > 1e-4
    x[:, -1] = np.where(inside, 0.0, background)
    return x


def check_against_release(tcam, scores, labels, temperature):
    """Every processed column's labels solve the released LP over the released fused rows
    (tadfuse.reference.released, bit-exact with the exact mode): W g = q when that LP is
    feasible, with the released optimum Σ g; zero where the column was not processed or has no
    instance."""
    thresholds = PostprocessConfig.official().thresholds
    fused = []
    for c in range(tcam.shape[1]):
        rows = video_class_detections(tcam[:, c], scores[c], 0, thresholds, temperature=temperature)
        fused.append([] if rows is None else np.asarray(rows, np.float64).reshape(-1, 4)[:, 1:])
    assert labels.shape == tcam.shape and labels.dtype == np.float64
    assert np.all(np.isfinite(labels)) and labels.min() >= 0.0 and labels.max() <= 1.0 + 1e-12
    for c, rows in enumerate(fused):
        g = labels[:, c]
        if len(rows) == 0:
            assert not g.any(), f"column {c} was not processed but has labels"
            continue
        w, q = released_w_rows(rows, tcam.shape[0]), rows[:, 2]
        res = linprog(np.ones(tcam.shape[0]), A_eq=w, b_eq=q, bounds=(0.0, 1.0), method="highs")
        if res.status == 0:
            np.testing.assert_allclose(w @ g, q, atol=1e-7)
            assert g.sum() == pytest.approx(res.fun, rel=1e-7, abs=1e-9)
    return fused


@pytest.mark.parametrize("temperature", [0.02, 0.002, 0.0016, 0.1])
def test_planted_bumps_are_labelled_inside_the_bumps(temperature):
    length = 80
    tcam = planted(length, [(0, 20, 4, 0.05), (1, 55, 6, 0.03)], background=0.02)
    scores = np.array([0.9, 0.5, 0.3])  # every column passes 0.16, background included
    timings = RefreshTimings()
    stats = LinproStats()
    (labels,) = refresh_labels([tcam], [scores], temperature, timings=timings, stats=stats)
    check_against_release(tcam, scores, labels, temperature)
    for c in (0, 1):
        support = np.flatnonzero(tcam[:, c] > 0.001)
        # Labels only on the snippets above the lowest threshold, plus the released one past the end.
        outside = np.ones(length, bool)
        outside[support.min() : support.max() + 2] = False
        assert labels[:, c].sum() > 0 and not labels[outside, c].any()
    # The background column is processed like any class: labels where its TCAM is (and the
    # one snippet past each of its runs), not in the bumps.
    bg, on = labels[:, 2], tcam[:, 2] > 0
    allowed = on | np.concatenate([[False], on[:-1]])
    assert bg.sum() > 0 and not bg[~allowed].any()
    assert timings.videos == 1 and timings.calls == 1 and timings.postprocess_s > 0 and timings.linpro_s > 0
    assert timings.total_s == pytest.approx(timings.postprocess_s + timings.linpro_s)
    assert stats.videos == 1


def test_columns_under_the_class_threshold_get_no_labels():
    tcam = planted(60, [(0, 15, 3, 0.05), (1, 40, 3, 0.05)], background=0.02)
    (labels,) = refresh_labels([tcam], [np.array([0.9, 0.1599, 0.1])], 0.02)
    assert labels[:, 0].sum() > 0
    assert not labels[:, 1].any() and not labels[:, 2].any()  # below 0.16: background too
    (labels,) = refresh_labels([tcam], [np.array([0.9, 0.16, 0.16])], 0.02)  # >= passes
    assert labels[:, 1].sum() > 0 and labels[:, 2].sum() > 0


def test_temperature_reaches_the_fusion():
    """Two overlapping bumps of different height: the fused score, hence the label mass,
    depends on the temperature as in the released fusion."""
    tcam = planted(70, [(0, 25, 5, 0.03), (0, 33, 3, 0.05)])
    scores = np.array([0.9, 0.0, 0.0])
    sums = []
    for t in (0.02, 0.0016):
        (labels,) = refresh_labels([tcam], [scores], t)
        fused = check_against_release(tcam, scores, labels, t)
        assert len(fused[0]) >= 1
        sums.append(labels[:, 0].sum())
    assert sums[0] != pytest.approx(sums[1], rel=1e-6)


def test_batch_of_videos_and_configs():
    tcams = [planted(50, [(0, 10, 3, 0.05)], 0.02), planted(30, [(1, 20, 2, 0.04)], 0.02),
             np.zeros((5, 3))]
    scores = [np.array([0.9, 0.1, 0.5]), np.array([0.1, 0.9, 0.1]), np.array([0.9, 0.9, 0.9])]
    out = refresh_labels(tcams, scores, 0.02)
    assert [g.shape for g in out] == [(50, 3), (30, 3), (5, 3)]
    for x, s, g in zip(tcams, scores, out, strict=True):
        check_against_release(x, s, g, 0.02)
        (alone,) = refresh_labels([x], [s], 0.02)
        np.testing.assert_array_equal(alone, g)
    assert not out[2].any()  # a flat zero TCAM has no instance
    out[0][:] = 7.0  # own copies, not views into one buffer
    assert out[1].max() <= 1.0
    paper = refresh_labels(tcams, scores, 0.1, PostprocessConfig.paper(), LinproConfig.paper())
    assert all(np.all(np.isfinite(g)) and g.min() >= 0 and g.max() <= 1 + 1e-12 for g in paper)
    nms = refresh_labels(tcams, scores, 0.02, PostprocessConfig.official(method="nms"))
    assert nms[0][:, 0].sum() > 0
    assert refresh_labels([], [], 0.02) == []


@st.composite
def planted_videos(draw):
    length = draw(st.integers(8, 90))
    k = draw(st.integers(1, 3))
    bumps = [
        (draw(st.integers(0, k - 1)), draw(st.floats(0, length - 1)), draw(st.floats(0.7, 8.0)),
         draw(st.floats(0.002, 0.2)))
        for _ in range(draw(st.integers(0, 4)))
    ]
    tcam = planted(length, bumps, k=k + 1)
    tcam[:, -1] = draw(st.sampled_from([0.0, 0.02]))  # a flat background column, or none
    scores = np.array([draw(st.sampled_from([0.1, 0.16, 0.5])) for _ in range(k + 1)])
    return tcam, scores, draw(st.sampled_from([0.02, 0.002, 0.0016]))


@settings(max_examples=30)
@given(planted_videos())
def test_refresh_solves_the_released_lp(case):
    tcam, scores, temperature = case
    # The exact mode: the released fusion's last bits decide int(start) and int(end) of the W rows
    # (a fused 4.9999999996 is snippet 4 there), so only the exact path can be held to them.
    (labels,) = refresh_labels([tcam], [scores], temperature, PostprocessConfig.official(exact=True))
    check_against_release(tcam, scores, labels, temperature)


def test_input_errors_name_the_argument():
    x = np.zeros((10, 3))
    s = np.full(3, 0.5)
    with pytest.raises(InvalidArgumentError, match="`video_scores` has 2 entries but `tcams` has 1"):
        refresh_labels([x], [s, s], 0.02)
    with pytest.raises(InvalidArgumentError, match=r"`tcams\[1\]`.*K = 3"):
        refresh_labels([x, np.zeros((10, 2))], [s, s], 0.02)
    with pytest.raises(InvalidArgumentError, match=r"`tcams\[0\]`.*K = 3"):
        refresh_labels([x], [np.zeros(2)], 0.02)
    with pytest.raises(InvalidArgumentError, match=r"`tcams\[0\]` must be 2-D"):
        refresh_labels([np.zeros(10)], [s], 0.02)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(InvalidArgumentError, match=r"`tcams\[0\]` / `video_scores\[0\]` must be finite"):
        refresh_labels([bad], [s], 0.02)
    with pytest.raises(InvalidArgumentError, match="`temperature` must be > 0"):
        refresh_labels([x], [s], 0.0)
    with pytest.raises(InvalidTypeError, match="`postprocess_cfg` must be a PostprocessConfig"):
        refresh_labels([x], [s], 0.02, LinproConfig.official())
    with pytest.raises(InvalidTypeError, match="`linpro_cfg` must be a LinproConfig"):
        refresh_labels([x], [s], 0.02, None, PostprocessConfig.official())


def test_timings_accumulate():
    a = RefreshTimings(inference_s=1.0, postprocess_s=2.0, linpro_s=3.0, videos=4, calls=1)
    a.add(RefreshTimings(inference_s=0.5, postprocess_s=0.25, linpro_s=0.125, videos=2, calls=1))
    assert a.to_dict() == {"inference_s": 1.5, "postprocess_s": 2.25, "linpro_s": 3.125, "total_s": 6.875,
                           "videos": 6, "calls": 2}
