"""LinPro labels: exactness against the full LP (native simplex and HiGHS paths), infeasible
systems, the native/HiGHS size threshold, degenerate and tied systems, batch semantics, stats."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.optimize import linprog
from tadfuse import linpro
from tadfuse.linpro import (
    NATIVE_MAX_CLASSES,
    NATIVE_MAX_ROWS,
    LinproStats,
    linpro_labels,
    linpro_labels_batch,
    partition,
    w_matrix,
)
from tadfuse.proposals import Proposals

TOL = dict(primal_feasibility_tolerance=1e-10, dual_feasibility_tolerance=1e-10)


def full_lp(w, q):
    """The released code's LP: min Σg s.t. W g = q, 0 ≤ g ≤ 1 (dense, l variables)."""
    l = w.shape[1]
    return linprog(np.ones(l), A_eq=w, b_eq=q, bounds=(0, 1), method="highs", options=TOL)


def full_elastic(w, q):
    """Two-phase elastic full LP: (min ‖Wg − q‖₁, then min Σg at that residual)."""
    n, l = w.shape
    a = np.hstack([w, np.eye(n), -np.eye(n)])
    bounds = [(0, 1)] * l + [(0, None)] * (2 * n)
    r1 = linprog(np.r_[np.zeros(l), np.ones(2 * n)], A_eq=a, b_eq=q, bounds=bounds, method="highs", options=TOL)
    assert r1.status == 0
    cap = np.r_[np.zeros(l), np.ones(2 * n)][None, :]
    r2 = linprog(
        np.r_[np.ones(l), np.zeros(2 * n)], A_ub=cap, b_ub=[r1.fun * (1 + 1e-9) + 1e-12],
        A_eq=a, b_eq=q, bounds=bounds, method="highs", options=TOL,
    )
    assert r2.status == 0
    return r1.fun, r2.fun


def full_lexicographic(w, q, weight=1e4):
    """The elastic optimum without a cap: phase 1 (min ‖Wg − q‖₁), then one LP minimising
    ``weight·‖r‖₁ + Σg``, whose residual must equal phase 1's (else the weight was too small to
    make it lexicographic). Returns (minimum L1 residual, minimum Σg at it)."""
    n, l = w.shape
    a = np.hstack([w, np.eye(n), -np.eye(n)])
    bounds = [(0, 1)] * l + [(0, None)] * (2 * n)
    r1 = linprog(np.r_[np.zeros(l), np.ones(2 * n)], A_eq=a, b_eq=q, bounds=bounds, method="highs", options=TOL)
    assert r1.status == 0
    r2 = linprog(np.r_[np.ones(l), np.full(2 * n, weight)], A_eq=a, b_eq=q, bounds=bounds, method="highs", options=TOL)
    assert r2.status == 0
    res = r2.x[l:].sum()
    assert close(res, r1.fun, rel=1e-10), (res, r1.fun)
    return r1.fun, r2.x[:l].sum()


def check_optimal(g, w, q, rel=1e-9):
    """``g`` (one class's labels) is an optimum of the full LP, or of the elastic LP when the full
    one is infeasible, to ``rel`` (absolute below 1). Returns the least L1 residual (0: feasible)."""
    assert np.all(np.isfinite(g)) and g.min() >= 0.0 and g.max() <= 1.0
    ref = full_lp(w, q)
    if ref.status == 0:
        assert close(g.sum(), ref.fun, rel), (g.sum(), ref.fun)
        assert np.abs(w @ g - q).max() <= 1e-9
        return 0.0
    assert ref.status == 2  # infeasible, never anything else
    l1, mass = full_lexicographic(w, q)
    assert close(np.abs(w @ g - q).sum(), l1, rel), (np.abs(w @ g - q).sum(), l1)
    assert close(g.sum(), mass, rel), (g.sum(), mass)
    return l1


def uniform_within_classes(g, start, end, length, preset="official"):
    cls = partition(start, end, length, preset=preset).snippet_class
    return np.array_equal(g, g[_first(cls)[cls]]) if cls.size else True


