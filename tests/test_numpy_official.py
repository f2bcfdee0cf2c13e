"""The vectorised numpy baseline (tadfuse.reference.numpy_official) agrees with the slow reference."""

from __future__ import annotations

import numpy as np
import pytest
from reference import (
    official_transcription,
    ref_config,
    ref_detect,
    ref_extract,
    ref_fuse,
    ref_nms,
    ref_soft_nms,
)
from tadfuse.reference.numpy_official import (
    numpy_detect,
    numpy_extract,
    numpy_fuse,
    numpy_nms,
    numpy_soft_nms,
)

TOL = dict(rtol=1e-12, atol=1e-12)


def random_cas(rng, length, k):
    style = rng.integers(0, 3)
    if style == 0:
        return rng.uniform(0, 0.05, (length, k))
    if style == 1:  # values exactly on the thresholds, and plateaus
        th = np.arange(0.001, 0.04, 0.002)
        return th[rng.integers(0, 20, (length, k))] * (rng.uniform(0, 1, (length, k)) < 0.8)
    t = np.linspace(0, rng.uniform(1, 20), length)[:, None]
    return np.clip(0.02 + 0.03 * np.sin(t + rng.uniform(0, 6, k)) + rng.normal(0, 0.004, (length, k)),
                   0, None)


def random_props(rng, m, integer=True):
    start = rng.integers(0, 60, m).astype(float) if integer else rng.uniform(0, 60, m)
    length = rng.integers(1, 15, m).astype(float) if integer else rng.uniform(0, 15, m)
    score = np.round(rng.uniform(-0.2, 1, m), 1 if rng.uniform() < 0.5 else 8)
    inner = rng.uniform(0, 1.2, m)
    return start, start + length, score, inner


@pytest.mark.parametrize("seed", range(30))
def test_extract_matches_reference(seed):
    rng = np.random.default_rng(seed)
    length = int(rng.integers(1, 120))
    cas = random_cas(rng, length, 1)
    got = numpy_extract(cas[:, 0])
    ref = ref_extract(cas)
    for k, name in enumerate(("start", "end", "score", "inner")):
        np.testing.assert_allclose(got[k], ref[name], **TOL, err_msg=name)


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("temperature", [1.0, 0.2, 0.0016])
def test_fuse_matches_reference(seed, temperature):
    rng = np.random.default_rng(seed)
    s, e, sc, inn = random_props(rng, int(rng.integers(0, 40)), integer=seed % 2 == 0)
    got = numpy_fuse(s, e, sc, inn, temperature, 0.25)
    ref = ref_fuse({"label": np.zeros(len(s), int), "start": s, "end": e, "score": sc,
                    "inner": inn, "video": None}, temperature)
    for k, name in enumerate(("start", "end", "score", "inner")):
        np.testing.assert_allclose(got[k], ref[name], **TOL, err_msg=name)


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("overlap", ["coverage", "iou"])
def test_nms_matches_reference(seed, overlap):
    rng = np.random.default_rng(seed)
    s, e, sc, _ = random_props(rng, int(rng.integers(0, 40)), integer=seed % 2 == 0)
    keep = numpy_nms(s, e, sc, 0.25, overlap)
    ref = ref_nms({"label": np.zeros(len(s), int), "start": s, "end": e, "score": sc,
                   "inner": np.arange(len(s), dtype=float), "video": None}, 0.25, overlap)
    np.testing.assert_array_equal(keep, ref["inner"].astype(int))


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("method", ["gaussian", "linear"])
def test_soft_nms_matches_reference(seed, method):
    rng = np.random.default_rng(seed)
    s, e, sc, _ = random_props(rng, int(rng.integers(0, 40)), integer=seed % 2 == 0)
    max_out = None if seed % 3 else 5
    idx, scores = numpy_soft_nms(s, e, sc, 0.5, 0.01, method, 0.3, max_out)
    ref = ref_soft_nms({"label": np.zeros(len(s), int), "start": s, "end": e, "score": sc,
                        "inner": np.arange(len(s), dtype=float), "video": None},
                       0.5, 0.01, method, 0.3, max_out)
    np.testing.assert_array_equal(idx, ref["inner"].astype(int))
    np.testing.assert_allclose(scores, ref["score"], **TOL)


@pytest.mark.parametrize("seed", range(12))
def test_detect_matches_reference_and_transcription(seed):
    rng = np.random.default_rng(seed)
    length, k = int(rng.integers(1, 150)), 3
    cas = random_cas(rng, length, k) + 1e-4  # positive: the authors' denominator is a softmax
    vs = rng.uniform(0, 0.4, k)
    got = numpy_detect(cas, vs, temperature=0.2)
    ref = ref_detect(cas, vs, ref_config("official"))
    off = official_transcription(cas, vs)
    assert sorted(got) == [c for c in range(k) if vs[c] >= 0.16]
    for c, cols in got.items():
        sel = ref["label"] == c
        for name in ("start", "end", "score", "inner"):
            np.testing.assert_allclose(cols[name], ref[name][sel], **TOL, err_msg=name)
        np.testing.assert_allclose(np.stack([cols["start"], cols["end"], cols["score"]], 1)
                                   .reshape(-1, 3), off[c], **TOL)


def test_extract_long_video_matches_reference():
    # 20,000 snippets: exercises the reduceat sums (no cancellation) against exact means
    rng = np.random.default_rng(7)
    x = np.clip(0.02 + 0.03 * np.sin(np.linspace(0, 300, 20000)) + rng.normal(0, 0.002, 20000),
                0, None)
    got = numpy_extract(x)
    ref = ref_extract(x[:, None])
    for k, name in enumerate(("start", "end", "score", "inner")):
        np.testing.assert_allclose(got[k], ref[name], **TOL, err_msg=name)
