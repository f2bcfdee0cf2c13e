"""Synthetic datasets in the W-TALC layout (or per-video folders), with planted ground truth.

Two kinds:

``toy``
    A few dozen short videos, a handful of classes, small features: written in well under a
    second, for demos and tests.
``thumos14-structured``
    The real THUMOS14 structure: the 412 videos of the W-TALC ``Thumos14reduced`` release with
    their durations, splits (200 ``validation`` = train, 212 ``test``), classes, ground-truth
    segments, weak labels and ambiguous list (shipped with tadfuse, see
    `tadfuse.data.thumos14_annotation_dir`), with synthetic features (2048-d by default). The
    annotation files are written as released, quirks included (`THUMOS14_QUIRKS`).
``anet-structured``
    The statistical structure of ActivityNet 1.3 (`make_anet_structured`): 200 classes, one class
    per video, few long instances (1.54 per video, covering 65 % of their video on average),
    durations from seconds to minutes (mean ≈ 2 min), the ``training`` / ``validation`` /
    ``testing`` splits with the testing labels withheld, 0.64 s snippets; ``num_videos`` videos
    (400 by default) drawn from the measured tables of `tadfuse.data.activitynet_stats`.

The ground truth written is exactly what was planted, so the evaluator scores against it.

Feature model (`FeatureModel`), per video of T snippets of ``snippet_seconds`` (0.64 s):

* a latent process ``z_t ∈ R^r`` (r = ``latent_dim``) is embedded as ``x_t = z_t B + ε_t``, with
  ``B`` a fixed random (r × D) Gaussian matrix with entries N(0, 1/r) and ``ε_t`` i.i.d.
  N(0, ``observation_noise``²) per dimension — so the difficulty does not change with D;
* ``z_t = scene + noise_t + Σ_instances (action + context)``:

  - *background*: a per-video scene vector (norm ``scene_strength``, random direction);
  - *noise*: AR(1) in time (coefficient ``temporal_smoothing``, like the smooth I3D features),
    stationary, of expected norm ``latent_noise``;
  - *class evidence inside actions*: for an instance of class c over [s, e] seconds, snippet t
    gets ``gain · coverage_t · p`` where ``coverage_t`` is the fraction of the snippet inside
    [s, e] (so boundaries are sub-snippet accurate), ``gain`` ~ U(``gain_range``) ×
    ``action_strength`` per instance, and ``p`` the unit class prototype ``u_c`` perturbed by
    ``instance_variation`` (intra-class variation);
  - *class-correlated context just outside actions*: within ``min(context_extent · (e − s),
    context_max_seconds)`` seconds before and after the instance, ``context_strength · gain · w_t
    · k_c`` with ``w_t`` decaying linearly from 1 at the boundary to 0, and ``k_c`` a unit context
    prototype with cosine ``context_correlation`` to ``u_c`` — the context confusion that makes
    weakly supervised localisation hard (a classifier trained on video labels also fires on it);
  - *ambiguous intervals* (the ``Ambiguous_test.txt`` list) get weak evidence
    (``ambiguous_strength``) of one of the video's classes.

Features are not non-negative, unlike real post-ReLU I3D features. Everything is deterministic
in ``seed``: each video has its own random stream (``SeedSequence.spawn``), so a video's
features do not depend on which other videos are generated.
"""

from __future__ import annotations

import math
import numbers
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal, Union

import numpy as np
from tqdm import tqdm

from tadfuse import _checks
from tadfuse.annotations import GroundTruth, write_activitynet_ground_truth
from tadfuse.data import activitynet_stats as anet
from tadfuse.data._base import DataFormatError, default_subsets
from tadfuse.data.folders import warn_dropped_ambiguous, write_folders
from tadfuse.data.wtalc import load_wtalc, thumos14_annotation_dir, write_wtalc
from tadfuse.errors import InvalidArgumentError, InvalidTypeError
from tadfuse.proposals import SNIPPET_SECONDS

__all__ = ["ANET_WITHHELD_FILE", "SYNTH_KINDS", "FeatureModel", "make_anet_structured", "make_thumos14_structured",
           "make_toy", "synthesize"]

PathLike = Union[str, "os.PathLike[str]"]

#: The generator names accepted by `synthesize` and ``tadfuse data synth --kind``.
SYNTH_KINDS = ("toy", "thumos14-structured", "anet-structured")


