"""The demo: the whole method on generated data, and generated TCAMs for post-processing
benchmarks.

`run_demo` (``tadfuse demo``) generates the ``toy`` dataset (`demo_dataset`), trains the
baseline — the RSKP backbone without pseudo labels (``train.refresh = false``) — and the full
method with the ``demo`` preset, runs both checkpoints over the test videos, evaluates each with
NMS and with fusion, and returns the paper's Table 4 layout (mAP at each tIoU and the average),
writing detections, run folders and timeline plots. It goes through the same
`tadfuse.engine.train`, `tadfuse.engine.infer` and `tadfuse.evaluate` as the ``train``,
``infer`` and ``eval`` commands.

`synthetic_tcam` / `tcam_from_segments` plant actions (smooth bumps of activation for one class)
on a low noisy floor, shaped like a softmax-times-attention TCAM (used by the benchmarks).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tadfuse._checks import integer
from tadfuse.errors import InvalidArgumentError

__all__ = ["DEMO_FEATURES", "DemoResult", "SyntheticVideo", "demo_dataset", "run_demo", "synthetic_tcam",
           "tcam_from_segments"]


@dataclass(frozen=True)
class SyntheticVideo:
    """A generated TCAM with its planted ground truth (snippets, end exclusive)."""

    cas: np.ndarray  # (l, K) float64
    video_scores: np.ndarray  # (K,) float64
    gt_label: np.ndarray  # (G,) int64
    gt_start: np.ndarray  # (G,) float64
    gt_end: np.ndarray  # (G,) float64


def tcam_from_segments(
    length: int,
    num_classes: int,
    labels: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    rng: np.random.Generator,
) -> SyntheticVideo:
    """A TCAM with activation bumps on the given segments (snippets, end exclusive).

    Inside a segment the class activation rises smoothly to 0.03–0.12 (above most of the 20
    official thresholds) with multiplicative noise; elsewhere it stays under ~0.004. Classes
    with segments get video scores in [0.5, 1), the others in [0, 0.1).
    """
    if length < 1 or num_classes < 1:
        raise InvalidArgumentError(f"length and num_classes must be >= 1, got {length}, {num_classes}")
    labels = np.asarray(labels, np.int64)
    starts = np.clip(np.asarray(starts, float), 0, length)
    ends = np.clip(np.asarray(ends, float), 0, length)
    cas = rng.uniform(0.0, 0.004, size=(length, num_classes))
    scores = rng.uniform(0.0, 0.1, size=num_classes)
    for c, s, e in zip(labels, starts.astype(int), ends.astype(int)):
        scores[c] = rng.uniform(0.5, 1.0)
        n = e - s
        if n <= 0:
            continue
        bump = np.sin(np.linspace(0.0, np.pi, n + 2)[1:-1]) ** 0.5
        cas[s:e, c] += rng.uniform(0.03, 0.12) * bump * rng.uniform(0.7, 1.3, n)
    return SyntheticVideo(cas, scores, labels, starts, ends)


def synthetic_tcam(length: int, num_classes: int, rng: np.random.Generator, max_actions: int = 6) -> SyntheticVideo:
    """One video with 1–2 active classes, 1..max_actions actions each of 4–40 snippets."""
    if length < 1 or num_classes < 1:
        raise InvalidArgumentError(f"length and num_classes must be >= 1, got {length}, {num_classes}")
    active = rng.choice(num_classes, size=min(num_classes, int(rng.integers(1, 3))), replace=False)
    labels, starts, ends = [], [], []
    for c in np.sort(active):
        for _ in range(int(rng.integers(1, max_actions + 1))):
            n = int(rng.integers(4, 41))
            if n >= length:
                continue
            s = int(rng.integers(0, length - n))
            labels.append(c)
            starts.append(s)
            ends.append(s + n)
    return tcam_from_segments(length, num_classes, np.array(labels, np.int64), np.array(starts), np.array(ends), rng)


#: The toy data of the demo: 32-d features whose actions stand out more than
#: ``FeatureModel()``'s (less latent noise, weaker scene and context), so that a model learns
#: them from 50 training videos in seconds.
DEMO_FEATURES: dict[str, float] = dict(latent_noise=0.7, scene_strength=0.5, instance_variation=0.3,
                                       context_strength=0.3, action_strength=1.5)


def demo_dataset(out: str | os.PathLike[str], *, videos: int = 100, seed: int = 0, overwrite: bool = False) -> Path:
    """Write the demo's ``toy`` dataset (`tadfuse.data.make_toy`: ``videos`` videos, half for
    training, 4 classes, 32-d `DEMO_FEATURES`) to ``out``; returns the folder."""
    from tadfuse.data import FeatureModel, make_toy

    n = integer("videos", videos, lo=4)
    return make_toy(out, num_videos=n, num_classes=4, feature_dim=32, seed=integer("seed", seed),
                    model=FeatureModel(feature_dim=32, **DEMO_FEATURES), overwrite=overwrite)


@dataclass
class DemoResult:
    """``table``: the printable Table-4 layout; ``results``: ``{(model, method): EvalResult}``
    for model ``baseline``/``method`` and method ``nms``/``fusion``; ``out``: the folder
    written; ``files``: what was written (detections, plots); ``timing``: fusion vs NMS
    post-processing of the method's test TCAMs (seconds, best of 5)."""

    table: str
    results: dict[tuple[str, str], Any]
    out: Path
    files: list[Path] = field(default_factory=list)
    timing: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        t = self.timing
        lines = [self.table]
        if t:
            lines += ["", f"post-processing of the method's {int(t['videos'])} test TCAMs (best of 5): fusion "
                      f"{1e3 * t['fusion_s']:.2f} ms, NMS {1e3 * t['nms_s']:.2f} ms"]
        lines += ["", f"wrote {self.out}: data/, runs/baseline, runs/method, detections/*.json, plots/*.png"]
        return "\n".join(lines)


