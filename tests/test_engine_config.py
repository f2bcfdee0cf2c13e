"""The trainer's configuration sections: released constants, validation naming the field, settings
without effect, the plain-dict / TOML round trip, and a torch-free import."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing

import pytest
from tadfuse.config import DeltaSchedule, ModelConfig
from tadfuse.config._values import _coerce, _plain, _toml_value
from tadfuse.engine import OptimConfig, TrainConfig
from tadfuse.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_official_optimiser_is_the_released_one():
    o = OptimConfig.official()
    assert o.betas == (0.9, 0.99) and o.weight_decay == 0.0005
    assert o.lr_milestones == (80, 200, 245, 260, 350)
    assert o.lr_values == (5e-05, 4e-05, 2.048e-05, 5.12e-07, 2.56e-07, 5.12e-08)
    assert OptimConfig.paper() == o
    r = OptimConfig.rskp()
    assert r.lr_milestones == () and r.lr_values == (5e-05,) and r.betas == o.betas


def test_official_training_constants():
    t = TrainConfig.official()
    assert (t.epochs, t.videos_per_step, t.steps_span_epochs, t.seed, t.eval_every) == (350, 10, True, 2, 5)
    assert (t.foreground_weight, t.background_weight, t.attention_weight, t.attention_divisor) == (1.0, 0.2, 0.1, 8)
    assert t.self_label_temperature == 0.2
    assert t.self_label_milestones == (101, 201) and t.self_label_weights == (1.0, 0.5, 1.0)
    assert (t.use_memory, t.memory_coef, t.memory_target_coef, t.empty_memory_at_refresh) == (True, 0.5, 0.2, True)
    assert (t.checkpoint_every, t.eval_methods, t.patience, t.sample_snippets) == (5, ("fusion", "nms"), 0, None)
    # [1, 1, 1, 0.1, 0.1, 0.08] * 0.02 evaluates to exactly these floats.
    assert t.refresh_temperatures == tuple(d * 0.02 for d in [1.0, 1.0, 1.0, 0.1, 0.1, 0.08])
    assert t.refresh_temperatures == (0.02, 0.02, 0.02, 0.002, 0.002, 0.0016)
    t.check_delta(DeltaSchedule.official())


def test_one_home_per_constant():
    """The memory warm-up, the TCAM / video-score mixes and the released defects are the model
    section's; the train section has no copy of them."""
    train = {f.name for f in dataclasses.fields(TrainConfig)}
    model = {f.name for f in dataclasses.fields(ModelConfig)}
    assert not train & model
    for gone in ("memory_class0_bug", "refresh_dropout", "label_o_coef", "video_score_o_coef", "eval_o_coef",
                 "memory_warmup_epoch"):
        assert gone not in train
    m = ModelConfig.official()
    assert (m.warmup_epoch, m.label_tcam_o_weight, m.video_o_weight, m.tcam_o_weight) == (100, 0.8, 0.6, 0.85)
    assert m.memory_class0_defect and m.pseudo_label_dropout
    assert ModelConfig.rskp().tcam_o_weight == 0.6


def test_paper_and_rskp_training_constants():
    p = TrainConfig.paper()
    assert p.refresh_temperatures == (0.1,) * 6
    assert dataclasses.replace(p, refresh_temperatures=TrainConfig.official().refresh_temperatures) == \
        TrainConfig.official()
    p.check_delta(DeltaSchedule.paper())
    r = TrainConfig.rskp()
    assert (r.epochs, r.refresh, r.refresh_temperatures) == (200, False, ())
    assert r.self_label_milestones == (101,) and r.self_label_weights == (1.0, 0.5)
    r.check_delta(DeltaSchedule.official())  # no refreshes: nothing to match


def test_check_delta_names_the_field():
    with pytest.raises(ConfigError, match=r"train\.refresh_temperatures: 2 temperatures for 6 refresh epochs"):
        TrainConfig.official(refresh_temperatures=(0.1, 0.2)).check_delta(DeltaSchedule.official())


