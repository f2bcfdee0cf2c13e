"""Models (torch, the ``train`` extra): the RSKP backbone, a BaS-Net-like baseline, the plug-in
interface they share, released and tadfuse checkpoints (docs/models.md).

``ModelConfig`` (``tadfuse.config.model``) needs no torch; everything else is imported on first
use and raises ``MissingExtraError`` when torch is not installed. ``import tadfuse`` never
imports this package.

::

    from tadfuse.models import RSKP, ModelConfig, load_released_checkpoint, released_test_outputs
    model = load_released_checkpoint("ckpt/350.pkl", "official")
    tcam, scores = released_test_outputs(model, features, "official")   # (l, 21), (21,)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tadfuse._lazy import torch_attributes
from tadfuse.config.model import MODEL_PRESETS, ModelConfig

if TYPE_CHECKING:
    from tadfuse.models.baseline import BasNetBaseline, BasNetConfig, BasNetOutput, masked_topk_mean
    from tadfuse.models.checkpoint import (
        CHECKPOINT_FORMAT,
        CHECKPOINT_VERSION,
        MODEL_TYPES,
        Checkpoint,
        load_checkpoint,
        save_checkpoint,
    )
    from tadfuse.models.interface import (
        SnippetOutputs,
        TCAMModel,
        check_mask,
        pad_features,
        predict,
        resolve_mask,
        tcam_from_outputs,
    )
    from tadfuse.models.memory import MemoryBank
    from tadfuse.models.propagation import WalkMethod, assignments, em_centres, l2_normalize, random_walk
    from tadfuse.models.released import (
        RELEASED_KEYS,
        load_released_checkpoint,
        read_released_state_dict,
        released_test_outputs,
    )
    from tadfuse.models.rskp import RSKP, BranchOutput, RSKPOutput, pseudo_label_mode

_LAZY: dict[str, str] = {
    **dict.fromkeys(("BasNetBaseline", "BasNetConfig", "BasNetOutput", "masked_topk_mean"), "baseline"),
    **dict.fromkeys(
        ("CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "MODEL_TYPES", "Checkpoint", "load_checkpoint", "save_checkpoint"),
        "checkpoint",
    ),
    **dict.fromkeys(
        ("SnippetOutputs", "TCAMModel", "check_mask", "pad_features", "predict", "resolve_mask", "tcam_from_outputs"),
        "interface",
    ),
    "MemoryBank": "memory",
    **dict.fromkeys(("WalkMethod", "assignments", "em_centres", "l2_normalize", "random_walk"), "propagation"),
    **dict.fromkeys(("RELEASED_KEYS", "load_released_checkpoint", "read_released_state_dict", "released_test_outputs"), "released"),
    **dict.fromkeys(("RSKP", "BranchOutput", "RSKPOutput", "pseudo_label_mode"), "rskp"),
}

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "MODEL_PRESETS",
    "MODEL_TYPES",
    "RELEASED_KEYS",
    "RSKP",
    "BasNetBaseline",
    "BasNetConfig",
    "BasNetOutput",
    "BranchOutput",
    "Checkpoint",
    "MemoryBank",
    "ModelConfig",
    "RSKPOutput",
    "SnippetOutputs",
    "TCAMModel",
    "WalkMethod",
    "assignments",
    "check_mask",
    "em_centres",
    "l2_normalize",
    "load_checkpoint",
    "load_released_checkpoint",
    "masked_topk_mean",
    "pad_features",
    "predict",
    "pseudo_label_mode",
    "random_walk",
    "read_released_state_dict",
    "released_test_outputs",
    "resolve_mask",
    "save_checkpoint",
    "tcam_from_outputs",
]


__getattr__, __dir__ = torch_attributes("tadfuse.models", _LAZY, globals())
