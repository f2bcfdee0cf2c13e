"""The configuration system: every constant of the method in one typed, validated place.

A :class:`Config` is a frozen dataclass of *sections*, each a frozen dataclass with ``official()``
(the authors' released code, quirks included) and ``paper()`` (the paper's text) constructors:

========================  ===========================================================
section                   what it configures
========================  ===========================================================
``postprocess``           TCAM → detections at test time (:class:`PostprocessConfig`)
``linpro``                fused instances → LinPro snippet labels (:class:`LinproConfig`)
``delta``                 Δ-label refreshes, targets and loss weights (:class:`DeltaSchedule`)
``evaluation``            protocol and tIoU thresholds (:class:`EvaluationConfig`)
``model``                 the RSKP backbone (:class:`ModelConfig`)
``optim``                 Adam and the learning-rate schedule (:class:`OptimConfig`)
``train``                 the training loop (:class:`TrainConfig`)
========================  ===========================================================

The trainer's sections are ``model`` (:class:`ModelConfig`: the backbone's constants, its TCAM
mixes, the memory warm-up and the released defects), ``optim`` (:class:`OptimConfig`) and
``train`` (:class:`TrainConfig`); each constant has one home. Named presets live in
:data:`PRESETS`: ``official`` (the GauFuse release, both released defects kept), ``paper``,
``rskp`` (the backbone's release, training and test), ``anet`` (ActivityNet 1.3) and ``demo``
(the toy data); :func:`register_preset` adds more (docs/engine.md, "Presets of the trainer"). :func:`load_config` resolves a
preset, then a TOML file, then ``section.field=value`` strings, validating every value and naming
the key of any error (:class:`~tadfuse.errors.ConfigError`). A setting that would have no effect
under the resolved configuration (e.g. ``postprocess.sigma`` when the method is fusion) is an
error, not silently accepted.

Low-level functions take explicit arguments whose defaults are the ``official`` values.
Semantics of every setting: docs/algorithms.md.
"""

from tadfuse.config.delta import DeltaPhase, DeltaSchedule
from tadfuse.config.evaluation import EvaluationConfig
from tadfuse.config.linpro import LinproConfig
from tadfuse.config.model import ModelConfig
from tadfuse.config.postprocess import OFFICIAL_THRESHOLDS, Method, PostprocessConfig
from tadfuse.config.resolve import PRESETS, Config, get_preset, load_config, parse_override, register_preset
from tadfuse.config.train import OptimConfig, TrainConfig

__all__ = [
    "OFFICIAL_THRESHOLDS",
    "PRESETS",
    "Config",
    "DeltaPhase",
    "DeltaSchedule",
    "EvaluationConfig",
    "LinproConfig",
    "Method",
    "ModelConfig",
    "OptimConfig",
    "PostprocessConfig",
    "TrainConfig",
    "get_preset",
    "load_config",
    "parse_override",
    "register_preset",
]
