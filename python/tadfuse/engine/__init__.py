"""Training and inference: per-epoch schedules, the pseudo-label refresh, batching, metrics (all
numpy-only), and — loaded on first use, they need torch — the losses, the training loop
(:func:`train`, :func:`resume`) and inference (:func:`infer`, :func:`evaluate_inference`).

``import tadfuse.engine`` does not import torch; ``tadfuse.engine.trainer`` etc. do, and a missing
torch raises :class:`~tadfuse.errors.MissingExtraError` naming the extra. docs/engine.md,
"Training: losses, schedules and the refresh" and "Batching semantics".

::

    from tadfuse.engine import train, infer, evaluate_inference
    result = train("demo", "toy_data/", out="runs/demo")
    inference = infer("runs/demo", "toy_data/")          # the run's last checkpoint
    print(evaluate_inference(inference, "toy_data/")["fusion"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tadfuse._lazy import torch_attributes
from tadfuse.config.train import OptimConfig, TrainConfig
from tadfuse.engine.batching import epoch_order, length_chunks, sample_indices, sorted_by_length
from tadfuse.engine.metrics import ClassificationMAP, classification_ap, classification_map
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

if TYPE_CHECKING:
    from tadfuse.engine.inference import Inference, evaluate_inference, infer, infer_to_file, model_outputs
    from tadfuse.engine.run import RunDir
    from tadfuse.engine.trainer import TrainResult, resume, train

_LAZY: dict[str, str] = {
    **dict.fromkeys(("Inference", "evaluate_inference", "infer", "infer_to_file", "model_outputs"), "inference"),
    "RunDir": "run",
    **dict.fromkeys(("TrainResult", "resume", "train"), "trainer"),
}

__all__ = [
    "ClassificationMAP",
    "EpochPlan",
    "Inference",
    "LossWeights",
    "OptimConfig",
    "RefreshTimings",
    "RunDir",
    "TrainConfig",
    "TrainResult",
    "checkpoints_after",
    "classification_ap",
    "classification_map",
    "delta_phase",
    "epoch_order",
    "epoch_plan",
    "evaluate_inference",
    "evaluates_after",
    "infer",
    "infer_to_file",
    "label_tcam",
    "label_video_scores",
    "learning_rate",
    "length_chunks",
    "loss_weights",
    "memory_active",
    "memory_emptied",
    "memory_filled_after",
    "model_outputs",
    "refresh_labels",
    "refresh_temperature",
    "resume",
    "sample_indices",
    "self_label_weight",
    "sorted_by_length",
    "train",
]


__getattr__, __dir__ = torch_attributes("tadfuse.engine", _LAZY, globals())
