"""Training: configuration sections, per-epoch schedules, the pseudo-label refresh and (in
:mod:`tadfuse.engine.losses`, which needs torch) the losses.

``import tadfuse.engine`` does not import torch: the sections, the schedules and the refresh are
numpy-only; import :mod:`tadfuse.engine.losses` for the losses. docs/engine.md, "Training:
losses, schedules and the refresh".
"""

from tadfuse.config.train import OptimConfig, TrainConfig
from tadfuse.engine.refresh import RefreshTimings, label_tcam, label_video_scores, refresh_labels
from tadfuse.engine.schedule import (
    EpochPlan,
    LossWeights,
    checkpoints_after,
    delta_phase,
    epoch_plan,
    evaluates_after,
    learning_rate,
    loss_weights,
    memory_active,
    memory_emptied,
    memory_filled_after,
    refresh_temperature,
    self_label_weight,
)

__all__ = [
    "EpochPlan",
    "LossWeights",
    "OptimConfig",
    "RefreshTimings",
    "TrainConfig",
    "checkpoints_after",
    "delta_phase",
    "epoch_plan",
    "evaluates_after",
    "label_tcam",
    "label_video_scores",
    "learning_rate",
    "loss_weights",
    "memory_active",
    "memory_emptied",
    "memory_filled_after",
    "refresh_labels",
    "refresh_temperature",
    "self_label_weight",
]
