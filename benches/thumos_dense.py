"""A dense THUMOS14-like LinPro workload: the 200 training videos of `thumos_like.py` (real
durations), 1–3 classes each, but TCAM columns with many activity bumps, so that fusion at
T = 0.02 leaves about 29 fused instances per (video, class) — the density met at a refresh of a
partly trained model, where the sparse workload of `thumos_like.py` has about 8.

CAS (per processed class): a floor of about 0.0003–0.003 (below most official thresholds
0.001…0.039) plus bumps placed one after the other, gaps exponential with mean 12 snippets,
widths uniform in 4–50 snippets, heights uniform in 0.01–0.1, each multiplied by a rough
texture (``1 + 1.2·z`` clipped at 0.05, ``z`` zero-mean noise correlated over 2 snippets) that
makes the activation fragment at many thresholds. The classes of a video are drawn at random;
there is no ground truth (only the instances matter for LinPro).

Instances: ``tadfuse.detect_batch`` with the official preset at T = 0.02, the processed classes
with video score 1. Deterministic in the seed.
"""

from __future__ import annotations

import numpy as np
import tadfuse
import thumos_like
from tadfuse.proposals import Proposals
from thumos_like import NUM_CLASSES, Workload, _smooth_noise

GAP = 12.0  # mean gap between bumps, snippets
WIDTH = (4.0, 50.0)  # bump width range, snippets
HEIGHT = (0.01, 0.1)
TEXTURE = 1.2  # relative amplitude of the texture
TEXTURE_WIDTH = 2  # its correlation length, snippets


def _bump(l: int, a: float, b: float, height: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(l) + 0.5
    edge = rng.uniform(0.8, 3.0)
    rise = 1 / (1 + np.exp(np.clip(-(t - a) / edge, -50, 50)))
    fall = 1 / (1 + np.exp(np.clip((t - b) / edge, -50, 50)))
    texture = (1 + TEXTURE * _smooth_noise(l, TEXTURE_WIDTH, rng)).clip(0.05)
    return height * rise * fall * texture


def dense_cas(l: int, rng: np.random.Generator) -> np.ndarray:
    """One class column of ``l`` snippets (module docs)."""
    x = 0.001 * (0.3 + np.abs(_smooth_noise(l, 7, rng)))
    pos = 0.0
    while True:
        pos += rng.exponential(GAP)
        if pos >= l:
            return x
        w = rng.uniform(*WIDTH)
        x += _bump(l, pos, pos + w, rng.uniform(*HEIGHT), rng)
        pos += w


def load(seed: int = 0) -> Workload:
    """The dense 200-video workload (deterministic for a seed)."""
    d = thumos_like.ANNOTATIONS
    subset = np.load(d / "subset.npy", allow_pickle=True)
    duration = np.load(d / "duration.npy", allow_pickle=True)
    names = np.load(d / "videoname.npy", allow_pickle=True)
    rng = np.random.default_rng(seed)
    lengths, cas_list, score_list, vnames = [], [], [], []
    for i in (i for i, s in enumerate(subset) if s == b"validation"):
        l = int(float(np.ravel(duration[i])[0]) * 25 / 16)
        cas = np.zeros((l, NUM_CLASSES))
        scores = np.zeros(NUM_CLASSES)
        for c in sorted(rng.choice(NUM_CLASSES - 1, int(rng.integers(1, 4)), replace=False).tolist()):
            cas[:, c] = dense_cas(l, rng)
            scores[c] = 1.0
        lengths.append(l)
        cas_list.append(cas)
        score_list.append(scores)
        vnames.append(names[i].decode() if isinstance(names[i], bytes) else str(names[i]))
    cfg = tadfuse.PostprocessConfig.official(temperature=thumos_like.FUSE_TEMPERATURE)
    fused = [Proposals(p.label, p.start, p.end, p.score) for p in tadfuse.detect_batch(cas_list, score_list, cfg)]
    return Workload(np.array(lengths, dtype=np.int64), fused, vnames, cas_list, score_list)