def random_problem(rng, length, n_max=8):
    """Overlapping instances like fused detections: scores mostly positive, some negative."""
    n = int(rng.integers(1, n_max + 1))
    start = rng.uniform(0, length, n)
    end = start + rng.exponential(0.2 * length, n) + rng.uniform(0, 3, n)
    if rng.random() < 0.3:  # shared integer endpoints stress the sweep's ties
        start, end = np.floor(start), np.floor(end)
    end = np.minimum(end, length)  # inside the video (an instance past its end is an error)
    score = rng.uniform(-0.3, 1.2, n) * rng.choice([0.05, 0.5, 2.0])
    return start, end, score


def close(a, b, rel=1e-7):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1.0)


@pytest.mark.parametrize(("preset", "solver", "native", "num"),
                         [("official", "highspy", True, 1500), ("paper", "highspy", True, 1500),
                          ("official", "highspy", False, 400), ("paper", "highspy", False, 400),
                          ("official", "scipy", False, 300), ("paper", "scipy", False, 300)])
def test_exact_against_full_lp(preset, solver, native, num):
    """Thousands of random instance sets, solved as one batch by each path (the native simplex
    for the multi-row components, or every one of them by HiGHS through either back end), each
    checked against the full LP (a different formulation: l variables, dense W)."""
    rng = np.random.default_rng(10 if preset == "official" else 11)
    lengths = rng.integers(8, 120, num)
    probs = [random_problem(rng, int(l)) for l in lengths]
    fused = [Proposals(np.zeros(len(p[0]), np.int64), *p) for p in probs]
    stats = LinproStats()
    labels = linpro_labels_batch(fused, lengths, 1, preset=preset, solver=solver, stats=stats, native=native)
    n_inf = 0
    # The HiGHS path caps the elastic phase 2 at (1 + 1e-9) times the least residual, so it is
    # held to 1e-7 on the infeasible sets; the native path is exactly lexicographic.
    rel = 1e-9 if native else 1e-7
    for (s, e, q), l, g in zip(probs, lengths, labels):
        g = g[:, 0]
        # Constant within each equivalence class.
        part = partition(s, e, int(l), preset=preset)
        cls = part.snippet_class
        np.testing.assert_array_equal(g, g[_first(cls)[cls]])
        # Snippets with an all-zero column cost and constrain nothing: 0 at the optimum.
        assert np.all(g[part.class_component[cls] == -1] == 0.0)
        n_inf += check_optimal(g, w_matrix(s, e, int(l), preset=preset), q, rel) > linpro.FEASIBILITY_TOL
    assert stats.infeasible_problems == n_inf
    assert 0 < n_inf < num  # both kinds were exercised
    assert stats.problems == num and stats.videos == num
    assert stats.closed_form + stats.native + stats.lp_components == stats.components
    assert stats.closed_form > 100 and stats.native_fallbacks == 0
    if native:
        assert stats.native > 100 and stats.lp_components == 0 and stats.lp_solves == 0
    else:
        assert stats.native == 0 and stats.lp_components > 100


def _first(cls):
    """Representative snippet of each class: its first occurrence."""
    first = np.full(cls.max() + 1, -1)
    for i in range(cls.size - 1, -1, -1):
        first[cls[i]] = i
    return first


def test_hand_computed_single_instance():
    # One instance [10, 30) on 100 snippets, q = 0.6: one row, closed form. The optimum puts Σg = 0.6
    # uniformly on the 20 inner snippets (0.03 each) and nothing outside.
    g = linpro_labels(Proposals([0], [10.2], [30.7], [0.6]), 100, 2)
    assert g.shape == (100, 2)
    np.testing.assert_allclose(g[10:30, 0], 0.03)
    assert g[:10].sum() == 0 and g[30:].sum() == 0 and g[:, 1].sum() == 0
    # Negative score: mass on the outer snippets [8, 10) ∪ [30, 32), 4 snippets, 0.1 each.
    g = linpro_labels(Proposals([0], [10.0], [30.0], [-0.4]), 100, 1)[:, 0]
    np.testing.assert_allclose(g[[8, 9, 30, 31]], 0.1)
    assert np.count_nonzero(g) == 4