@dataclass(frozen=True)
class FeatureModel:
    """Parameters of the synthetic feature model (see the module docstring). Norms are in
    latent units: a unit-gain action adds a unit vector."""

    feature_dim: int = 2048
    latent_dim: int = 64
    action_strength: float = 1.0
    gain_range: tuple[float, float] = (0.5, 1.5)
    instance_variation: float = 0.5
    context_strength: float = 0.6
    context_correlation: float = 0.7
    context_extent: float = 0.5
    context_max_seconds: float = 6.0
    scene_strength: float = 1.0
    latent_noise: float = 1.5
    temporal_smoothing: float = 0.7
    observation_noise: float = 0.1
    ambiguous_strength: float = 0.5

    def __post_init__(self) -> None:
        if self.feature_dim < 1 or self.latent_dim < 1:
            raise ValueError(f"FeatureModel: feature_dim and latent_dim must be >= 1, got {self.feature_dim}, {self.latent_dim}")
        if not 0 <= self.temporal_smoothing < 1:
            raise ValueError(f"FeatureModel: temporal_smoothing must be in [0, 1), got {self.temporal_smoothing}")
        if not -1 <= self.context_correlation <= 1:
            raise ValueError(f"FeatureModel: context_correlation must be in [-1, 1], got {self.context_correlation}")
        lo, hi = self.gain_range
        if not 0 <= lo <= hi:
            raise ValueError(f"FeatureModel: gain_range must satisfy 0 <= low <= high, got {self.gain_range}")
        for name in ("action_strength", "instance_variation", "context_strength", "context_extent",
                     "context_max_seconds", "scene_strength", "latent_noise", "observation_noise",
                     "ambiguous_strength"):
            if getattr(self, name) < 0:
                raise ValueError(f"FeatureModel: {name} must be >= 0, got {getattr(self, name)}")


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


class _World:
    """Class prototypes, context prototypes and the embedding, shared by all videos."""

    def __init__(self, model: FeatureModel, num_classes: int, rng: np.random.Generator) -> None:
        r = min(model.latent_dim, model.feature_dim)
        self.r = r
        self.u = _unit(rng.standard_normal((num_classes, r)))
        w = rng.standard_normal((num_classes, r))
        w = _unit(w - np.sum(w * self.u, axis=1, keepdims=True) * self.u)  # ⟂ u_c
        rho = model.context_correlation
        self.k = rho * self.u + math.sqrt(max(0.0, 1 - rho * rho)) * w
        self.embed = rng.standard_normal((r, model.feature_dim)) / math.sqrt(r)


@dataclass
class _Plan:
    """Everything but the features; ``instances[i]`` = [(class, start_s, end_s), ...]."""

    names: list[str]
    subsets: list[str]
    class_names: list[str]
    durations: np.ndarray
    instances: list[list[tuple[int, float, float]]]
    video_labels: list[list[str]]
    ambiguous: list[tuple[str, float, float]]
    original_fps: np.ndarray
    #: Subsets whose planted segments are in the features but not in the dataset's ground truth.
    withheld: frozenset[str] = frozenset()

    def ground_truth(self, snippet_seconds: float, *, withheld: bool = False) -> GroundTruth:
        """The planted segments as a `GroundTruth` (all videos); those of the ``withheld``
        subsets are left out unless ``withheld``."""
        vindex = {v: k for k, v in enumerate(self.names)}
        rows = [(i, c, s, e) for i, inst in enumerate(self.instances) for c, s, e in inst
                if withheld or self.subsets[i] not in self.withheld]
        return GroundTruth(
            videos=tuple(self.names), subsets=tuple(self.subsets), class_names=tuple(self.class_names),
            video=[r[0] for r in rows], label=[r[1] for r in rows], start=[r[2] for r in rows],
            end=[r[3] for r in rows], durations=self.durations, snippet_seconds=snippet_seconds,
            ambiguous_video=[vindex[v] for v, _, _ in self.ambiguous],
            ambiguous_start=[s for _, s, _ in self.ambiguous], ambiguous_end=[e for _, _, e in self.ambiguous],
        )


