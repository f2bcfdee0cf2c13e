"""What happens at each epoch, as pure functions of the configuration sections.

Epochs are the 0-based loop index. Within epoch ``e`` the released loops do, in order
(GauFuse method.py:170-343):

1. if ``e`` is a refresh epoch: empty the memory bank, copy the model, compute every training
   video's pseudo labels at that refresh's fusion temperature (:func:`refresh_temperature`);
2. set the learning rate of ``e`` (:func:`learning_rate`) and train one pass with the loss
   weights of ``e`` (:func:`loss_weights`), the memory branch on when :func:`memory_active`;
3. after the pass: fill the memory bank when :func:`memory_filled_after`, evaluate when
   :func:`evaluates_after`, checkpoint when :func:`checkpoints_after`.

:func:`epoch_plan` bundles all of it. torch-free. docs/engine.md, "Training: losses,
schedules and the refresh".
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from tadfuse._checks import integer
from tadfuse.config import Config, DeltaPhase, DeltaSchedule, ModelConfig
from tadfuse.config.train import OptimConfig, TrainConfig
from tadfuse.errors import ConfigError

__all__ = [
    "EpochPlan",
    "LossWeights",
    "checkpoints_after",
    "delta_phase",
    "epoch_plan",
    "evaluates_after",
    "learning_rate",
    "loss_weights",
    "memory_active",
    "memory_emptied",
    "memory_filled_after",
    "refresh_temperature",
    "self_label_weight",
]


@dataclass(frozen=True)
class LossWeights:
    """The weight of each named loss term at one epoch (0.0: the term is off)."""

    foreground: float
    background: float
    attention: float
    self_label: float
    #: ``delta.loss_weight(epoch)`` in a Δ phase of a run with refreshes, else 0.0.
    distillation: float

    def as_dict(self) -> dict[str, float]:
        return {"foreground": self.foreground, "background": self.background, "attention": self.attention,
                "self_label": self.self_label, "distillation": self.distillation}


@dataclass(frozen=True)
class EpochPlan:
    """Everything the loop does differently at one epoch (see the module docstring)."""

    epoch: int
    learning_rate: float
    weights: LossWeights
    #: The fusion temperature of the refresh at the start of this epoch, or None (no refresh).
    refresh_temperature: float | None
    #: The Δ phase (the distillation target's form), or None (no distillation).
    delta_phase: DeltaPhase | None
    memory_emptied: bool
    memory_active: bool
    memory_filled_after: bool
    evaluates_after: bool
    checkpoints_after: bool


def _epoch(epoch: int) -> int:
    return integer("epoch", epoch)


def _piece(milestones: tuple[int, ...], values: tuple[float, ...], epoch: int) -> float:
    """``values[i]``, ``i`` = the number of milestones ``<= epoch`` (a milestone is the first
    epoch of its value)."""
    return values[bisect.bisect_right(milestones, epoch)]


def learning_rate(optim: OptimConfig, epoch: int) -> float:
    """The learning rate of every step of ``epoch``."""
    return _piece(optim.lr_milestones, optim.lr_values, _epoch(epoch))


def self_label_weight(train: TrainConfig, epoch: int) -> float:
    """The weight of the self pseudo-label CE at ``epoch``."""
    return _piece(train.self_label_milestones, train.self_label_weights, _epoch(epoch))


def delta_phase(train: TrainConfig, delta: DeltaSchedule, epoch: int) -> DeltaPhase | None:
    """The Δ phase of ``epoch`` (``delta.phase``), None without refreshes or outside a phase."""
    return delta.phase(_epoch(epoch)) if train.refresh else None


def loss_weights(train: TrainConfig, delta: DeltaSchedule, epoch: int) -> LossWeights:
    """The weights of the loss terms at ``epoch``; the distillation weight is
    ``delta.loss_weight(epoch)`` inside a Δ phase (:func:`delta_phase`), 0.0 elsewhere."""
    phase = delta_phase(train, delta, epoch)
    return LossWeights(
        foreground=train.foreground_weight,
        background=train.background_weight,
        attention=train.attention_weight,
        self_label=self_label_weight(train, epoch),
        distillation=0.0 if phase is None else delta.loss_weight(epoch),
    )


def refresh_temperature(train: TrainConfig, delta: DeltaSchedule, epoch: int) -> float | None:
    """The fusion temperature of the refresh at the start of ``epoch``; None when ``epoch`` does
    not refresh (or the run has no refreshes). The ``i``-th refresh epoch uses
    ``train.refresh_temperatures[i]``."""
    epoch = _epoch(epoch)
    if not train.refresh or not delta.is_refresh(epoch):
        return None
    i = delta.refresh_epochs.index(epoch)
    if i >= len(train.refresh_temperatures):
        raise ConfigError(f"train.refresh_temperatures: no temperature for refresh {i} (epoch {epoch}); "
                          f"{len(train.refresh_temperatures)} given for {len(delta.refresh_epochs)} refresh epochs")
    return train.refresh_temperatures[i]


def memory_active(train: TrainConfig, model: ModelConfig, epoch: int) -> bool:
    """Whether ``epoch`` trains with the memory branch (``epoch > model.warmup_epoch``)."""
    return train.use_memory and model.uses_memory(_epoch(epoch))


def memory_filled_after(train: TrainConfig, model: ModelConfig, epoch: int) -> bool:
    """Whether the memory bank is filled (one pass over the training videos) after ``epoch``
    (``epoch == model.warmup_epoch``)."""
    return train.use_memory and _epoch(epoch) == model.warmup_epoch


def memory_emptied(train: TrainConfig, delta: DeltaSchedule, epoch: int) -> bool:
    """Whether the memory bank is zeroed at the start of ``epoch`` (a refresh epoch)."""
    return (train.use_memory and train.empty_memory_at_refresh
            and refresh_temperature(train, delta, epoch) is not None)


def evaluates_after(train: TrainConfig, epoch: int) -> bool:
    """Whether the model is evaluated after ``epoch``: ``(epoch + 1) % eval_every == 0`` (the
    released rule, which names the evaluation ``epoch + 1``), and after the last epoch."""
    e = _epoch(epoch)
    return (e + 1) % train.eval_every == 0 or e == train.epochs - 1


def checkpoints_after(train: TrainConfig, epoch: int) -> bool:
    """Whether a checkpoint is written after ``epoch``: ``(epoch + 1) % checkpoint_every == 0``,
    and after the last epoch."""
    e = _epoch(epoch)
    return (e + 1) % train.checkpoint_every == 0 or e == train.epochs - 1


def epoch_plan(config: Config, epoch: int) -> EpochPlan:
    """Everything :mod:`tadfuse.engine.schedule` says about ``epoch`` of a run configured by
    ``config`` (its ``optim``, ``train``, ``delta`` and ``model`` sections), in one value."""
    optim, train, delta, model = config.optim, config.train, config.delta, config.model
    return EpochPlan(
        epoch=_epoch(epoch),
        learning_rate=learning_rate(optim, epoch),
        weights=loss_weights(train, delta, epoch),
        refresh_temperature=refresh_temperature(train, delta, epoch),
        delta_phase=delta_phase(train, delta, epoch),
        memory_emptied=memory_emptied(train, delta, epoch),
        memory_active=memory_active(train, model, epoch),
        memory_filled_after=memory_filled_after(train, model, epoch),
        evaluates_after=evaluates_after(train, epoch),
        checkpoints_after=checkpoints_after(train, epoch),
    )
