"""A THUMOS14-like LinPro workload for the benchmarks: 200 training videos with real durations,
1–3 classes each, fused instances from the official extraction + fusion pipeline.

Data: the 200 ``validation`` (= training) videos of the W-TALC Thumos14reduced annotations
(``duration.npy``, ``subset.npy``, ``labels_all.npy``, ``segments.npy``); length in snippets =
``int(duration · 25 / 16)``. Classes: the video's ground-truth classes (1 or 2 on THUMOS14) plus,
with probability 0.35, one spurious class (so 1–3 per video), as a partly trained model's
class-activation sequences produce them.

CAS: the instances need a class-activation sequence per processed class. Features are not part of
this repository, so the TCAM column is synthesised: a low noisy floor (≈ 0.002–0.01, below and
around the official thresholds 0.001…0.039) plus a smooth bump of height 0.03–0.25 on each
ground-truth segment (boundaries jittered by ±1.5 s, the segment split in two now and then), and
random bumps for a spurious class; smooth multiplicative noise inside the bumps makes the
activation dip and fragment as real TCAMs do.

Instances: official proposal extraction (DESIGN §3.1: 20 thresholds, runs of ``x > θ`` of length
≥ 2, inner over ``[s, e]``, outer contrast with ``pad = 0.0785 n^0.9``, end ``e + 1``) and official
fusion (DESIGN §3.2: coverage overlap > 0.25, softmax of the inner activation at the first
refresh's temperature T = 0.02) in plain numpy, written here because the package's Rust
``detect`` is not on this branch yet. Once ``tadfuse.detect`` is available this module can call it
instead; the numbers in benches/RESULTS_linpro.md were produced with this numpy pipeline.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from tadfuse.proposals import Proposals

ANNOTATIONS = Path(
    os.environ.get("TADFUSE_THUMOS_ANNOTATIONS", Path(__file__).resolve().parents[1] / "../shared/data/thumos14reduced-annotations")
)
NUM_CLASSES = 21  # 20 THUMOS14 classes + background
THRESHOLDS = np.arange(0.001, 0.04, 0.002)
FUSE_THRESHOLD = 0.25
FUSE_TEMPERATURE = 0.02


@dataclasses.dataclass
class Workload:
    lengths: np.ndarray  # (200,) snippets
    fused: list[Proposals]  # per video, labels = class columns
    names: list[str]


def extract_official(x: np.ndarray) -> np.ndarray:
    """Official multi-threshold proposals of one CAS column: rows ``[start, end, score, inner]``."""
    l = x.shape[0]
    csum = np.concatenate([[0.0], np.cumsum(x)])
    out = []
    for theta in THRESHOLDS:
        mask = np.concatenate([[0], (x > theta).astype(np.int8), [0]])
        d = np.diff(mask)
        starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        for s, e in zip(starts.tolist(), ends.tolist()):
            n = e - s
            if n < 2:
                continue
            hi = min(e + 1, l)
            inner = (csum[hi] - csum[s]) / (hi - s)
            pad = 0.0785 * n**0.9
            lo_s, lo_e = max(0, int(s - pad)), s
            ro_s, ro_e = e + 1, min(l - 1, int(e + pad + 1))
            cnt = (lo_e - lo_s) + max(0, ro_e - ro_s)
            tot = (csum[lo_e] - csum[lo_s]) + (csum[ro_e] - csum[ro_s] if ro_e > ro_s else 0.0)
            outer = tot / cnt if cnt else 0.0
            out.append((s, e + 1, inner - outer, inner))
    return np.array(out, dtype=np.float64).reshape(-1, 4)


def fuse_official(p: np.ndarray, threshold: float = FUSE_THRESHOLD, temperature: float = FUSE_TEMPERATURE) -> np.ndarray:
    """Official Gaussian weighted fusion: rows ``[start, end, score]``, by fused score descending."""
    s, e, score, inner = p.T
    remaining = np.argsort(-score, kind="stable")
    fused = []
    while remaining.size:
        i = remaining[0]
        cand = remaining[1:]
        inter = np.maximum(0.0, np.minimum(e[i], e[cand]) - np.maximum(s[i], s[cand]) + 1)
        overlap = inter / (e[cand] - s[cand] + 1)
        group = np.concatenate([[i], cand[overlap > threshold]])
        w = np.exp((inner[group] - inner[group].max()) / temperature)
        w /= w.sum()
        fused.append((w @ s[group], w @ e[group], w @ score[group]))
        remaining = cand[overlap <= threshold]
    f = np.array(fused).reshape(-1, 3)
    return f[np.argsort(-f[:, 2], kind="stable")]


def _smooth_noise(l: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-scale noise correlated over about ``width`` snippets."""
    k = np.hanning(width + 2)[1:-1]
    z = np.convolve(rng.standard_normal(l + width - 1), k / np.sqrt((k**2).sum()), "valid")
    return z[:l]