def test_hand_computed_two_rows_sharing_an_outer_snippet():
    # [10, 20) and [21, 31): pads of 0.62 give outer ranges [9, 10) ∪ [20, 21) and [20, 21) ∪ [31, 32);
    # snippet 20 is outer to both rows, so they form one component. With disjoint inner ranges and
    # q >= 0 the optimum is unique and closed form: each inner range carries its q, outers are 0.
    stats = LinproStats()
    fused = Proposals([0, 0], [10.0, 21.0], [20.0, 31.0], [0.5, 0.8])
    g = linpro_labels(fused, 100, 1, stats=stats)[:, 0]
    np.testing.assert_allclose(g[10:20], 0.05)
    np.testing.assert_allclose(g[21:31], 0.08)
    assert g[:10].sum() == 0 and g[20] == 0 and g[31:].sum() == 0
    assert stats.components == 1 and stats.closed_form == 1 and stats.lp_components == 0
    # The same against the full LP (same objective), and with a negative q it needs the LP.
    ref = full_lp(w_matrix(fused.start, fused.end, 100), fused.score)
    assert close(g.sum(), ref.fun)
    for native in (True, False):
        stats = LinproStats()
        linpro_labels(Proposals([0, 0], [10.0, 21.0], [20.0, 31.0], [0.5, -0.01]), 100, 1, stats=stats, native=native)
        assert (stats.native, stats.lp_components) == ((1, 0) if native else (0, 1))


def test_hand_computed_infeasible():
    # Inner has 3 snippets (g ≤ 1 each): q = 5 is out of reach; the elastic answer fills the inner
    # range (Σg = 3, residual 2) and counts it.
    stats = LinproStats()
    g = linpro_labels(Proposals([0], [4.0], [7.0], [5.0]), 20, 1, stats=stats)[:, 0]
    np.testing.assert_array_equal(g[4:7], 1.0)
    assert g.sum() == 3.0
    assert stats.infeasible_problems == 1 and stats.infeasible_components == 1
    assert stats.max_residual == pytest.approx(2.0) and stats.residual_l1 == pytest.approx(2.0)
    # Two rows contradicting each other: same instance twice with different scores (one
    # multi-row component), natively and by HiGHS.
    for native in (True, False):
        stats = LinproStats()
        g = linpro_labels(Proposals([0, 0], [4.0, 4.0], [14.0, 14.0], [0.2, 0.6]), 30, 1, stats=stats,
                          native=native)[:, 0]
        assert np.all(np.isfinite(g))
        assert stats.infeasible_problems == 1 and stats.infeasible_components == 1
        assert stats.native + stats.lp_components == 1 and stats.native == native
        assert stats.residual_l1 == pytest.approx(0.4)  # minimum of |x − 0.2| + |x − 0.6|
        assert g.sum() == pytest.approx(0.2)  # and the least mass at that residual


def test_rows_without_snippets_and_zero_length():
    # An instance at the very end, with no snippet of its own under the paper's rows: an all-zero
    # row (residual |q|), nothing else.
    stats = LinproStats()
    g = linpro_labels(Proposals([0, 0], [2.0, 10.0], [6.0, 10.0], [0.5, 0.3]), 10, 1, preset="paper", stats=stats)
    np.testing.assert_allclose(g[2:6, 0], 0.125)
    assert stats.infeasible_problems == 1 and stats.residual_l1 == pytest.approx(0.3)
    assert linpro_labels(Proposals([0], [0.0], [0.0], [0.0]), 0, 3).shape == (0, 3)
    assert linpro_labels(Proposals.empty(), 5, 3).tolist() == [[0.0] * 3] * 5


