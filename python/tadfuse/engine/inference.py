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

import math
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
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
from tadfuse.engine.stream import StreamResult, VideoInfo, stream_detections
from tadfuse.errors import DataFormatError, DataWarning, InvalidArgumentError, InvalidTypeError
from tadfuse.evaluation import EvalResult, evaluate
from tadfuse.models.interface import pad_features, tcam_from_outputs
from tadfuse.models.released import released_test_outputs
from tadfuse.models.rskp import RSKP, pseudo_label_mode
from tadfuse.postprocess import detect_batch
from tadfuse.proposals import Proposals

__all__ = ["Inference", "default_device", "evaluate_inference", "infer", "infer_to_file", "model_outputs",
           "resolve_device"]


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


# --------------------------------------------------------------------------------------------
# Streaming to a file (tadfuse infer)
# --------------------------------------------------------------------------------------------


def _folder_features(root: Path, dim: int) -> Callable[[str], np.ndarray]:
    """Reads ``root/features/<video>.npy`` when asked (nothing is opened at load time, so one
    corrupt file fails its video only): a finite float (T >= 1, ``dim``) array, else
    :class:`DataFormatError` naming the file."""

    def read(video: str) -> np.ndarray:
        path = root / "features" / f"{video}.npy"
        try:
            arr = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            raise DataFormatError(f"{path}: feature file of video {video!r} not found") from None
        except Exception as exc:  # truncated, not a .npy, pickled objects, ...
            raise DataFormatError(f"{path}: not a readable .npy array ({exc})") from None
        if arr.dtype.kind != "f" or arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] != dim:
            raise DataFormatError(f"{path}: expected float features of shape (T >= 1, {dim}), got {arr.dtype} "
                                  f"{arr.shape}")
        if not np.isfinite(arr).all():
            raise DataFormatError(f"{path}: non-finite feature values")
        return arr

    return read


def _check_classes(model_config: ModelConfig, class_names: Sequence[str] | None, data_names: Sequence[str],
                   source: str, data: str) -> None:
    if model_config.num_classes != len(data_names):
        raise DataFormatError(f"{source}: the model has {model_config.num_classes} classes, {data} has "
                              f"{len(data_names)}")
    if class_names is not None and list(class_names) != list(data_names):
        diff = [(a, b) for a, b in zip(class_names, data_names) if a != b][:3]
        raise DataFormatError(f"{source}: the model's classes differ from those of {data} "
                              f"(first differences, model vs data: {diff})")


def _skip_or_raise(on_error: str, video: str, exc: DataFormatError, skipped: dict[str, str]) -> None:
    if on_error == "fail":
        raise exc
    warnings.warn(f"video {video!r} skipped: {exc}", DataWarning, stacklevel=2)
    skipped[video] = str(exc)


def _raw_saver(folder: str | os.PathLike[str], class_names: Sequence[str], infos: Mapping[str, VideoInfo],
               provenance: Mapping[str, Any], resume: bool) -> Callable[[str, np.ndarray, np.ndarray], None]:
    """Starts the TCAM folder (kept on resume when its classes are these) and returns the writer."""
    from tadfuse.tcam_io import META_FILE, read_tcam_folder, write_tcam, write_tcam_meta

    timebases = {(i.snippet_seconds, i.offset_seconds) for i in infos.values()}
    if len(timebases) != 1:
        raise DataFormatError(f"--save-raw {folder}: the videos have {len(timebases)} different timebases "
                              f"(snippet seconds, offset); a TCAM folder holds one")
    (ss, off), = timebases
    if resume and (Path(folder) / META_FILE).is_file():
        meta = read_tcam_folder(folder).meta
        if list(meta.class_names) != list(class_names) or (meta.snippet_seconds, meta.offset_seconds) != (ss, off):
            raise DataFormatError(f"--save-raw {folder}: holds TCAMs of other classes or another timebase")
    else:
        durations = {v: i.duration for v, i in infos.items() if math.isfinite(i.duration)}
        write_tcam_meta(folder, class_names=list(class_names), background=True, snippet_seconds=ss,
                        offset_seconds=off, producer="tadfuse infer", provenance={**provenance, "durations": durations})
    return lambda video, tcam, scores: write_tcam(folder, video, tcam, scores) and None