_ROWS = (("baseline", "nms", "RSKP baseline (no pseudo labels) + NMS"),
         ("baseline", "fusion", "RSKP baseline (no pseudo labels) + fusion"),
         ("method", "nms", "+ LinPro / Δ pseudo labels + NMS"),
         ("method", "fusion", "+ LinPro / Δ pseudo labels + fusion"))


def _table(results: dict[tuple[str, str], Any], header: str) -> str:
    first = next(iter(results.values()))
    heads = [f"{t:g}" for t in first.tiou_thresholds] + ["avg"]
    width = max(len(r[2]) for r in _ROWS)
    lines = [header, "mAP (%) at tIoU".ljust(width) + "  " + "  ".join(h.rjust(6) for h in heads)]
    for model, method, label in _ROWS:
        r = results[(model, method)]
        vals = [100 * m for m in r.mAP] + [100 * r.average_mAP]
        lines.append(label.ljust(width) + "  " + "  ".join(f"{v:6.2f}" for v in vals))
    return "\n".join(lines)


def run_demo(
    out: str | os.PathLike[str],
    *,
    seed: int = 0,
    epochs: int | None = None,
    videos: int = 100,
    plots: int = 3,
    device: str | None = None,
    overwrite: bool = False,
    progress: bool | None = None,
) -> DemoResult:
    """The demo (module docstring) into the folder ``out`` (new, or ``overwrite``): returns a
    `DemoResult`, whose ``str`` is what ``tadfuse demo`` prints. The same ``seed`` (data and
    training) gives the same table on the same machine. ``epochs`` overrides the ``demo``
    preset's 40; ``plots`` timeline PNGs of the first test videos (needs matplotlib)."""
    from tadfuse.annotations import write_activitynet_results
    from tadfuse.config import get_preset
    from tadfuse.data import load_dataset
    from tadfuse.engine import evaluate_inference, infer, train
    from tadfuse.postprocess import detect_batch

    seed = integer("seed", seed)
    n_plots = integer("plots", plots)
    root = Path(out)
    if root.exists() and any(root.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{root}: the folder is not empty; choose a new --out or pass --overwrite")
        shutil.rmtree(root)
    data = demo_dataset(root / "data", videos=videos, seed=seed)
    ds = load_dataset(data)
    base = get_preset("demo")
    runs = {"baseline": base.override(["train.refresh=false"]), "method": base}
    results: dict[tuple[str, str], Any] = {}
    inferences = {}
    files: list[Path] = []
    for model, cfg in runs.items():
        train(cfg, ds, root / "runs" / model, epochs=epochs, seed=seed, device=device, progress=progress)
        inf = infer(root / "runs" / model, ds, device=device, progress=progress)
        inferences[model] = inf
        scores = evaluate_inference(inf, ds, methods=("nms", "fusion"))
        for method in ("nms", "fusion"):
            results[(model, method)] = scores[method]
            prov = {"preset": inf.config.preset, "config": inf.config.to_dict(),
                    "inputs": {"command": "tadfuse demo", "model": model, **inf.provenance}}
            files.append(write_activitynet_results(
                root / "detections" / f"{model}_{method}.json", inf.detections(method), list(inf.class_names),
                snippet_seconds=inf.snippet_seconds, offset_seconds=inf.offset_seconds, durations=inf.durations,
                provenance=prov))
    first = results[("method", "fusion")]
    header = (f"tadfuse demo (seed {seed}): toy data, {len(ds.split('train'))} training and {len(first.videos)} test "
              f"videos, {ds.num_classes} classes; preset demo, {runs['method'].train.epochs if epochs is None else epochs} "
              f"epochs; protocol {first.protocol}")
    inf = inferences["method"]
    c = len(inf.class_names)
    cas, vs = [t[:, :c] for t in inf.tcams], [s[:c] for s in inf.video_scores]
    timing: dict[str, float] = {"videos": float(len(cas))}
    for method in ("fusion", "nms"):
        pp = inf.config.postprocess.replace(method=method)
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            detect_batch(cas, vs, pp)
            best = min(best, time.perf_counter() - t0)
        timing[f"{method}_s"] = best
    if n_plots:
        from tadfuse.viz import save_timeline

        fused, kept = inf.detections("fusion"), inf.detections("nms")
        for video in inf.videos[:n_plots]:
            i = ds.index(video)
            k = inf.videos.index(video)
            files.append(save_timeline(
                root / "plots" / f"{video}.png", cas=inf.tcams[k][:, :c], fused=fused[video], nms=kept[video],
                ground_truth=ds.segments(i), class_names=list(inf.class_names),
                snippet_seconds=inf.snippet_seconds[video], offset_seconds=inf.offset_seconds[video],
                duration=inf.durations[video], title=f"{video} (method)"))
    table = _table(results, header)
    (root / "table.txt").write_text(table + "\n", encoding="utf-8")
    return DemoResult(table, results, root, files, timing)