def _video_features(world: _World, model: FeatureModel, plan: _Plan, i: int, T: int,
                    ss: float, rng: np.random.Generator) -> np.ndarray:
    r = world.r
    phi = model.temporal_smoothing
    eps = rng.standard_normal((T, r)) * (model.latent_noise / math.sqrt(r))
    eps[0] /= math.sqrt(1 - phi * phi)  # start in the stationary distribution
    from scipy.signal import lfilter  # deferred: scipy.signal costs ~0.7 s to import

    z = lfilter([math.sqrt(1 - phi * phi)], [1.0, -phi], eps, axis=0)
    z += model.scene_strength * _unit(rng.standard_normal(r))
    t0 = np.arange(T) * ss
    t1 = t0 + ss
    mid = t0 + ss / 2
    lo, hi = model.gain_range
    for c, s, e in plan.instances[i]:
        gain = model.action_strength * rng.uniform(lo, hi)
        proto = _unit(world.u[c] + model.instance_variation * _unit(rng.standard_normal(r)))
        cov = np.clip(np.minimum(t1, e) - np.maximum(t0, s), 0.0, None) / ss
        inside = np.flatnonzero(cov > 0)
        z[inside] += gain * cov[inside, None] * proto
        m = min(model.context_extent * (e - s), model.context_max_seconds)
        if m > 0 and model.context_strength > 0:
            w = np.zeros(T)
            before = (mid < s) & (mid >= s - m)
            after = (mid >= e) & (mid < e + m)
            w[before] = 1 - (s - mid[before]) / m
            w[after] = 1 - (mid[after] - e) / m
            near = np.flatnonzero(w > 0)
            z[near] += model.context_strength * gain * w[near, None] * world.k[c]
    name = plan.names[i]
    classes = sorted({c for c, _, _ in plan.instances[i]})
    if classes and model.ambiguous_strength > 0:
        for vid, s, e in plan.ambiguous:
            if vid != name:
                continue
            c = classes[int(rng.integers(len(classes)))]
            cov = np.clip(np.minimum(t1, e) - np.maximum(t0, s), 0.0, None) / ss
            inside = np.flatnonzero(cov > 0)
            z[inside] += model.ambiguous_strength * cov[inside, None] * world.u[c]
    x = (z @ world.embed).astype(np.float32)
    if model.observation_noise > 0:
        x += model.observation_noise * rng.standard_normal(x.shape, dtype=np.float32)
    return x


def _write(plan: _Plan, out_dir: PathLike, *, model: FeatureModel, seed: int, name: str,
           layout: Literal["flat", "annotations-subfolder"], format: Literal["wtalc", "folders"],
           snippet_seconds: float, overwrite: bool, settings: dict[str, object] | None = None,
           wtalc_provenance: bool = False) -> Path:
    """Write ``plan`` with synthetic features in ``format``. The per-video folders always record
    the provenance (name, seed, ``settings``, feature model); a W-TALC bundle only with
    ``wtalc_provenance`` (in ``tadfuse_timebase.json``), so that the THUMOS14 and toy bundles keep
    the released file set."""
    n_v = len(plan.names)
    root = np.random.SeedSequence(seed)
    world_seq, video_seq = root.spawn(2)
    world = _World(model, len(plan.class_names), np.random.default_rng(world_seq))
    seqs = video_seq.spawn(n_v)
    lengths = [max(1, int(math.floor(d / snippet_seconds + 1e-9))) for d in plan.durations]

    def feats(i: int) -> np.ndarray:
        return _video_features(world, model, plan, i, lengths[i], snippet_seconds, np.random.default_rng(seqs[i]))

    shown = [[] if plan.subsets[i] in plan.withheld else inst for i, inst in enumerate(plan.instances)]
    segs = [[[s, e] for _, s, e in inst] for inst in shown]
    labs = [[plan.class_names[c] for c, _, _ in inst] for inst in shown]
    provenance = {"inputs": {"synthetic": name, "seed": seed, **(settings or {}), "feature_model": asdict(model)}}
    # A progress bar on a terminal (thumos14-structured at 2048-d takes ~10 s); silent otherwise.
    videos = tqdm(range(n_v), desc=f"generating {name}", unit="video", disable=None, leave=False)
    if format == "wtalc":
        return write_wtalc(
            out_dir, name=name, videos=plan.names, subsets=plan.subsets, class_names=plan.class_names,
            durations=plan.durations, segments=segs, segment_labels=labs, video_labels=plan.video_labels,
            features=[feats(i) for i in videos], ambiguous=plan.ambiguous,
            original_fps=plan.original_fps, snippet_seconds=snippet_seconds, layout=layout,
            overwrite=overwrite, provenance=provenance if wtalc_provenance else None,
        )
    if format == "folders":
        train, test = default_subsets(plan.subsets)
        return write_folders(
            out_dir, ground_truth=plan.ground_truth(snippet_seconds), video_labels=plan.video_labels,
            features=(feats(i) for i in videos), train_subset=train, test_subset=test,
            fps=plan.original_fps, extra={"synthetic": name, "seed": seed}, overwrite=overwrite,
            provenance=provenance,
        )
    raise ValueError(f"format must be 'wtalc' or 'folders', got {format!r}")