@pytest.mark.parametrize(
    ("cls", "changes", "match"),
    [
        (OptimConfig, {"betas": (0.9,)}, r"OptimConfig: `betas` must be two numbers"),
        (OptimConfig, {"betas": (0.9, 1.0)}, r"`betas` must be two numbers in \[0, 1\)"),
        (OptimConfig, {"betas": "0.9"}, r"`betas` must be a list"),
        (OptimConfig, {"weight_decay": -1.0}, r"`weight_decay` must be >= 0"),
        (OptimConfig, {"lr_milestones": (80, 80)}, r"`lr_milestones` must be strictly increasing"),
        (OptimConfig, {"lr_milestones": (0,), "lr_values": (1.0, 2.0)}, r"`lr_milestones\[0\]` must be >= 1"),
        (OptimConfig, {"lr_milestones": (80,)}, r"`lr_values` must have one value more than `lr_milestones`"),
        (OptimConfig, {"lr_values": (5e-5, 0.0, 1, 1, 1, 1)}, r"`lr_values\[1\]` must be > 0"),
        (OptimConfig, {"lr_values": (5e-5, float("nan"), 1, 1, 1, 1)}, r"`lr_values\[1\]` must be finite"),
        (OptimConfig, {"lr_milestones": (80.0, 200, 245, 260, 350)}, r"`lr_milestones\[0\]` must be an integer"),
        (TrainConfig, {"epochs": 0}, r"TrainConfig: `epochs` must be >= 1"),
        (TrainConfig, {"videos_per_step": 2.5}, r"`videos_per_step` must be an integer"),
        (TrainConfig, {"attention_divisor": 0}, r"`attention_divisor` must be >= 1"),
        (TrainConfig, {"checkpoint_every": 0}, r"`checkpoint_every` must be >= 1"),
        (TrainConfig, {"patience": -1}, r"`patience` must be >= 0"),
        (TrainConfig, {"sample_snippets": 1}, r"`sample_snippets` must be >= 2"),
        (TrainConfig, {"eval_methods": ("fusion", "fusion")}, r"`eval_methods` must be distinct names"),
        (TrainConfig, {"eval_methods": ()}, r"`eval_methods` must be distinct names"),
        (TrainConfig, {"eval_methods": ("nmx",)}, r"`eval_methods` must be distinct names"),
        (TrainConfig, {"padding_budget": -0.1}, r"`padding_budget` must be >= 0"),
        (TrainConfig, {"use_memory": 1}, r"`use_memory` must be true or false"),
        (TrainConfig, {"background_weight": -0.2}, r"`background_weight` must be >= 0"),
        (TrainConfig, {"self_label_temperature": 0.0}, r"`self_label_temperature` must be > 0"),
        (TrainConfig, {"memory_target_coef": 1.5}, r"`memory_target_coef` must be in \[0.0, 1.0\]"),
        (TrainConfig, {"self_label_weights": (1.0, 0.5)}, r"`self_label_weights` must have one value more"),
        (TrainConfig, {"self_label_weights": (1.0, -0.5, 1.0)}, r"`self_label_weights\[1\]` must be >= 0"),
        (TrainConfig, {"refresh_temperatures": (0.02, 0.0)}, r"`refresh_temperatures\[1\]` must be > 0"),
        (TrainConfig, {"refresh_temperatures": ()}, r"`refresh_temperatures` must list one temperature"),
        (TrainConfig, {"seed": True}, r"`seed` must be an integer"),
    ],
)
def test_validation_names_the_field(cls, changes, match):
    with pytest.raises(ConfigError, match=match):
        cls.official(**changes)


def test_settings_without_effect():
    assert OptimConfig.official().inactive_fields() == {}
    assert TrainConfig.official().inactive_fields() == {}
    rskp = TrainConfig.rskp().inactive_fields()
    assert set(rskp) == {"refresh_temperatures", "empty_memory_at_refresh"}
    no_mem = TrainConfig.official(use_memory=False).inactive_fields()
    assert set(no_mem) == {"memory_coef", "memory_target_coef", "empty_memory_at_refresh"}
    assert no_mem["memory_coef"] == "use_memory = true only"


