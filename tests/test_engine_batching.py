"""Batching decisions of the trainer: epoch orders, length chunks, snippet resampling — against
their definitions, on hypothesis-drawn inputs, and at the edges (one video, equal lengths, a
video longer than the budget allows)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tadfuse.engine.batching import epoch_order, length_chunks, sample_indices, sorted_by_length
from tadfuse.errors import InvalidArgumentError, InvalidTypeError


def ref_chunks(lengths: list[int], max_videos: int, budget: float) -> list[list[int]]:
    """The rule restated: a chunk takes the next video while it has room and the padded size
    of the chunk with that video is within (1 + budget) of its real snippets."""
    out: list[list[int]] = []
    for i, n in enumerate(lengths):
        cur = out[-1] if out else None
        if cur is not None and len(cur) < max_videos:
            members = [lengths[j] for j in cur] + [n]
            if len(members) * max(members) <= (1 + budget) * sum(members):
                cur.append(i)
                continue
        out.append([i])
    return out


@given(st.lists(st.integers(1, 3000), min_size=1, max_size=40), st.integers(1, 12),
       st.sampled_from([0.0, 0.1, 0.25, 1.0, 10.0]))
def test_length_chunks_follow_the_rule(lengths, max_videos, budget):
    lengths = sorted(lengths, reverse=True)
    chunks = length_chunks(lengths, max_videos, budget)
    assert chunks == ref_chunks(lengths, max_videos, budget)
    assert [i for c in chunks for i in c] == list(range(len(lengths)))  # every position once, in order
    for c in chunks:
        lens = [lengths[i] for i in c]
        assert 1 <= len(c) <= max_videos
        assert len(c) == 1 or len(c) * max(lens) <= (1 + budget) * sum(lens)


def test_length_chunks_edges():
    assert length_chunks([7], 4, 0.25) == [[0]]
    assert length_chunks([5, 5, 5, 5, 5], 2, 0.0) == [[0, 1], [2, 3], [4]]  # equal lengths: no padding
    assert length_chunks([1000, 10, 10], 8, 0.25) == [[0], [1, 2]]  # the long video goes alone
    assert length_chunks([], 3, 0.25) == []
    with pytest.raises(InvalidArgumentError, match="non-increasing"):
        length_chunks([3, 5], 2, 0.25)
    with pytest.raises(InvalidArgumentError, match=r"`lengths\[1\]`"):
        length_chunks([3, 0], 2, 0.25)
    with pytest.raises(InvalidTypeError, match="`max_videos`"):
        length_chunks([3], 2.0, 0.25)
    with pytest.raises(InvalidArgumentError, match="`padding_budget`"):
        length_chunks([3], 2, -0.5)


def test_sorted_by_length_is_stable():
    lengths = [5, 9, 5, 9, 1]
    assert sorted_by_length([0, 1, 2, 3, 4], lengths) == [1, 3, 0, 2, 4]
    assert sorted_by_length([4, 2, 0], lengths) == [2, 0, 4]


@given(st.integers(0, 60), st.integers(0, 2**31), st.integers(0, 400))
def test_epoch_order_is_a_permutation_fixed_by_seed_and_epoch(n, seed, epoch):
    a = epoch_order(n, seed, epoch)
    assert a.dtype == np.int64 and sorted(a.tolist()) == list(range(n))
    assert np.array_equal(a, epoch_order(n, seed, epoch))


def test_epoch_orders_differ_between_epochs_and_seeds():
    assert not np.array_equal(epoch_order(50, 2, 0), epoch_order(50, 2, 1))
    assert not np.array_equal(epoch_order(50, 2, 0), epoch_order(50, 3, 0))
    with pytest.raises(InvalidArgumentError, match="`epoch`"):
        epoch_order(5, 0, -1)


@given(st.integers(1, 400), st.integers(1, 120), st.integers(0, 1000), st.integers(0, 50))
def test_sample_indices(length, count, seed, key):
    idx = sample_indices(length, count, seed, key)
    assert idx.dtype == np.int64 and idx.shape == (count,)
    assert np.all(np.diff(idx) >= 0) and idx.min() >= 0 and idx.max() < length
    assert np.array_equal(idx, sample_indices(length, count, seed, key))
    if length == count:
        assert np.array_equal(idx, np.arange(length))
    elif length > count:  # one draw per bin [floor(i·n/k), floor((i+1)·n/k)], the last to the end
        edges = np.arange(count + 1) * length / count
        lo = np.floor(edges[:-1])
        hi = np.minimum(np.floor(edges[1:]), length - 1)
        hi[-1] = length - 1
        assert np.all(idx >= lo) and np.all(idx <= hi)


def test_sample_indices_cover_every_bin_over_draws():
    hits = np.zeros(10, bool)
    for key in range(200):
        hits[sample_indices(10, 5, 0, key)] = True
    assert hits.all()  # every snippet of a 2-wide bin (and the shared edges) is drawn sometimes
