"""Which videos go into which forward pass, in which order (numpy only).

The released loop runs one video per forward pass. The trainer pads several videos into one
batch (the models mask the padding), so it decides:

* :func:`epoch_order` — the shuffled order of the training videos in one epoch, a pure function
  of ``(seed, epoch)`` (a resumed run draws the same order without saving a generator);
* :func:`length_chunks` — consecutive forward passes over videos sorted by length, each holding
  at most ``max_videos`` videos and padding of at most ``padding_budget`` × its real snippets
  (a video longer than the budget allows goes alone);
* :func:`sample_indices` — the snippets kept when training videos are resampled to a fixed
  length (ACM-Net's ``random_sample``), again a pure function of its seed.

docs/engine.md, "Batching semantics".
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from tadfuse._checks import integer, real
from tadfuse.errors import InvalidArgumentError

__all__ = ["epoch_order", "length_chunks", "sample_indices", "sorted_by_length"]


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([integer("seed", seed), *keys]))


def epoch_order(num_videos: int, seed: int, epoch: int) -> np.ndarray:
    """The order (a permutation of ``range(num_videos)``, int64) in which epoch ``epoch`` visits
    the training videos."""
    n = integer("num_videos", num_videos)
    return _rng(seed, 1, integer("epoch", epoch)).permutation(n).astype(np.int64)


def sorted_by_length(items: Sequence[int], lengths: Sequence[int]) -> list[int]:
    """``items`` (indices into ``lengths``) sorted by decreasing length, ties kept in order."""
    return sorted(items, key=lambda i: -int(lengths[i]))


def length_chunks(lengths: Sequence[int], max_videos: int, padding_budget: float) -> list[list[int]]:
    """Split positions ``0..n-1`` of videos of non-increasing ``lengths`` into consecutive
    chunks (one padded forward pass each).

    A chunk grows while it has fewer than ``max_videos`` videos and ``count × longest ≤ (1 +
    padding_budget) × real snippets`` still holds with the next video; the first video of a
    chunk is always taken, so every chunk is non-empty and the chunks cover every position once,
    in order.
    """
    m = integer("max_videos", max_videos, lo=1)
    budget = real("padding_budget", padding_budget, lo=0.0)
    lens = [integer(f"lengths[{i}]", x, lo=1) for i, x in enumerate(lengths)]
    if any(b > a for a, b in itertools.pairwise(lens)):
        raise InvalidArgumentError("`lengths` must be non-increasing (sort the videos by length first)")
    chunks: list[list[int]] = []
    for i, n in enumerate(lens):
        if chunks:
            cur = chunks[-1]
            longest = lens[cur[0]]
            real_snippets = sum(lens[j] for j in cur) + n
            if len(cur) < m and (len(cur) + 1) * longest <= (1.0 + budget) * real_snippets:
                cur.append(i)
                continue
        chunks.append([i])
    return chunks


def sample_indices(length: int, count: int, seed: int, *keys: int) -> np.ndarray:
    """The snippets (sorted int64 indices into ``range(length)``) a training video keeps when
    resampled to ``count`` snippets, after ACM-Net's ``random_sample`` (ispc-lab/ACM-Net
    dataset/dataset_class.py): for ``length > count``, one random snippet in each of ``count``
    equal-width bins ``[⌊i·length/count⌋, ⌊(i+1)·length/count⌋]`` (inclusive, as ACM-Net's;
    the last bin runs to the end, where ACM-Net starts it at the previous draw);
    for ``length < count``, ``count`` draws with replacement, sorted; otherwise every snippet.
    Deterministic in ``(seed, *keys)``."""
    n = integer("length", length, lo=1)
    k = integer("count", count, lo=1)
    rng = _rng(seed, 2, *keys)
    if n == k:
        return np.arange(n, dtype=np.int64)
    if n < k:
        return np.sort(rng.integers(0, n, size=k)).astype(np.int64)
    edges = np.arange(k + 1, dtype=np.float64) * n / k
    lo = np.floor(edges[:-1]).astype(np.int64)
    hi = np.minimum(np.floor(edges[1:]).astype(np.int64), n - 1)  # inclusive upper ends
    hi[-1] = n - 1
    out = lo + np.floor(rng.random(k) * (hi - lo + 1)).astype(np.int64)
    return np.minimum(out, hi)
