"""The official GauFuse post-processing, vectorised with numpy (a baseline for benchmarks).

This is how a careful Python user would write the released pipeline today: per class, per
threshold, runs from ``np.diff`` on the zero-padded mask, segment sums with ``np.add.reduceat``
(sequential sums per segment, so no prefix-sum cancellation on long videos), and the fusion loop
vectorised over the remaining proposals for each pivot. Semantics are those of tadfuse's
``official`` preset (``tests/reference.py`` is the slow reference it is tested against):

* ties: the pivot is the highest score, ties to the lowest index (a stable sort), where the
  released code uses ``np.argsort`` (quicksort);
* the fusion weights are a softmax of ``inner / T`` shifted by its maximum (the released code
  divides by ``sum(sign(w) * exp(w / T))``; equal for positive weights, and it overflows for
  ``w / T`` above ~709, which the shift avoids).

Functions return plain numpy arrays; no tadfuse import is needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_THRESHOLDS",
    "numpy_detect",
    "numpy_extract",
    "numpy_fuse",
    "numpy_nms",
    "numpy_soft_nms",
]

DEFAULT_THRESHOLDS = np.arange(0.001, 0.04, 0.002)


def _segment_sums(xpad: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``sum(x[lo_k:hi_k])`` for every k (0 where ``lo_k >= hi_k``).

    ``xpad`` is ``x`` with one trailing zero, so ``hi_k == len(x)`` is a valid index.
    ``np.add.reduceat`` on the interleaved indices ``[lo_0, hi_0, lo_1, hi_1, ...]`` sums each
    ``[lo_k, hi_k)`` at the even positions (when ``lo_k < hi_k``).
    """
    if lo.size == 0:
        return np.zeros(0)
    idx = np.empty(2 * lo.size, dtype=np.intp)
    idx[0::2] = lo
    idx[1::2] = hi
    sums = np.add.reduceat(xpad, idx)[0::2]
    return np.where(lo < hi, sums, 0.0)


