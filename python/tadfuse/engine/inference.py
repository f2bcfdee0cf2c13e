"""Inference: TCAMs and video scores of many videos, their detections and their evaluation (torch).

:func:`model_outputs` runs a model over a list of videos in padded batches (videos sorted by
length, :func:`tadfuse.engine.batching.length_chunks`) and returns per video the ``(l, C+1)``
TCAM and ``(C+1,)`` video scores, background last:

* for :class:`~tadfuse.models.RSKP`, the released construction from one forward pass,
  ``(a·softmax(o) + (1 − a)·softmax(m)) · attention_o`` and ``v·p_o + (1 − v)·p_m``
  (:func:`tadfuse.engine.refresh.label_tcam` / :func:`~tadfuse.engine.refresh.label_video_scores`),
  with ``a = model.tcam_o_weight`` at test time and ``model.label_tcam_o_weight`` for pseudo
  labels (``purpose="labels"``, in :func:`tadfuse.models.pseudo_label_mode`);
* for any other :class:`~tadfuse.models.TCAMModel`, :func:`tadfuse.models.tcam_from_outputs`.

:func:`infer` is the Python API behind ``tadfuse infer``: a checkpoint (run folder, tadfuse
checkpoint or released ``.pkl``) and a dataset → :class:`Inference`. For a released ``.pkl`` the
TCAMs are the released test path's (:func:`tadfuse.models.released_test_outputs`: one video per
forward pass, the dense T×T inverse). :func:`evaluate_inference` scores an :class:`Inference`
with each post-processing method (:func:`tadfuse.evaluate`) and the video-level classification
mAP (:mod:`tadfuse.engine.metrics`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from tadfuse.config import Config, ModelConfig, PostprocessConfig, TrainConfig
from tadfuse.config.model import MODEL_PRESETS
from tadfuse.data import VideoDataset
from tadfuse.engine.batching import length_chunks, sorted_by_length
from tadfuse.engine.loading import check_model_fits, load_data, load_model
from tadfuse.engine.metrics import ClassificationMAP, classification_map
from tadfuse.engine.refresh import label_tcam, label_video_scores
from tadfuse.errors import InvalidArgumentError, InvalidTypeError
from tadfuse.evaluation import EvalResult, evaluate
from tadfuse.models.interface import pad_features, tcam_from_outputs
from tadfuse.models.released import released_test_outputs
from tadfuse.models.rskp import RSKP, pseudo_label_mode
from tadfuse.postprocess import detect_batch
from tadfuse.proposals import Proposals

__all__ = ["Inference", "default_device", "evaluate_inference", "infer", "model_outputs", "resolve_device"]


def default_device() -> torch.device:
    """``cuda`` when available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a ``torch.device`` (None: :func:`default_device`); an unknown or
    unavailable device raises :class:`InvalidArgumentError` naming it."""
    if device is None:
        return default_device()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InvalidArgumentError(f"`device` {device!r} is not a torch device ({exc}) (CLI: --device)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidArgumentError(f"`device` {device!r}: CUDA is not available here (CLI: --device cpu)")
    return dev


@torch.no_grad()
def model_outputs(
    model: torch.nn.Module,
    features: Sequence[np.ndarray],
    model_config: ModelConfig | None = None,
    *,
    purpose: str = "test",
    batch_videos: int | None = None,
    padding_budget: float = 0.25,
    device: torch.device | str = "cpu",
    progress: bool | None = False,
    desc: str = "inference",
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per video ``(tcam (l, C+1), video_scores (C+1,))`` float32, in input order.

    ``model_config`` gives an RSKP's TCAM and video-score weights (default: the model's own);
    ``purpose`` is ``"test"`` (eval mode, ``tcam_o_weight``) or ``"labels"`` (the pseudo-label
    mode and ``label_tcam_o_weight``). ``batch_videos`` videos at most per forward pass (None:
    :meth:`tadfuse.config.TrainConfig.forward_batches` for the device). The model's mode is
    restored afterwards.
    """
    if purpose not in ("test", "labels"):
        raise InvalidArgumentError(f"`purpose` must be 'test' or 'labels', got {purpose!r}")
    if batch_videos is None:
        batch_videos = TrainConfig().forward_batches(torch.device(device).type)[1]
    lengths = [int(f.shape[0]) for f in features]
    order = sorted_by_length(range(len(features)), lengths)
    chunks = length_chunks([lengths[i] for i in order], batch_videos, padding_budget)
    out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(features)
    cfg = model_config if model_config is not None else getattr(model, "config", None)
    was_training = model.training
    bar = tqdm(total=len(features), desc=desc, unit="video", disable=not progress if progress is not None else None,
               leave=False)
    try:
        if purpose == "labels":
            ctx = pseudo_label_mode(model)
        else:
            model.eval()
            ctx = torch.no_grad()
        with ctx:
            for chunk in chunks:
                idx = [order[j] for j in chunk]
                x, mask = pad_features([features[i] for i in idx], device=device)
                if isinstance(model, RSKP):
                    assert isinstance(cfg, ModelConfig)
                    o = model(x, mask)
                    a = cfg.label_tcam_o_weight if purpose == "labels" else cfg.tcam_o_weight
                    tcam = label_tcam(o.main.logits, o.walk.logits, o.main.attention, a)
                    scores = label_video_scores(o.main.video_agnostic, o.walk.video_agnostic, cfg.video_o_weight)
                else:
                    tcam, scores = tcam_from_outputs(model.snippet_outputs(x, mask))  # type: ignore[operator]
                tcam, scores = tcam.float().cpu().numpy(), scores.float().cpu().numpy()
                for b, i in enumerate(idx):
                    out[i] = (tcam[b, : lengths[i]].copy(), scores[b].copy())
                bar.update(len(idx))
    finally:
        bar.close()
        model.train(was_training)
    return [o for o in out if o is not None]


