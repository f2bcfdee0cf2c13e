"""A THUMOS14-like LinPro workload for the benchmarks: 200 training videos with real durations,
1–3 classes each, fused instances from the official extraction + fusion pipeline.

Data: the 200 ``validation`` (= training) videos of the W-TALC Thumos14reduced annotations
(``duration.npy``, ``subset.npy``, ``labels.npy``, ``segments.npy``); length in snippets =
``int(duration · 25 / 16)``. Classes: the video's ground-truth classes (1 or 2 on THUMOS14) plus,
with probability 0.35, one spurious class (so 1–3 per video), as a partly trained model's
class-activation sequences produce them.

CAS: the instances need a class-activation sequence per processed class. Features are not part of
this repository, so the TCAM column is synthesised: a low noisy floor (≈ 0.002–0.01, below and
around the official thresholds 0.001…0.039) plus a smooth bump of height 0.03–0.25 on each
ground-truth segment (boundaries jittered by ±1.5 s, the segment split in two now and then), and
random bumps for a spurious class; smooth multiplicative noise inside the bumps makes the
activation dip and fragment as real TCAMs do.

Instances: the package's own pipeline, ``tadfuse.detect_batch`` with the official preset (20
thresholds, outer-inner contrast, coverage-overlap fusion) at the first refresh's training
temperature T = 0.02; the processed classes get video score 1, the others 0.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import tadfuse
from tadfuse.proposals import Proposals

ANNOTATIONS = Path(
    os.environ.get("TADFUSE_THUMOS_ANNOTATIONS", Path(__file__).resolve().parents[1] / "../shared/data/thumos14reduced-annotations")
)
NUM_CLASSES = 21  # 20 THUMOS14 classes + background
FUSE_TEMPERATURE = 0.02


@dataclasses.dataclass
class Workload:
    lengths: np.ndarray  # (200,) snippets
    fused: list[Proposals]  # per video, labels = class columns
    names: list[str]
    cas: list[np.ndarray]  # per video, (l, 21) float64: the TCAMs the instances come from
    video_scores: list[np.ndarray]  # per video, (21,)


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
    labels = np.load(d / "labels.npy", allow_pickle=True)
    segments = np.load(d / "segments.npy", allow_pickle=True)
    names = np.load(d / "videoname.npy", allow_pickle=True)
    classlist = [c.decode() if isinstance(c, bytes) else str(c) for c in np.load(d / "classlist.npy", allow_pickle=True)]
    train = [i for i, s in enumerate(subset) if s == b"validation"]
    cfg = tadfuse.PostprocessConfig.official(temperature=FUSE_TEMPERATURE)
    lengths, cas_list, score_list, vnames = [], [], [], []
    for i in train:
        l = int(float(np.ravel(duration[i])[0]) * 25 / 16)
        per_class: dict[int, list[tuple[float, float]]] = {}
        for lab, (a, b) in zip(labels[i], segments[i]):  # labels.npy runs parallel to segments
            per_class.setdefault(classlist.index(lab), []).append((a * 25 / 16, b * 25 / 16))
        if rng.random() < 0.35:  # a spurious class with random bumps
            extra = int(rng.choice([c for c in range(20) if c not in per_class]))
            k = int(rng.integers(1, 4))
            starts = rng.uniform(0, max(l - 10, 1), k)
            per_class[extra] = [(a, a + rng.uniform(4, 30)) for a in starts]
        cas = np.zeros((l, NUM_CLASSES))
        scores = np.zeros(NUM_CLASSES)
        for c, segs in sorted(per_class.items()):
            cas[:, c] = synth_cas(l, segs, rng)
            scores[c] = 1.0
        lengths.append(l)
        cas_list.append(cas)
        score_list.append(scores)
        vnames.append(names[i].decode() if isinstance(names[i], bytes) else str(names[i]))
    fused = [Proposals(p.label, p.start, p.end, p.score) for p in tadfuse.detect_batch(cas_list, score_list, cfg)]
    return Workload(np.array(lengths, dtype=np.int64), fused, vnames, cas_list, score_list)
