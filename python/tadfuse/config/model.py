"""Every constant of the RSKP backbone and its test-time TCAM, in one frozen dataclass.

This module does not import torch: configurations can be built, validated, compared and
serialised where torch is not installed (the ``model`` section of the global configuration).

Presets (docs/models.md, "Presets"):

``official``
    zhou745/GauFuse_WSTAL as released (``options.py``, ``model/main_branch.py``, ``method.py``,
    ``evaluation/eval.py``), *including* its two defects: the memory bank reads and writes only
    class 0's queue, and pseudo labels are computed with dropout active.
``rskp``
    LeonHLJ/RSKP as released (its current code, where the memory-bank index was fixed upstream):
    the same network, a 0.6/0.4 TCAM mix at test time.
``rskp_activitynet``
    The RSKP author's ActivityNet settings (LeonHLJ/RSKP issue #3): dropout 0.7, classifier
    scale 10, 0.8/0.2 TCAM mix, 200 classes; everything the issue does not name as ``rskp``.
``paper``
    The architecture as the papers describe it: ``official``'s constants with both defects fixed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tadfuse.config._validate import boolean, integer, real
from tadfuse.errors import ConfigError

__all__ = ["MODEL_PRESETS", "ModelConfig"]

#: The named constructors of ModelConfig (the names :meth:`ModelConfig.named` accepts).
MODEL_PRESETS: tuple[str, ...] = ("official", "rskp", "rskp_activitynet", "paper")


@dataclass(frozen=True)
class ModelConfig:
    """The RSKP backbone's constants. The defaults are the ``paper`` preset: the released values of
    zhou745/GauFuse_WSTAL with both defect flags off (``official()`` turns them on).

    Dimensions are counts of features, classes and centres; the classifier has
    ``num_classes + 1`` rows, background last. Weights are convex-combination coefficients of the
    main (``o``) branch; the intra-video (``m``) branch gets ``1 − weight``.
    """

    #: Input feature size (I3D RGB ⊕ flow: 2048). Released: ``--inp-feat-num``.
    feature_dim: int = 2048
    #: Embedding size (Linear ``feature_dim → embed_dim`` + ReLU). Released: ``--out-feat-num``.
    embed_dim: int = 2048
    #: Action classes, background excluded (THUMOS14: 20). Released: ``--class-num``.
    num_classes: int = 20
    #: Dropout after the embedding, training only. Released: ``--dropout``.
    dropout: float = 0.6
    #: Learned intra-video centres μ (the EM's K). Released: ``--mu-num``.
    num_centres: int = 8
    #: EM iterations that adapt μ to a video. Released: ``--em-iter``.
    em_iterations: int = 2
    #: Assignment sharpness: ``softmax_k(assign_scale · cos(μ_k, x_t))`` (EM and random walk).
    assign_scale: float = 5.0
    #: Random-walk weight w in ``x̃ = (1−w)(I − w²A)⁻¹(w·Zᵀμ + x)``. Released: ``--w``.
    walk_weight: float = 0.5
    #: Cosine-classifier scale (snippet, video and centre scores). Released: ``--scale-factor``.
    scale_factor: float = 20.0
    #: ε of the L2 normalisation ``f / (‖f‖ + ε)``.
    eps_norm: float = 1e-9
    #: ε of the assignment normalisation over snippets ``z / (Σ_t z + ε)`` (EM and random walk).
    eps_assign: float = 1e-9
    #: ε of the attention normalisation over snippets ``a / (Σ_t a + ε)`` (video heads).
    eps_attention: float = 1e-5
    #: Slots per class in the memory bank. Released: ``--mu-queue-len``.
    memory_slots: int = 5
    #: The bank is filled at the *end* of this (0-based) epoch and used from the next one on
    #: (``epoch > warmup_epoch``). Released: ``--warmup-epoch`` 100 (GauFuse options.py:55,
    #: method.py:288/330-334; RSKP options.py:48, processor.py:139/177-180).
    warmup_epoch: int = 100
    #: Test TCAM: ``tcam_o_weight·softmax(o) + (1 − tcam_o_weight)·softmax(m)``, times the main
    #: branch's foreground attention. Released: ``--frm_coef`` 0.85 (GauFuse options.py:71,
    #: evaluation/eval.py:71); a literal 0.6 in RSKP (evaluation/eval.py:60).
    tcam_o_weight: float = 0.85
    #: The same mix for the TCAM that pseudo labels are made from. Released:
    #: ``--frm_coef_pseudo`` 0.8 (GauFuse options.py:72, utils/utils.py:377-381).
    label_tcam_o_weight: float = 0.8
    #: Video scores (test, refresh): ``video_o_weight·o + (1 − video_o_weight)·m`` of the
    #: class-agnostic heads. Released: 0.6 (GauFuse utils/utils.py:379, evaluation/eval.py:69;
    #: RSKP evaluation/eval.py:59).
    video_o_weight: float = 0.6
    #: Released defect 1: the bank reads and writes only class 0's queue (``np.where(labels == 1)[0]``
    #: on a ``(1, C)`` array gives row indices, all 0) — once per positive class of the video
    #: (GauFuse method.py:289; RSKP processor.py:140 uses ``[1]``, correctly).
    memory_class0_defect: bool = False
    #: Released defect 2: pseudo labels are computed with dropout active (the distillation copy is
    #: never put in eval mode: GauFuse method.py:62/163/193). Consumed by the trainer (see
    #: ``pseudo_label_mode``).
    pseudo_label_dropout: bool = False

    def __post_init__(self) -> None:
        owner = "ModelConfig"
        for name in ("feature_dim", "embed_dim", "num_classes", "num_centres", "memory_slots"):
            object.__setattr__(self, name, integer(owner, name, getattr(self, name), lo=1))
        for name in ("em_iterations", "warmup_epoch"):
            object.__setattr__(self, name, integer(owner, name, getattr(self, name), lo=0))
        for name in ("dropout", "walk_weight"):
            object.__setattr__(self, name, real(owner, name, getattr(self, name), lo=0.0, hi=1.0, hi_open=True))
        for name in ("assign_scale", "scale_factor", "eps_norm", "eps_assign", "eps_attention"):
            object.__setattr__(self, name, real(owner, name, getattr(self, name), lo=0.0, lo_open=True))
        for name in ("tcam_o_weight", "label_tcam_o_weight", "video_o_weight"):
            object.__setattr__(self, name, real(owner, name, getattr(self, name), lo=0.0, hi=1.0))
        for name in ("memory_class0_defect", "pseudo_label_dropout"):
            object.__setattr__(self, name, boolean(owner, name, getattr(self, name)))

    # -- presets ------------------------------------------------------------------------------

    @classmethod
    def official(cls, **overrides: Any) -> ModelConfig:
        """zhou745/GauFuse_WSTAL as released, both defects included."""
        base: dict[str, Any] = dict(memory_class0_defect=True, pseudo_label_dropout=True)
        base.update(overrides)
        return cls(**base)

    @classmethod
    def rskp(cls, **overrides: Any) -> ModelConfig:
        """LeonHLJ/RSKP as released: 0.6/0.4 TCAM mix; the bank indexes the right classes.

        RSKP makes no TCAM pseudo labels; ``label_tcam_o_weight`` keeps GauFuse's 0.8 for the
        pseudo-label methods applied on top of it."""
        base: dict[str, Any] = dict(tcam_o_weight=0.6)
        base.update(overrides)
        return cls(**base)

    @classmethod
    def rskp_activitynet(cls, **overrides: Any) -> ModelConfig:
        """The RSKP author's ActivityNet 1.3 settings (LeonHLJ/RSKP issue #3)."""
        base: dict[str, Any] = dict(num_classes=200, dropout=0.7, scale_factor=10.0, tcam_o_weight=0.8)
        base.update(overrides)
        return cls(**base)

    @classmethod
    def paper(cls, **overrides: Any) -> ModelConfig:
        """``official``'s constants with both released defects fixed."""
        return cls(**overrides)

    @classmethod
    def named(cls, name: str, **overrides: Any) -> ModelConfig:
        """The preset ``name`` (one of :data:`MODEL_PRESETS`) with ``overrides`` applied."""
        if name not in MODEL_PRESETS:
            raise ConfigError(f"ModelConfig: preset must be one of {MODEL_PRESETS}, got {name!r}")
        return getattr(cls, name)(**overrides)

    # -- conversion ---------------------------------------------------------------------------

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed (validated); unknown names raise ``ConfigError``."""
        self._check_names(changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain ints, floats and bools, keyed by field name (checkpoint- and JSON-safe)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelConfig:
        """The inverse of :meth:`to_dict`; missing fields take the defaults (``paper``'s values)."""
        if not isinstance(d, Mapping):
            raise ConfigError(f"ModelConfig: expected a mapping, got {type(d).__name__}")
        cls._check_names(d)
        return cls(**d)

    @classmethod
    def _check_names(cls, d: Mapping[str, Any]) -> None:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in d if k not in known)
        if unknown:
            raise ConfigError(f"ModelConfig: unknown setting(s) {unknown}; known: {sorted(known)}")

    def uses_memory(self, epoch: int) -> bool:
        """Whether the memory-bank branch trains at (0-based) ``epoch``: ``epoch > warmup_epoch``."""
        return epoch > self.warmup_epoch