def _released_preset(config: Config) -> str | ModelConfig:
    """What :func:`released_test_outputs` gets: the preset name when the configuration's test
    weights are that model preset's (so RSKP presets use RSKP's solver), else the model config."""
    name = config.preset
    if name in MODEL_PRESETS:
        m = ModelConfig.named(name)
        if (m.tcam_o_weight, m.video_o_weight) == (config.model.tcam_o_weight, config.model.video_o_weight):
            return name
    return config.model


@dataclass
class Inference:
    """TCAMs and video scores of the videos of one split, as the post-processing consumes them.

    ``tcams[i]`` ``(l_i, C+1)`` and ``video_scores[i]`` ``(C+1,)`` float32, background last;
    ``labels`` ``(n, C)`` the videos' weak labels; per-video timebase and durations (seconds;
    NaN: unknown) keyed by name; ``config`` the configuration used; ``provenance`` what produced
    it (checkpoint, data, split, path)."""

    videos: tuple[str, ...]
    tcams: list[np.ndarray]
    video_scores: list[np.ndarray]
    class_names: tuple[str, ...]
    labels: np.ndarray
    snippet_seconds: dict[str, float]
    offset_seconds: dict[str, float]
    durations: dict[str, float]
    config: Config
    provenance: dict[str, Any] = field(default_factory=dict)

    def detections(self, postprocess: PostprocessConfig | str | None = None,
                   num_threads: int | None = None) -> dict[str, Proposals]:
        """``{video: Proposals}`` (snippets) of the action classes: the background column is cut
        off before :func:`tadfuse.detect_batch`, so it never appears. ``postprocess``: a
        configuration, a method name applied to ``config.postprocess``, or None (as configured)."""
        pp = self.config.postprocess
        if isinstance(postprocess, str):
            pp = pp.replace(method=postprocess)
        elif postprocess is not None:
            if not isinstance(postprocess, PostprocessConfig):
                raise InvalidTypeError(f"`postprocess` must be a PostprocessConfig or a method name, "
                                       f"got {type(postprocess).__name__}")
            pp = postprocess
        c = len(self.class_names)
        out = detect_batch([t[:, :c] for t in self.tcams], [s[:c] for s in self.video_scores], pp,
                           num_threads=num_threads)
        return dict(zip(self.videos, out))

    def classification(self) -> ClassificationMAP:
        """Video-level classification mAP of the video scores (background removed)."""
        c = len(self.class_names)
        return classification_map(np.stack([s[:c] for s in self.video_scores]), self.labels)


def _pp_method(config: Config, method: str) -> PostprocessConfig:
    """``config.postprocess`` with ``method``; a non-fusion method from a fusion configuration
    keeps every shared field (thresholds, extraction, overlap, threshold)."""
    return config.postprocess if config.postprocess.method == method else config.postprocess.replace(method=method)


def evaluate_inference(inference: Inference, dataset: VideoDataset | str | os.PathLike[str],
                       methods: Iterable[str] | None = None, subset: str | None = None) -> dict[str, Any]:
    """Scores ``inference`` with each post-processing ``method`` (default:
    ``config.train.eval_methods``) under ``config.evaluation`` against ``dataset`` (a dataset or
    folder: its ground truth; subset: the evaluation section's, else the dataset's test subset)
    and its classification mAP.

    Returns ``{method: EvalResult, ..., "classification": ClassificationMAP}``.
    """
    cfg = inference.config
    ev = cfg.evaluation
    if not isinstance(dataset, VideoDataset):
        from tadfuse.data import load_dataset

        dataset = load_dataset(dataset)
    sub = subset or ev.subset or dataset.test_subset
    out: dict[str, Any] = {}
    for method in methods if methods is not None else cfg.train.eval_methods:
        dets = inference.detections(_pp_method(cfg, method))
        out[method] = evaluate(dataset.ground_truth(), dets, protocol=ev.protocol,
                               tiou_thresholds=list(ev.tiou_thresholds), subset=sub, zero_map_bug=ev.zero_map_bug,
                               provenance={"preset": cfg.preset, "method": method})
    out["classification"] = inference.classification()
    return out


