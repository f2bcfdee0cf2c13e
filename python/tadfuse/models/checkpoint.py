"""tadfuse's own model checkpoints (docs/models.md, "Checkpoint formats").

One ``torch.save`` of a dict holding only tensors, dicts with string keys, lists, strings, ints,
floats, bools and ``None`` — so ``torch.load(path, weights_only=True)`` reads it and no class is
ever unpickled::

    {
      "format": "tadfuse.models.checkpoint",
      "format_version": 1,
      "model_type": "rskp" | "basnet",
      "model_config": {...},         # the model's own constants (ModelConfig.to_dict())
      "state_dict": {name: tensor},  # CPU tensors
      "class_names": [str, ...],     # num_classes names, in class-index order
      "config": {...},               # the resolved global configuration of the run
      "extra_state": {...},          # e.g. {"memory_bank": bank.state_dict(), "epoch": 120}
      "provenance": {"tadfuse": "0.1.0", "torch": "2.5.1", "created": "2026-...Z"},
    }

Written atomically: to a temporary file in the target's directory, then ``os.replace``.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tadfuse._atomic import atomic_write
from tadfuse.errors import DataFormatError, InvalidArgumentError, InvalidTypeError
from tadfuse.models._io import load_plain
from tadfuse.models.baseline import BasNetBaseline
from tadfuse.models.rskp import RSKP

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "MODEL_TYPES", "Checkpoint", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = "tadfuse.models.checkpoint"
#: Bumped whenever the layout changes; :func:`load_checkpoint` refuses other versions.
CHECKPOINT_VERSION = 1
#: ``model_type`` → the class that rebuilds it (``from_config_dict`` + ``load_state_dict``).
MODEL_TYPES: dict[str, type[nn.Module]] = {RSKP.model_type: RSKP, BasNetBaseline.model_type: BasNetBaseline}

_KEYS = (
    "format",
    "format_version",
    "model_type",
    "model_config",
    "state_dict",
    "class_names",
    "config",
    "extra_state",
    "provenance",
)


def _plain(value: Any, where: str) -> Any:
    """``value`` with tensors on the CPU, tuples as lists and numpy scalars as Python numbers;
    anything ``weights_only`` could not load raises ``InvalidTypeError`` naming ``where``."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidTypeError(f"{where}: keys must be strings, got {k!r}")
            out[k] = _plain(v, f"{where}[{k!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    hint = " (convert it with torch.from_numpy)" if isinstance(value, np.ndarray) else ""
    raise InvalidTypeError(
        f"{where}: {type(value).__name__} cannot be stored (tensors, dicts, lists, str, int, float, bool, None only){hint}"
    )


def _model_type(model: nn.Module) -> str:
    for name, cls in MODEL_TYPES.items():
        if type(model) is cls:
            return name
    raise InvalidTypeError(f"`model` must be one of {[c.__name__ for c in MODEL_TYPES.values()]}, got {type(model).__name__}")


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    config_dict: Mapping[str, Any] | None,
    class_names: Sequence[str],
    extra_state: Mapping[str, Any] | None = None,
) -> Path:
    """Writes ``model`` (an :class:`RSKP` or :class:`BasNetBaseline`) with the run's resolved
    configuration ``config_dict``, its ``num_classes`` ``class_names`` and ``extra_state``
    (memory bank, epoch, optimiser state, ... — plain values and tensors) to ``path``,
    atomically. Returns the path."""
    model_type = _model_type(model)
    names = list(class_names) if not isinstance(class_names, str) else None
    if names is None or not all(isinstance(n, str) for n in names):
        raise InvalidTypeError("`class_names` must be a sequence of strings")
    if len(names) != model.num_classes:
        raise InvalidArgumentError(f"`class_names` has {len(names)} names, the model {model.num_classes} classes")
    import tadfuse

    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "model_type": model_type,
        "model_config": _plain(model.config_dict(), "model config"),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "class_names": names,
        "config": _plain({} if config_dict is None else config_dict, "config_dict"),
        "extra_state": _plain({} if extra_state is None else extra_state, "extra_state"),
        "provenance": {
            "tadfuse": str(tadfuse.__version__),
            "torch": str(torch.__version__),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        },
    }
    target = Path(path)
    if target.is_dir():
        raise InvalidArgumentError(f"`path` {str(target)!r} is a directory")
    return atomic_write(target, lambda f: torch.save(payload, f))


@dataclass
class Checkpoint:
    """A loaded tadfuse checkpoint; :meth:`build_model` rebuilds the model (eval mode)."""

    path: str
    format_version: int
    model_type: str
    model_config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    class_names: list[str]
    config: dict[str, Any]
    extra_state: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def build_model(self) -> nn.Module:
        cls = MODEL_TYPES[self.model_type]
        try:
            model = cls.from_config_dict(self.model_config)  # type: ignore[attr-defined]
            model.load_state_dict(self.state_dict, strict=True)
        except (ValueError, TypeError, RuntimeError) as exc:
            raise DataFormatError(f"checkpoint {self.path!r}: the weights do not fit the stored model config ({exc})") from None
        if model.num_classes != len(self.class_names):
            raise DataFormatError(
                f"checkpoint {self.path!r}: {len(self.class_names)} class names for a model of {model.num_classes} classes"
            )
        if isinstance(model, RSKP):
            model.source = self.path
        model.eval()
        return model


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Reads a :func:`save_checkpoint` file with ``torch.load(weights_only=True)`` (tensors on
    the CPU). A released state_dict, another format, a different ``format_version`` or a
    malformed field raises ``DataFormatError`` naming the file."""
    p = os.fspath(path)
    data = load_plain(p, "checkpoint")
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        hint = ""
        if isinstance(data, dict) and "ac_center" in data:
            hint = " — it looks like a released GauFuse/RSKP state_dict: use load_released_checkpoint"
        raise DataFormatError(f"checkpoint {p!r}: not a tadfuse model checkpoint{hint}")
    version = data.get("format_version")
    if version != CHECKPOINT_VERSION:
        raise DataFormatError(
            f"checkpoint {p!r}: format_version {version!r}, this tadfuse reads version {CHECKPOINT_VERSION} "
            "(written by another tadfuse version)"
        )
    missing = [k for k in _KEYS if k not in data]
    if missing:
        raise DataFormatError(f"checkpoint {p!r}: missing field(s) {missing}")
    if data["model_type"] not in MODEL_TYPES:
        raise DataFormatError(f"checkpoint {p!r}: unknown model_type {data['model_type']!r}; known: {sorted(MODEL_TYPES)}")
    state = data["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataFormatError(f"checkpoint {p!r}: `state_dict` must map names to tensors")
    names = data["class_names"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DataFormatError(f"checkpoint {p!r}: `class_names` must be a list of strings")
    for k in ("model_config", "config", "extra_state", "provenance"):
        if not isinstance(data[k], dict):
            raise DataFormatError(f"checkpoint {p!r}: `{k}` must be a dict, got {type(data[k]).__name__}")
    return Checkpoint(
        path=p,
        format_version=int(version),
        model_type=data["model_type"],
        model_config=data["model_config"],
        state_dict=state,
        class_names=names,
        config=data["config"],
        extra_state=data["extra_state"],
        provenance=data["provenance"],
    )
