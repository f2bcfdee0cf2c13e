"""Datasets, model dimensions and checkpoints as the trainer and inference take them (torch).

* :func:`load_data` — a dataset object or folder, with its features;
* :func:`fit_dimensions` — ``model.feature_dim`` / ``model.num_classes`` taken from the data (or
  a checkpoint) unless the configuration set them to something else, which is an error;
* :func:`load_model` — a run folder (its ``last.pt``), a tadfuse checkpoint or a released
  ``.pkl`` → the model, the configuration to use it with, and where it came from;
* :func:`check_model_fits` — a loaded model against the data it is applied to.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tadfuse.config import Config, ModelConfig, get_preset, load_config, parse_override
from tadfuse.config.resolve import tomllib
from tadfuse.data import VideoDataset, load_dataset
from tadfuse.errors import ConfigError, DataFormatError, InvalidTypeError
from tadfuse.models.checkpoint import load_checkpoint
from tadfuse.models.released import read_released_state_dict
from tadfuse.models.rskp import RSKP

__all__ = ["LoadedModel", "check_model_fits", "fit_dimensions", "last_checkpoint", "load_data", "load_model"]

#: The model dimensions that come from the data (or a checkpoint), not from a preset.
DATA_DIMENSIONS: tuple[str, ...] = ("feature_dim", "num_classes")


def load_data(data: VideoDataset | str | os.PathLike[str]) -> VideoDataset:
    """``data`` as a dataset with features: a `VideoDataset`, or a folder of either layout
    (`tadfuse.data.load_dataset`)."""
    if isinstance(data, VideoDataset):
        ds = data
    elif isinstance(data, (str, os.PathLike)):
        if not Path(data).is_dir():
            raise DataFormatError(f"{os.fspath(data)}: no such dataset folder (CLI: --data)")
        ds = load_dataset(data)
    else:
        raise InvalidTypeError(f"`data` must be a VideoDataset or a dataset folder, got {type(data).__name__}")
    if not ds.has_features:
        raise DataFormatError(f"{ds.source}: the dataset was loaded without features")
    return ds


def fit_dimensions(config: Config, dims: Mapping[str, int], source: str) -> Config:
    """``config`` with ``model.<name>`` set to ``dims[name]`` for the dimensions the data or a
    checkpoint (``source``) fixes. A value the configuration names explicitly (different from
    its preset's) that disagrees raises :class:`ConfigError` naming both."""
    try:
        preset_model = get_preset(config.preset).model
    except ConfigError:  # a configuration of an unregistered preset: no defaults to tell apart
        preset_model = None
    changes: dict[str, int] = {}
    for name, want in dims.items():
        have = getattr(config.model, name)
        if have == want:
            continue
        if preset_model is not None and have == getattr(preset_model, name):
            changes[name] = int(want)
            continue
        raise ConfigError(f"model.{name} = {have} was set, but {source} has {name} = {want}; drop the setting "
                          f"or use matching data")
    return dataclasses.replace(config, model=config.model.replace(**changes)) if changes else config


def check_model_fits(model_config: ModelConfig, class_names: Iterable[str] | None, data: VideoDataset,
                     source: str) -> None:
    """Raises :class:`DataFormatError` naming ``source`` and the data when the model's feature
    dimension or classes (by count, and by name when the checkpoint records them) are not the
    data's."""
    if model_config.feature_dim != data.feature_dim:
        raise DataFormatError(f"{source}: the model takes {model_config.feature_dim}-d features, {data.source} has "
                              f"{data.feature_dim}-d features")
    if model_config.num_classes != data.num_classes:
        raise DataFormatError(f"{source}: the model has {model_config.num_classes} classes, {data.source} has "
                              f"{data.num_classes}")
    if class_names is not None:
        names = list(class_names)
        if names != list(data.class_names):
            diff = [(a, b) for a, b in zip(names, data.class_names) if a != b][:3]
            raise DataFormatError(f"{source}: the model's classes differ from those of {data.source} "
                                  f"(first differences, model vs data: {diff})")


def last_checkpoint(run: str | os.PathLike[str]) -> Path:
    """``RUN/checkpoints/last.pt`` of a run folder; :class:`DataFormatError` when absent."""
    path = Path(run) / "checkpoints" / "last.pt"
    if not path.is_file():
        raise DataFormatError(f"{os.fspath(run)}: a run folder without checkpoints/last.pt (no epoch finished "
                              f"a checkpoint yet)")
    return path


@dataclass
class LoadedModel:
    """A model ready for inference (eval mode), the configuration it runs under, the class names
    its checkpoint records (None for a released ``.pkl``), and what it was loaded from:
    ``kind`` is ``"run"``, ``"checkpoint"`` or ``"released"``."""

    model: torch.nn.Module
    config: Config
    class_names: list[str] | None
    path: Path
    kind: str


def _released_exact(cfg: Config, config_file: str | None, overrides: Iterable[str] | Mapping[str, Any] | None) -> Config:
    """A released checkpoint under ``official`` is post-processed in the exact mode (the released
    test path's arithmetic), unless the file or an override says ``postprocess.exact`` or picks a
    post-processing the exact mode does not reproduce (soft-NMS, another overlap, ...)."""
    keys = set(overrides) if isinstance(overrides, Mapping) else {parse_override(o)[0] for o in overrides or ()}
    if config_file is not None:
        keys |= {f"postprocess.{k}" for k in tomllib.loads(Path(config_file).read_text()).get("postprocess", {})}
    if cfg.preset != "official" or "postprocess.exact" in keys:
        return cfg
    try:
        return dataclasses.replace(cfg, postprocess=cfg.postprocess.replace(exact=True))
    except ConfigError:
        return cfg


def load_model(checkpoint: str | os.PathLike[str], *, preset: str | None = None, config_file: str | None = None,
               overrides: Iterable[str] | Mapping[str, Any] = ()) -> LoadedModel:
    """Load ``checkpoint`` for inference.

    * A **run folder** or a **tadfuse checkpoint**: the model and the run's configuration as
      saved, with ``overrides`` applied (``preset`` and ``config_file`` are refused: the
      checkpoint has its configuration). An override of the model's dimensions is an error.
    * A **released** ``.pkl`` (zhou745/GauFuse_WSTAL, LeonHLJ/RSKP): the configuration
      ``load_config(preset or "official", config_file, overrides)``, its model section with the
      dimensions of the file's tensors (:func:`fit_dimensions`).
    """
    p = Path(checkpoint)
    kind = "run" if p.is_dir() else "checkpoint"
    path = last_checkpoint(p) if p.is_dir() else p
    if not path.is_file():
        raise DataFormatError(f"{os.fspath(path)}: no such checkpoint file (CLI: --checkpoint)")
    released = path.suffix == ".pkl"
    if not released:
        try:
            ckpt = load_checkpoint(path)
        except DataFormatError as exc:
            if "load_released_checkpoint" not in str(exc):
                raise
            released = True  # a released state_dict saved under another suffix
    if released:
        state, dims = read_released_state_dict(path)
        cfg = _released_exact(load_config(preset or "official", config_file, overrides), config_file, overrides)
        cfg = fit_dimensions(cfg, {k: dims[k] for k in DATA_DIMENSIONS}, f"released checkpoint {os.fspath(path)}")
        for name in ("embed_dim", "num_centres"):
            if getattr(cfg.model, name) != dims[name]:
                cfg = dataclasses.replace(cfg, model=cfg.model.replace(**{name: dims[name]}))
        model = RSKP(cfg.model)
        model.load_state_dict({k: v.to(torch.float32) for k, v in state.items()}, strict=True)
        model.source = os.fspath(path)
        model.eval()
        return LoadedModel(model, cfg, None, path, "released")
    if preset is not None or config_file is not None:
        raise ConfigError(f"{os.fspath(path)}: a tadfuse checkpoint carries its configuration; --preset and "
                          f"--config apply to released .pkl checkpoints only (use --set to change a setting)")
    model = ckpt.build_model()
    base = Config.from_dict(ckpt.config, source=os.fspath(path))
    stored = getattr(model, "config", None)
    if isinstance(stored, ModelConfig):  # the model's own constants are the ones it was built with
        base = dataclasses.replace(base, model=stored)
    cfg = base.override(overrides)
    if isinstance(stored, ModelConfig):
        dims_changed = [k for k in (*DATA_DIMENSIONS, "embed_dim", "num_centres")
                        if getattr(cfg.model, k) != getattr(stored, k)]
        if dims_changed:
            raise ConfigError(f"{os.fspath(path)}: model.{dims_changed[0]} cannot change at inference (the checkpoint "
                              f"has {getattr(stored, dims_changed[0])})")
    return LoadedModel(model, cfg, list(ckpt.class_names), path, kind)
