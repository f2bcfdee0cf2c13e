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
========================  ===========================================================

The trainer adds its ``model`` / ``optim`` / ``train`` sections as further fields of
:class:`Config` (one line each; nothing else changes). Named presets live in :data:`PRESETS`
(``official``, ``paper``; :func:`register_preset` adds more). :func:`load_config` resolves a
preset, then a TOML file, then ``section.field=value`` strings, validating every value and naming
the key of any error (:class:`~tadfuse.errors.ConfigError`). A setting that would have no effect
under the resolved configuration (e.g. ``postprocess.sigma`` when the method is fusion) is an
error, not silently accepted.

Low-level functions take explicit arguments whose defaults are the ``official`` values.
Semantics of every setting: docs/algorithms.md.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np

from tadfuse._checks import float_array, integer, real
from tadfuse.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "OFFICIAL_THRESHOLDS",
    "PRESETS",
    "Config",
    "DeltaPhase",
    "DeltaSchedule",
    "EvaluationConfig",
    "LinproConfig",
    "PostprocessConfig",
    "get_preset",
    "load_config",
    "parse_override",
    "register_preset",
]

#: `np.arange(0.001, 0.04, 0.002)`: the 20 activation thresholds of the released code.
OFFICIAL_THRESHOLDS: tuple[float, ...] = tuple(np.arange(0.001, 0.04, 0.002).tolist())

Method = Literal["fusion", "nms", "soft_nms"]

_CHOICES: dict[str, tuple[str, ...]] = {
    "preset": ("official", "paper"),
    "method": ("fusion", "nms", "soft_nms"),
    "overlap": ("coverage", "iou"),
    "weight": ("inner", "score"),
    "template": ("gaussian", "laplace", "uniform", "student_t"),
    "soft_method": ("gaussian", "linear"),
}


