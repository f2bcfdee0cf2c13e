"""Benchmark workloads shared by `compare.py` and the pytest-benchmark suites.

`thumos14_like`: the 212 THUMOS14 test videos of the W-TALC annotation release, with their real
durations (snippets = seconds × 25/16) and real ground-truth segments planted as activation
bumps in 21-column TCAMs (`tadfuse.demo.tcam_from_segments`). `one_class_segments`: random
segments of one class for the fusion / NMS / soft-NMS kernels.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from tadfuse.demo import SyntheticVideo, tcam_from_segments

SNIPPETS_PER_SECOND = 25.0 / 16.0


def annotations_dir() -> Path:
    """The W-TALC Thumos14reduced annotation folder (``TADFUSE_SHARED`` or ``../shared``)."""
    root = Path(os.environ.get("TADFUSE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    path = root / "data" / "thumos14reduced-annotations"
    if not (path / "duration.npy").exists():
        raise FileNotFoundError(f"THUMOS14 annotations not found at {path} (set TADFUSE_SHARED)")
    return path


def thumos14_like(seed: int = 0, num_classes: int = 21) -> list[SyntheticVideo]:
    """The 212 test videos: real lengths and GT segments, generated activations."""
    ann = annotations_dir()
    load = lambda name: np.load(ann / name, allow_pickle=True)
    subset, duration = load("subset.npy"), load("duration.npy").ravel()
    segments, labels = load("segments.npy"), load("labels.npy")
    classes = [c.decode() for c in load("classlist.npy")]
    rng = np.random.default_rng(seed)
    videos = []
    for i in np.flatnonzero(subset == b"test"):
        length = max(1, int(round(duration[i] * SNIPPETS_PER_SECOND)))
        seg = np.asarray(segments[i], dtype=float).reshape(-1, 2) * SNIPPETS_PER_SECOND
        lab = np.array([classes.index(str(c)) for c in labels[i]], dtype=np.int64)
        videos.append(tcam_from_segments(length, num_classes, lab, np.floor(seg[:, 0]), np.ceil(seg[:, 1]), rng))
    return videos


def one_class_segments(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` segments of one class, ~10 per 100 snippets, lengths 2–100, THUMOS-like scores."""
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