def evaluation_record(results: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-ready summary of :func:`evaluate_inference`'s results (fractions)."""
    rec: dict[str, Any] = {}
    for name, r in results.items():
        if isinstance(r, EvalResult):
            rec[name] = {"tiou": r.tiou_thresholds.tolist(), "mAP": r.mAP.tolist(), "average_mAP": r.average_mAP}
        elif isinstance(r, ClassificationMAP):
            rec[name] = {"mAP": r.mAP, "skipped_classes": list(r.skipped)}
    return rec


def split_inference(model: torch.nn.Module, config: Config, dataset: VideoDataset, indices: Sequence[int], *,
                    device: torch.device, released_path: bool = False, progress: bool | None = None,
                    provenance: Mapping[str, Any] | None = None) -> Inference:
    """:class:`Inference` of ``model`` on the dataset videos ``indices`` under ``config``."""
    idx = [int(i) for i in indices]
    if not idx:
        raise InvalidArgumentError("no videos to run inference on")
    feats = [dataset.feature(i) for i in idx]
    if released_path:
        if not isinstance(model, RSKP):
            raise InvalidTypeError("the released test path needs an RSKP model")
        preset = _released_preset(config)
        pairs = [released_test_outputs(model, f, preset)
                 for f in tqdm(feats, desc="inference (released path)", unit="video",
                               disable=not progress if progress is not None else None, leave=False)]
    else:
        pairs = model_outputs(model, feats, config.model, purpose="test",
                              batch_videos=config.train.forward_batches(device.type)[1],
                              padding_budget=config.train.padding_budget, device=device, progress=progress)
    names = tuple(dataset.names[i] for i in idx)
    return Inference(
        videos=names,
        tcams=[p[0] for p in pairs],
        video_scores=[p[1] for p in pairs],
        class_names=tuple(dataset.class_names),
        labels=np.asarray(dataset.labels_multihot[idx], np.float64),
        snippet_seconds={n: float(dataset.snippet_seconds[i]) for n, i in zip(names, idx)},
        offset_seconds={n: float(dataset.offset_seconds[i]) for n, i in zip(names, idx)},
        durations={n: float(dataset.durations[i]) for n, i in zip(names, idx)},
        config=config,
        provenance=dict(provenance or {}),
    )


def infer(
    checkpoint: str | os.PathLike[str],
    data: VideoDataset | str | os.PathLike[str],
    *,
    split: str = "test",
    preset: str | None = None,
    config_file: str | None = None,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    device: str | torch.device | None = None,
    released_path: bool | None = None,
    progress: bool | None = None,
) -> Inference:
    """TCAMs and video scores of the ``split`` videos of ``data`` from ``checkpoint``.

    Args:
        checkpoint: a run folder (its ``checkpoints/last.pt``), a tadfuse checkpoint, or a
            released ``.pkl`` (:func:`tadfuse.engine.loading.load_model`).
        data: a dataset or dataset folder; its feature dimension and classes must be the
            model's (``DataFormatError`` naming both otherwise).
        split: ``"train"``, ``"test"`` or a subset name.
        preset, config_file: the configuration of a released checkpoint (default ``official``).
        overrides: ``section.field=value`` settings applied last (e.g. ``postprocess.method=nms``).
        device: default ``cuda`` when available, else ``cpu``.
        released_path: the released one-video dense-inverse test path (default: for released
            checkpoints); else batched Woodbury forward passes.
    """
    loaded = load_model(checkpoint, preset=preset, config_file=config_file, overrides=overrides)
    ds = load_data(data)
    check_model_fits(loaded.model.config, loaded.class_names, ds, os.fspath(loaded.path))  # type: ignore[arg-type]
    dev = resolve_device(device)
    model = loaded.model.to(dev)
    use_released = loaded.kind == "released" if released_path is None else bool(released_path)
    prov = {"checkpoint": os.fspath(loaded.path.resolve()), "checkpoint_kind": loaded.kind, "data": ds.source,
            "split": split, "released_test_path": use_released}
    return split_inference(model, loaded.config, ds, ds.split(split), device=dev, released_path=use_released,
                           progress=progress, provenance=prov)