@dataclass(frozen=True)
class PostprocessConfig:
    """Everything `detect` / `detect_batch` need, from a class activation sequence to detections.

    Units: thresholds and scores are activations; lengths are snippets.
    """

    #: Activation thresholds θ (runs of ``x > θ``), used in this order.
    thresholds: tuple[float, ...] = OFFICIAL_THRESHOLDS
    #: A class is processed when its video-level score is ``>=`` this.
    class_threshold: float = 0.16
    #: Shortest run kept, in snippets (``e - s``).
    min_length: int = 2
    #: Extraction semantics: "official" (released code) or "paper" (outer width ``alpha·n``).
    preset: str = "official"
    #: Outer-region width as a fraction of the run length (``paper`` extraction only).
    alpha: float = 0.25
    #: What replaces the raw proposals: "fusion", "nms" or "soft_nms".
    method: str = "fusion"
    #: Softmax temperature of the fusion weights (official test 0.2; paper test 0.03).
    temperature: float = 0.2
    #: Overlap above which a candidate joins a group / is suppressed.
    threshold: float = 0.25
    #: "coverage" (official, inclusive lengths) or "iou" (paper).
    overlap: str = "coverage"
    #: Fusion weight column: "inner" (official) or "score" (paper).
    weight: str = "inner"
    #: Fusion template: "gaussian", "laplace", "uniform" or "student_t".
    template: str = "gaussian"
    #: Degrees of freedom of the "student_t" template.
    dof: float = 3.0
    #: Soft-NMS Gaussian decay parameter (``exp(-iou²/sigma)``).
    sigma: float = 0.5
    #: Soft-NMS drops rows whose decayed score is below this.
    min_score: float = 0.001
    #: Soft-NMS decay: "gaussian" or "linear" (``1 - iou`` above ``threshold``).
    soft_method: str = "gaussian"
    #: Soft-NMS: at most this many detections per class (None = all).
    max_out: int | None = None

    def __post_init__(self) -> None:
        def check(name: str, fn: Any) -> None:
            try:
                object.__setattr__(self, name, fn(getattr(self, name)))
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"PostprocessConfig: {exc}") from None

        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if value not in choices:
                raise ConfigError(f"PostprocessConfig: `{name}` must be one of {choices}, got {value!r}")
        check("thresholds", lambda v: tuple(float_array("thresholds", np.ravel(v), 1).tolist()))
        if not self.thresholds or not all(np.isfinite(self.thresholds)):
            raise ConfigError("PostprocessConfig: `thresholds` must be a non-empty list of finite numbers")
        check("class_threshold", lambda v: real("class_threshold", v))
        check("min_length", lambda v: integer("min_length", v, hi=2**32))
        check("alpha", lambda v: real("alpha", v, lo=0.0))
        check("temperature", lambda v: real("temperature", v, lo=0.0, lo_open=True))
        check("threshold", lambda v: real("threshold", v, lo=0.0, hi=1.0))
        check("dof", lambda v: real("dof", v, lo=0.0, lo_open=True))
        check("sigma", lambda v: real("sigma", v, lo=0.0, lo_open=True))
        check("min_score", lambda v: real("min_score", v))
        if self.max_out is not None:
            check("max_out", lambda v: integer("max_out", v, hi=2**62))
            if self.method != "soft_nms":
                raise ConfigError(f"PostprocessConfig: `max_out` applies to method 'soft_nms' only, "
                                  f"got method {self.method!r}")
        if not 0.0 <= self.class_threshold <= 1.0:
            raise ConfigError(f"PostprocessConfig: `class_threshold` must be in [0, 1] (video scores are "
                              f"probabilities), got {self.class_threshold!r}")
        if min(self.thresholds) < 0.0:
            raise ConfigError(f"PostprocessConfig: `thresholds` must be >= 0 (TCAM values are non-negative), "
                              f"got {min(self.thresholds)!r}")

    def inactive_fields(self) -> dict[str, str]:
        """Fields that have no effect under this configuration, each with the reason."""
        out: dict[str, str] = {}
        if self.preset != "paper":
            out["alpha"] = "preset 'paper' only"
        if self.method != "fusion":
            for name in ("temperature", "weight", "template", "dof"):
                out[name] = "method 'fusion' only"
        elif self.template != "student_t":
            out["dof"] = "template 'student_t' only"
        if self.method != "soft_nms":
            for name in ("sigma", "min_score", "soft_method", "max_out"):
                out[name] = "method 'soft_nms' only"
        else:
            out["overlap"] = "methods 'fusion' and 'nms' only (soft-NMS decays by IoU)"
            if self.soft_method == "gaussian":
                out["threshold"] = "soft_method 'linear' only"
            else:
                out["sigma"] = "soft_method 'gaussian' only"
        return out

    @classmethod
    def official(cls, **overrides: Any) -> PostprocessConfig:
        """The released code's test-time post-processing (T = 0.2, coverage overlap, inner weights)."""
        return cls(**overrides)

    @classmethod
    def paper(cls, **overrides: Any) -> PostprocessConfig:
        """The paper's text: outer width 0.25·n, IoU overlap, score weights, T = 0.03 at test time."""
        base: dict[str, Any] = dict(preset="paper", overlap="iou", weight="score", temperature=0.03)
        base.update(overrides)
        return cls(**base)

    def replace(self, **changes: Any) -> PostprocessConfig:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class LinproConfig:
    """Fused instances → LinPro snippet labels (docs/algorithms.md, "LinPro pseudo labels")."""

    #: W rows: "official" (pad ``0.0785·n^0.9``, sums) or "paper" (outer width ``alpha·n``).
    preset: str = "official"
    #: Outer width factor of the "paper" rows (``int(alpha·n)`` snippets per side).
    alpha: float = 0.25
    #: LP back end: "auto" (highspy when installed), "highspy" or "scipy".
    solver: str = "auto"
    #: A component whose minimum L1 residual exceeds this (score units) is infeasible.
    feasibility_tol: float = 1e-9
    #: HiGHS primal and dual feasibility tolerance of the stacked LP (HiGHS's default: 1e-7).
    highs_tol: float = 1e-10

    def __post_init__(self) -> None:
        for name, choices in (("preset", ("official", "paper")), ("solver", ("auto", "highspy", "scipy"))):
            if getattr(self, name) not in choices:
                raise ConfigError(f"LinproConfig: `{name}` must be one of {choices}, got {getattr(self, name)!r}")
        object.__setattr__(self, "alpha", real("alpha", self.alpha, lo=0.0))
        for name in ("feasibility_tol", "highs_tol"):
            object.__setattr__(self, name, real(name, getattr(self, name), lo=0.0, lo_open=True, hi=1e-3))

    @classmethod
    def official(cls, **overrides: Any) -> LinproConfig:
        """The released W rows (and the released LP's role played exactly, see docs)."""
        return cls(**overrides)

    @classmethod
    def paper(cls, **overrides: Any) -> LinproConfig:
        """The paper's W rows: inner sum minus the outer sums of width ``0.25·n``."""
        return cls(**{"preset": "paper", **overrides})

    def inactive_fields(self) -> dict[str, str]:
        return {} if self.preset == "paper" else {"alpha": "preset 'paper' only"}

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class DeltaPhase:
    """Epochs ``first..last`` (inclusive; ``last=None``: open-ended) use the target
    ``coef · G_latest`` (``delta=False``) or ``coef · (G_latest − G_previous)`` (``delta=True``)."""

    first: int
    last: int | None
    coef: float
    delta: bool

    def contains(self, epoch: int) -> bool:
        return self.first <= epoch and (self.last is None or epoch <= self.last)