def infer_to_file(
    out: str | os.PathLike[str],
    checkpoint: str | os.PathLike[str] | None = None,
    data: VideoDataset | str | os.PathLike[str] | None = None,
    *,
    from_raw: str | os.PathLike[str] | None = None,
    config: Config | None = None,
    split: str = "test",
    preset: str | None = None,
    config_file: str | None = None,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    device: str | torch.device | None = None,
    released_path: bool | None = None,
    fmt: str = "json",
    resume: bool = False,
    save_raw: str | os.PathLike[str] | None = None,
    on_error: str = "fail",
    window: int | None = None,
    queue_size: int = 4,
    num_threads: int | None = None,
    progress: bool | None = None,
) -> StreamResult:
    """``tadfuse infer``: the detections of the ``split`` videos of ``data`` from ``checkpoint``
    streamed to ``out`` (:func:`tadfuse.engine.stream.stream_detections`: forward passes and the
    post-processing overlap, memory bounded, crash-safe, ``resume`` skips finished videos).

    ``from_raw``: a TCAM folder (``--save-raw`` of an earlier run) instead of a checkpoint and
    data; the configuration is then ``config`` (default ``official``). ``fmt``: ``"json"``
    (ActivityNet results) or ``"jsonl"``. ``save_raw``: also write the TCAMs as a TCAM folder.
    ``on_error``: ``"fail"`` or ``"skip"`` a video whose features (or raw TCAM) cannot be read,
    with a :class:`DataWarning` naming the file, recorded under ``provenance.skipped_videos``.
    ``window``: videos per forward window (default: four forward batches). Other arguments as
    :func:`infer`.
    """
    from tadfuse.config import load_config
    from tadfuse.tcam_io import read_tcam_folder

    if on_error not in ("fail", "skip"):
        raise InvalidArgumentError(f"`on_error` must be 'fail' or 'skip', got {on_error!r} (CLI: --on-error)")
    if from_raw is not None:
        if checkpoint is not None or data is not None or save_raw is not None:
            raise InvalidArgumentError("from_raw reads TCAMs: give no checkpoint, data or save_raw (CLI: --from-raw)")
        cfg = config if config is not None else load_config(preset, config_file, overrides)
        folder = read_tcam_folder(from_raw)
        meta = folder.meta
        durations = meta.provenance.get("durations", {})
        infos = {v: VideoInfo(meta.snippet_seconds, meta.offset_seconds, float(durations.get(v, math.nan)))
                 for v in folder.videos}
        names: Sequence[str] = folder.videos
        class_names: Sequence[str] = meta.class_names
        inputs: dict[str, Any] = {"command": "tadfuse infer", "from_raw": os.fspath(Path(from_raw).resolve()),
                                  "raw_provenance": {k: v for k, v in meta.provenance.items() if k != "durations"}}

        def outputs(batch: Sequence[str]) -> Any:
            pairs, skipped = [], {}
            for v in batch:
                try:
                    t = folder.read(v)
                except DataFormatError as exc:
                    _skip_or_raise(on_error, v, exc, skipped)
                    continue
                pairs.append((v, t.tcam, t.video_scores))
            return pairs, skipped

        win = window or 256
    else:
        if checkpoint is None or data is None:
            raise InvalidArgumentError("give a checkpoint and data, or from_raw (CLI: --checkpoint and --data, or "
                                       "--from-raw)")
        loaded = load_model(checkpoint, preset=preset, config_file=config_file, overrides=overrides)
        cfg = loaded.config
        mcfg = loaded.model.config
        src = os.fspath(loaded.path)
        if not isinstance(data, VideoDataset) and (Path(data) / "annotations.json").is_file():
            from tadfuse.data import load_folders

            root = Path(data)
            ds = load_folders(None, root / "annotations.json")  # annotations only: features read per video
            read = _folder_features(root, mcfg.feature_dim)  # type: ignore[attr-defined]
            ds_source = os.fspath(root)
        else:
            ds = load_data(data)
            check_model_fits(mcfg, loaded.class_names, ds, src)  # type: ignore[arg-type]
            read = ds.feature
            ds_source = ds.source
        _check_classes(mcfg, loaded.class_names, ds.class_names, src, ds_source)  # type: ignore[arg-type]
        dev = resolve_device(device)
        model = loaded.model.to(dev)
        use_released = loaded.kind == "released" if released_path is None else bool(released_path)
        if use_released and not isinstance(model, RSKP):
            raise InvalidTypeError("the released test path needs an RSKP model")
        idx = [int(i) for i in ds.split(split)]
        if not idx:
            raise InvalidArgumentError("no videos to run inference on")
        names = [ds.names[i] for i in idx]
        class_names = tuple(ds.class_names)
        infos = {ds.names[i]: VideoInfo(float(ds.snippet_seconds[i]), float(ds.offset_seconds[i]),
                                        float(ds.durations[i])) for i in idx}
        inputs = {"command": "tadfuse infer", "checkpoint": os.fspath(loaded.path.resolve()),
                  "checkpoint_kind": loaded.kind, "data": ds_source, "split": split,
                  "released_test_path": use_released}
        batch = cfg.train.forward_batches(dev.type)[1]
        win = window or 4 * batch
        preset_arg = _released_preset(cfg)

        def outputs(batch_names: Sequence[str]) -> Any:
            feats, ok, skipped = [], [], {}
            for v in batch_names:
                try:
                    feats.append(read(v))
                except DataFormatError as exc:
                    _skip_or_raise(on_error, v, exc, skipped)
                    continue
                ok.append(v)
            if not feats:
                return [], skipped
            if use_released:
                pairs = [released_test_outputs(model, f, preset_arg) for f in feats]
            else:
                pairs = model_outputs(model, feats, cfg.model, purpose="test", batch_videos=batch,
                                      padding_budget=cfg.train.padding_budget, device=dev)
            return [(v, t, s) for v, (t, s) in zip(ok, pairs)], skipped

    provenance = {"preset": cfg.preset, "config": cfg.to_dict(), "inputs": inputs}
    on_raw = _raw_saver(save_raw, class_names, infos, provenance, resume) if save_raw is not None else None
    return stream_detections(out, sorted(names), outputs, class_names=class_names, info=infos,
                             postprocess=cfg.postprocess, provenance=provenance, fmt=fmt, resume=resume, window=win,
                             queue_size=queue_size, num_threads=num_threads, on_raw=on_raw, progress=progress)