def test_batch_equals_per_video_and_layouts():
    rng = np.random.default_rng(7)
    lengths = [40, 0, 75, 12]
    per_video, rows = [], []
    for v, l in enumerate(lengths):
        parts = []
        for c in (0, 2) if l else ():  # an empty video has no instances
            s, e, q = random_problem(rng, l, n_max=5)
            parts.append(Proposals(np.full(len(s), c), s, e, q))
        p = Proposals.concat(parts)
        per_video.append(p)
        rows.append(p.with_video(v))
    single = [linpro_labels(p, l, 3) for p, l in zip(per_video, lengths)]
    as_list = linpro_labels_batch(per_video, lengths, 3)
    # Rows of one Proposals with a video column, shuffled: same labels.
    stacked = Proposals.concat(rows)
    stacked = stacked[rng.permutation(len(stacked))]
    as_one = linpro_labels_batch(stacked, lengths, 3)
    # The same optimum each way (where it is not unique, HiGHS may pick another vertex of the
    # optimal face, so the per-snippet split can differ; the objective cannot).
    for a, b, c, l in zip(single, as_list, as_one, lengths):
        assert a.shape == b.shape == c.shape == (l, 3)
        np.testing.assert_allclose(a.sum(0), b.sum(0), atol=1e-9)
        np.testing.assert_allclose(a.sum(0), c.sum(0), atol=1e-9)
        assert np.all(a[:, 1] == 0)
        # The native simplex solves each component on its own, in the same order: the very same
        # labels in a batch as alone (HiGHS may pick another vertex of a stacked LP).
        np.testing.assert_array_equal(a, b)


def test_stats_accumulate():
    stats = LinproStats()
    p = Proposals([0, 1], [2.0, 3.0], [8.0, 9.0], [0.5, 0.2])
    linpro_labels(p, 20, 2, stats=stats)
    linpro_labels(p, 20, 2, stats=stats)
    assert stats.videos == 2 and stats.problems == 4 and stats.instances == 4
    assert stats.closed_form == 4 and stats.lp_solves == 0 and stats.infeasible_problems == 0
    assert stats.native == stats.lp_components == stats.native_fallbacks == 0


def test_input_validation():
    p = Proposals([3], [1.0], [2.0], [0.5])
    with pytest.raises(ValueError, match="label"):
        linpro_labels(p, 10, 3)
    with pytest.raises(ValueError, match="video"):
        linpro_labels_batch(p, [10], 4)  # no video column
    with pytest.raises(ValueError, match="video"):
        linpro_labels_batch(p.with_video(2), [10, 10], 4)
    with pytest.raises(ValueError, match="lengths"):
        linpro_labels_batch([p], [-1], 4)
    with pytest.raises(ValueError, match="fused"):
        linpro_labels_batch([p, p], [10], 4)
    with pytest.raises(ValueError, match="solver"):
        linpro_labels(p, 10, 4, solver="cplex")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="start"):
        linpro_labels(Proposals([0], [-2.0], [2.0], [0.5]), 10, 1)