@dataclass(frozen=True)
class DeltaSchedule:
    """When generations are refreshed, which target each epoch uses, and the loss weights."""

    name: str
    #: Epochs at whose start all training videos get a new generation.
    refresh_epochs: tuple[int, ...]
    #: Disjoint, in increasing order; epochs in no phase have no distillation.
    phases: tuple[DeltaPhase, ...]
    #: ``weight(epoch) = min(weight_base · weight_growth^(epoch − weight_start), weight_max)``.
    weight_base: float = 10.0
    weight_growth: float = 1.035
    weight_start: int = 200
    weight_max: float = 50.0
    #: Share of the main branch's soft CE; the memory branch gets ``1 − o_coef``.
    o_coef: float = 0.8

    def __post_init__(self) -> None:
        epochs = [integer("refresh_epochs", e) for e in self.refresh_epochs]
        if any(b <= a for a, b in itertools.pairwise(epochs)):
            raise ConfigError(f"DeltaSchedule: `refresh_epochs` must be strictly increasing, got {epochs}")
        object.__setattr__(self, "refresh_epochs", tuple(epochs))
        prev_last: int | None = -1
        for i, p in enumerate(self.phases):
            if not isinstance(p, DeltaPhase):
                raise ConfigError(f"DeltaSchedule: `phases[{i}]` must be a DeltaPhase, got {p!r}")
            if prev_last is None or p.first <= prev_last or (p.last is not None and p.last < p.first):
                raise ConfigError(f"DeltaSchedule: `phases` must be disjoint, in increasing order, each first <= last; "
                                  f"phases[{i}] = {p}")
            prev_last = p.last
        for name in ("weight_base", "weight_growth", "weight_max"):
            object.__setattr__(self, name, real(name, getattr(self, name), lo=0.0, lo_open=True))
        object.__setattr__(self, "o_coef", real("o_coef", self.o_coef, lo=0.0, hi=1.0))

    @classmethod
    def official(cls) -> DeltaSchedule:
        return cls(
            name="official",
            refresh_epochs=(200, 230, 245, 260, 275, 300),
            phases=(
                DeltaPhase(201, 250, 1.0, delta=False),
                DeltaPhase(251, 300, 2.0, delta=True),
                DeltaPhase(301, None, 2.15, delta=True),
            ),
        )

    @classmethod
    def paper(cls) -> DeltaSchedule:
        return cls(
            name="paper",
            refresh_epochs=(200, 215, 230, 245, 270, 290),
            phases=(DeltaPhase(200, None, 1.0, delta=True),),
        )

    @classmethod
    def named(cls, name: str) -> DeltaSchedule:
        """``"official"`` or ``"paper"``."""
        if name == "official":
            return cls.official()
        if name == "paper":
            return cls.paper()
        raise ConfigError(f"schedule: must be 'official' or 'paper', got {name!r}")

    def is_refresh(self, epoch: int) -> bool:
        """Whether new generations are computed at the start of ``epoch``."""
        return epoch in self.refresh_epochs

    def phase(self, epoch: int) -> DeltaPhase | None:
        """The phase of ``epoch``, or ``None`` when no distillation happens."""
        for p in self.phases:
            if p.contains(epoch):
                return p
        return None

    def loss_weight(self, epoch: int) -> float:
        """``min(weight_base · weight_growth^(epoch − weight_start), weight_max)``."""
        return float(min(self.weight_base * self.weight_growth ** (epoch - self.weight_start), self.weight_max))

    def to_dict(self) -> dict[str, Any]:
        """Plain ints, floats, bools, strings and lists (checkpoint-safe)."""
        d = dataclasses.asdict(self)
        d["refresh_epochs"] = list(self.refresh_epochs)
        d["phases"] = [dataclasses.asdict(p) for p in self.phases]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DeltaSchedule:
        d = dict(d)
        d["refresh_epochs"] = tuple(int(e) for e in d["refresh_epochs"])
        d["phases"] = tuple(DeltaPhase(**p) for p in d["phases"])
        return cls(**d)