@pytest.mark.parametrize(
    "section",
    [OptimConfig.official(), OptimConfig.rskp(), TrainConfig.official(), TrainConfig.paper(), TrainConfig.rskp()],
)
def test_plain_values_coerce_back_and_survive_toml(section):
    """What Config.to_toml writes for a section and what load_config reads back (``_coerce`` by
    the field annotations) gives the section again."""
    cls = type(section)
    hints = typing.get_type_hints(cls)
    plain = _plain(section)
    assert plain == section.to_dict()
    text = "\n".join(f"{k} = {_toml_value(v)}" for k, v in plain.items())
    parsed = tomllib.loads(text)
    rebuilt = cls(**{k: _coerce(hints[k], v, k) for k, v in parsed.items()})
    assert rebuilt == section
    assert section.replace() == section


def test_import_does_not_load_torch():
    code = "import sys, tadfuse.engine; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_settings_another_section_turns_off_are_errors():
    from tadfuse.config import Config, load_config

    cfg = Config.official()
    assert cfg.inactive_settings() == {}
    off = load_config("official", overrides=["train.use_memory=false"])
    assert off.inactive_settings()["model.warmup_epoch"] == "train.use_memory = true only"
    with pytest.raises(ConfigError, match=r"`model.warmup_epoch` = 5 would have no effect: .*train.use_memory"):
        load_config("official", overrides=["train.use_memory=false", "model.warmup_epoch=5"])
    with pytest.raises(ConfigError, match=r"`delta.weight_max` = 20 would have no effect: .*train.refresh"):
        load_config("official", overrides=["train.refresh=false", "delta.weight_max=20"])
    # an unchanged value (e.g. a whole config.toml read back) is not an error
    same = load_config("official", overrides=["train.use_memory=false", "model.warmup_epoch=100"])
    assert same.model.warmup_epoch == 100


def test_forward_batches_by_device():
    t = TrainConfig.official()
    assert t.forward_batches("cpu") == (1, 1)
    assert t.forward_batches("cuda") == (10, 16)
    assert TrainConfig.official(batch_videos=4, inference_batch_videos=8).forward_batches("cpu") == (4, 8)
    with pytest.raises(ConfigError, match="`batch_videos` must be >= 1"):
        TrainConfig.official(batch_videos=0)


def test_trainer_presets_and_their_sources():
    from tadfuse.config import PRESETS, EvaluationConfig, OptimConfig, PostprocessConfig, get_preset

    assert {"official", "paper", "rskp", "anet", "demo"} <= set(PRESETS)
    off, pap = get_preset("official"), get_preset("paper")
    assert off.model.memory_class0_defect and off.model.pseudo_label_dropout
    assert dataclasses.replace(pap.model, memory_class0_defect=True, pseudo_label_dropout=True) == off.model
    assert pap.train.refresh_temperatures == (0.1,) * 6 and off.train.refresh_temperatures[-1] == 0.0016
    r = get_preset("rskp")
    assert (r.model.tcam_o_weight, r.model.video_o_weight, r.model.memory_class0_defect) == (0.6, 0.6, False)
    assert (r.postprocess.class_threshold, r.postprocess.method, r.postprocess.threshold) == (0.1, "nms", 0.5)
    assert r.postprocess.overlap == "coverage" and r.postprocess.preset == "rskp"  # outer pad 0.25·n
    assert r.postprocess.thresholds == PostprocessConfig.official().thresholds  # arange(0.001, 0.04, 0.002)
    assert r.optim == OptimConfig.rskp() and not r.train.refresh and r.train.epochs == 200
    a = get_preset("anet")
    assert (a.model.dropout, a.model.scale_factor, a.model.tcam_o_weight, a.model.num_classes) == (0.7, 10.0, 0.8, 200)
    assert (a.optim.lr_values, a.optim.lr_milestones, a.optim.weight_decay) == ((2e-05,), (), 0.001)
    assert (a.train.background_weight, a.train.attention_weight, a.train.self_label_weights) == (0.1, 0.1, (1.0,))
    assert (a.train.sample_snippets, a.train.patience, a.train.refresh) == (75, 6, False)
    assert a.evaluation == EvaluationConfig.activitynet() and a.postprocess.class_threshold == 0.1
    d = get_preset("demo")
    assert d.train.epochs == 40 and d.delta.refresh_epochs == (20, 25, 30) and d.model.warmup_epoch == 10
    assert len(d.train.refresh_temperatures) == len(d.delta.refresh_epochs)
    assert not d.model.memory_class0_defect and not d.model.pseudo_label_dropout