def numpy_extract(
    x: np.ndarray, thresholds: Any = None, min_length: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Official proposals of one class column: ``(start, end, score, inner)`` float64 arrays.

    Order: threshold in the given order, then run left to right (duplicates kept).
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    length = x.shape[0]
    ths = DEFAULT_THRESHOLDS if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    xpad = np.concatenate([x, [0.0]])
    out: list[tuple[np.ndarray, ...]] = []
    for theta in ths:
        mask = np.zeros(length + 2, dtype=np.int8)
        mask[1:-1] = x > theta
        d = np.diff(mask)
        s = np.flatnonzero(d == 1)
        e = np.flatnonzero(d == -1)
        n = e - s
        keep = n >= min_length
        s, e, n = s[keep], e[keep], n[keep]
        if s.size == 0:
            continue
        # inner: x[s : e + 1], cut at the end of the video
        inner_hi = np.minimum(e + 1, length)
        inner = _segment_sums(xpad, s, inner_hi) / (inner_hi - s)
        pad = 0.0785 * n.astype(np.float64) ** 0.9
        # int() truncates toward zero; the max(0, .) makes floor/trunc the same here
        left_lo = np.maximum(0, np.trunc(s - pad).astype(np.intp))
        right_hi = np.minimum(length - 1, np.trunc(e + pad + 1).astype(np.intp))
        right_lo = e + 1
        n_left = np.maximum(0, s - left_lo)
        n_right = np.maximum(0, right_hi - right_lo)
        outer_sum = _segment_sums(xpad, left_lo, s) + _segment_sums(
            xpad, np.minimum(right_lo, length), np.maximum(right_hi, np.minimum(right_lo, length))
        )
        count = n_left + n_right
        outer = np.where(count > 0, outer_sum / np.maximum(count, 1), 0.0)
        out.append((s.astype(np.float64), (e + 1).astype(np.float64), inner - outer, inner))
    if not out:
        z = np.zeros(0)
        return z, z.copy(), z.copy(), z.copy()
    return tuple(np.concatenate([o[k] for o in out]) for k in range(4))  # type: ignore[return-value]


def _overlap(sp: float, ep: float, s: np.ndarray, e: np.ndarray, overlap: str) -> np.ndarray:
    if overlap == "coverage":
        inter = np.maximum(0.0, np.minimum(ep, e) - np.maximum(sp, s) + 1.0)
        return inter / (e - s + 1.0)
    if overlap == "iou":
        inter = np.maximum(0.0, np.minimum(ep, e) - np.maximum(sp, s))
        union = (ep - sp) + (e - s) - inter
        return np.where(union == 0, 0.0, inter / np.where(union == 0, 1.0, union))
    raise ValueError(f"unknown overlap {overlap!r}")


def numpy_fuse(
    start: np.ndarray,
    end: np.ndarray,
    score: np.ndarray,
    inner: np.ndarray,
    temperature: float,
    threshold: float = 0.25,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Official fusion of one class (coverage overlap, inner weights, weighted mean).

    Returns fused ``(start, end, score, inner)`` sorted by fused score descending (stable with
    respect to pick order).
    """
    start, end, score, inner = (np.asarray(a, dtype=np.float64) for a in (start, end, score, inner))
    alive = np.argsort(-score, kind="stable")  # pick order: score desc, ties lowest index
    fs, fe, fsc, fin = [], [], [], []
    while alive.size:
        p = alive[0]
        rest = alive[1:]
        hit = _overlap(start[p], end[p], start[rest], end[rest], "coverage") > threshold
        grp = np.concatenate(([p], rest[hit]))
        z = inner[grp] / temperature
        g = np.exp(z - z.max())
        g /= g.sum()
        fs.append(g @ start[grp])
        fe.append(g @ end[grp])
        fsc.append(g @ score[grp])
        fin.append(g @ inner[grp])
        alive = rest[~hit]
    fsc_a = np.array(fsc, dtype=np.float64)
    order = np.argsort(-fsc_a, kind="stable")
    return (
        np.array(fs, dtype=np.float64)[order],
        np.array(fe, dtype=np.float64)[order],
        fsc_a[order],
        np.array(fin, dtype=np.float64)[order],
    )


def numpy_nms(
    start: np.ndarray, end: np.ndarray, score: np.ndarray, threshold: float = 0.25,
    overlap: str = "coverage",
) -> np.ndarray:
    """Indices kept by hard NMS of one class, in pick order."""
    start, end, score = (np.asarray(a, dtype=np.float64) for a in (start, end, score))
    alive = np.argsort(-score, kind="stable")
    keep = []
    while alive.size:
        p = alive[0]
        keep.append(p)
        rest = alive[1:]
        alive = rest[~(_overlap(start[p], end[p], start[rest], end[rest], overlap) > threshold)]
    return np.array(keep, dtype=np.intp)


def numpy_soft_nms(
    start: np.ndarray,
    end: np.ndarray,
    score: np.ndarray,
    sigma: float = 0.5,
    min_score: float = 0.001,
    method: str = "gaussian",
    threshold: float = 0.25,
    max_out: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Soft-NMS of one class: ``(indices, decayed scores)`` in pick order."""
    if method not in ("gaussian", "linear"):
        raise ValueError(f"unknown method {method!r}")
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    cur = np.array(score, dtype=np.float64)
    alive = np.flatnonzero(cur >= min_score)  # ascending: argmax picks the lowest index on ties
    picks, scores = [], []
    while alive.size and (max_out is None or len(picks) < max_out):
        k = int(np.argmax(cur[alive]))
        p = alive[k]
        picks.append(p)
        scores.append(cur[p])
        rest = np.delete(alive, k)
        iou = _overlap(start[p], end[p], start[rest], end[rest], "iou")
        if method == "gaussian":
            cur[rest] = cur[rest] * np.exp(-(iou * iou) / sigma)
        else:
            cur[rest] = np.where(iou > threshold, cur[rest] * (1.0 - iou), cur[rest])
        alive = rest[cur[rest] >= min_score]
    return np.array(picks, dtype=np.intp), np.array(scores, dtype=np.float64)


def numpy_detect(
    cas: np.ndarray,
    video_scores: np.ndarray,
    thresholds: Any = None,
    class_threshold: float = 0.16,
    temperature: float = 0.2,
) -> dict[int, dict[str, np.ndarray]]:
    """Official detection of one video: ``{class: {"start", "end", "score", "inner"}}``.

    Only classes with ``video_scores[c] >= class_threshold`` appear, in ascending order; each
    holds the fused segments sorted by score descending.
    """
    cas = np.asarray(cas, dtype=np.float64)
    out: dict[int, dict[str, np.ndarray]] = {}
    for c in range(cas.shape[1]):
        if not video_scores[c] >= class_threshold:
            continue
        s, e, sc, inn = numpy_extract(cas[:, c], thresholds)
        fs, fe, fsc, fin = numpy_fuse(s, e, sc, inn, temperature, 0.25)
        out[c] = {"start": fs, "end": fe, "score": fsc, "inner": fin}
    return out


if __name__ == "__main__":  # a quick timing: python -m tadfuse.reference.numpy_official
    import time

    rng = np.random.default_rng(0)
    videos = [rng.uniform(0, 0.06, (int(rng.integers(50, 1500)), 20)) for _ in range(20)]
    scores = [rng.uniform(0, 0.4, 20) for _ in videos]
    t0 = time.perf_counter()
    for cas, vs in zip(videos, scores):
        numpy_detect(cas, vs)
    dt = time.perf_counter() - t0
    print(f"numpy official: {len(videos) / dt:.1f} videos/s")