@dataclass(frozen=True)
class EvaluationConfig:
    """How detections are scored (docs/algorithms.md, "Evaluation protocols")."""

    #: "wtalc" (the W-TALC/RSKP/GauFuse evaluator) or "anet" (ActivityNet's eval_detection).
    protocol: str = "wtalc"
    #: tIoU thresholds; the table prints their mean as "avg".
    tiou_thresholds: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
    #: Split evaluated (None: the protocol's default, "test" for wtalc, every video for anet).
    subset: str | None = None
    #: wtalc only: reproduce the original evaluator's mAP 0 when any class has no prediction.
    #: Off in every preset: it is a bug of the original, not a setting its numbers depend on.
    zero_map_bug: bool = False

    def __post_init__(self) -> None:
        if self.protocol not in ("wtalc", "anet"):
            raise ConfigError(f"EvaluationConfig: `protocol` must be 'wtalc' or 'anet', got {self.protocol!r}")
        thr = tuple(float_array("tiou_thresholds", np.ravel(self.tiou_thresholds), 1).tolist())
        if not thr or not all(0.0 < t <= 1.0 for t in thr):
            raise ConfigError(f"EvaluationConfig: `tiou_thresholds` must be a non-empty list in (0, 1], got {thr}")
        object.__setattr__(self, "tiou_thresholds", thr)

    @classmethod
    def official(cls, **overrides: Any) -> EvaluationConfig:
        """THUMOS14 as the released code reports it: wtalc, tIoU 0.1:0.7."""
        return cls(**overrides)

    @classmethod
    def paper(cls, **overrides: Any) -> EvaluationConfig:
        """The paper's THUMOS14 table: the same protocol and thresholds."""
        return cls(**overrides)

    @classmethod
    def activitynet(cls, **overrides: Any) -> EvaluationConfig:
        """ActivityNet 1.3: anet, tIoU 0.5:0.05:0.95 (``np.linspace(0.5, 0.95, 10)``)."""
        thr = tuple(float(t) for t in np.linspace(0.5, 0.95, 10))
        return cls(**{"protocol": "anet", "tiou_thresholds": thr, **overrides})

    def inactive_fields(self) -> dict[str, str]:
        return {} if self.protocol == "wtalc" else {"zero_map_bug": "protocol 'wtalc' only"}

    def evaluate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`tadfuse.evaluate` for this section."""
        return dict(protocol=self.protocol, tiou_thresholds=list(self.tiou_thresholds), subset=self.subset,
                    zero_map_bug=self.zero_map_bug)

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


# --------------------------------------------------------------------------------------------
# The whole configuration and its presets


@dataclass(frozen=True)
class Config:
    """Every section of one run. Fields other than ``preset`` are sections (see module docs)."""

    #: The preset this configuration was resolved from (recorded for provenance).
    preset: str = "official"
    postprocess: PostprocessConfig = dataclasses.field(default_factory=PostprocessConfig.official)
    linpro: LinproConfig = dataclasses.field(default_factory=LinproConfig.official)
    delta: DeltaSchedule = dataclasses.field(default_factory=DeltaSchedule.official)
    evaluation: EvaluationConfig = dataclasses.field(default_factory=EvaluationConfig.official)

    @classmethod
    def official(cls) -> Config:
        return cls("official", PostprocessConfig.official(), LinproConfig.official(), DeltaSchedule.official(),
                   EvaluationConfig.official())

    @classmethod
    def paper(cls) -> Config:
        return cls("paper", PostprocessConfig.paper(), LinproConfig.paper(), DeltaSchedule.paper(),
                   EvaluationConfig.paper())

    @classmethod
    def sections(cls) -> dict[str, type]:
        """Section name → its dataclass, in declaration order."""
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name != "preset"}

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON-ready): ``{"preset": ..., "<section>": {...}}``."""
        return {"preset": self.preset, **{name: _plain(getattr(self, name)) for name in self.sections()}}

    def to_toml(self) -> str:
        """The whole configuration as TOML that :func:`load_config` reads back to an equal value."""
        from tadfuse import __version__

        lines = [f"# tadfuse {__version__}: the resolved configuration (every setting)",
                 f"preset = {_toml_value(self.preset)}"]
        for name in self.sections():
            scalars, tables = [], []
            for key, value in _plain(getattr(self, name)).items():
                if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                    for item in value:
                        tables.append(f"\n[[{name}.{key}]]")
                        tables += [f"{k} = {_toml_value(v)}" for k, v in item.items()]
                else:
                    scalars.append(f"{key} = {_toml_value(value)}")
            lines += ["", f"[{name}]", *scalars, *tables]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "config") -> Config:
        """The configuration a :meth:`to_dict` (or a parsed TOML file) describes: its preset with
        every given value applied, validated."""
        data = dict(data)
        base = get_preset(_preset_name(data.pop("preset", "official"), source))
        return _apply(base, _flatten(data, source), source)


