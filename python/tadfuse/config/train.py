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
3f3013a), RSKP = LeonHLJ/RSKP (commit 38a8ad7). Semantics: docs/engine.md, "Training: losses,
schedules and the refresh". torch-free.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from tadfuse.config._validate import boolean, integer, piecewise, real, sequence
from tadfuse.config._values import _plain
from tadfuse.config.delta import DeltaSchedule
from tadfuse.errors import ConfigError

__all__ = ["CUDA_INFERENCE_BATCH", "EVAL_METHODS", "OptimConfig", "TrainConfig"]


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
        betas = tuple(real(owner, f"betas[{i}]", b, lo=0.0, hi=1.0)
                      for i, b in enumerate(sequence(owner, "betas", self.betas)))
        if len(betas) != 2 or not all(b < 1.0 for b in betas):
            raise ConfigError(f"{owner}: `betas` must be two numbers in [0, 1), got {list(betas)}")
        object.__setattr__(self, "betas", betas)
        object.__setattr__(self, "weight_decay", real(owner, "weight_decay", self.weight_decay, lo=0.0))
        ms, vs = piecewise(owner, "lr_milestones", "lr_values", self.lr_milestones, self.lr_values,
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


#: The post-processing methods ``TrainConfig.eval_methods`` may name.
EVAL_METHODS: tuple[str, ...] = ("fusion", "nms", "soft_nms")
#: Videos per inference forward pass on CUDA when ``TrainConfig.inference_batch_videos`` is None.
CUDA_INFERENCE_BATCH = 16


@dataclass(frozen=True)
class TrainConfig:
    """The training loop: epochs, gradient accumulation, the loss weights, the memory bank, the
    pseudo-label refresh, evaluation, checkpoints and batching. The Δ schedule itself (refresh
    epochs, targets, distillation weight) is the ``delta`` section
    (:class:`tadfuse.config.DeltaSchedule`); the model's own constants, including the memory
    warm-up epoch, the TCAM and video-score mixes and the two released defects, are the
    ``model`` section (:class:`tadfuse.config.ModelConfig`).

    Loss of one video (docs/engine.md, "Training: losses, schedules and the refresh")::

        foreground_weight · foreground + background_weight · background
        + attention_weight · attention + self_label_weight(epoch) · self_label
        + delta.loss_weight(epoch) · distillation      (refresh on, Δ phase active)

    The losses of ``videos_per_step`` videos are summed (their gradients accumulated) before
    each optimiser step; ``batch_videos`` of them at most share one padded forward pass.
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
    #: Its warm-up epoch is ``model.warmup_epoch``.
    use_memory: bool = True
    #: Weight, inside the foreground and background sums, of the memory branch's NCE.
    #: GauFuse method.py:294-295, RSKP processor.py:145-146: 0.5.
    memory_coef: float = 0.5
    #: Share of the memory branch in the self pseudo-label target logits after warm-up
    #: (``0.8·m + 0.2·r``). GauFuse method.py:296, RSKP processor.py:147.
    memory_target_coef: float = 0.2
    #: The bank is zeroed at every refresh epoch and refilled by training only (no second
    #: warm-up pass). GauFuse method.py:173, model/memory.py:46-49.
    empty_memory_at_refresh: bool = True
    #: The method's pseudo labels: refreshes and the Δ distillation. False (``rskp``): the
    #: backbone alone; the ``delta`` section and the refresh fields have no effect.
    refresh: bool = True
    #: Fusion temperature of each refresh, one per ``delta.refresh_epochs`` entry. GauFuse
    #: options.py:19-21 and method.py:176-177: ``[1, 1, 1, 0.1, 0.1, 0.08] × 0.02``.
    refresh_temperatures: tuple[float, ...] = (0.02, 0.02, 0.02, 0.002, 0.002, 0.0016)
    #: Evaluate after epoch ``e`` when ``(e + 1) % eval_every == 0`` (and after the last epoch).
    #: GauFuse options.py:23 ``--save-interval`` 5, method.py:337 (RSKP processor.py:184).
    eval_every: int = 5
    #: Post-processing methods of every evaluation, each logged; the first picks ``best.pt``.
    #: The released loop evaluates fusion only; NMS is logged beside it to compare.
    eval_methods: tuple[str, ...] = ("fusion", "nms")
    #: Stop after this many evaluations without a better average mAP (0: never stop). ``best.pt``
    #: always holds the best evaluated epoch.
    patience: int = 0
    #: Checkpoint (``RUN/checkpoints/epoch_NNNN.pt`` and ``last.pt``) after epoch ``e`` when
    #: ``(e + 1) % checkpoint_every == 0``, and after the last epoch. Released: every 5 epochs
    #: (GauFuse method.py:337-339, the weights only).
    checkpoint_every: int = 5
    #: Seed of Python's ``random``, NumPy's global generator and torch (and of the per-epoch
    #: shuffles). GauFuse options.py:46 2, main.py:18 (only torch is seeded there).
    seed: int = 2
    #: Videos of one optimiser step that share a padded forward pass, at most (the released
    #: loop: 1). None: 1 on the CPU, ``videos_per_step`` on CUDA (:meth:`forward_batches`).
    #: Memory grows with ``batch_videos × longest video``.
    batch_videos: int | None = None
    #: Videos per forward pass in inference (refresh, memory fill, evaluation), at most. None: 1
    #: on the CPU, :data:`CUDA_INFERENCE_BATCH` on CUDA.
    inference_batch_videos: int | None = None
    #: A forward pass of sorted videos is split where padding would exceed this fraction of its
    #: real snippets (the videos' order inside a step is by length; see docs/engine.md,
    #: "Batching semantics").
    padding_budget: float = 0.25
    #: Training videos are resampled to this many snippets each epoch (None: every snippet):
    #: one random snippet per equal-width bin, or all snippets and random repeats for a shorter
    #: video (ACM-Net ``random_sample``, ispc-lab/ACM-Net dataset/dataset_class.py; 75 snippets
    #: on ActivityNet 1.3, config/model_config.py). Refresh, memory fill and evaluation always
    #: use every snippet.
    sample_snippets: int | None = None

    def __post_init__(self) -> None:
        owner = "TrainConfig"
        for name in ("epochs", "videos_per_step", "attention_divisor", "eval_every", "checkpoint_every"):
            object.__setattr__(self, name, integer(owner, name, getattr(self, name), lo=1))
        for name in ("batch_videos", "inference_batch_videos"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, integer(owner, name, getattr(self, name), lo=1))
        for name in ("seed", "patience"):
            object.__setattr__(self, name, integer(owner, name, getattr(self, name)))
        if self.sample_snippets is not None:
            object.__setattr__(self, "sample_snippets", integer(owner, "sample_snippets", self.sample_snippets, lo=2))
        for name in ("steps_span_epochs", "use_memory", "empty_memory_at_refresh", "refresh"):
            object.__setattr__(self, name, boolean(owner, name, getattr(self, name)))
        for name in ("foreground_weight", "background_weight", "attention_weight", "memory_coef", "padding_budget"):
            object.__setattr__(self, name, real(owner, name, getattr(self, name), lo=0.0))
        object.__setattr__(self, "self_label_temperature",
                           real(owner, "self_label_temperature", self.self_label_temperature, lo=0.0, lo_open=True))
        object.__setattr__(self, "memory_target_coef",
                           real(owner, "memory_target_coef", self.memory_target_coef, lo=0.0, hi=1.0))
        ms, vs = piecewise(owner, "self_label_milestones", "self_label_weights", self.self_label_milestones,
                           self.self_label_weights, value_lo=0.0, value_lo_open=False)
        object.__setattr__(self, "self_label_milestones", ms)
        object.__setattr__(self, "self_label_weights", vs)
        temps = tuple(real(owner, f"refresh_temperatures[{i}]", t, lo=0.0, lo_open=True)
                      for i, t in enumerate(sequence(owner, "refresh_temperatures", self.refresh_temperatures)))
        if self.refresh and not temps:
            raise ConfigError(f"{owner}: `refresh_temperatures` must list one temperature per refresh epoch")
        object.__setattr__(self, "refresh_temperatures", temps)
        methods = sequence(owner, "eval_methods", self.eval_methods)
        bad = [m for m in methods if m not in EVAL_METHODS]
        if not methods or bad or len(set(methods)) != len(methods):
            raise ConfigError(f"{owner}: `eval_methods` must be distinct names among {list(EVAL_METHODS)}, "
                              f"got {list(methods)}")
        object.__setattr__(self, "eval_methods", tuple(methods))

    @classmethod
    def official(cls, **overrides: Any) -> TrainConfig:
        """The GauFuse release."""
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
        0.5 after (processor.py:182); no refresh, hence no distillation and no emptied bank (the
        0.6/0.4 test TCAM is ``ModelConfig.rskp``'s)."""
        base: dict[str, Any] = dict(epochs=200, self_label_milestones=(101,), self_label_weights=(1.0, 0.5),
                                    refresh=False, refresh_temperatures=())
        base.update(overrides)
        return cls(**base)

    def forward_batches(self, device_type: str) -> tuple[int, int]:
        """``(training, inference)`` videos per forward pass on a device of type ``device_type``
        (``"cpu"``, ``"cuda"``, ...): the fields when set, else 1 on the CPU — measured: padded
        batches are slower there, their element-wise passes over ``B × T × D`` tensors leave the
        cache (benches/RESULTS.md, "Trainer") — and ``videos_per_step`` /
        :data:`CUDA_INFERENCE_BATCH` elsewhere."""
        cpu = device_type == "cpu"
        train = self.batch_videos if self.batch_videos is not None else (1 if cpu else self.videos_per_step)
        infer = self.inference_batch_videos if self.inference_batch_videos is not None else (
            1 if cpu else CUDA_INFERENCE_BATCH)
        return train, infer

    def inactive_fields(self) -> dict[str, str]:
        """Fields that have no effect under this configuration, each with the reason."""
        out: dict[str, str] = {}
        if not self.use_memory:
            for name in ("memory_coef", "memory_target_coef", "empty_memory_at_refresh"):
                out[name] = "use_memory = true only"
        if not self.refresh:
            for name in ("refresh_temperatures", "empty_memory_at_refresh"):
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