def test_length_must_be_an_integer():
    p = Proposals([0], [1.0], [4.0], [0.5])
    with pytest.raises(ValueError, match="length"):
        linpro_labels(p, 7.9, 2)  # was silently truncated to 7
    with pytest.raises(ValueError, match="length"):
        linpro_labels(p, float("nan"), 2)
    with pytest.raises(ValueError, match="length"):
        linpro_labels(p, "7", 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="length"):
        linpro_labels(p, [7, 8], 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^length"):
        linpro_labels(p, -1, 2)  # reported as `length`, not `lengths`
    with pytest.raises(ValueError, match=r"^lengths"):
        linpro_labels_batch([p, p], [10, 7.5], 2)
    with pytest.raises(ValueError, match=r"^lengths"):
        linpro_labels_batch([p], [True], 2)
    # integral values of any numeric type are fine
    ref = linpro_labels(p, 7, 2)
    np.testing.assert_array_equal(linpro_labels(p, 7.0, 2), ref)
    np.testing.assert_array_equal(linpro_labels(p, np.int32(7), 2), ref)
    np.testing.assert_array_equal(linpro_labels_batch([p], np.array([7.0]), 2)[0], ref)


def test_fused_must_be_proposals():
    p = Proposals([0], [1.0], [4.0], [0.5])
    as_dict = {"label": [0], "start": [1.0], "end": [4.0], "score": [0.5]}
    with pytest.raises(TypeError, match="fused"):
        linpro_labels(as_dict, 10, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fused"):
        linpro_labels_batch(as_dict, [10], 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fused"):
        linpro_labels_batch(5, [10], 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"fused\[1\]"):
        linpro_labels_batch([p, as_dict], [10, 10], 1)  # type: ignore[list-item]


def test_infeasible_lp_without_scipy_eye_array(monkeypatch):
    """`sparse.eye_array` is scipy >= 1.12; pyproject allows scipy 1.11, so the elastic phases
    must not need it."""
    monkeypatch.delattr(sparse, "eye_array", raising=False)
    for solver in ("scipy", "auto"):
        stats = LinproStats()
        g = linpro_labels(Proposals([0, 0], [4.0, 4.0], [14.0, 14.0], [0.2, 0.6]), 30, 1,
                          solver=solver, stats=stats)[:, 0]
        assert stats.infeasible_problems == 1 and g.sum() == pytest.approx(0.2)


def test_stacked_lp_is_block_diagonal():
    """The stacked reduced LP of a batch has one block per multi-row component (sanity of the plan)."""
    from tadfuse import _core

    rng = np.random.default_rng(3)
    lengths = np.array([60, 90])
    s, e, q = random_problem(rng, 60, n_max=8)
    plan = _core.linpro_plan(
        np.zeros(len(s), np.int64), np.zeros(len(s), np.int64), s, e, q, lengths, 1, "official", 0.25, 1, (0, 0)
    )
    assert plan.lp_row_block.size and plan.problem_native.sum() == 0  # (0, 0): nothing native
    a = sparse.csc_array((plan.lp_data, plan.lp_indices, plan.lp_indptr))
    blocks = plan.lp_row_block
    for j in range(a.shape[1]):
        rows = a.indices[a.indptr[j] : a.indptr[j + 1]]
        assert np.unique(blocks[rows]).size == 1


@pytest.mark.parametrize(("preset", "limit"), [("official", 11.0), ("paper", 10.0)])
def test_instances_outside_the_video_are_errors(preset, limit):
    # The official extraction stores end = e + 1, so an official instance may end one snippet past
    # the video (its W rows slice that off, as the released code does) — and no further.
    ok = linpro_labels(Proposals([0], [4.0], [limit], [0.5]), 10, 1, preset=preset)
    np.testing.assert_allclose(ok[4:, 0].sum(), 0.5)
    for start, end in ((4.0, limit + 1e-3), (10.5, 10.5), (2.0, 300.0)):
        with pytest.raises(ValueError, match=r"fused: instance 0 \(video 0, label 0\).*has 10; .*length"):
            linpro_labels(Proposals([0], [start], [end], [0.5]), 10, 1, preset=preset)
    # In a batch, the message names the instance and its video.
    fused = [Proposals([0], [1.0], [5.0], [0.2]), Proposals([0, 1], [1.0, 3.0], [4.0, 9.0], [0.2, 0.3])]
    with pytest.raises(ValueError, match=r"instance 2 \(video 1, label 1\)"):
        linpro_labels_batch(fused, [10, 7], 2, preset=preset)


# --------------------------------------------------------------------------------------------
# The native simplex (docs/linpro-native.md): exact on its own, at its size limits, on
# degenerate and tied systems, never NaN.

_TIED_SCORES = [0.0, 0.5, 1.0, -0.25]


@st.composite
def instance_sets(draw, max_n=10):
    """Instances of one class inside a video of ``length`` snippets, drawn to overlap (multi-row
    components) and to tie: endpoints on a few shared anchors or anywhere, duplicates of earlier
    instances, scores from a few exact values, the inner size (a vertex at the upper bound), or a
    range. Returns (length, start, end, score)."""
    length = draw(st.integers(6, 60))
    anchors = draw(st.lists(st.integers(0, length - 1), min_size=1, max_size=4))
    start, end, score = [], [], []
    for _ in range(draw(st.integers(2, max_n))):
        if start and draw(st.booleans()) and draw(st.booleans()):  # a duplicate, maybe rescored
            k = draw(st.integers(0, len(start) - 1))
            a, b = start[k], end[k]
        else:
            a = float(draw(st.sampled_from(anchors))) if draw(st.booleans()) else draw(
                st.floats(0, length - 1, allow_nan=False))
            b = min(a + draw(st.one_of(st.integers(0, length // 2).map(float), st.floats(0, length / 2))), float(length))
        kind = draw(st.sampled_from(["tied", "inner", "range"]))
        if kind == "tied":
            q = draw(st.sampled_from(_TIED_SCORES))
        elif kind == "inner":
            q = float(int(b) - int(a))
        else:
            q = draw(st.floats(-1.0, 3.0, allow_nan=False))
        start.append(a)
        end.append(b)
        score.append(q)
    return length, np.array(start), np.array(end), np.array(score)


@settings(max_examples=400)
@given(instance_sets(), st.sampled_from(["official", "paper"]))
def test_native_matches_the_full_lp(case, preset):
    length, s, e, q = case
    stats = LinproStats()
    g = linpro_labels(Proposals(np.zeros(len(s), np.int64), s, e, q), length, 1, preset=preset, stats=stats)[:, 0]
    l1 = check_optimal(g, w_matrix(s, e, length, preset=preset), q)
    assert uniform_within_classes(g, s, e, length, preset)
    assert stats.lp_components == 0 and stats.native_fallbacks == 0  # nothing here is too large
    assert stats.infeasible_problems == (l1 > linpro.FEASIBILITY_TOL)


def _chain(rng, rows):
    """``rows`` instances, each overlapping the next (one component), on a video that holds them."""
    start = np.cumsum(rng.uniform(1.0, 4.0, rows))
    end = start + rng.uniform(6.0, 12.0, rows)
    return start, end, int(np.ceil(end.max())) + 3


@pytest.mark.parametrize("feasible", [True, False])
def test_the_row_limit_between_native_and_highs(feasible):
    """A component of exactly NATIVE_MAX_ROWS rows is solved natively; one more row sends it to
    HiGHS; both are exact, feasible (q = W g0 for a random g0 in the box) or not (q pushed off)."""
    rng = np.random.default_rng(5)
    for rows, native in ((NATIVE_MAX_ROWS, 1), (NATIVE_MAX_ROWS + 1, 0)):
        s, e, l = _chain(rng, rows)
        part = partition(s, e, l)
        assert part.num_components == 1 and (part.class_component >= 0).sum() <= NATIVE_MAX_CLASSES
        w = w_matrix(s, e, l)
        q = w @ rng.uniform(0.0, 1.0, l)
        if not feasible:
            q += rng.choice([-2.0, 2.0], rows) * rng.uniform(0.5, 1.0, rows)
        stats = LinproStats()
        g = linpro_labels(Proposals(np.zeros(rows, np.int64), s, e, q), l, 1, stats=stats)[:, 0]
        assert (stats.native, stats.lp_components, stats.native_fallbacks) == (native, 1 - native, 0)
        assert (check_optimal(g, w, q, rel=1e-9 if native else 1e-7) == 0.0) == feasible
        assert uniform_within_classes(g, s, e, l)


def test_both_limits_route_components(monkeypatch):
    """With small limits (4 rows, 12 classes), random one-component problems go native exactly
    when both sizes are within the limits, and are exact either way; the cases right at and just
    past each limit all occur."""
    monkeypatch.setattr(linpro, "NATIVE_MAX_ROWS", 4)
    monkeypatch.setattr(linpro, "NATIVE_MAX_CLASSES", 12)
    rng = np.random.default_rng(21)
    seen = set()
    for _ in range(1500):
        rows = int(rng.integers(2, 7))
        s, e, l = _chain(rng, rows)
        part = partition(s, e, l)
        classes = int((part.class_component >= 0).sum())
        q = rng.uniform(-0.3, 1.2, rows) * rng.choice([0.1, 1.0, 4.0])
        stats = LinproStats()
        g = linpro_labels(Proposals(np.zeros(rows, np.int64), s, e, q), l, 1, stats=stats)[:, 0]
        if part.num_components != 1 or stats.closed_form:
            continue
        within = rows <= 4 and classes <= 12
        assert (stats.native, stats.lp_components) == (int(within), int(not within)), (rows, classes)
        check_optimal(g, w_matrix(s, e, l), q, rel=1e-9 if within else 1e-7)
        seen |= {("rows", rows), ("classes", classes)} if rows <= 4 else {("rows", rows)}
    assert {("rows", 4), ("rows", 5), ("classes", 12), ("classes", 13)} <= seen


def _degenerate_cases():
    """Engineered ties: duplicates (consistent and contradicting), scores at the box (every inner
    snippet at 1), all-zero scores, nested instances sharing a start, rows sharing every
    endpoint, a row that is the difference of two others."""
    yield "duplicates", 30, [4.0, 4.0, 4.0, 10.0], [14.0, 14.0, 14.0, 20.0], [0.5, 0.5, 0.5, 0.2]
    yield "contradicting duplicates", 30, [4.0, 4.0, 4.0, 10.0], [14.0, 14.0, 14.0, 20.0], [0.5, 0.9, 0.1, 0.2]
    yield "at the box", 40, [2.0, 8.0, 14.0], [12.0, 18.0, 24.0], [10.0, 10.0, 10.0]
    yield "past the box", 40, [2.0, 8.0, 14.0], [12.0, 18.0, 24.0], [11.0, 10.0, 12.0]
    yield "zero", 40, [2.0, 8.0, 14.0], [12.0, 18.0, 24.0], [0.0, 0.0, 0.0]
    yield "nested", 50, [5.0, 5.0, 5.0, 5.0], [10.0, 20.0, 30.0, 40.0], [1.0, 2.0, -0.5, 3.0]
    yield "shared endpoints", 50, [5.0, 10.0, 5.0, 10.0, 15.0], [15.0, 20.0, 20.0, 15.0, 20.0], [1.0, 1.0, 2.0, 0.5, 0.5]
    yield "sum of rows", 60, [5.0, 5.0, 25.0], [45.0, 25.0, 45.0], [2.0, 1.0, 1.0]


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("preset", ["official", "paper"])
def test_degenerate_and_tied_systems(native, preset):
    for name, l, s, e, q in _degenerate_cases():
        s, e, q = np.array(s), np.array(e), np.array(q)
        stats = LinproStats()
        g = linpro_labels(Proposals(np.zeros(len(s), np.int64), s, e, q), l, 1, preset=preset, stats=stats,
                          native=native)[:, 0]
        check_optimal(g, w_matrix(s, e, l, preset=preset), q, rel=1e-9 if native else 1e-7)
        assert uniform_within_classes(g, s, e, l, preset), name
        assert stats.native_fallbacks == 0, name


def test_extreme_scores_are_never_nan():
    """Scores far outside the box (±1e6) or tiny (1e-300, subnormal): finite labels in [0, 1],
    the exact elastic optimum natively; HiGHS (whose phase 2 may give back 1e-9 of the least
    residual for mass) within 1e-8."""
    s, e = np.array([4.0, 8.0, 8.0, 20.0]), np.array([16.0, 24.0, 12.0, 30.0])
    w = w_matrix(s, e, 40)
    for q in ([1e6, -1e6, 3.0, 1e6], [1e-300, 5e-324, -1e-300, 0.0], [-1e6, -1e6, -1e6, -1e6]):
        q = np.array(q)
        l1 = {}
        for native in (True, False):
            stats = LinproStats()
            g = linpro_labels(Proposals(np.zeros(4, np.int64), s, e, q), 40, 1, stats=stats, native=native)[:, 0]
            assert np.all(np.isfinite(g)) and g.min() >= 0 and g.max() <= 1
            l1[native] = stats.residual_l1
            if native:
                check_optimal(g, w, q)
        assert close(l1[True], l1[False], rel=1e-8) and l1[True] <= l1[False], l1