#: Named presets: name → a function returning that :class:`Config`.
PRESETS: dict[str, Callable[[], Config]] = {"official": Config.official, "paper": Config.paper}


def register_preset(name: str, factory: Callable[[], Config]) -> None:
    """Add (or replace) a named preset; ``factory()`` must return a :class:`Config`."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigError(f"preset name must be an identifier, got {name!r}")
    PRESETS[name] = factory


def get_preset(name: str) -> Config:
    """The :class:`Config` of preset ``name`` (one of :data:`PRESETS`)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    cfg = PRESETS[name]()
    return cfg if cfg.preset == name else dataclasses.replace(cfg, preset=name)


def parse_override(text: str) -> tuple[str, Any]:
    """``"section.field=value"`` → ``("section.field", value)``. The value is read as a TOML value
    (numbers, ``true``/``false``, quoted strings, ``[lists]``); anything else is a bare string, so
    ``postprocess.method=nms`` needs no quotes. ``none`` means None for optional settings."""
    key, sep, raw = str(text).partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key:
        raise ConfigError(f"override {text!r}: expected section.field=value")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def load_config(
    preset: str | None = None,
    file: str | Path | None = None,
    overrides: Iterable[str] | Mapping[str, Any] = (),
) -> Config:
    """Resolve a configuration: a preset, then a TOML file, then ``section.field=value`` overrides.

    Args:
        preset: name in :data:`PRESETS`; default the file's ``preset`` key, else "official". A
            file naming another preset than ``preset`` is an error.
        file: a TOML file of ``[section]`` tables (and an optional top-level ``preset``), e.g. a
            run's ``config.toml`` written by :meth:`Config.to_toml`.
        overrides: ``"section.field=value"`` strings (see :func:`parse_override`), or a mapping
            ``{"section.field": value}``.

    Raises:
        ConfigError: naming the key (and the file) of an unknown section or field, a value of the
            wrong type or out of range, or a setting that would have no effect.
    """
    data: dict[str, Any] = {}
    source = "config"
    if file is not None:
        source = str(file)
        try:
            with open(file, "rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    name = data.pop("preset", None)
    if name is not None:
        name = _preset_name(name, source)
        if preset is not None and preset != name:
            raise ConfigError(f"{source}: file is for preset {name!r} but preset {preset!r} was asked for")
    cfg = get_preset(preset or name or "official")
    if data:
        cfg = _apply(cfg, _flatten(data, source), source)
    pairs = overrides.items() if isinstance(overrides, Mapping) else (parse_override(o) for o in overrides)
    flat: dict[str, Any] = {}
    for key, value in pairs:
        if key in flat:
            raise ConfigError(f"override `{key}` is given twice")
        flat[key] = value
    return _apply(cfg, flat, "override") if flat else cfg


# --------------------------------------------------------------------------------------------
# Plumbing: flattening, type coercion, application, TOML output


def _preset_name(value: Any, source: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{source}: `preset` must be a string, got {value!r}")
    return value


def _flatten(data: Mapping[str, Any], source: str) -> dict[str, Any]:
    """``{"section": {"field": v}}`` → ``{"section.field": v}`` (top-level keys must be sections)."""
    flat: dict[str, Any] = {}
    for section, fields in data.items():
        if not isinstance(fields, Mapping):
            raise ConfigError(f"{source}: `{section}` must be a [{section}] table of settings, got {fields!r}")
        for key, value in fields.items():
            flat[f"{section}.{key}"] = value
    return flat


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _apply(cfg: Config, flat: Mapping[str, Any], source: str) -> Config:
    """``cfg`` with the dotted settings of ``flat`` replaced, validated section by section."""
    sections = Config.sections()
    changes: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        section, dot, name = key.partition(".")
        if not dot or section not in sections:
            raise ConfigError(f"{source}: unknown setting `{key}`: settings are section.field with section one of "
                              f"{list(sections)}{_suggest(section, sections)}")
        cls = sections[section]
        hints = typing.get_type_hints(cls)
        if name not in hints or name not in {f.name for f in dataclasses.fields(cls)}:
            fields = [f.name for f in dataclasses.fields(cls)]
            raise ConfigError(f"{source}: unknown setting `{key}`; [{section}] has {fields}{_suggest(name, fields)}")
        changes.setdefault(section, {})[name] = _coerce(hints[name], value, f"{source}: `{key}`")
    replaced: dict[str, Any] = {}
    for section, fields in changes.items():
        old = getattr(cfg, section)
        try:
            new = dataclasses.replace(old, **fields)
        except ConfigError as exc:
            raise ConfigError(f"{source}: [{section}] {exc}") from None
        except (TypeError, ValueError) as exc:  # argument checks name the field
            raise ConfigError(f"{source}: [{section}] {exc}") from None
        inactive = new.inactive_fields() if hasattr(new, "inactive_fields") else {}
        for name, value in fields.items():
            if name in inactive and getattr(new, name) != getattr(old, name):
                raise ConfigError(f"{source}: `{section}.{name}` = {value!r} would have no effect: it applies to "
                                  f"{inactive[name]}")
        replaced[section] = new
    return dataclasses.replace(cfg, **replaced)


def _coerce(tp: Any, value: Any, where: str) -> Any:
    """``value`` as type ``tp`` (from a dataclass annotation); TOML gives lists, ints for floats."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if type(None) in args and (value is None or (isinstance(value, str) and value.lower() == "none")):
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(inner, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        return tuple(_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a table of {[f.name for f in dataclasses.fields(tp)]}, got {value!r}")
        hints = typing.get_type_hints(tp)
        unknown = set(value) - set(hints)
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; expected {list(hints)}")
        try:
            return tp(**{k: _coerce(hints[k], v, f"{where}.{k}") for k, v in value.items()})
        except TypeError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    raise TypeError(f"config field type {tp!r} is not supported")  # a bug in a section class


def _plain(obj: Any) -> Any:
    """A section (or value) as plain dicts, lists, str, int, float, bool and None."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _toml_value(value: Any) -> str:
    if value is None:
        return '"none"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # shortest round-trip repr; finite by validation
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")