def _floor1(x: float) -> float:
    """``x`` rounded down to 0.1 (exactly what ``round(., 1)`` would print)."""
    r = round(x, 1)
    return r if r <= x else round(r - 0.1, 1)


def _place(rng: np.random.Generator, duration: float, lengths: Sequence[float], taken: list[tuple[float, float]],
           gap: float) -> list[tuple[float, float]]:
    """Place intervals of the given lengths in [0, duration] without overlapping ``taken``
    (kept at least ``gap`` apart), with times rounded to 0.1 s; intervals that do not fit after
    100 tries are skipped. The checks use the rounded times, so no interval ends past
    ``duration``."""
    out = []
    for length in lengths:
        for _ in range(100):
            s = round(float(rng.uniform(0, max(0.0, duration - length))), 1)
            e = round(s + length, 1)
            if e <= duration and all(e + gap <= a or s >= b + gap for a, b in taken):
                taken.append((s, e))
                out.append((s, e))
                break
    return out


def make_toy(
    out_dir: PathLike,
    *,
    num_videos: int = 40,
    num_classes: int = 4,
    feature_dim: int = 32,
    seed: int = 0,
    test_fraction: float = 0.5,
    duration_range: tuple[float, float] = (30.0, 90.0),
    instance_seconds: tuple[float, float] = (2.0, 8.0),
    model: FeatureModel | None = None,
    name: str = "Toy",
    layout: Literal["flat", "annotations-subfolder"] = "flat",
    format: Literal["wtalc", "folders"] = "wtalc",
    overwrite: bool = False,
) -> Path:
    """Write a small synthetic dataset; returns the output folder.

    ``num_videos`` videos (``toy_validation_0001``… for training, subset ``validation``, and
    ``toy_test_0001``… with subset ``test``, a ``test_fraction`` of them), ``num_classes``
    classes ``Class00``…, durations uniform in ``duration_range`` seconds. Each video has one
    class (two with probability 0.2), 1–4 instances per class of ``instance_seconds`` length,
    at least 1 s apart; times are rounded to 0.1 s like THUMOS14's. 30% of the test videos get
    one ambiguous interval. ``model`` defaults to `FeatureModel()`; ``feature_dim`` overrides its
    dimension.
    """
    if num_videos < 2 or num_classes < 1:
        raise ValueError(f"make_toy: need num_videos >= 2 and num_classes >= 1, got {num_videos}, {num_classes}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"make_toy: test_fraction must be in (0, 1), got {test_fraction}")
    model = model if model is not None else FeatureModel(feature_dim=feature_dim)
    if model.feature_dim != feature_dim:
        model = replace(model, feature_dim=feature_dim)
    plan = _toy_plan(num_videos, num_classes, seed, test_fraction, duration_range, instance_seconds)
    return _write(plan, out_dir, model=model, seed=seed, name=name, layout=layout, format=format,
                  snippet_seconds=SNIPPET_SECONDS, overwrite=overwrite)


def _toy_plan(num_videos: int, num_classes: int, seed: int, test_fraction: float,
              duration_range: tuple[float, float], instance_seconds: tuple[float, float]) -> _Plan:
    """The annotations of `make_toy` (everything but the features)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    n_test = max(1, min(num_videos - 1, int(round(num_videos * test_fraction))))
    n_train = num_videos - n_test
    names = [f"toy_validation_{k + 1:04d}" for k in range(n_train)] + [f"toy_test_{k + 1:04d}" for k in range(n_test)]
    subsets = ["validation"] * n_train + ["test"] * n_test
    class_names = [f"Class{c:02d}" for c in range(num_classes)]
    durations = np.round(rng.uniform(*duration_range, size=num_videos), 3)
    instances, video_labels, ambiguous = [], [], []
    for i in range(num_videos):
        k = 2 if (num_classes > 1 and rng.random() < 0.2) else 1
        classes = sorted(rng.choice(num_classes, size=k, replace=False).tolist())
        taken: list[tuple[float, float]] = []
        inst: list[tuple[int, float, float]] = []
        for c in classes:
            lengths = rng.uniform(*instance_seconds, size=int(rng.integers(1, 5))).tolist()
            inst += [(c, s, e) for s, e in _place(rng, float(durations[i]), lengths, taken, 1.0)]
        if not inst:  # guarantee one instance
            inst = [(classes[0], 0.0, _floor1(min(instance_seconds[0], float(durations[i]))))]
            taken.append((inst[0][1], inst[0][2]))
        inst.sort(key=lambda x: (x[1], x[0]))
        instances.append(inst)
        video_labels.append([class_names[c] for c in sorted({c for c, _, _ in inst})])
        if subsets[i] == "test" and rng.random() < 0.3:
            for s, e in _place(rng, float(durations[i]), [float(rng.uniform(1, 3))], taken, 1.0):
                ambiguous.append((names[i], s, e))
    return _Plan(names, subsets, class_names, durations, instances, video_labels, ambiguous,
                 np.full(num_videos, 25.0))


def make_thumos14_structured(
    out_dir: PathLike,
    *,
    feature_dim: int = 2048,
    seed: int = 0,
    annotation_dir: PathLike | None = None,
    model: FeatureModel | None = None,
    name: str = "Thumos14reduced",
    layout: Literal["flat", "annotations-subfolder"] = "flat",
    format: Literal["wtalc", "folders"] = "wtalc",
    overwrite: bool = False,
) -> Path:
    """Write THUMOS14's real annotation structure with synthetic features; returns the folder.

    ``annotation_dir`` defaults to the copy shipped with tadfuse; ``feature_dim`` overrides
    ``model.feature_dim``. Video i has ``floor(duration_i
    / 0.64)`` snippets; ground truth, weak labels, splits and the ambiguous list are written as
    in the annotation files (segments past a video's end are kept in the ground truth and
    planted only where they overlap the video). Memory: the W-TALC format holds all features
    once (≈ 1.1 GB at 2048-d, float32); ``format="folders"`` writes one video at a time and
    leaves out (with a `DataWarning`) the 3 ``Ambiguous_test.txt`` rows for
    video_test_0001292, which is not among the videos.
    """
    src = Path(annotation_dir) if annotation_dir is not None else thumos14_annotation_dir()
    if not (src / "videoname.npy").is_file():
        raise DataFormatError(f"{src}: not a W-TALC annotation folder (no videoname.npy)")
    ds = load_wtalc(src, features=False, annotation_dir=src)
    model = model if model is not None else FeatureModel(feature_dim=feature_dim)
    if model.feature_dim != feature_dim:
        model = replace(model, feature_dim=feature_dim)
    instances = []
    for i in range(len(ds)):
        lab, seg = ds.gt.segments(i)
        instances.append([(int(c), float(s), float(e)) for c, (s, e) in zip(lab, seg)])
    ambiguous = [(ds.names[v], float(s), float(e)) for v, s, e in
                 zip(ds.gt.ambiguous_video, ds.gt.ambiguous_start, ds.gt.ambiguous_end)]
    durations = ds.durations
    if not np.all(np.isfinite(durations)):
        raise DataFormatError(f"{src}: every video needs a duration (duration.npy)")
    plan = _Plan(list(ds.names), list(ds.subsets), list(ds.class_names), durations, instances,
                 [ds.video_labels(i) for i in range(len(ds))], ambiguous, ds.original_fps)
    out = _write(plan, out_dir, model=model, seed=seed, name=name, layout=layout, format=format,
                 snippet_seconds=float(ds.snippet_seconds[0]), overwrite=overwrite)
    if format == "folders":  # rows for videos outside the release have no video to go with
        warn_dropped_ambiguous(ds.ignored_ambiguous, out)
    amb_src = src / "Ambiguous_test.txt"
    if format == "wtalc" and amb_src.is_file():  # keep the released file byte for byte
        ann = out if layout == "flat" else out / f"{name}-Annotations"
        shutil.copyfile(amb_src, ann / "Ambiguous_test.txt")
    return out


#: Seconds: the shortest synthetic instance (ActivityNet: 1 % of the instances are shorter than
#: 1 s) and the time grid of the planted boundaries.
_ANET_MIN_INSTANCE = 0.5
_ANET_TIME_STEP = 0.01


def _from_histogram(rng: np.random.Generator, counts: Sequence[int], edges: Sequence[float]) -> float:
    """One draw from the piecewise-uniform density of a histogram."""
    p = np.asarray(counts, np.float64)
    k = int(rng.choice(len(p), p=p / p.sum()))
    return float(rng.uniform(edges[k], edges[k + 1]))


def _anet_instances(rng: np.random.Generator, duration: float, label: int) -> list[tuple[int, float, float]]:
    """The instances of one video (see `make_anet_structured`), sorted, disjoint, inside
    ``[0, duration]``, on the 0.01 s grid."""
    group = int(np.searchsorted(anet.INSTANCE_COUNT_GROUP_EDGES, duration, side="right")) - 1
    counts = np.asarray(anet.INSTANCE_COUNT_COUNTS[group], np.float64)
    n = int(rng.choice(len(counts), p=counts / counts.sum())) + 1
    # at most half of a short video goes to the minimum lengths (a 1.5 s video holds one instance)
    n = max(1, min(n, int(0.5 * duration / _ANET_MIN_INSTANCE)))
    table = anet.COVERAGE_SINGLE_COUNTS if n == 1 else anet.COVERAGE_MULTI_COUNTS
    covered = max(_from_histogram(rng, table, np.linspace(0, 1, len(table) + 1)) * duration, n * _ANET_MIN_INSTANCE)
    lengths = _ANET_MIN_INSTANCE + rng.dirichlet(np.full(n, anet.LENGTH_CONCENTRATION)) * (covered - n * _ANET_MIN_INSTANCE)
    gaps = rng.dirichlet(np.ones(n + 1)) * (duration - covered)
    # boundaries gap, length, gap, ..., gap in order; rounding them down keeps the order
    bounds = np.cumsum(np.column_stack([gaps[:n], lengths]).ravel())
    steps = np.floor(bounds / _ANET_TIME_STEP + 1e-9)
    grid = [round(float(k) * _ANET_TIME_STEP, 2) for k in steps]
    return [(label, grid[2 * k], min(grid[2 * k + 1], duration)) for k in range(n)]


def _count(where: str, name: str, value: object, lo: int) -> int:
    """``value`` as an int >= ``lo``; the error names the argument and its CLI flag."""
    flag = "--" + name.replace("_", "-")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise InvalidTypeError(f"{where}: {name} (CLI: {flag}) must be an integer, got {value!r}")
    if int(value) < lo:
        raise InvalidArgumentError(f"{where}: {name} (CLI: {flag}) must be >= {lo}, got {value}")
    return int(value)


def _split_counts(num_videos: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """Videos per split: the cumulative fractions rounded half up, so the counts sum to
    ``num_videos`` and a zero fraction gives no video."""
    b1 = math.floor(num_videos * fractions[0] + 0.5)
    b2 = min(num_videos, math.floor(num_videos * (fractions[0] + fractions[1]) + 0.5))
    return b1, b2 - b1, num_videos - b2


def _anet_plan(num_videos: int, seed: int, split_fractions: tuple[float, float, float]) -> _Plan:
    """The annotations of `make_anet_structured` (everything but the features)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    n_train, n_val, n_test = _split_counts(num_videos, split_fractions)
    class_names = [f"Activity{c:03d}" for c in range(anet.NUM_CLASSES)]
    names, subsets, labels = [], [], []
    for subset, count in (("training", n_train), ("validation", n_val), ("testing", n_test)):
        # classes balanced within each split (ActivityNet: ~137 videos per class), in random order
        cycles = -(-count // anet.NUM_CLASSES)
        order = np.concatenate([rng.permutation(anet.NUM_CLASSES) for _ in range(cycles)]) if cycles else []
        names += [f"anet_{subset}_{k + 1:05d}" for k in range(count)]
        subsets += [subset] * count
        labels += [int(c) for c in order[:count]]
    durations, instances, video_labels = [], [], []
    for subset, c in zip(subsets, labels):
        d = round(_from_histogram(rng, anet.DURATION_COUNTS, anet.DURATION_EDGES), 3)
        durations.append(d)
        instances.append(_anet_instances(rng, d, c))
        video_labels.append([] if subset == "testing" else [class_names[c]])
    return _Plan(names, subsets, class_names, np.asarray(durations), instances, video_labels, [],
                 np.full(num_videos, 25.0), withheld=frozenset({"testing"}))


#: File (in the output folder) with the planted segments of the ``testing`` videos, which the
#: dataset itself leaves unlabelled like ActivityNet's testing split.
ANET_WITHHELD_FILE = "testing_ground_truth_withheld.json"


def make_anet_structured(
    out_dir: PathLike,
    *,
    num_videos: int = 400,
    feature_dim: int = 64,
    seed: int = 0,
    split_fractions: tuple[float, float, float] = (0.5, 0.25, 0.25),
    model: FeatureModel | None = None,
    name: str = "ActivityNet1.3",
    layout: Literal["flat", "annotations-subfolder"] = "flat",
    format: Literal["wtalc", "folders"] = "wtalc",
    overwrite: bool = False,
) -> Path:
    """Write a synthetic dataset with ActivityNet 1.3's structure; returns the output folder.

    Structure (every table from `tadfuse.data.activitynet_stats`, measured on ActivityNet 1.3's
    training + validation annotations; docs/algorithms.md, "Datasets"):

    * **splits**: ``num_videos`` videos, ``split_fractions`` of them (rounded half up) ``training``,
      ``validation`` and ``testing`` (default 50 / 25 / 25 %, ActivityNet's 50.1 / 24.6 / 25.2 %),
      named ``anet_<subset>_00001``…; ``split("train")`` is ``training`` and
      ``split("test")`` is ``validation``, which is where WTAL papers evaluate.
    * **testing labels are withheld**, as in ActivityNet (its labels are held by the evaluation
      server): the testing videos have features with planted actions but no segments and no
      video-level labels in the dataset; their planted segments are written to
      ``out_dir/testing_ground_truth_withheld.json`` (`ANET_WITHHELD_FILE`, an ActivityNet
      ground-truth JSON readable by `tadfuse.evaluate` and `tadfuse.data.load_ground_truth`).
    * **classes**: 200 (``Activity000``…), one per video, balanced within each split (each class
      once before any class twice).
    * **durations**: drawn from ActivityNet's duration histogram (1.5 s to 760 s, mean ≈ 118 s),
      rounded to 1 ms.
    * **instances**: their number from ActivityNet's counts for the video's duration group (1.54
      per video overall, 75 % of the videos with one; longer videos hold more); a single instance
      covers a fraction of the video drawn from the single-instance coverage histogram (mean 0.70),
      several instances a summed fraction from the multi-instance histogram (mean 0.48), split
      among them by Dirichlet(1.75) proportions; the gaps before, between and after them are
      Dirichlet(1) proportions of the rest. Instances do not overlap and last at least 0.5 s;
      their boundaries are then rounded down to a 0.01 s grid inside the video.
    * **timebase**: 0.64 s per snippet (I3D on 16-frame snippets of video resampled to 25 fps,
      the ActivityNet features of ACM-Net that RSKP and GauFuse use: ispc-lab/ACM-Net
      ``config/model_config.py``, ``frames_per_sec`` 25 and ``segment_frames_num`` 16;
      LeonHLJ/RSKP issue #3 points to that codebase). Video i has ``floor(duration_i / 0.64)``
      snippets (at least 1): features are stored at their native length, *not* resampled;
      ACM-Net resamples each video to ``sample_segments_num`` = 75 snippets when it loads it
      (zhou745/GauFuse_WSTAL issue #3 gives the same 75 and 16), which is the trainer's business.
      ``original_fps`` is 25 for every video.
    * **features**: the `FeatureModel` of the THUMOS14 generators (class evidence inside the
      instances, class-correlated context around them, scene and AR(1) noise); ``feature_dim``
      (64 by default, the real features have 2048) overrides ``model.feature_dim``.

    Deterministic in ``seed``; one random stream per video for the features. A W-TALC bundle
    records the generator settings in ``tadfuse_timebase.json`` (``provenance``); per-video
    folders in the JSON's ``tadfuse`` block. Raises `InvalidArgumentError` (`InvalidTypeError`
    for a non-integer count) naming the argument and its CLI flag for ``num_videos`` < 4,
    ``feature_dim`` < 1, a negative ``seed``, ``split_fractions`` that are not three numbers in
    [0, 1] summing to 1 or that leave the training or validation split empty, an unknown
    ``format`` or ``layout``; `FileExistsError` when ``out_dir`` holds a dataset or a withheld
    file and ``overwrite`` is False.
    """
    where = "make_anet_structured"
    num_videos = _count(where, "num_videos", num_videos, 4)
    feature_dim = _count(where, "feature_dim", feature_dim, 1)
    seed = _count(where, "seed", seed, 0)
    hint = "split_fractions (CLI: --split-fractions)"
    if isinstance(split_fractions, (str, bytes)) or not hasattr(split_fractions, "__len__") or len(split_fractions) != 3:
        raise InvalidArgumentError(f"{where}: {hint} must be three numbers (training, validation, testing), "
                                   f"got {split_fractions!r}")
    fractions = tuple(_checks.real(f"{where}: {hint}[{k}]", f, lo=0.0, hi=1.0) for k, f in enumerate(split_fractions))
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise InvalidArgumentError(f"{where}: {hint} must sum to 1, got {list(fractions)} (sum {sum(fractions):.12g})")
    counts = _split_counts(num_videos, fractions)  # type: ignore[arg-type]
    if counts[0] < 1 or counts[1] < 1:
        raise InvalidArgumentError(f"{where}: {hint} {list(fractions)} of num_videos={num_videos} give {counts[0]} "
                                   f"training and {counts[1]} validation videos; each split needs at least one")
    if format not in ("wtalc", "folders"):
        raise InvalidArgumentError(f"{where}: format (CLI: --format) must be 'wtalc' or 'folders', got {format!r}")
    if layout not in ("flat", "annotations-subfolder"):
        raise InvalidArgumentError(f"{where}: layout (CLI: --layout) must be 'flat' or 'annotations-subfolder', "
                                   f"got {layout!r}")
    model = model if model is not None else FeatureModel(feature_dim=feature_dim)
    if model.feature_dim != feature_dim:
        model = replace(model, feature_dim=feature_dim)
    withheld = Path(out_dir) / ANET_WITHHELD_FILE
    if withheld.exists() and not overwrite:  # checked before anything is written
        raise FileExistsError(f"{withheld}: exists (pass overwrite=True (CLI: --overwrite) to replace the dataset "
                              f"in {out_dir})")
    plan = _anet_plan(num_videos, seed, fractions)  # type: ignore[arg-type]
    settings = {"kind": "anet-structured", "num_videos": num_videos, "split_fractions": list(fractions)}
    out = _write(plan, out_dir, model=model, seed=seed, name=name, layout=layout, format=format,
                 snippet_seconds=SNIPPET_SECONDS, overwrite=overwrite, settings=settings, wtalc_provenance=True)
    gt = plan.ground_truth(SNIPPET_SECONDS, withheld=True)
    if "testing" in gt.subset_counts():
        write_activitynet_ground_truth(withheld, gt.select(subset="testing"), provenance={
            "inputs": {"synthetic": name, "seed": seed, **settings, "withheld_subset": "testing"}})
    elif withheld.exists():  # a stale file from an earlier dataset (overwrite=True)
        withheld.unlink()
    return out


_GENERATORS: dict[str, Callable[..., Path]] = {
    "toy": make_toy,
    "thumos14-structured": make_thumos14_structured,
    "anet-structured": make_anet_structured,
}


def synthesize(kind: str, out_dir: PathLike, **kwargs: object) -> Path:
    """Run the generator named ``kind`` (one of `SYNTH_KINDS`) with ``kwargs``; returns the folder."""
    try:
        gen = _GENERATORS[kind]
    except KeyError:
        raise ValueError(f"unknown synthetic dataset kind {kind!r}; choose one of {SYNTH_KINDS}") from None
    return gen(out_dir, **kwargs)
