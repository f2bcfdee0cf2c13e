"""The trainer's configuration sections: the optimiser (:class:`OptimConfig`) and the training
loop (:class:`TrainConfig`), in the style of :mod:`tadfuse.config` (frozen, validated, with
``official()`` / ``paper()`` constructors, ``inactive_fields()`` and a plain-dict form that the
TOML round trip of :class:`tadfuse.config.Config` reads back). A third constructor, ``rskp()``,
gives the training constants of the backbone's own release (LeonHLJ/RSKP), which has no pseudo
labels of the method: there ``TrainConfig.refresh`` is False, so no refresh and no distillation
happen and the refresh fields have no effect.

Epochs are the 0-based index of the released loops (``for epoch in range(max_epoch)``). Every
piecewise-constant schedule here is ``milestones`` (strictly increasing epochs) and ``values``
(one more than the milestones): epoch ``e`` uses ``values[i]`` with ``i`` the number of milestones
``<= e``, i.e. a milestone is the *first* epoch of its new value.

Sources are cited as ``file:line`` of the released code: GauFuse = zhou745/GauFuse_WSTAL (commit
3f3013a), RSKP = LeonHLJ/RSKP (commit 38a8ad7). Semantics: docs/algorithms.md, "Training: losses,
schedules and the refresh". torch-free.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
from dataclasses import dataclass
from typing import Any

from tadfuse.config._values import _plain
from tadfuse.config.delta import DeltaSchedule
from tadfuse.errors import ConfigError

__all__ = ["OptimConfig", "TrainConfig"]


def _real(owner: str, name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
          lo_open: bool = False) -> float:
    """``value`` as a finite float in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``), else a
    :class:`ConfigError` naming ``owner.name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{owner}: `{name}` must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ConfigError(f"{owner}: `{name}` must be finite, got {value!r}")
    if lo is not None and (out <= lo if lo_open else out < lo):
        raise ConfigError(f"{owner}: `{name}` must be {'>' if lo_open else '>='} {lo}, got {value!r}")
    if hi is not None and out > hi:
        raise ConfigError(f"{owner}: `{name}` must be <= {hi}, got {value!r}")
    return out


