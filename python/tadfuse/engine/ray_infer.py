"""Inference over a Ray cluster with Ray Data (``pip install "tadfuse[ray]"``): :func:`infer_ray`.

The pipeline (docs/scale-out.md, "Inference on Ray"), one row per video of the split:

1. **read** — CPU tasks open the dataset folder (once per worker process) and read the videos'
   feature arrays ``(l, feature_dim)`` float32;
2. **model** — ``map_batches`` with :class:`TCAMPredictor`, a callable class: each actor loads the
   checkpoint once and turns a batch of videos into TCAMs ``(l, C+1)`` and video scores
   ``(C+1,)`` exactly as :func:`tadfuse.engine.infer` does (batched Woodbury passes, or the
   released one-video path for a released ``.pkl``); actors take a GPU each where the cluster
   has GPUs, else none;
3. **post-process** — CPU tasks run the Rust post-processing (:func:`tadfuse.detect_batch`,
   one thread each: Ray schedules the parallelism) and emit one row per detection;
4. **write** — the driver gathers the rows and writes the ActivityNet detections JSON that
   ``tadfuse infer`` writes (same provenance, seconds, clipping).

So the detections equal :func:`tadfuse.engine.infer`'s on the same device type (bit for bit on
the CPU; on GPUs up to the float noise of padded batches of other compositions).

The data must be a dataset folder visible under the same path to every node (workers open it
themselves); the checkpoint likewise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tadfuse.errors import InvalidArgumentError, InvalidTypeError, MissingExtraError

__all__ = ["RayInferResult", "TCAMPredictor", "infer_ray"]

_DATASETS: dict[str, Any] = {}  # per worker process: dataset folder → opened dataset


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise MissingExtraError('tadfuse.engine.ray_infer needs Ray Data, an optional extra: pip install "tadfuse[ray]"') from None
    return ray


def _open(data: str) -> Any:
    ds = _DATASETS.get(data)
    if ds is None:
        from tadfuse.engine.loading import load_data

        ds = _DATASETS[data] = load_data(data)
    return ds


def _ragged(arrays: list[np.ndarray]) -> np.ndarray:
    out = np.empty(len(arrays), dtype=object)
    for i, a in enumerate(arrays):
        out[i] = a
    return out


def _read_features(batch: dict[str, np.ndarray], data: str) -> dict[str, np.ndarray]:
    ds = _open(data)
    feats = [np.ascontiguousarray(ds.feature(int(i)), dtype=np.float32) for i in batch["index"]]
    return {"index": batch["index"], "features": _ragged(feats)}


class TCAMPredictor:
    """The model stage: loads ``checkpoint`` once (:func:`tadfuse.engine.loading.load_model`
    with ``preset``, ``config_file``, ``overrides``) on ``device``, then maps a batch
    ``{"index": (n,), "features": n × (l_i, feature_dim)}`` to ``{"index", "tcam": n × (l_i, C+1),
    "scores": (n, C+1)}`` float32, as :func:`tadfuse.engine.inference.split_inference` does."""

    def __init__(self, checkpoint: str, preset: str | None, config_file: str | None, overrides: Any, device: str,
                 released_path: bool | None) -> None:
        import torch

        from tadfuse.engine.loading import load_model

        loaded = load_model(checkpoint, preset=preset, config_file=config_file, overrides=overrides)
        self.device = torch.device(device)
        self.model = loaded.model.to(self.device).eval()
        self.config = loaded.config
        self.released = loaded.kind == "released" if released_path is None else bool(released_path)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from tadfuse.engine.inference import _released_preset, model_outputs
        from tadfuse.models.released import released_test_outputs

        feats = [np.asarray(f, dtype=np.float32) for f in batch["features"]]
        if self.released:
            preset = _released_preset(self.config)
            pairs = [released_test_outputs(self.model, f, preset) for f in feats]
        else:
            cfg = self.config
            pairs = model_outputs(self.model, feats, cfg.model, purpose="test",
                                  batch_videos=cfg.train.forward_batches(self.device.type)[1],
                                  padding_budget=cfg.train.padding_budget, device=self.device)
        return {"index": batch["index"], "tcam": _ragged([p[0] for p in pairs]),
                "scores": np.stack([p[1] for p in pairs]).astype(np.float32)}


def _detect(batch: dict[str, np.ndarray], postprocess: Any, num_classes: int) -> dict[str, np.ndarray]:
    from tadfuse.postprocess import detect_batch

    c = num_classes
    dets = detect_batch([np.asarray(t)[:, :c] for t in batch["tcam"]], [np.asarray(s)[:c] for s in batch["scores"]],
                        postprocess, num_threads=1)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("index", "label", "start", "end", "score", "inner")}
    for i, p in zip(batch["index"], dets):
        cols["index"].append(np.full(len(p.label), int(i), np.int64))
        for k in ("label", "start", "end", "score", "inner"):
            cols[k].append(getattr(p, k))
    return {k: np.concatenate(v) if v else np.empty(0) for k, v in cols.items()}


@dataclass
class RayInferResult:
    """What :func:`infer_ray` returns: ``{video: Proposals}`` (snippets, action classes), the
    JSON written (None without ``out``) and its provenance."""

    detections: dict[str, Any]
    path: Path | None
    provenance: dict[str, Any] = field(default_factory=dict)


def infer_ray(
    checkpoint: str | os.PathLike[str],
    data: Any,
    out: str | os.PathLike[str] | None = None,
    *,
    split: str = "test",
    preset: str | None = None,
    config_file: str | None = None,
    overrides: Any = (),
    released_path: bool | None = None,
    num_gpus: float | None = None,
    num_actors: int | None = None,
    batch_size: int = 8,
) -> RayInferResult:
    """Detections of ``checkpoint`` on the ``split`` videos of ``data`` over Ray Data.

    Args:
        checkpoint: a run folder, tadfuse checkpoint or released ``.pkl`` (as :func:`tadfuse.engine.infer`).
        data: a dataset folder (or a dataset loaded from one): every worker opens it itself.
        out: the ActivityNet detections JSON to write (as ``tadfuse infer --out``); None: none.
        split, preset, config_file, overrides, released_path: as :func:`tadfuse.engine.infer`.
        num_gpus: GPUs per model actor (None: 1 where the Ray cluster has GPUs, else 0; the
            actors then run on the CPU).
        num_actors: model actors (None: the cluster's GPUs when they are used, else 1).
        batch_size: videos per model batch.

    Uses the running Ray instance (``ray.init`` first to configure it); else starts a local one
    and shuts it down afterwards.
    """
    ray = _ray()
    from tadfuse.annotations import write_activitynet_results
    from tadfuse.data import VideoDataset
    from tadfuse.engine.loading import check_model_fits, load_data, load_model
    from tadfuse.proposals import Proposals

    if isinstance(data, VideoDataset):
        source = data.source
    elif isinstance(data, (str, os.PathLike)):
        source = os.fspath(data)
    else:
        raise InvalidTypeError(f"`data` must be a dataset folder, got {type(data).__name__}")
    if not Path(source).exists():
        raise InvalidArgumentError(f"`data` {source!r}: Ray workers open the dataset folder themselves; "
                                   f"it must be a folder on disk (CLI: --data)")
    source = os.fspath(Path(source).resolve())
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidArgumentError(f"`batch_size` must be a positive integer, got {batch_size!r}")
    if num_actors is not None and (isinstance(num_actors, bool) or not isinstance(num_actors, int) or num_actors < 1):
        raise InvalidArgumentError(f"`num_actors` must be a positive integer, got {num_actors!r}")
    if num_gpus is not None and (isinstance(num_gpus, bool) or not isinstance(num_gpus, (int, float)) or num_gpus < 0):
        raise InvalidArgumentError(f"`num_gpus` must be a non-negative number, got {num_gpus!r}")
    ds = load_data(source)
    loaded = load_model(checkpoint, preset=preset, config_file=config_file, overrides=overrides)
    check_model_fits(loaded.model.config, loaded.class_names, ds, os.fspath(loaded.path))  # type: ignore[arg-type]
    indices = [int(i) for i in ds.split(split)]
    if not indices:
        raise InvalidArgumentError("no videos to run inference on")
    config = loaded.config
    use_released = loaded.kind == "released" if released_path is None else bool(released_path)
    del loaded

    started = not ray.is_initialized()
    if started:
        ray.init(include_dashboard=False, log_to_driver=False)
    try:
        cluster_gpus = float(ray.cluster_resources().get("GPU", 0.0))
        gpus = (1.0 if cluster_gpus >= 1 else 0.0) if num_gpus is None else float(num_gpus)
        if gpus > cluster_gpus:
            raise InvalidArgumentError(f"`num_gpus` {gpus:g} per actor: the Ray cluster has {cluster_gpus:g} GPUs")
        actors = num_actors if num_actors is not None else (max(1, int(cluster_gpus // gpus)) if gpus else 1)
        device = "cuda" if gpus > 0 else "cpu"
        pipeline = (
            ray.data.from_items([{"index": i} for i in indices])
            .map_batches(_read_features, fn_kwargs={"data": source}, batch_size=batch_size, batch_format="numpy")
            .map_batches(TCAMPredictor, fn_constructor_kwargs={
                "checkpoint": os.fspath(Path(checkpoint).resolve()), "preset": preset,
                "config_file": None if config_file is None else os.fspath(Path(config_file).resolve()),
                "overrides": overrides if isinstance(overrides, dict) else list(overrides), "device": device,
                "released_path": use_released}, batch_size=batch_size, batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=actors), num_gpus=gpus, num_cpus=1)
            .map_batches(_detect, fn_kwargs={"postprocess": config.postprocess, "num_classes": len(ds.class_names)},
                         batch_size=batch_size, batch_format="numpy")
        )
        parts = list(pipeline.iter_batches(batch_format="numpy", batch_size=None))
    finally:
        if started:
            ray.shutdown()
    cols = {k: np.concatenate([p[k] for p in parts]) if parts else np.empty(0)
            for k in ("index", "label", "start", "end", "score", "inner")}
    order = np.argsort(cols["index"], kind="stable")  # a video's rows come from one batch, in order
    cols = {k: v[order] for k, v in cols.items()}
    bounds = np.searchsorted(cols["index"], indices, side="left"), np.searchsorted(cols["index"], indices, side="right")
    detections: dict[str, Any] = {}
    for i, lo, hi in zip(indices, *bounds):
        detections[ds.names[i]] = Proposals(cols["label"][lo:hi].astype(np.int64), cols["start"][lo:hi],
                                            cols["end"][lo:hi], cols["score"][lo:hi], inner=cols["inner"][lo:hi])
    prov = {"checkpoint": os.fspath(Path(checkpoint).resolve()), "data": source, "split": split,
            "released_test_path": use_released, "engine": "ray", "ray_version": ray.__version__,
            "model_actors": actors, "gpus_per_actor": gpus}
    path = None
    if out is not None:
        provenance = {"preset": config.preset, "config": config.to_dict(),
                      "inputs": {"command": "tadfuse.engine.ray_infer.infer_ray", **prov}}
        names = [ds.names[i] for i in indices]
        path = write_activitynet_results(out, detections, list(ds.class_names),
                                         snippet_seconds={n: float(ds.snippet_seconds[i]) for n, i in zip(names, indices)},
                                         offset_seconds={n: float(ds.offset_seconds[i]) for n, i in zip(names, indices)},
                                         durations={n: float(ds.durations[i]) for n, i in zip(names, indices)},
                                         provenance=provenance)
    return RayInferResult(detections, path, prov)