def _bump(l: int, a: float, b: float, height: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(l) + 0.5
    edge = rng.uniform(0.8, 3.0)
    rise = 1 / (1 + np.exp(np.clip(-(t - a) / edge, -50, 50)))
    fall = 1 / (1 + np.exp(np.clip((t - b) / edge, -50, 50)))
    texture = (1 + 0.45 * _smooth_noise(l, 5, rng)).clip(0.05)  # activation dips inside actions
    return height * rise * fall * texture


def synth_cas(l: int, segments_snip: list[tuple[float, float]], rng: np.random.Generator) -> np.ndarray:
    x = 0.002 + 0.006 * np.abs(_smooth_noise(l, 7, rng))
    jitter = 1.5 * 25 / 16
    for a, b in segments_snip:
        a2, b2 = a + rng.uniform(-jitter, jitter), b + rng.uniform(-jitter, jitter)
        h = rng.uniform(0.03, 0.25)
        if b2 - a2 > 12 and rng.random() < 0.3:  # a dip splits the segment
            m = rng.uniform(a2 + 4, b2 - 4)
            x += _bump(l, a2, m - 1, h, rng) + _bump(l, m + 1, b2, h * rng.uniform(0.5, 1.2), rng)
        else:
            x += _bump(l, a2, b2, h, rng)
    return x


def load(seed: int = 0) -> Workload:
    """The 200-video workload (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    d = ANNOTATIONS
    subset = np.load(d / "subset.npy", allow_pickle=True)
    duration = np.load(d / "duration.npy", allow_pickle=True)
    labels_all = np.load(d / "labels_all.npy", allow_pickle=True)
    segments = np.load(d / "segments.npy", allow_pickle=True)
    names = np.load(d / "videoname.npy", allow_pickle=True)
    classlist = [c.decode() if isinstance(c, bytes) else str(c) for c in np.load(d / "classlist.npy", allow_pickle=True)]
    train = [i for i, s in enumerate(subset) if s == b"validation"]
    lengths, fused, vnames = [], [], []
    for i in train:
        l = int(float(np.ravel(duration[i])[0]) * 25 / 16)
        per_class: dict[int, list[tuple[float, float]]] = {}
        for lab, (a, b) in zip(labels_all[i], segments[i]):
            per_class.setdefault(classlist.index(lab), []).append((a * 25 / 16, b * 25 / 16))
        if rng.random() < 0.35:  # a spurious class with random bumps
            extra = int(rng.choice([c for c in range(20) if c not in per_class]))
            k = int(rng.integers(1, 4))
            starts = rng.uniform(0, max(l - 10, 1), k)
            per_class[extra] = [(a, a + rng.uniform(4, 30)) for a in starts]
        parts = []
        for c, segs in sorted(per_class.items()):
            f = fuse_official(extract_official(synth_cas(l, segs, rng)))
            parts.append(Proposals(np.full(len(f), c), f[:, 0], f[:, 1], f[:, 2]))
        lengths.append(l)
        fused.append(Proposals.concat(parts))
        vnames.append(names[i].decode() if isinstance(names[i], bytes) else str(names[i]))
    return Workload(np.array(lengths, dtype=np.int64), fused, vnames)
