"""Parity of tadfuse's post-processing with the slow references (tests/reference.py).

Integer columns must be identical, float columns equal to rtol = atol = 1e-12, and row order
identical. Random inputs come from hypothesis with ``derandomize=True`` (fixed, reproducible
examples) and from numpy generators with fixed seeds. The 100,000-snippet video is checked
against the vectorised numpy baseline (tadfuse.reference.numpy_official), itself tested against
the reference in test_numpy_official.py.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import tadfuse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from reference import (
    DEFAULT_THRESHOLDS,
    as_columns,
    ref_detect,
    ref_extract,
    ref_fuse,
    ref_nms,
    ref_soft_nms,
    to_proposals,
)
from tadfuse.reference.numpy_official import numpy_extract, numpy_fuse, numpy_nms, numpy_soft_nms

RTOL = ATOL = 1e-12
TEMPERATURES = [1.0, 0.2, 0.1, 0.03, 0.02, 0.002, 0.0016]
TEMPLATES = ["gaussian", "laplace", "uniform", "student_t"]
FLOATS = ("start", "end", "score", "inner")

SETTINGS = settings(
    derandomize=True, deadline=None, database=None, max_examples=int(os.environ.get("TADFUSE_HYPOTHESIS_EXAMPLES", "200")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---------------------------------------------------------------------------------------------
# comparison
# ---------------------------------------------------------------------------------------------


def _describe(cols, i):
    v = "" if cols["video"] is None else f" video={cols['video'][i]}"
    return (f"row {i}: label={cols['label'][i]}{v} start={cols['start'][i]!r} "
            f"end={cols['end'][i]!r} score={cols['score'][i]!r} inner={cols['inner'][i]!r}")


def _close(x, y):
    return bool(abs(x - y) <= ATOL + RTOL * abs(y))


def _same_row(a, e, i, j):
    """Row i of ``a`` equals row j of ``e`` (ints exactly, floats to tolerance)."""
    if a["label"][i] != e["label"][j]:
        return False
    if a["video"] is not None and a["video"][i] != e["video"][j]:
        return False
    return all(_close(a[name][i], e[name][j]) for name in FLOATS)


def _resolve_near_ties(a, e):
    """Reorder ``a`` where it differs from ``e`` only by the order of rows whose scores agree to
    the float tolerance (same group): fused scores that are equal in exact arithmetic can differ in
    the last bits between two correct implementations, so their relative order is not part of what
    a float contract can pin. Anything else is left for the strict comparison to report."""
    n = min(len(a["label"]), len(e["label"]))
    order = list(range(len(a["label"])))
    for i in range(n):
        if _same_row(a, e, order[i], i):
            continue
        for k in range(i + 1, len(order)):
            j = order[k]
            if not _close(a["score"][j], a["score"][order[i]]):
                break  # scores are sorted within a group: no near-tie further down
            if _same_row(a, e, j, i):
                order[i], order[k] = order[k], order[i]
                break
    return {name: (None if a[name] is None else a[name][order]) for name in a}


def assert_match(actual, expected, what="", near_ties=False):
    """``actual`` (tadfuse.Proposals) equals ``expected`` (column dict or Proposals), row by row.

    ``near_ties=True`` (only where outputs are sorted by a computed fused score) lets rows whose
    scores agree to 1e-12 appear in either order; see ``_resolve_near_ties``.
    """
    a, e = as_columns(actual), as_columns(expected)
    if near_ties:
        a = _resolve_near_ties(a, e)
    assert (a["video"] is None) == (e["video"] is None), (
        f"{what}: video column present in actual={a['video'] is not None}, "
        f"expected={e['video'] is not None}")
    na, ne = len(a["label"]), len(e["label"])
    rows = min(na, ne)
    bad = [i for i in range(rows) if not _same_row(a, e, i, i)]
    if na != ne or bad:
        first = bad[0] if bad else rows
        lines = [f"{what}: {na} rows, expected {ne}; first mismatch at row {first}"]
        if first < na:
            lines.append("  actual   " + _describe(a, first))
        if first < ne:
            lines.append("  expected " + _describe(e, first))
        raise AssertionError("\n".join(lines))


def _finite(p):
    for name in FLOATS:
        assert np.all(np.isfinite(getattr(p, name))), f"non-finite {name}"


# ---------------------------------------------------------------------------------------------
# generators
# ---------------------------------------------------------------------------------------------


def make_cas(seed, length, k, style):
    rng = np.random.default_rng(seed)
    if style == "uniform":
        return rng.uniform(0, 0.05, (length, k))
    if style == "on_thresholds":  # values exactly equal to thresholds (x > theta is strict)
        cas = DEFAULT_THRESHOLDS[rng.integers(0, 20, (length, k))]
        return cas * (rng.uniform(0, 1, (length, k)) < 0.85)
    if style == "plateau":  # piecewise constant: duplicate proposals, tied scores
        levels = np.array([0.0, 0.004, 0.02, 0.03, 0.5])
        idx = np.repeat(rng.integers(0, 5, (length // 3 + 1, k)), 3, axis=0)[:length]
        return levels[idx]
    if style == "smooth":
        t = np.linspace(0, rng.uniform(1, 25), length)[:, None]
        return np.clip(0.02 + 0.03 * np.sin(t + rng.uniform(0, 6, k))
                       + rng.normal(0, 0.004, (length, k)), 0, None)
    if style == "big":  # activations far above 1 (weights beyond 1)
        return rng.uniform(0, 3.0, (length, k)) * (rng.uniform(0, 1, (length, k)) < 0.7)
    if style == "negative":
        return rng.normal(0.01, 0.03, (length, k))
    raise ValueError(style)


CAS_STYLES = ["uniform", "on_thresholds", "plateau", "smooth", "big", "negative"]


@st.composite
def cas_arrays(draw, max_len=70, max_k=4, styles=CAS_STYLES):
    """A TCAM of one of the `make_cas` styles, drawn value by value (so failures shrink)."""
    length = draw(st.integers(1, max_len))
    k = draw(st.integers(1, max_k))
    style = draw(st.sampled_from(styles))
    shape = (length, k)
    floats = lambda lo, hi: st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if style == "uniform":
        return draw(hnp.arrays(np.float64, shape, elements=floats(0.0, 0.05)))
    if style == "on_thresholds":  # values exactly equal to thresholds (x > theta is strict), or 0
        values = st.sampled_from([0.0, *DEFAULT_THRESHOLDS.tolist()])
        return draw(hnp.arrays(np.float64, shape, elements=values))
    if style == "plateau":  # piecewise constant in blocks of 3: duplicate proposals, tied scores
        levels = st.sampled_from([0.0, 0.004, 0.02, 0.03, 0.5])
        blocks = draw(hnp.arrays(np.float64, (length // 3 + 1, k), elements=levels))
        return np.repeat(blocks, 3, axis=0)[:length]
    if style == "smooth":
        span = draw(floats(1.0, 25.0))
        phase = draw(hnp.arrays(np.float64, k, elements=floats(0.0, 6.0)))
        noise = draw(hnp.arrays(np.float64, shape, elements=floats(-0.012, 0.012)))
        t = np.linspace(0, span, length)[:, None]
        return np.clip(0.02 + 0.03 * np.sin(t + phase) + noise, 0, None)
    if style == "big":  # activations far above 1 (weights beyond 1), with gaps
        gaps = draw(hnp.arrays(np.bool_, shape, elements=st.booleans()))
        return draw(hnp.arrays(np.float64, shape, elements=floats(0.0, 3.0))) * ~gaps
    if style == "negative":
        return draw(hnp.arrays(np.float64, shape, elements=floats(-0.08, 0.1)))
    raise ValueError(style)


def make_props(seed, m, n_labels=2, with_video=False, integer=True, tied=False, inner_scale=1.2,
               layout="compact"):
    rng = np.random.default_rng(seed)
    if layout == "compact":
        span, longest = 40, 12
    elif layout == "wide":  # long segments next to short ones: overlap windows must look far
        span, longest = 100, int(rng.choice([5, 80]))
    else:  # "nested": segments around a few common centres
        span, longest = 0, 0
    if layout == "nested":
        centre = rng.choice([20.0, 50.0, 51.5], m)
        half = rng.integers(0, 30, m) if integer else rng.uniform(0, 30, m)
        start, end = np.maximum(0.0, np.floor(centre - half)), np.floor(centre + half) + 1
        if not integer:
            start, end = np.maximum(0.0, centre - half), centre + half
    elif integer:
        start = rng.integers(0, span, m).astype(float)
        end = start + rng.integers(0, longest, m) * (rng.uniform(0, 1, m) < 0.5) \
            + rng.integers(0, 12, m)
    else:
        start = rng.uniform(0, span, m)
        end = start + (rng.uniform(0, longest, m) * (rng.uniform(0, 1, m) < 0.5)
                       + rng.uniform(0, 12, m)) * (rng.uniform(0, 1, m) < 0.95)
    score = rng.uniform(-0.2, 1.0, m)
    if tied:
        score = np.round(score, 1)
    inner = rng.uniform(-0.1, inner_scale, m)
    if tied:
        inner = np.round(inner, 1)
    # np.round makes -0.0 from small negatives; signed zeros have their own test
    score, inner = score + 0.0, inner + 0.0
    label = rng.integers(0, n_labels, m)
    video = rng.integers(0, 3, m) if with_video else None
    return {"label": label, "start": start, "end": end, "score": score, "inner": inner,
            "video": video}


@st.composite
def proposal_sets(draw, max_m=60):
    """Proposal columns in the layouts of `make_props`, drawn row by row (so failures shrink)."""
    m = draw(st.integers(0, max_m))
    n_labels = draw(st.integers(1, 3))
    with_video = draw(st.booleans())
    integer = draw(st.booleans())
    tied = draw(st.booleans())
    inner_scale = draw(st.sampled_from([0.05, 1.0, 1.2, 4.0]))
    layout = draw(st.sampled_from(["compact", "wide", "nested"]))
    num = (lambda hi: st.integers(0, hi).map(float)) if integer else (lambda hi: st.floats(0.0, hi))
    round1 = (lambda v: round(v, 1) + 0.0) if tied else (lambda v: v + 0.0)  # + 0.0: no -0.0
    if layout == "nested":  # segments around a few common centres
        centre = st.sampled_from([20.0, 50.0, 51.5])
        half = num(30)
        if integer:
            extent = st.builds(lambda c, h: (max(0.0, math.floor(c - h)), math.floor(c + h) + 1.0), centre, half)
        else:
            extent = st.builds(lambda c, h: (max(0.0, c - h), c + h), centre, half)
    else:  # "wide": long segments next to short ones, so overlap windows must look far
        span, longest = (40, 12) if layout == "compact" else (100, draw(st.sampled_from([5, 80])))
        extent = st.builds(lambda s0, n: (s0, s0 + n), num(span - 1), st.one_of(num(11), num(longest + 11)))
    row = st.tuples(
        st.integers(0, n_labels - 1), extent, st.floats(-0.2, 1.0).map(round1),
        st.floats(-0.1, inner_scale).map(round1), st.integers(0, 2),
    )
    rows = draw(st.lists(row, min_size=m, max_size=m))
    return {
        "label": np.array([r[0] for r in rows], dtype=np.int64),
        "start": np.array([r[1][0] for r in rows], dtype=np.float64),
        "end": np.array([r[1][1] for r in rows], dtype=np.float64),
        "score": np.array([r[2] for r in rows], dtype=np.float64),
        "inner": np.array([r[3] for r in rows], dtype=np.float64),
        "video": np.array([r[4] for r in rows], dtype=np.int64) if with_video else None,
    }


def P(cols):
    return to_proposals(cols)


# ---------------------------------------------------------------------------------------------
# extraction
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(
    cas=cas_arrays(),
    thresholds=st.sampled_from(["default", "reversed", "custom"]),
    min_length=st.integers(1, 4),
    preset=st.sampled_from(["official", "paper", "rskp"]),
    alpha=st.sampled_from([0.0, 0.25, 0.5, 1.3]),
    classes=st.sampled_from(["all", "subset"]),
)
def test_extract_parity(cas, thresholds, min_length, preset, alpha, classes):
    ths = {"default": None, "reversed": DEFAULT_THRESHOLDS[::-1].copy(),
           "custom": np.array([0.02, 0.0, 0.5, 0.02, -1.0])}[thresholds]
    cls = None if classes == "all" else sorted(range(cas.shape[1]), reverse=True)[:2]
    got = tadfuse.extract_proposals(cas, ths, classes=cls, min_length=min_length, preset=preset,
                                    alpha=alpha)
    exp = ref_extract(cas, ths, classes=cls, min_length=min_length, preset=preset, alpha=alpha)
    assert_match(got, exp, f"extract preset={preset}")
    assert got.video is None
    assert got.label.dtype == np.int64 and got.start.dtype == np.float64


def test_extract_default_arguments():
    cas = make_cas(3, 50, 3, "smooth")
    assert_match(tadfuse.extract_proposals(cas), ref_extract(cas), "defaults")


@pytest.mark.parametrize("preset", ["official", "paper", "rskp"])
def test_extract_single_snippet_and_tiny(preset):
    for cas in (np.array([[0.5]]), np.array([[0.5, 0.0]]), np.array([[0.5], [0.5]])):
        for ml in (1, 2):
            got = tadfuse.extract_proposals(cas, min_length=ml, preset=preset)
            assert_match(got, ref_extract(cas, min_length=ml, preset=preset), f"{cas.tolist()}")


# --- rskp: the official extraction with the outer pad 0.25·n --------------------------------------


def _rskp_outer(s, e, length):
    """RSKP's outer snippets of the run [s, e), by integer arithmetic instead of the released
    float form: ``int(s − n/4)`` is ``s − ⌈n/4⌉`` (truncation toward zero, then max 0) and
    ``int(e + n/4 + 1)`` is ``e + 1 + ⌊n/4⌋``; snippet e is skipped, the right end capped at l − 1."""
    n = e - s
    left = range(max(0, s - (n + 3) // 4), s)
    right = range(e + 1, min(length - 1, e + 1 + n // 4))
    return [*left, *right]


# (length, s, e): runs with n = e − s where n/4 is an integer (4, 8, 12) or not (2, 3, 5, 6, 7, 9),
# placed so the left edge lands exactly on 0, below it or above it, and the right edge on l − 1,
# l − 2, l or past it.
RSKP_EDGES = [
    (12, 1, 5), (12, 2, 6), (12, 0, 4), (12, 3, 7), (12, 5, 9), (12, 6, 10), (12, 7, 11), (12, 8, 12),
    (20, 2, 10), (20, 1, 9), (20, 3, 11), (20, 9, 17), (20, 10, 18), (20, 11, 19),
    (30, 3, 15), (30, 2, 14), (30, 14, 26), (30, 15, 27),
    (10, 1, 3), (10, 2, 5), (10, 1, 6), (10, 1, 7), (10, 2, 8), (10, 3, 10), (10, 4, 10),
    (16, 2, 11), (16, 3, 12), (16, 0, 9), (16, 6, 15), (2, 0, 2), (3, 0, 2), (3, 1, 3),
]


@pytest.mark.parametrize(("length", "s", "e"), RSKP_EDGES)
def test_rskp_pad_boundaries(length, s, e):
    # One run [s, e) above 0.5; every other snippet a distinct value below it, so a wrong outer
    # set changes the score.
    x = 0.01 + 0.37 * np.arange(length) / length
    x[s:e] = 0.6 + 0.01 * np.arange(e - s)
    got = tadfuse.extract_proposals(x[:, None], [0.5], preset="rskp")
    assert_match(got, ref_extract(x[:, None], [0.5], preset="rskp"), f"rskp l={length} [{s}, {e})")
    inner = x[s:min(e + 1, length)].mean()
    outer = _rskp_outer(s, e, length)
    expected = inner - (x[outer].mean() if outer else 0.0)
    assert (got.start.tolist(), got.end.tolist()) == ([s], [e + 1])
    assert got.inner[0] == pytest.approx(inner, rel=1e-13, abs=1e-15)
    assert got.score[0] == pytest.approx(expected, rel=1e-13, abs=1e-15)


def test_rskp_differs_from_official_only_in_the_pad():
    # n = 8 at [6, 14) of 30: rskp reaches 2 snippets out each side, official (pad 0.51) 1 left, 0
    # right; extents and inner means agree.
    x = np.linspace(0.02, 0.3, 30)
    x[6:14] = 0.7
    r = tadfuse.extract_proposals(x[:, None], [0.5], preset="rskp")
    o = tadfuse.extract_proposals(x[:, None], [0.5], preset="official")
    np.testing.assert_array_equal(np.c_[r.start, r.end, r.inner], np.c_[o.start, o.end, o.inner])
    assert r.score[0] == pytest.approx(x[6:15].mean() - x[[4, 5, 15, 16]].mean(), rel=1e-13)
    assert o.score[0] == pytest.approx(x[6:15].mean() - x[5], rel=1e-13)


def rskp_released_extraction(cas, thresholds):
    """RSKP's ``getActLoc`` extraction for one class column, restated from reading
    LeonHLJ/RSKP evaluation/detectionMAP.py: per threshold, a 0/1 mask padded with a 0 on each
    side, starts where its difference is +1 and (exclusive) ends where it is −1; runs of length
    >= 2; inner ``np.mean(cas[s : e + 1])``; outer indices ``range(max(0, int(s − 0.25·n)), s)``
    then ``range(e + 1, min(l − 1, int(e + 0.25·n + 1)))`` (mean, or 0 when empty); the row
    ``[s, e + 1, inner − outer]``. Rows in threshold order, then left to right."""
    rows = []
    length = cas.shape[0]
    for theta in thresholds:
        mask = np.concatenate([[0.0], (cas > theta).astype(np.float32), [0.0]])
        step = [mask[i] - mask[i - 1] for i in range(1, len(mask))]
        starts = [i for i, d in enumerate(step) if d == 1]
        ends = [i for i, d in enumerate(step) if d == -1]
        for s, e in zip(starts, ends):
            n = e - s
            if n < 2:
                continue
            inner = np.mean(cas[s:e + 1])
            lo = max(0, int(s - 0.25 * n))
            hi = min(int(length - 1), int(e + 0.25 * n + 1))
            idx = list(range(lo, int(s))) + list(range(int(e + 1), hi))
            outer = np.mean(cas[idx]) if idx else 0
            rows.append([s, e + 1, inner - outer])
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


@SETTINGS
@given(cas=cas_arrays(max_len=80, max_k=2), thresholds=st.sampled_from(["default", "custom"]))
def test_rskp_matches_the_released_extraction(cas, thresholds):
    ths = DEFAULT_THRESHOLDS if thresholds == "default" else np.array([0.02, 0.0, 0.5, 0.02])
    got = tadfuse.extract_proposals(cas, ths, preset="rskp", min_length=2)
    for c in range(cas.shape[1]):
        mine = got.label == c
        theirs = rskp_released_extraction(cas[:, c], ths)
        np.testing.assert_array_equal(np.c_[got.start[mine], got.end[mine]], theirs[:, :2])
        np.testing.assert_allclose(got.score[mine], theirs[:, 2], rtol=1e-12, atol=1e-12)


def test_rskp_is_refused_by_exact_mode_and_w_rows():
    with pytest.raises(tadfuse.errors.ConfigError, match="exact.*preset"):
        tadfuse.PostprocessConfig.rskp(exact=True)
    with pytest.raises(tadfuse.errors.InvalidArgumentError, match="`preset`.*rskp.*extraction"):
        tadfuse._core.linpro_w_rows(np.array([1.0]), np.array([5.0]), 10, "rskp", 0.25)
    assert tadfuse.PostprocessConfig.rskp().inactive_fields()["alpha"] == "preset 'paper' only"


def test_extract_empty_video():
    cas = np.zeros((0, 3))
    got = tadfuse.extract_proposals(cas)
    assert len(got) == 0


def test_extract_empty_classes_and_thresholds():
    cas = make_cas(1, 30, 2, "uniform")
    assert len(tadfuse.extract_proposals(cas, classes=[])) == 0
    assert len(tadfuse.extract_proposals(cas, np.zeros(0))) == 0


# ---------------------------------------------------------------------------------------------
# fusion
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(
    cols=proposal_sets(),
    temperature=st.sampled_from(TEMPERATURES),
    threshold=st.sampled_from([0.0, 0.25, 0.5, 0.75]),
    overlap=st.sampled_from(["coverage", "iou"]),
    weight=st.sampled_from(["inner", "score"]),
    template=st.sampled_from(TEMPLATES),
    dof=st.sampled_from([1.0, 3.0, 30.0]),
)
def test_fuse_parity(cols, temperature, threshold, overlap, weight, template, dof):
    got = tadfuse.fuse(P(cols), temperature=temperature, threshold=threshold, overlap=overlap,
                       weight=weight, template=template, dof=dof)
    exp = ref_fuse(cols, temperature, threshold, overlap, weight, template, dof)
    _finite(got)
    assert_match(got, exp, f"fuse T={temperature} {overlap} {weight} {template} dof={dof}", near_ties=True)


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_fuse_extracted_proposals_all_temperatures(template, temperature):
    # realistic input: duplicates across thresholds, weights up to ~3 (beyond 1)
    for seed, style in enumerate(["smooth", "plateau", "big"]):
        cas = make_cas(seed, 120, 2, style)
        props = ref_extract(cas)
        got = tadfuse.fuse(P(props), temperature=temperature, template=template)
        _finite(got)
        assert_match(got, ref_fuse(props, temperature, template=template),
                     f"fuse extracted style={style} T={temperature} {template}", near_ties=True)


def test_fuse_defaults_are_official():
    props = ref_extract(make_cas(5, 80, 2, "smooth"))
    got = tadfuse.fuse(P(props), temperature=0.2)
    assert_match(got, ref_fuse(props, 0.2, 0.25, "coverage", "inner", "gaussian", 3.0), "defaults", near_ties=True)


def _pair(s1, e1, s2, e2):
    return {"label": np.array([0, 0]), "start": np.array([s1, s2], float),
            "end": np.array([e1, e2], float), "score": np.array([1.0, 0.5]),
            "inner": np.array([0.3, 0.6]), "video": None}


COVERAGE_EDGES = [
    # (pivot, candidate, merged?) coverage = inter+1 / len_candidate+1
    ((3, 10), (0, 3), False),      # 1/4 exactly
    ((3, 10), (0.001, 3), True),   # 1/3.999
    ((3, 10), (0, 2.999), False),  # 0.999/3.999
    ((0, 10), (10, 13), False),    # 1/4 exactly, on the right
    ((0, 10), (10, 12.999), True),
    ((0, 1), (1, 4), False),       # 1/4 again, pivot shorter than candidate
    ((5, 5), (5, 5), True),        # zero-length segments: coverage 1
]

IOU_EDGES = [
    ((0, 4), (3, 4), False),       # iou 1/4 exactly
    ((0, 4), (2.9, 4), True),
    ((0, 8), (6, 8), False),       # 2/8
    ((0, 8), (5.999, 8), True),
    ((2, 2), (2, 2), False),       # union 0 -> iou 0
]


@pytest.mark.parametrize("pivot,cand,merged", COVERAGE_EDGES)
def test_fuse_nms_coverage_threshold_edges(pivot, cand, merged):
    cols = _pair(*pivot, *cand)
    for fn, ref in ((lambda p: tadfuse.fuse(p, temperature=0.2), lambda c: ref_fuse(c, 0.2)),
                    (lambda p: tadfuse.nms(p), lambda c: ref_nms(c))):
        got = fn(P(cols))
        exp = ref(cols)
        assert len(exp["label"]) == (1 if merged else 2)
        assert_match(got, exp, f"coverage edge {pivot} {cand}")


@pytest.mark.parametrize("pivot,cand,merged", IOU_EDGES)
def test_fuse_nms_iou_threshold_edges(pivot, cand, merged):
    cols = _pair(*pivot, *cand)
    got = tadfuse.fuse(P(cols), temperature=0.2, overlap="iou")
    exp = ref_fuse(cols, 0.2, overlap="iou")
    assert len(exp["label"]) == (1 if merged else 2)
    assert_match(got, exp, f"iou edge {pivot} {cand}")
    assert_match(tadfuse.nms(P(cols), overlap="iou"), ref_nms(cols, overlap="iou"), "nms iou edge")


def test_fuse_score_ties_pick_lowest_index():
    # equal scores everywhere: the pivot is always the lowest remaining index
    cols = {"label": np.zeros(6, int), "start": np.array([0, 0, 30, 1, 30, 60], float),
            "end": np.array([10, 10, 40, 11, 40, 70], float), "score": np.full(6, 0.5),
            "inner": np.array([0.1, 0.9, 0.5, 0.2, 0.5, 0.3]), "video": None}
    for template in TEMPLATES:
        got = tadfuse.fuse(P(cols), temperature=0.2, template=template)
        assert_match(got, ref_fuse(cols, 0.2, template=template), f"ties {template}")
    assert_match(tadfuse.nms(P(cols)), ref_nms(cols), "nms ties")
    got = tadfuse.nms(P(cols))
    np.testing.assert_array_equal(got.inner, [0.1, 0.5, 0.3])


def test_signed_zero_scores_tie():
    # -0.0 == 0.0: a tie, so the lowest index goes first (a total order that ranks 0.0 above
    # -0.0 does not implement "ties: lowest index")
    cols = {"label": np.zeros(4, int), "start": np.array([0, 20, 40, 60], float),
            "end": np.array([10, 30, 50, 70], float), "score": np.array([-0.0, 0.0, -0.0, 0.0]),
            "inner": np.arange(4, dtype=float), "video": None}
    assert_match(tadfuse.nms(P(cols)), ref_nms(cols), "nms signed zeros")
    np.testing.assert_array_equal(tadfuse.nms(P(cols)).inner, [0, 1, 2, 3])
    assert_match(tadfuse.soft_nms(P(cols), min_score=0.0), ref_soft_nms(cols, min_score=0.0),
                 "soft_nms signed zeros")
    assert_match(tadfuse.fuse(P(cols), temperature=0.2), ref_fuse(cols, 0.2), "fuse signed zeros")


def test_fuse_group_of_one_unchanged():
    cols = make_props(11, 1, with_video=True)
    for template in TEMPLATES:
        got = tadfuse.fuse(P(cols), temperature=0.0016, template=template)
        for name in ("label", "start", "end", "score", "inner", "video"):
            np.testing.assert_array_equal(getattr(got, name), cols[name], err_msg=name)


def test_fuse_empty():
    for with_video in (False, True):
        cols = make_props(0, 0, with_video=with_video)
        got = tadfuse.fuse(P(cols), temperature=0.2)
        assert len(got) == 0 and (got.video is None) == (not with_video)
        assert len(tadfuse.nms(P(cols))) == 0
        assert len(tadfuse.soft_nms(P(cols))) == 0


@pytest.mark.parametrize("weight_scale", [1.0, 5.0, 100.0])
@pytest.mark.parametrize("temperature", [1.0, 0.2, 0.02, 0.002, 0.0016])
def test_fuse_no_overflow(weight_scale, temperature):
    # w / T up to 62,500: a naive exp overflows; the shifted softmax must not
    cols = make_props(3, 40, n_labels=1, inner_scale=weight_scale)
    cols["inner"] = np.abs(cols["inner"])
    for weight in ("inner", "score"):
        for template in TEMPLATES:
            got = tadfuse.fuse(P(cols), temperature=temperature, weight=weight, template=template)
            _finite(got)
            assert_match(got, ref_fuse(cols, temperature, weight=weight, template=template),
                         f"overflow T={temperature} scale={weight_scale} {weight} {template}", near_ties=True)


def test_fuse_tiny_positive_temperature_finite():
    # any T > 0 is valid; for a subnormal T, 1/T and w/T overflow to inf, but (w - w_max)/T does
    # not: the weight goes to the members with the largest w
    cols = {"label": np.zeros(3, int), "start": np.array([0, 1, 2], float),
            "end": np.array([10, 11, 12], float), "score": np.array([0.9, 0.8, 0.7]),
            "inner": np.array([0.5, 0.6, 0.0]), "video": None}
    for t in (1e-300, 1e-310, 5e-324):
        got = tadfuse.fuse(P(cols), temperature=t)
        _finite(got)
        assert_match(got, ref_fuse(cols, t), f"fuse T={t}")


# ---------------------------------------------------------------------------------------------
# NMS / soft-NMS
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(cols=proposal_sets(), threshold=st.sampled_from([0.0, 0.25, 0.5, 0.9]),
       overlap=st.sampled_from(["coverage", "iou"]))
def test_nms_parity(cols, threshold, overlap):
    got = tadfuse.nms(P(cols), threshold=threshold, overlap=overlap)
    assert_match(got, ref_nms(cols, threshold, overlap), f"nms {overlap} {threshold}")


def test_nms_defaults():
    props = ref_extract(make_cas(8, 90, 3, "smooth"))
    assert_match(tadfuse.nms(P(props)), ref_nms(props, 0.25, "coverage"), "nms defaults")


@SETTINGS
@given(
    cols=proposal_sets(),
    sigma=st.sampled_from([0.1, 0.5, 1.0]),
    min_score=st.sampled_from([0.0, 0.001, 0.1]),
    method=st.sampled_from(["gaussian", "linear"]),
    threshold=st.sampled_from([0.0, 0.25, 0.5]),
    max_out=st.sampled_from([None, 1, 3, 100]),
)
def test_soft_nms_parity(cols, sigma, min_score, method, threshold, max_out):
    got = tadfuse.soft_nms(P(cols), sigma=sigma, min_score=min_score, method=method,
                           threshold=threshold, max_out=max_out)
    exp = ref_soft_nms(cols, sigma, min_score, method, threshold, max_out)
    assert_match(got, exp, f"soft_nms {method} sigma={sigma} min={min_score} th={threshold} "
                           f"max_out={max_out}")


def test_soft_nms_defaults_and_max_out_zero():
    props = ref_extract(make_cas(9, 90, 2, "smooth"))
    assert_match(tadfuse.soft_nms(P(props)), ref_soft_nms(props), "soft_nms defaults")
    assert len(tadfuse.soft_nms(P(props), max_out=0)) == 0


def test_soft_nms_min_score_boundary():
    # linear: 0.5 * (1 - 0.5) = 0.25 exactly; "drop if score < min_score" keeps a score equal
    # to min_score, both at the start and after decay
    cols = {"label": np.zeros(3, int), "start": np.array([0, 5, 40], float),
            "end": np.array([10, 10, 50], float), "score": np.array([1.0, 0.5, 0.25]),
            "inner": np.arange(3, dtype=float), "video": None}
    for min_score, n in ((0.25, 3), (np.nextafter(0.25, 1.0), 1)):
        got = tadfuse.soft_nms(P(cols), method="linear", threshold=0.25, min_score=min_score)
        exp = ref_soft_nms(cols, min_score=min_score, method="linear", threshold=0.25)
        assert len(exp["label"]) == n
        assert_match(got, exp, f"soft_nms min_score={min_score!r}")


def test_laplace_even_split_takes_lower():
    # equal weights on two members: cumulative weight is exactly 0.5 at the lower value
    cols = {"label": np.zeros(2, int), "start": np.array([4.0, 2.0]), "end": np.array([9.0, 11.0]),
            "score": np.array([0.9, 0.3]), "inner": np.array([0.4, 0.4]), "video": None}
    got = tadfuse.fuse(P(cols), temperature=0.2, template="laplace")
    assert_match(got, ref_fuse(cols, 0.2, template="laplace"), "laplace even split")
    np.testing.assert_array_equal([got.start[0], got.end[0], got.score[0]], [2.0, 9.0, 0.3])


def test_soft_nms_ties():
    cols = {"label": np.zeros(4, int), "start": np.array([0, 0, 20, 20], float),
            "end": np.array([10, 10, 30, 30], float), "score": np.full(4, 0.5),
            "inner": np.arange(4, dtype=float), "video": None}
    for method in ("gaussian", "linear"):
        got = tadfuse.soft_nms(P(cols), method=method)
        assert_match(got, ref_soft_nms(cols, method=method), f"soft ties {method}")


# ---------------------------------------------------------------------------------------------
# detect / detect_batch
# ---------------------------------------------------------------------------------------------


def test_config_presets_match_contract():
    off = tadfuse.PostprocessConfig.official()
    pap = tadfuse.PostprocessConfig.paper()
    rskp = tadfuse.PostprocessConfig.rskp()
    np.testing.assert_array_equal(np.asarray(off.thresholds, float), DEFAULT_THRESHOLDS)
    for cfg, exp in ((off, dict(class_threshold=0.16, min_length=2, preset="official",
                                method="fusion", temperature=0.2, overlap="coverage",
                                weight="inner", threshold=0.25, template="gaussian")),
                     (pap, dict(preset="paper", temperature=0.03, overlap="iou",
                                weight="score", method="fusion")),
                     (rskp, dict(preset="rskp", class_threshold=0.1, min_length=2, method="nms",
                                 threshold=0.5, overlap="coverage"))):
        for k, v in exp.items():
            assert getattr(cfg, k) == v, (k, getattr(cfg, k), v)
    assert tadfuse.PostprocessConfig.official(temperature=0.5).temperature == 0.5


def _configs():
    C = tadfuse.PostprocessConfig
    yield "official", C.official()
    yield "paper", C.paper()
    yield "official-nms", C.official(method="nms")
    yield "paper-nms", C.paper(method="nms")
    yield "rskp", C.rskp()
    yield "rskp-fusion", C.rskp(method="fusion", class_threshold=0.0)
    yield "soft-gauss", C.official(method="soft_nms")
    yield "soft-linear", C.paper(method="soft_nms", soft_method="linear", max_out=5,
                                 min_score=0.0)
    for t in TEMPLATES:
        yield f"official-{t}", C.official(template=t, temperature=0.02)
    yield "paper-T0.0016", C.paper(temperature=0.0016, alpha=0.5, class_threshold=0.0)
    yield "l1", C.official(min_length=1)


@SETTINGS
@given(cas=cas_arrays(max_len=60, max_k=3), config=st.sampled_from(list(_configs())), data=st.data())
def test_detect_parity(cas, config, data):
    vs = data.draw(hnp.arrays(np.float64, cas.shape[1], elements=st.floats(0.0, 0.4)), label="video_scores")
    name, cfg = config
    got = tadfuse.detect(cas, vs, cfg)
    assert got.video is None
    _finite(got)
    assert_match(got, ref_detect(cas, vs, cfg), f"detect {name}", near_ties=True)


def test_detect_default_config_is_official():
    cas = make_cas(4, 60, 3, "smooth")
    vs = np.array([0.5, 0.1, 0.16])
    assert_match(tadfuse.detect(cas, vs), ref_detect(cas, vs, None), "detect default", near_ties=True)


def test_detect_single_snippet_and_no_class():
    cfg = tadfuse.PostprocessConfig.official(min_length=1)
    cas = np.array([[0.5, 0.2]])
    assert_match(tadfuse.detect(cas, [1.0, 1.0], cfg), ref_detect(cas, [1.0, 1.0], cfg), "l=1", near_ties=True)
    assert len(tadfuse.detect(cas, [0.0, 0.0])) == 0


@pytest.mark.parametrize("num_threads", [1, 2, 4, None])
def test_detect_batch_matches_detect(num_threads):
    rng = np.random.default_rng(123)
    styles = CAS_STYLES
    videos = [make_cas(i, int(rng.integers(1, 200)), 4, styles[i % len(styles)])
              for i in range(24)]
    scores = [rng.uniform(0, 0.4, 4) for _ in videos]
    for name, cfg in list(_configs())[:6]:
        out = tadfuse.detect_batch(videos, scores, cfg, num_threads=num_threads)
        assert isinstance(out, list) and len(out) == len(videos)
        for i, (cas, vs) in enumerate(zip(videos, scores)):
            single = tadfuse.detect(cas, vs, cfg)
            assert out[i] == single, f"detect_batch[{i}] != detect ({name}, threads={num_threads})"
        if num_threads == 1:
            for i in (0, 5, 17):
                assert_match(out[i], ref_detect(videos[i], scores[i], cfg), f"batch ref {name}", near_ties=True)


def test_detect_batch_thread_counts_identical():
    rng = np.random.default_rng(7)
    videos = [make_cas(i, int(rng.integers(1, 400)), 5, "smooth") for i in range(40)]
    scores = [rng.uniform(0, 0.4, 5) for _ in videos]
    cfg = tadfuse.PostprocessConfig.official(template="student_t")
    runs = [tadfuse.detect_batch(videos, scores, cfg, num_threads=n) for n in (1, 2, 4)]
    for i in range(len(videos)):
        assert runs[0][i] == runs[1][i] == runs[2][i], f"video {i}"


def test_detect_batch_empty():
    assert tadfuse.detect_batch([], []) == []


# ---------------------------------------------------------------------------------------------
# a 100,000-snippet video (against the numpy baseline)
# ---------------------------------------------------------------------------------------------


def long_video(seed=2024, length=100_000, k=2, bumps=300):
    rng = np.random.default_rng(seed)
    cas = np.zeros((length, k))
    for c in range(k):
        for _ in range(bumps):
            w = int(rng.integers(3, 300))
            s = int(rng.integers(0, length - w))
            h = rng.uniform(0.005, 0.2)
            shape = np.sin(np.linspace(0, np.pi, w)) * h
            noise = 1 + 0.15 * rng.normal(size=w)
            cas[s:s + w, c] = np.maximum(cas[s:s + w, c], np.clip(shape * noise, 0, None))
    cas[-1, 0] = 0.3  # a run touching the end of the video
    cas[0, 1] = 0.3
    return cas


@pytest.fixture(scope="module")
def long_cas():
    return long_video()


def _np_cols(label, s, e, sc, inn):
    return {"label": np.full(len(s), label, np.int64), "start": s, "end": e, "score": sc,
            "inner": inn, "video": None}


def test_long_video_extract(long_cas):
    got = tadfuse.extract_proposals(long_cas)
    parts = [_np_cols(c, *numpy_extract(long_cas[:, c])) for c in range(long_cas.shape[1])]
    exp = {n: np.concatenate([p[n] for p in parts]) for n in ("label",) + FLOATS}
    exp["video"] = None
    assert len(exp["label"]) > 1000
    assert_match(got, exp, "long video extract")


def test_long_video_detect_fuse_nms_soft_nms(long_cas):
    cfg = tadfuse.PostprocessConfig.official()
    vs = np.array([0.9, 0.5])
    got = tadfuse.detect(long_cas, vs, cfg)
    parts = []
    for c in range(long_cas.shape[1]):
        s, e, sc, inn = numpy_extract(long_cas[:, c])
        parts.append(_np_cols(c, *numpy_fuse(s, e, sc, inn, 0.2, 0.25)))
    exp = {n: np.concatenate([p[n] for p in parts]) for n in ("label",) + FLOATS}
    exp["video"] = None
    assert_match(got, exp, "long video detect (official fusion)", near_ties=True)

    s, e, sc, inn = numpy_extract(long_cas[:, 0])
    props = _np_cols(0, s, e, sc, inn)
    keep = numpy_nms(s, e, sc, 0.25, "coverage")
    assert_match(tadfuse.nms(P(props)), _np_cols(0, s[keep], e[keep], sc[keep], inn[keep]),
                 "long video nms")
    idx, dec = numpy_soft_nms(s, e, sc, 0.5, 0.001, "gaussian", 0.25, 2000)
    assert_match(tadfuse.soft_nms(P(props), max_out=2000),
                 _np_cols(0, s[idx], e[idx], dec, inn[idx]), "long video soft_nms")