def _int(owner: str, name: str, value: Any, *, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{owner}: `{name}` must be an integer, got {value!r}")
    if int(value) < lo:
        raise ConfigError(f"{owner}: `{name}` must be >= {lo}, got {value!r}")
    return int(value)


def _bool(owner: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{owner}: `{name}` must be true or false, got {value!r}")
    return value


def _sequence(owner: str, name: str, value: Any) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ConfigError(f"{owner}: `{name}` must be a list, got {value!r}")
    return tuple(value)


def _piecewise(owner: str, milestones_name: str, values_name: str, milestones: Any, values: Any,
               *, value_lo: float, value_lo_open: bool) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Validated ``(milestones, values)`` of a piecewise-constant schedule over epochs."""
    ms = tuple(_int(owner, f"{milestones_name}[{i}]", m, lo=1)
               for i, m in enumerate(_sequence(owner, milestones_name, milestones)))
    if any(b <= a for a, b in itertools.pairwise(ms)):
        raise ConfigError(f"{owner}: `{milestones_name}` must be strictly increasing, got {list(ms)}")
    vs = tuple(_real(owner, f"{values_name}[{i}]", v, lo=value_lo, lo_open=value_lo_open)
               for i, v in enumerate(_sequence(owner, values_name, values)))
    if len(vs) != len(ms) + 1:
        raise ConfigError(f"{owner}: `{values_name}` must have one value more than `{milestones_name}` "
                          f"({len(ms)} milestones), got {len(vs)} values")
    return ms, vs


@dataclass(frozen=True)
class OptimConfig:
    """Adam and its learning-rate schedule (set at the start of every epoch).

    ``official``: the GauFuse release. ``paper``: the paper states no optimiser settings of its
    own (it trains the RSKP backbone as released), so it equals ``official``. ``rskp``: the RSKP
    release, a constant learning rate (its ``--decay-type`` default 0).
    """

    #: Adam's (β1, β2). GauFuse method.py:102, RSKP processor.py:72: ``betas=[0.9, 0.99]``.
    betas: tuple[float, ...] = (0.9, 0.99)
    #: Adam's L2 weight decay. GauFuse options.py:44, RSKP options.py:36: 0.0005.
    weight_decay: float = 0.0005
    #: First epochs of each next learning rate. GauFuse options.py:65 ``changeLR_list`` with
    #: method.py:354-368 (``Step_change_lr``: 1-based ``epoch + 1`` in ``(m_i, m_{i+1}]``, so
    #: 0-based epoch ``m_i`` is the first with value ``i``); 350 is never reached in 350 epochs.
    lr_milestones: tuple[int, ...] = (80, 200, 245, 260, 350)
    #: The learning rates. GauFuse options.py:66 ``changeLR_value`` (decay type 3, options.py:64).
    lr_values: tuple[float, ...] = (5e-05, 4e-05, 2.048e-05, 5.12e-07, 2.56e-07, 5.12e-08)

    def __post_init__(self) -> None:
        owner = "OptimConfig"
        betas = tuple(_real(owner, f"betas[{i}]", b, lo=0.0, hi=1.0)
                      for i, b in enumerate(_sequence(owner, "betas", self.betas)))
        if len(betas) != 2 or not all(b < 1.0 for b in betas):
            raise ConfigError(f"{owner}: `betas` must be two numbers in [0, 1), got {list(betas)}")
        object.__setattr__(self, "betas", betas)
        object.__setattr__(self, "weight_decay", _real(owner, "weight_decay", self.weight_decay, lo=0.0))
        ms, vs = _piecewise(owner, "lr_milestones", "lr_values", self.lr_milestones, self.lr_values,
                            value_lo=0.0, value_lo_open=True)
        object.__setattr__(self, "lr_milestones", ms)
        object.__setattr__(self, "lr_values", vs)

    @classmethod
    def official(cls, **overrides: Any) -> OptimConfig:
        """GauFuse: Adam(0.9, 0.99), wd 5e-4, lr 5e-5 → 4e-5 (80) → 2.048e-5 (200) → 5.12e-7 (245)
        → 2.56e-7 (260) → 5.12e-8 (350, past the last epoch)."""
        return cls(**overrides)

    @classmethod
    def paper(cls, **overrides: Any) -> OptimConfig:
        """The paper's text: no optimiser settings beyond the backbone's, i.e. ``official``."""
        return cls(**overrides)

    @classmethod
    def rskp(cls, **overrides: Any) -> OptimConfig:
        """RSKP: constant lr 5e-5 (options.py:35; ``--decay-type`` 0 at options.py:57 keeps
        ``current_lr = args.lr``, processor.py:110-112)."""
        return cls(**{"lr_milestones": (), "lr_values": (5e-05,), **overrides})

    def inactive_fields(self) -> dict[str, str]:
        return {}

    def replace(self, **changes: Any) -> OptimConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class TrainConfig:
    """The training loop: epochs, gradient accumulation, the loss weights, the memory bank and
    the pseudo-label refresh. The Δ schedule itself (refresh epochs, targets, distillation
    weight) is the ``delta`` section (:class:`tadfuse.config.DeltaSchedule`).

    Loss of one video (docs/algorithms.md, "Training: losses, schedules and the refresh")::

        foreground_weight · foreground + background_weight · background
        + attention_weight · attention + self_label_weight(epoch) · self_label
        + delta.loss_weight(epoch) · distillation      (refresh on, Δ phase active)

    The losses of ``videos_per_step`` videos are summed (one backward each, gradients
    accumulated) before each optimiser step.
    """

    #: Training epochs. GauFuse options.py:47 ``--max-epoch`` 350 (RSKP options.py:39: 200).
    epochs: int = 350
    #: Videos whose losses are summed per optimiser step. GauFuse options.py:41 ``--batch-size``
    #: 10, method.py:313-328 (``backward()`` per video, ``step()`` when ``iter % 10 == 0``).
    videos_per_step: int = 10
    #: The step counter runs across epochs (the released ``iter`` is never reset,
    #: method.py:133/218/315): with a video count not divisible by ``videos_per_step`` a step
    #: mixes two epochs' videos. False: each epoch ends with a (shorter) step of its own.
    steps_span_epochs: bool = True
    #: Weight of the foreground NCE sum. GauFuse options.py:73 ``--fore_loss_weight`` 1 (RSKP: 1,
    #: processor.py:153).
    foreground_weight: float = 1.0
    #: Weight of the background NCE sum. GauFuse options.py:75 0.2 (RSKP options.py:45
    #: ``--lambda-b`` 0.2).
    background_weight: float = 0.2
    #: Weight of the attention loss. GauFuse options.py:76 0.1 (RSKP options.py:44 ``--lambda-a``).
    attention_weight: float = 0.1
    #: Attention loss: top and bottom ``k = max(l // attention_divisor, 1)`` of ``l`` snippets.
    #: GauFuse method.py:54 ``AttLoss(8.0)``, model/losses.py:37-38 (same in RSKP).
    attention_divisor: int = 8
    #: Temperature of the self pseudo-label CE, applied to both its target and its prediction.
    #: GauFuse options.py:37 ``--T`` 0.2, method.py:56, model/losses.py:24-26 (same in RSKP).
    self_label_temperature: float = 0.2
    #: First epochs of each next self pseudo-label weight. GauFuse method.py:230-262
    #: (``epoch <= 100``: 1.0, ``<= 200``: 0.5, later 1.0); RSKP processor.py:177-182 sets 0.5
    #: after epoch 100, i.e. from epoch 101.
    self_label_milestones: tuple[int, ...] = (101, 201)
    #: The self pseudo-label weights.
    self_label_weights: tuple[float, ...] = (1.0, 0.5, 1.0)
    #: The inter-video memory bank (GauFuse options.py:67 ``--use_mem`` 1; always on in RSKP).
    use_memory: bool = True
    #: The bank is filled at the *end* of this epoch and used from the next one on (``epoch >
    #: warmup``). GauFuse options.py:55 100, method.py:288/330-334; RSKP options.py:48,
    #: processor.py:139/177-180.
    memory_warmup_epoch: int = 100
    #: Weight, inside the foreground and background sums, of the memory branch's NCE.
    #: GauFuse method.py:294-295, RSKP processor.py:145-146: 0.5.
    memory_coef: float = 0.5
    #: Share of the memory branch in the self pseudo-label target logits after warm-up
    #: (``0.8·m + 0.2·r``). GauFuse method.py:296, RSKP processor.py:147.
    memory_target_coef: float = 0.2
    #: The bank is zeroed at every refresh epoch and refilled by training only (no second
    #: warm-up pass). GauFuse method.py:173, model/memory.py:46-49.
    empty_memory_at_refresh: bool = True
    #: Reproduce the released defect: ``np.where(labels == 1)[0]`` on the ``(1, C)`` label batch
    #: gives row indices, so every video reads and updates the bank of class 0 only (once per
    #: labelled class). GauFuse method.py:289; RSKP processor.py:140 uses ``[1]``, correctly.
    #: Off in every preset (fixed by default); on to reproduce the released run.
    memory_class0_bug: bool = False
    #: The method's pseudo labels: refreshes and the Δ distillation. False (``rskp``): the
    #: backbone alone; the ``delta`` section and the refresh fields have no effect.
    refresh: bool = True
    #: Fusion temperature of each refresh, one per ``delta.refresh_epochs`` entry. GauFuse
    #: options.py:19-21 and method.py:176-177: ``[1, 1, 1, 0.1, 0.1, 0.08] × 0.02``.
    refresh_temperatures: tuple[float, ...] = (0.02, 0.02, 0.02, 0.002, 0.002, 0.0016)
    #: Reproduce the released defect: the labelling copy of the model is never put in eval mode
    #: (GauFuse method.py:62/163/193: ``dist_model`` is built in training mode), so pseudo labels
    #: are computed with dropout (0.6) active. Off in every preset.
    refresh_dropout: bool = False
    #: Refresh TCAM: ``c·softmax(o) + (1 − c)·softmax(m)``, times the main branch's attention.
    #: GauFuse options.py:72 ``--frm_coef_pseudo`` 0.8, utils/utils.py:377-381.
    label_o_coef: float = 0.8
    #: Video scores (refresh and evaluation): ``c·o + (1 − c)·m`` of the class-agnostic heads.
    #: GauFuse utils/utils.py:379, evaluation/eval.py:69: 0.6 (RSKP evaluation/eval.py:59: 0.6).
    video_score_o_coef: float = 0.6
    #: Evaluation TCAM, as the refresh TCAM with this coefficient. GauFuse options.py:71
    #: ``--frm_coef`` 0.85, evaluation/eval.py:71 (RSKP evaluation/eval.py:60: 0.6).
    eval_o_coef: float = 0.85
    #: Evaluate (and checkpoint) after epoch ``e`` when ``(e + 1) % eval_every == 0``.
    #: GauFuse options.py:23 ``--save-interval`` 5, method.py:337 (RSKP processor.py:184).
    eval_every: int = 5
    #: ``torch.manual_seed``. GauFuse options.py:46 2, main.py:18 (numpy is not seeded there).
    seed: int = 2

    def __post_init__(self) -> None:
        owner = "TrainConfig"
        for name in ("epochs", "videos_per_step", "attention_divisor", "eval_every"):
            object.__setattr__(self, name, _int(owner, name, getattr(self, name), lo=1))
        for name in ("memory_warmup_epoch", "seed"):
            object.__setattr__(self, name, _int(owner, name, getattr(self, name)))
        for name in ("steps_span_epochs", "use_memory", "empty_memory_at_refresh", "memory_class0_bug",
                     "refresh", "refresh_dropout"):
            object.__setattr__(self, name, _bool(owner, name, getattr(self, name)))
        for name in ("foreground_weight", "background_weight", "attention_weight", "memory_coef"):
            object.__setattr__(self, name, _real(owner, name, getattr(self, name), lo=0.0))
        object.__setattr__(self, "self_label_temperature",
                           _real(owner, "self_label_temperature", self.self_label_temperature, lo=0.0, lo_open=True))
        for name in ("memory_target_coef", "label_o_coef", "video_score_o_coef", "eval_o_coef"):
            object.__setattr__(self, name, _real(owner, name, getattr(self, name), lo=0.0, hi=1.0))
        ms, vs = _piecewise(owner, "self_label_milestones", "self_label_weights", self.self_label_milestones,
                            self.self_label_weights, value_lo=0.0, value_lo_open=False)
        object.__setattr__(self, "self_label_milestones", ms)
        object.__setattr__(self, "self_label_weights", vs)
        temps = tuple(_real(owner, f"refresh_temperatures[{i}]", t, lo=0.0, lo_open=True)
                      for i, t in enumerate(_sequence(owner, "refresh_temperatures", self.refresh_temperatures)))
        if self.refresh and not temps:
            raise ConfigError(f"{owner}: `refresh_temperatures` must list one temperature per refresh epoch")
        object.__setattr__(self, "refresh_temperatures", temps)

    @classmethod
    def official(cls, **overrides: Any) -> TrainConfig:
        """The GauFuse release (its two defects off: ``memory_class0_bug``, ``refresh_dropout``)."""
        return cls(**overrides)

    @classmethod
    def paper(cls, **overrides: Any) -> TrainConfig:
        """The paper's text: fusion temperature 0.1 at every refresh (the released
        ``--dist_temperature`` default, options.py:17, before the decay of options.py:19-21
        overrides it); everything else as released."""
        return cls(**{"refresh_temperatures": (0.1,) * 6, **overrides})

    @classmethod
    def rskp(cls, **overrides: Any) -> TrainConfig:
        """The RSKP release: 200 epochs (options.py:39), self-label weight 1.0 up to epoch 100 and
        0.5 after (processor.py:182), evaluation TCAM ``0.6·softmax(o) + 0.4·softmax(m)``
        (evaluation/eval.py:60); no refresh, hence no distillation and no emptied bank."""
        base: dict[str, Any] = dict(epochs=200, self_label_milestones=(101,), self_label_weights=(1.0, 0.5),
                                    refresh=False, refresh_temperatures=(), eval_o_coef=0.6)
        base.update(overrides)
        return cls(**base)

    def inactive_fields(self) -> dict[str, str]:
        """Fields that have no effect under this configuration, each with the reason."""
        out: dict[str, str] = {}
        if not self.use_memory:
            for name in ("memory_warmup_epoch", "memory_coef", "memory_target_coef", "empty_memory_at_refresh",
                         "memory_class0_bug"):
                out[name] = "use_memory = true only"
        if not self.refresh:
            for name in ("refresh_temperatures", "refresh_dropout", "label_o_coef", "empty_memory_at_refresh"):
                out[name] = "refresh = true only"
        return out

    def check_delta(self, delta: DeltaSchedule) -> None:
        """Raises :class:`ConfigError` unless there is one refresh temperature per refresh epoch
        of ``delta`` (a check across sections, for :class:`tadfuse.config.Config`)."""
        if self.refresh and len(self.refresh_temperatures) != len(delta.refresh_epochs):
            raise ConfigError(
                f"train.refresh_temperatures: {len(self.refresh_temperatures)} temperatures for "
                f"{len(delta.refresh_epochs)} refresh epochs (delta.refresh_epochs = {list(delta.refresh_epochs)})")

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)
