"""The workloads of ``tadfuse bench``, generated over the real THUMOS14 annotations shipped with
tadfuse (`tadfuse.data.thumos14_annotation_dir`, the W-TALC Thumos14reduced release).

* `thumos14_test_like`: the 212 ``test`` videos with their real durations (snippets = seconds ×
  25/16, rounded) and their real ground-truth segments planted as activation bumps in 21-column
  TCAMs (`tadfuse.demo.tcam_from_segments`): the post-processing workload.
* `thumos14_train_like`: the 200 ``validation`` (= training) videos, length ``int(duration ·
  25/16)``, 1–3 classes each, with fused instances from the official pipeline at the first
  refresh's temperature: the LinPro workload (details in its docstring).
* `one_class_segments`: random segments of one class for the fusion / NMS / soft-NMS kernels.

Each is deterministic for a seed; ``videos=n`` takes the first ``n`` videos of the full workload,
identical to them (the random draws are made video by video, in order).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tadfuse._checks import integer
from tadfuse.proposals import Proposals

if TYPE_CHECKING:
    from tadfuse.demo import SyntheticVideo

__all__ = [
    "FUSE_TEMPERATURE",
    "NUM_CLASSES",
    "SNIPPETS_PER_SECOND",
    "TrainingWorkload",
    "dense_cas",
    "one_class_segments",
    "synth_cas",
    "thumos14_dense_like",
    "thumos14_test_like",
    "thumos14_train_like",
]

SNIPPETS_PER_SECOND = 25.0 / 16.0
NUM_CLASSES = 21  # 20 THUMOS14 classes + background
#: The fusion temperature of the first pseudo-label refresh (the LinPro workload's instances).
FUSE_TEMPERATURE = 0.02


def _annotations(folder: str | Path | None) -> Path:
    if folder is None:
        from tadfuse.data import thumos14_annotation_dir

        return thumos14_annotation_dir()
    return Path(folder)


def _count(videos: int | None, available: int) -> int:
    return available if videos is None else integer("videos", videos, lo=1, hi=available)


def _text(x: object) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def thumos14_test_like(seed: int = 0, videos: int | None = None, *, folder: str | Path | None = None) -> list[SyntheticVideo]:
    """The ``test`` videos (212, or the first ``videos``): a list of `tadfuse.demo.SyntheticVideo`
    with ``cas`` of shape ``(l, 21)`` float64 and ``video_scores`` ``(21,)``; ``folder``: a W-TALC
    annotation folder (default: the one shipped with tadfuse)."""
    from tadfuse.demo import tcam_from_segments

    ann = _annotations(folder)
    load = lambda name: np.load(ann / name, allow_pickle=True)
    subset, duration = load("subset.npy"), load("duration.npy").ravel()
    segments, labels = load("segments.npy"), load("labels.npy")
    classes = [_text(c) for c in load("classlist.npy")]
    test = np.flatnonzero(subset == b"test")
    rng = np.random.default_rng(seed)
    out = []
    for i in test[: _count(videos, test.size)]:
        length = max(1, int(round(duration[i] * SNIPPETS_PER_SECOND)))
        seg = np.asarray(segments[i], dtype=float).reshape(-1, 2) * SNIPPETS_PER_SECOND
        lab = np.array([classes.index(str(c)) for c in labels[i]], dtype=np.int64)
        out.append(tcam_from_segments(length, NUM_CLASSES, lab, np.floor(seg[:, 0]), np.ceil(seg[:, 1]), rng))
    return out


def one_class_segments(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` segments of one class, ~10 per 100 snippets, lengths 2–100, THUMOS-like scores:
    the columns of a `tadfuse.Proposals` (``label``, ``start``, ``end``, ``score``, ``inner``)."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, 10.0 * n, n).round()
    length = rng.integers(2, 101, n).astype(float)
    inner = rng.uniform(0.005, 0.15, n)
    return {
        "label": np.zeros(n, np.int64),
        "start": start,
        "end": start + length,
        "score": inner - rng.uniform(0.0, 0.005, n),
        "inner": inner,
    }


# --------------------------------------------------------------------------------------------
# The LinPro workload


@dataclasses.dataclass
class TrainingWorkload:
    """The LinPro workload: per video its length, fused instances and the TCAMs they come from."""

    lengths: np.ndarray  # (V,) int64, snippets
    fused: list[Proposals]  # per video; label = class column, no inner
    names: list[str]
    cas: list[np.ndarray]  # per video, (l, 21) float64
    video_scores: list[np.ndarray]  # per video, (21,): 1 for the processed classes, else 0


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
    """One TCAM column of ``l`` snippets: a noisy floor (≈ 0.002–0.01, around the official
    thresholds 0.001…0.039) plus a textured bump of height 0.03–0.25 on each segment (snippets,
    boundaries jittered by ±1.5 s, a long one split in two now and then)."""
    x = 0.002 + 0.006 * np.abs(_smooth_noise(l, 7, rng))
    jitter = 1.5 * SNIPPETS_PER_SECOND
    for a, b in segments_snip:
        a2, b2 = a + rng.uniform(-jitter, jitter), b + rng.uniform(-jitter, jitter)
        h = rng.uniform(0.03, 0.25)
        if b2 - a2 > 12 and rng.random() < 0.3:  # a dip splits the segment
            m = rng.uniform(a2 + 4, b2 - 4)
            x += _bump(l, a2, m - 1, h, rng) + _bump(l, m + 1, b2, h * rng.uniform(0.5, 1.2), rng)
        else:
            x += _bump(l, a2, b2, h, rng)
    return x


def thumos14_train_like(seed: int = 0, videos: int | None = None, *,
                        folder: str | Path | None = None) -> TrainingWorkload:
    """The 200 training videos (or the first ``videos``) as a partly trained model's pseudo-label
    refresh sees them.

    Classes: the video's ground-truth classes (1 or 2 on THUMOS14) plus, with probability 0.35,
    one spurious class with 1–3 random bumps (so 1–3 per video). TCAM columns: `synth_cas` of the
    class's segments; the other columns are 0. Instances: `tadfuse.detect_batch` with the
    official preset (20 thresholds, outer-inner contrast, coverage fusion) at T =
    `FUSE_TEMPERATURE`; the processed classes have video score 1, the others 0.
    """
    from tadfuse.config import PostprocessConfig
    from tadfuse.postprocess import detect_batch

    d = _annotations(folder)
    load = lambda name: np.load(d / name, allow_pickle=True)
    subset, duration, labels, segments, names = (load(f"{n}.npy") for n in
                                                  ("subset", "duration", "labels", "segments", "videoname"))
    classlist = [_text(c) for c in load("classlist.npy")]
    train = [i for i, s in enumerate(subset) if s == b"validation"]
    rng = np.random.default_rng(seed)
    lengths, cas_list, score_list, vnames = [], [], [], []
    for i in train[: _count(videos, len(train))]:
        l = int(float(np.ravel(duration[i])[0]) * SNIPPETS_PER_SECOND)
        per_class: dict[int, list[tuple[float, float]]] = {}
        for lab, (a, b) in zip(labels[i], segments[i]):  # labels.npy runs parallel to segments
            per_class.setdefault(classlist.index(lab), []).append((a * SNIPPETS_PER_SECOND, b * SNIPPETS_PER_SECOND))
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
        vnames.append(_text(names[i]))
    cfg = PostprocessConfig.official(temperature=FUSE_TEMPERATURE)
    fused = [Proposals(p.label, p.start, p.end, p.score) for p in detect_batch(cas_list, score_list, cfg)]
    return TrainingWorkload(np.array(lengths, dtype=np.int64), fused, vnames, cas_list, score_list)


# --------------------------------------------------------------------------------------------
# The dense LinPro workload (issue 10: LinPro at corpus scale)
#
# CAS (per processed class): a floor of about 0.0003–0.003 (below most official thresholds
# 0.001…0.039) plus bumps placed one after the other, gaps exponential with mean 12 snippets,
# widths uniform in 4–50 snippets, heights uniform in 0.01–0.1, each multiplied by a rough
# texture (``1 + 1.2·z`` clipped at 0.05, ``z`` zero-mean noise correlated over 2 snippets) that
# makes the activation fragment at many thresholds. The classes of a video are drawn at random;
# there is no ground truth (only the instances matter for LinPro).
#
# Instances: ``tadfuse.detect_batch`` with the official preset at T = 0.02, the processed classes
# with video score 1. Deterministic in the seed.

GAP = 12.0  # mean gap between bumps, snippets
WIDTH = (4.0, 50.0)  # bump width range, snippets
HEIGHT = (0.01, 0.1)
TEXTURE = 1.2  # relative amplitude of the texture
TEXTURE_WIDTH = 2  # its correlation length, snippets


def _textured_bump(l: int, a: float, b: float, height: float, rng: np.random.Generator) -> np.ndarray:
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
        x += _textured_bump(l, pos, pos + w, rng.uniform(*HEIGHT), rng)
        pos += w


def thumos14_dense_like(seed: int = 0, videos: int | None = None, *,
                        folder: str | Path | None = None) -> TrainingWorkload:
    """The dense LinPro workload: the 200 THUMOS14 training videos (or the first ``videos``)
    with their real durations, 1–3 random classes each, TCAM columns of many textured activity
    bumps (`dense_cas`), so that fusion at T = 0.02 leaves about 29 fused instances per
    (video, class) — the density met at a refresh of a partly trained model, where
    `thumos14_train_like` has about 8. No ground truth: only the instances matter for LinPro.
    Instances: `tadfuse.detect_batch`, official preset at `FUSE_TEMPERATURE`, the processed
    classes with video score 1. Deterministic in the seed."""
    from tadfuse.config import PostprocessConfig
    from tadfuse.postprocess import detect_batch

    ann = _annotations(folder)
    subset = np.load(ann / "subset.npy", allow_pickle=True)
    duration = np.load(ann / "duration.npy", allow_pickle=True)
    names = np.load(ann / "videoname.npy", allow_pickle=True)
    rng = np.random.default_rng(seed)
    train = [i for i, s in enumerate(subset) if _text(s) == "validation"]
    lengths, cas_list, score_list, vnames = [], [], [], []
    for i in train[: _count(videos, len(train))]:
        l = int(float(np.ravel(duration[i])[0]) * SNIPPETS_PER_SECOND)
        cas = np.zeros((l, NUM_CLASSES))
        scores = np.zeros(NUM_CLASSES)
        for c in sorted(rng.choice(NUM_CLASSES - 1, int(rng.integers(1, 4)), replace=False).tolist()):
            cas[:, c] = dense_cas(l, rng)
            scores[c] = 1.0
        lengths.append(l)
        cas_list.append(cas)
        score_list.append(scores)
        vnames.append(_text(names[i]))
    cfg = PostprocessConfig.official(temperature=FUSE_TEMPERATURE)
    fused = [Proposals(p.label, p.start, p.end, p.score) for p in detect_batch(cas_list, score_list, cfg)]
    return TrainingWorkload(np.array(lengths, dtype=np.int64), fused, vnames, cas_list, score_list)
