"""tadfuse's ``official`` preset reproduces the authors' released post-processing.

``official_transcription`` (tests/reference.py) restates the released GauFuse evaluation code
(per-class multi-threshold extraction + ``prediction_fuse_module``) with one deliberate change:
the pivot among tied scores is the lowest index instead of whatever numpy's quicksort returns.
Its fusion divides by ``sum(sign(w) * exp(w / T))``, which equals tadfuse's softmax only for
positive weights, so the activations here are positive. Results are compared per class as
``[start, end, score]`` rows sorted by score descending.
"""

from __future__ import annotations

import numpy as np
import pytest
import tadfuse
from reference import official_transcription

TOL = dict(rtol=1e-12, atol=1e-12)


def positive_cas(seed, length, k, style):
    rng = np.random.default_rng(seed)
    if style == "uniform":
        return rng.uniform(1e-6, 0.05, (length, k))
    if style == "spiky":  # background below the thresholds, sparse actions well above
        base = rng.uniform(1e-6, 0.01, (length, k))
        return base + (rng.uniform(0, 1, (length, k)) < 0.15) * rng.uniform(0, 0.5, (length, k))
    if style == "smooth":  # a softmax-times-attention-like TCAM
        t = np.linspace(0, rng.uniform(2, 30), length)[:, None]
        logits = 3 * np.sin(t + rng.uniform(0, 6, k)) + rng.normal(0, 0.3, (length, k))
        att = 1 / (1 + np.exp(-3 * np.sin(0.7 * t[:, 0] + 1)))[:, None]
        p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        return p * att * 0.2 + 1e-6
    raise ValueError(style)


def compare(got, theirs, vs, class_threshold, what):
    for c in range(len(vs)):
        sel = got.label == c
        if vs[c] < class_threshold:
            assert isinstance(theirs[c], list) and theirs[c] == []
            assert not sel.any(), f"{what}: class {c} below the class threshold has detections"
            continue
        t = theirs[c]
        assert t.shape == (int(sel.sum()), 3), f"{what}: class {c}: {int(sel.sum())} rows vs {t.shape}"
        ours = np.stack([got.start[sel], got.end[sel], got.score[sel]], axis=1)
        np.testing.assert_allclose(ours, t, **TOL, err_msg=f"{what}: class {c}")


@pytest.mark.parametrize("style", ["uniform", "spiky", "smooth"])
@pytest.mark.parametrize("seed", range(10))
def test_official_preset_equals_authors_pipeline(seed, style):
    rng = np.random.default_rng(1000 + seed)
    length = int(rng.integers(1, 300))
    k = 5
    cas = positive_cas(seed, length, k, style)
    vs = rng.uniform(0, 0.4, k)
    got = tadfuse.detect(cas, vs, tadfuse.PostprocessConfig.official())
    compare(got, official_transcription(cas, vs), vs, 0.16, f"seed={seed} style={style}")


@pytest.mark.parametrize("temperature", [1.0, 0.1, 0.02, 0.002])
def test_official_preset_other_temperatures(temperature):
    # the training-time temperatures (0.02 -> 0.002); inner means below 1.4 keep exp(w/T)
    # finite in the transcription (w/T < 709)
    for seed in range(4):
        rng = np.random.default_rng(seed)
        cas = positive_cas(seed, int(rng.integers(20, 200)), 3, "spiky")
        vs = np.full(3, 0.5)
        cfg = tadfuse.PostprocessConfig.official(temperature=temperature)
        got = tadfuse.detect(cas, vs, cfg)
        compare(got, official_transcription(cas, vs, temperature=temperature), vs, 0.16,
                f"T={temperature} seed={seed}")


def test_official_batch_equals_authors_pipeline():
    rng = np.random.default_rng(77)
    videos = [positive_cas(i, int(rng.integers(1, 250)), 4, ("uniform", "spiky", "smooth")[i % 3])
              for i in range(12)]
    scores = [rng.uniform(0, 0.4, 4) for _ in videos]
    out = tadfuse.detect_batch(videos, scores, tadfuse.PostprocessConfig.official(), num_threads=2)
    for i, (cas, vs) in enumerate(zip(videos, scores)):
        compare(out[i], official_transcription(cas, vs), vs, 0.16, f"video {i}")


def test_official_edge_video_ends():
    # runs touching both ends of the video: the inner mean loses its extra snippet at the end,
    # the right outer part is capped at l - 1
    cas = np.full((25, 2), 1e-4)
    cas[:7, 0] = 0.3
    cas[-19:, 0] = 0.2
    cas[3:24, 1] = np.linspace(0.01, 0.05, 21)
    vs = np.array([0.9, 0.9])
    got = tadfuse.detect(cas, vs)
    compare(got, official_transcription(cas, vs), vs, 0.16, "video ends")
