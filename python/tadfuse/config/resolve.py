"""The whole configuration (:class:`Config`), the named presets and :func:`load_config`."""

from __future__ import annotations

import dataclasses
import difflib
import sys
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tadfuse.config._values import _coerce, _plain, _toml_value
from tadfuse.config.delta import DeltaPhase, DeltaSchedule
from tadfuse.config.evaluation import EvaluationConfig
from tadfuse.config.linpro import LinproConfig
from tadfuse.config.model import ModelConfig
from tadfuse.config.postprocess import PostprocessConfig
from tadfuse.config.train import OptimConfig, TrainConfig
from tadfuse.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["PRESETS", "Config", "get_preset", "load_config", "parse_override", "register_preset"]

# --------------------------------------------------------------------------------------------
# The whole configuration and its presets


@dataclass(frozen=True)
class Config:
    """Every section of one run. Fields other than ``preset`` are sections (see module docs)."""

    #: The preset this configuration was resolved from (recorded for provenance).
    preset: str = "official"
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig.official)
    postprocess: PostprocessConfig = dataclasses.field(default_factory=PostprocessConfig.official)
    linpro: LinproConfig = dataclasses.field(default_factory=LinproConfig.official)
    delta: DeltaSchedule = dataclasses.field(default_factory=DeltaSchedule.official)
    evaluation: EvaluationConfig = dataclasses.field(default_factory=EvaluationConfig.official)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig.official)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig.official)

    def __post_init__(self) -> None:
        self.train.check_delta(self.delta)  # one training temperature per refresh epoch

    def inactive_settings(self) -> dict[str, str]:
        """Settings of one section that another section turns off (``"section.field"`` → the
        reason); each section's own are its ``inactive_fields()``."""
        out: dict[str, str] = {}
        if not self.train.use_memory:
            for name in ("warmup_epoch", "memory_slots", "memory_class0_defect"):
                out[f"model.{name}"] = "train.use_memory = true only"
        if not self.train.refresh:
            for name in ("label_tcam_o_weight", "pseudo_label_dropout"):
                out[f"model.{name}"] = "train.refresh = true only"
            for section in ("delta", "linpro"):
                for f in dataclasses.fields(getattr(self, section)):
                    out[f"{section}.{f.name}"] = "train.refresh = true only"
        return out

    @classmethod
    def named(cls, name: str) -> Config:
        """Every section's constructor ``name`` (e.g. ``official``), for presets that exist in all."""
        return cls(name, **{section: getattr(tp, name)() for section, tp in cls.sections().items()})

    @classmethod
    def official(cls) -> Config:
        """The authors' released code (zhou745/GauFuse_WSTAL), quirks included."""
        return cls.named("official")

    @classmethod
    def paper(cls) -> Config:
        """The paper's text."""
        return cls.named("paper")

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
        from tadfuse._core import __version__

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

    def override(self, overrides: Iterable[str] | Mapping[str, Any] = (), source: str = "override") -> Config:
        """This configuration with ``section.field=value`` strings (see :func:`parse_override`) or
        a ``{"section.field": value}`` mapping applied, validated like :func:`load_config`'s."""
        pairs = overrides.items() if isinstance(overrides, Mapping) else (parse_override(o) for o in overrides)
        flat: dict[str, Any] = {}
        for key, value in pairs:
            if key in flat:
                raise ConfigError(f"override `{key}` is given twice")
            flat[key] = value
        return _apply(self, flat, source) if flat else self

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "config") -> Config:
        """The configuration a :meth:`to_dict` (or a parsed TOML file) describes: its preset with
        every given value applied, validated."""
        data = dict(data)
        base = get_preset(_preset_name(data.pop("preset", "official"), source))
        return _apply(base, _flatten(data, source), source)


def rskp_preset() -> Config:
    """LeonHLJ/RSKP as released, training and test: the backbone without the pseudo-label method
    (``train.refresh`` off), 200 epochs, constant lr 5e-5, the 0.6/0.4 test TCAM, classes with
    video score >= 0.1, NMS at 0.5 (docs/engine.md, "Presets of the trainer")."""
    return Config("rskp", model=ModelConfig.rskp(), postprocess=PostprocessConfig.rskp(), optim=OptimConfig.rskp(),
                  train=TrainConfig.rskp())


def anet_preset() -> Config:
    """ActivityNet 1.3 after the RSKP author's setting (LeonHLJ/RSKP issue #3, ACM-Net-based):
    dropout 0.7, classifier scale 10, 0.8/0.2 test TCAM, lr 2e-5, weight decay 1e-3,
    λ_b 0.1, λ_att 0.1, λ_spl 1.0; 75 snippets sampled per training video (ACM-Net's
    ``sample_segments_num``), classes with video score >= 0.1 (ACM-Net's ``cls_threshold``);
    the backbone alone (``train.refresh`` off; GauFuse issue #9: train RSKP, test with the
    fusion head); ActivityNet evaluation (tIoU 0.5:0.05:0.95); early stopping (patience 6
    evaluations, ``best.pt``). docs/engine.md, "Presets of the trainer"."""
    return Config(
        "anet",
        model=ModelConfig.rskp_activitynet(),
        postprocess=PostprocessConfig.official(class_threshold=0.1),
        evaluation=EvaluationConfig.activitynet(),
        optim=OptimConfig.rskp(lr_values=(2e-05,), weight_decay=0.001),
        train=TrainConfig.rskp(background_weight=0.1, attention_weight=0.1, self_label_milestones=(),
                               self_label_weights=(1.0,), sample_snippets=75, patience=6),
    )


def demo_preset() -> Config:
    """The official schedule compressed to 40 epochs for the ``toy`` data (a minute on 2 CPU
    cores): a 32-wide embedding, 5 videos per step, lr 2e-3 → 1e-3 (epoch 30), memory warm-up
    after epoch 10, refreshes at 20, 25, 30 at temperatures 0.02, 0.02, 0.002 with the official
    target phases and distillation weights (``G`` for epochs 21–25, ``2·ΔG`` from 26), evaluation
    every 5 epochs. Both released defects fixed. ``feature_dim`` and ``num_classes`` come from
    the data."""
    delta = DeltaSchedule(
        name="demo", refresh_epochs=(20, 25, 30),
        phases=(DeltaPhase(21, 25, 1.0, delta=False), DeltaPhase(26, None, 2.0, delta=True)),
        weight_base=10.0, weight_growth=1.035, weight_start=20, weight_max=50.0,
    )
    return Config(
        "demo",
        model=ModelConfig.paper(embed_dim=32, dropout=0.5, warmup_epoch=10),
        delta=delta,
        optim=OptimConfig.official(lr_milestones=(30,), lr_values=(2e-3, 1e-3)),
        train=TrainConfig.official(epochs=40, videos_per_step=5, batch_videos=5, self_label_milestones=(11, 21),
                                   refresh_temperatures=(0.02, 0.02, 0.002)),
    )


#: Named presets: name → a function returning that :class:`Config`.
PRESETS: dict[str, Callable[[], Config]] = {
    "official": Config.official,
    "paper": Config.paper,
    "rskp": rskp_preset,
    "anet": anet_preset,
    "demo": demo_preset,
}


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
    return cfg.override(overrides)




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
    try:
        out = dataclasses.replace(cfg, **replaced)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    across = out.inactive_settings()
    for key, value in flat.items():
        section, _, name = key.partition(".")
        if key in across and getattr(getattr(out, section), name) != getattr(getattr(cfg, section), name):
            raise ConfigError(f"{source}: `{key}` = {value!r} would have no effect: it applies to {across[key]}")
    return out
