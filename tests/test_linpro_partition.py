"""The W rows and the equivalence-class partition against slow dense references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tadfuse import _core
from tadfuse.linpro import partition, w_matrix


def dense_w_reference(start, end, length, preset="official", alpha=0.25):
    """W built exactly as DESIGN §3.5 states it, row by row with Python ints and numpy slices."""
    w = np.zeros((len(start), length))
    for k, (a, b) in enumerate(zip(start, end)):
        s, e = int(a), int(b)
        n = e - s
        if preset == "official":
            pad = 0.0785 * n**0.9
            lo = max(0, int(s - pad))
            hi = min(length - 1, int(e + pad + 1))
        else:
            width = int(alpha * n)
            lo, hi = max(0, s - width), min(length, e + width)
        w[k, s:e] = 1.0
        w[k, lo:s] = -1.0
        if hi > e:  # a negative `hi` (length 0) must not wrap around
            w[k, e:hi] = -1.0
    return w


def reference_partition(w):
    """Classes = identical columns (np.unique), renumbered by first occurrence in time."""
    if w.shape[1] == 0:
        return np.zeros(0, np.int64), []
    _, first, inverse = np.unique(w.T, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(first)  # unique row j -> rank by first occurrence
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    cls = rank[inverse]
    cols = [w[:, cls == c][:, 0] if w.shape[0] else np.zeros(0) for c in range(order.size)]
    return cls, cols


def reference_components(w):
    """Rows linked through a shared non-zero snippet (union-find over columns)."""
    n = w.shape[0]
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for col in w.T:
        rows = np.flatnonzero(col)
        for r in rows[1:]:
            parent[find(r)] = find(rows[0])
    roots = [find(k) for k in range(n)]
    ids: dict[int, int] = {}
    return np.array([ids.setdefault(r, len(ids)) for r in roots], dtype=np.int64)


def random_instances(rng, length, n_max=8, integer=False):
    n = int(rng.integers(0, n_max + 1))
    start = rng.uniform(0, length + 3, n)
    end = start + rng.exponential(0.25 * max(length, 1), n)
    if integer:
        start, end = np.floor(start), np.floor(end)
    return start, end


@pytest.mark.parametrize("preset", ["official", "paper"])
def test_w_matrix_matches_design_transcription(preset):
    rng = np.random.default_rng(1)
    for trial in range(400):
        length = int(rng.integers(0, 70))
        s, e = random_instances(rng, length, integer=trial % 2 == 0)
        got = w_matrix(s, e, length, preset=preset)
        np.testing.assert_array_equal(got, dense_w_reference(s, e, length, preset))


def test_w_rows_hand_computed():
    # n = 20: pad = 0.0785 * 20**0.9 = 1.193..., left [8, 10), right [30, 32).
    rows = _core.linpro_w_rows(np.array([10.7]), np.array([30.2]), 100, "official", 0.25)
    assert rows.tolist() == [[8, 10, 10, 30, 30, 32]]
    rows = _core.linpro_w_rows(np.array([10.0]), np.array([30.0]), 100, "paper", 0.25)
    assert rows.tolist() == [[5, 10, 10, 30, 30, 35]]
    # Official quirk: the last snippet is never outer; n = 0 keeps a one-snippet right range.
    rows = _core.linpro_w_rows(np.array([90.0, 5.0]), np.array([98.0, 5.9]), 100, "official", 0.25)
    assert rows.tolist() == [[89, 90, 90, 98, 98, 99], [5, 5, 5, 5, 5, 6]]


@pytest.mark.parametrize("preset", ["official", "paper"])
def test_partition_matches_dense_unique(preset):
    rng = np.random.default_rng(2)
    for trial in range(1500):
        length = int(rng.integers(0, 90))
        s, e = random_instances(rng, length, n_max=10, integer=trial % 3 == 0)
        p = partition(s, e, length, preset=preset)
        w = dense_w_reference(s, e, length, preset)
        cls, cols = reference_partition(w)
        np.testing.assert_array_equal(p.snippet_class, cls)
        assert p.num_classes == len(cols)
        for c, col in enumerate(cols):
            np.testing.assert_array_equal(p.column(c, w.shape[0]), col)
            assert p.class_size[c] == np.count_nonzero(cls == c)
            assert (p.class_component[c] == -1) == (not col.any())
        np.testing.assert_array_equal(p.row_component, reference_components(w))
        assert p.num_components == (p.row_component.max() + 1 if s.size else 0)
        # Segments: maximal runs tiling [0, length).
        assert p.seg_start.tolist() == ([0] + p.seg_end[:-1].tolist() if length else [])
        assert np.all(p.seg_class[1:] != p.seg_class[:-1])


def test_non_contiguous_and_overlapping_patterns():
    # Row 0 covers [10, 40); row 1 [20, 25) sits inside: row 0's inner snippets left and right of
    # row 1 (and of row 1's outer snippets) are one class of two pieces; row 1's outer snippets
    # are +1 in row 0 and -1 in row 1.
    p = partition([10.0, 20.0], [40.0, 25.0], 60)
    cls = p.snippet_class
    assert cls[12] == cls[35]
    assert cls[19] != cls[12] and cls[19] == cls[25]  # {0:+, 1:-} on both sides of row 1
    np.testing.assert_array_equal(p.column(cls[19], 2), [1.0, -1.0])
    assert p.num_components == 1


def test_partition_edge_cases():
    p = partition([], [], 7)
    assert p.snippet_class.tolist() == [0] * 7 and p.num_components == 0
    p = partition([], [], 0)
    assert p.snippet_class.size == 0 and p.num_classes == 0
    # Instance entirely past the end: an all-zero row, its own component, no variables.
    p = partition([50.0], [60.0], 10)
    assert p.num_classes == 1 and p.row_component.tolist() == [0] and p.class_component.tolist() == [-1]
    with pytest.raises(ValueError, match="start"):
        partition([-1.0], [2.0], 10)
    with pytest.raises(ValueError, match="end"):
        partition([3.0], [2.0], 10)
    with pytest.raises(ValueError, match="start"):
        partition([np.nan], [2.0], 10)
    with pytest.raises(ValueError, match="alpha"):
        partition([1.0], [2.0], 10, preset="paper", alpha=-0.5)
    with pytest.raises(ValueError, match="alpha"):
        partition([1.0], [2.0], 10, alpha=0.3)
    with pytest.raises(ValueError, match="preset"):
        partition([1.0], [2.0], 10, preset="nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="length"):
        _core.linpro_partition(np.array([1.0]), np.array([2.0]), -3, "official", 0.25)
    with pytest.raises(ValueError, match="end"):
        _core.linpro_partition(np.array([1.0]), np.array([2.0, 3.0]), 10, "official", 0.25)


bounds = st.floats(min_value=0, max_value=40, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(bounds, bounds), max_size=7),
    st.integers(min_value=0, max_value=45),
    st.sampled_from(["official", "paper"]),
)
def test_partition_property(pairs, length, preset):
    s = np.array([min(a, b) for a, b in pairs], dtype=np.float64)
    e = np.array([max(a, b) for a, b in pairs], dtype=np.float64)
    p = partition(s, e, length, preset=preset)
    cls, _ = reference_partition(dense_w_reference(s, e, length, preset))
    np.testing.assert_array_equal(p.snippet_class, cls)
