"""The configuration system: presets, TOML files, key=value overrides, validation naming the key."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tadfuse.config import (
    OFFICIAL_THRESHOLDS,
    PRESETS,
    Config,
    DeltaPhase,
    DeltaSchedule,
    EvaluationConfig,
    LinproConfig,
    PostprocessConfig,
    get_preset,
    load_config,
    parse_override,
    register_preset,
)
from tadfuse.errors import ConfigError


def test_presets_hold_the_published_constants():
    off, pap = get_preset("official"), get_preset("paper")
    assert off.preset == "official" and pap.preset == "paper"
    assert off.postprocess == PostprocessConfig.official()
    assert (off.postprocess.temperature, off.postprocess.overlap, off.postprocess.weight) == (0.2, "coverage", "inner")
    assert (pap.postprocess.temperature, pap.postprocess.overlap, pap.postprocess.weight) == (0.03, "iou", "score")
    assert off.postprocess.thresholds == OFFICIAL_THRESHOLDS and len(OFFICIAL_THRESHOLDS) == 20
    assert off.linpro.preset == "official" and pap.linpro.preset == "paper"
    assert off.delta.refresh_epochs == (200, 230, 245, 260, 275, 300)
    assert pap.delta.refresh_epochs == (200, 215, 230, 245, 270, 290)
    assert off.evaluation.protocol == "wtalc" and off.evaluation.tiou_thresholds == (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
    assert EvaluationConfig.activitynet().tiou_thresholds[0] == 0.5 and len(EvaluationConfig.activitynet().tiou_thresholds) == 10
    assert set(PRESETS) >= {"official", "paper"}
    assert list(Config.sections()) == ["model", "postprocess", "linpro", "delta", "evaluation", "optim", "train"]


def test_unknown_preset_names_the_choices():
    with pytest.raises(ConfigError, match=r"unknown preset 'oficial'.*official"):
        get_preset("oficial")


def test_register_preset_names_the_result():
    register_preset("fast_test_only", lambda: dataclasses.replace(Config.official(), preset="whatever"))
    try:
        assert get_preset("fast_test_only").preset == "fast_test_only"
    finally:
        del PRESETS["fast_test_only"]
    with pytest.raises(ConfigError, match="identifier"):
        register_preset("bad name", Config.official)


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("postprocess.temperature=0.1", "postprocess.temperature", 0.1),
        ("postprocess.method=nms", "postprocess.method", "nms"),
        ('postprocess.method="nms"', "postprocess.method", "nms"),
        (" evaluation.tiou_thresholds = [0.3, 0.5] ", "evaluation.tiou_thresholds", [0.3, 0.5]),
        ("postprocess.min_length=3", "postprocess.min_length", 3),
        ("evaluation.zero_map_bug=true", "evaluation.zero_map_bug", True),
        ("postprocess.max_out=none", "postprocess.max_out", "none"),
    ],
)
def test_parse_override(text, key, value):
    assert parse_override(text) == (key, value)


@pytest.mark.parametrize("text", ["temperature", "=3", ""])
def test_parse_override_needs_key_and_value(text):
    with pytest.raises(ConfigError, match="section.field=value"):
        parse_override(text)


def test_overrides_apply_and_validate():
    cfg = load_config("official", overrides=["postprocess.temperature=0.1", "postprocess.min_length=3",
                                             "delta.refresh_epochs=[10, 20]", "train.refresh_temperatures=[0.1, 0.05]",
                                             "evaluation.subset=validation"])
    assert cfg.postprocess.temperature == 0.1 and cfg.postprocess.min_length == 3
    assert cfg.delta.refresh_epochs == (10, 20) and cfg.evaluation.subset == "validation"
    # Everything else is the preset's.
    assert cfg.linpro == LinproConfig.official()
    assert dataclasses.replace(cfg.postprocess, temperature=0.2, min_length=2) == PostprocessConfig.official()
    # A mapping works the same way.
    assert load_config(overrides={"postprocess.temperature": 0.1}).postprocess.temperature == 0.1


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("postproces.temperature=0.1", r"unknown setting `postproces.temperature`.*did you mean 'postprocess'"),
        ("postprocess.temprature=0.1", r"unknown setting `postprocess.temprature`.*did you mean 'temperature'"),
        ("temperature=0.1", r"unknown setting `temperature`"),
        ("postprocess.temperature=hot", r"`postprocess.temperature` must be a number, got 'hot'"),
        ("postprocess.temperature=true", r"`postprocess.temperature` must be a number"),
        ("postprocess.min_length=2.5", r"`postprocess.min_length` must be an integer"),
        ("postprocess.temperature=-1", r"\[postprocess\].*temperature"),
        ("postprocess.method=nmx", r"\[postprocess\].*`method` must be one of"),
        ("postprocess.class_threshold=1.5", r"class_threshold.*\[0, 1\]"),
        ("postprocess.thresholds=[-0.1, 0.2]", r"thresholds.*>= 0"),
        ("evaluation.tiou_thresholds=[0.0]", r"tiou_thresholds"),
        ("evaluation.protocol=voc", r"protocol"),
        ("delta.refresh_epochs=[5, 5]", r"strictly increasing"),
        ("linpro.solver=cplex", r"solver"),
        ("evaluation.zero_map_bug=1", r"true or false"),
        ("delta.refresh_epochs=7", r"must be a list"),
    ],
)
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config("official", overrides=[override])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["postprocess.sigma=0.3"], r"`postprocess.sigma` = 0.3 would have no effect.*soft_nms"),
        (["postprocess.method=nms", "postprocess.temperature=0.5"], r"postprocess.temperature.*fusion"),
        (["postprocess.alpha=0.5"], r"postprocess.alpha.*paper"),
        (["postprocess.dof=5"], r"postprocess.dof.*student_t"),
        (["linpro.alpha=0.5"], r"linpro.alpha.*paper"),
        (["evaluation.protocol=anet", "evaluation.zero_map_bug=true"], r"zero_map_bug.*wtalc"),
        (["postprocess.method=soft_nms", "postprocess.threshold=0.5"], r"postprocess.threshold.*linear"),
        (["postprocess.method=soft_nms", "postprocess.overlap=iou"], r"postprocess.overlap"),
    ],
)
def test_settings_without_effect_are_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config("official", overrides=overrides)


def test_settings_with_effect_are_accepted():
    cfg = load_config("official", overrides=["postprocess.method=soft_nms", "postprocess.sigma=0.3",
                                             "postprocess.max_out=50"])
    assert (cfg.postprocess.sigma, cfg.postprocess.max_out) == (0.3, 50)
    assert load_config("paper", overrides=["postprocess.alpha=0.5"]).postprocess.alpha == 0.5
    # Setting an inactive field to the value it already has changes nothing, so it is not an error.
    assert load_config("official", overrides=["postprocess.sigma=0.5"]) == get_preset("official")
    cfg = load_config("official", overrides=["postprocess.method=soft_nms", "postprocess.max_out=none"])
    assert cfg.postprocess.max_out is None


def test_max_out_outside_soft_nms_is_rejected_by_the_dataclass_too():
    with pytest.raises(ConfigError, match="max_out"):
        PostprocessConfig.official(max_out=10)
    assert PostprocessConfig.official(method="soft_nms", max_out=10).max_out == 10


def test_override_given_twice():
    with pytest.raises(ConfigError, match="given twice"):
        load_config(overrides=["postprocess.temperature=0.1", "postprocess.temperature=0.3"])


@pytest.mark.parametrize("name", ["official", "paper"])
def test_toml_round_trip_of_each_preset(tmp_path, name):
    cfg = get_preset(name)
    path = tmp_path / "config.toml"
    path.write_text(cfg.to_toml())
    assert load_config(file=path) == cfg
    assert Config.from_dict(cfg.to_dict()) == cfg


@given(
    temperature=st.floats(1e-4, 10.0),
    threshold=st.floats(0.0, 1.0),
    min_length=st.integers(0, 50),
    thresholds=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5),
    template=st.sampled_from(["gaussian", "laplace", "uniform"]),
    epochs=st.lists(st.integers(0, 1000), min_size=1, max_size=6, unique=True).map(sorted),
    subset=st.one_of(st.none(), st.sampled_from(["test", "validation", 'we"ird\\name'])),
)
def test_toml_round_trip_of_any_resolved_config(tmp_path_factory, temperature, threshold, min_length, thresholds,
                                                template, epochs, subset):
    base = get_preset("official")
    cfg = dataclasses.replace(
        base,
        postprocess=base.postprocess.replace(temperature=temperature, threshold=threshold, min_length=min_length,
                                             thresholds=tuple(thresholds), template=template),
        delta=dataclasses.replace(base.delta, refresh_epochs=tuple(epochs)),
        train=base.train.replace(refresh_temperatures=tuple(0.01 * (i + 1) for i in range(len(epochs)))),
        evaluation=dataclasses.replace(base.evaluation, subset=subset),
    )
    path = tmp_path_factory.mktemp("cfg") / "config.toml"
    path.write_text(cfg.to_toml())
    assert load_config(file=path) == cfg


def test_file_then_overrides(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text('preset = "paper"\n[postprocess]\ntemperature = 0.05\n[delta]\nrefresh_epochs = [3, 4]\n'
                    '[train]\nrefresh_temperatures = [0.1, 0.1]\n')
    cfg = load_config(file=path, overrides=["postprocess.temperature=0.07"])
    assert cfg.preset == "paper" and cfg.postprocess.temperature == 0.07 and cfg.delta.refresh_epochs == (3, 4)
    assert cfg.postprocess.overlap == "iou"  # the paper preset's, untouched
    with pytest.raises(ConfigError, match="file is for preset 'paper' but preset 'official'"):
        load_config("official", file=path)


def test_phases_from_a_file(tmp_path):
    path = tmp_path / "phases.toml"
    path.write_text('[[delta.phases]]\nfirst = 10\nlast = 20\ncoef = 1.5\ndelta = true\n'
                    '[[delta.phases]]\nfirst = 21\nlast = "none"\ncoef = 2\ndelta = false\n')
    cfg = load_config(file=path)
    assert cfg.delta.phases == (DeltaPhase(10, 20, 1.5, True), DeltaPhase(21, None, 2.0, False))
    path.write_text('[[delta.phases]]\nfirst = 10\nlast = 20\ncoef = 1.5\ndelta = true\n'
                    '[[delta.phases]]\nfirst = 15\nlast = 30\ncoef = 2\ndelta = false\n')
    with pytest.raises(ConfigError, match=r"phases\.toml.*disjoint.*phases\[1\]"):
        load_config(file=path)
    path.write_text('[[delta.phases]]\nfirst = 10\nlast = 20\ncoef = 1.5\n')
    with pytest.raises(ConfigError, match="delta"):
        load_config(file=path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[postprocess\ntemperature = 1", r"bad\.toml: not valid TOML"),
        ("temperature = 0.1\n", r"bad\.toml: `temperature` must be a \[temperature\] table"),
        ("preset = 3\n", r"bad\.toml: `preset` must be a string"),
        ("[postprocess]\ntemperature = 'x'\n", r"bad\.toml: `postprocess.temperature` must be a number"),
        ("[training]\nepochs = 3\n", r"bad\.toml: unknown setting `training.epochs`"),
    ],
)
def test_bad_files_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(file=path)


def test_delta_schedule_validation():
    with pytest.raises(ConfigError, match="strictly increasing"):
        dataclasses.replace(DeltaSchedule.official(), refresh_epochs=(5, 3))
    with pytest.raises(ConfigError, match="disjoint"):
        dataclasses.replace(DeltaSchedule.official(), phases=(DeltaPhase(1, None, 1.0, False), DeltaPhase(5, 6, 1.0, True)))
    with pytest.raises(ValueError, match="o_coef"):
        dataclasses.replace(DeltaSchedule.official(), o_coef=1.5)


def test_config_errors_are_value_errors():
    # Callers that catch ValueError keep working.
    with pytest.raises(ValueError):
        load_config("nope")


def test_a_refresh_temperature_per_refresh_epoch():
    # A check across sections: the training fusion temperature of each refresh.
    with pytest.raises(ConfigError, match=r"train.refresh_temperatures: 6 temperatures for 2 refresh epochs"):
        load_config(overrides=["delta.refresh_epochs=[3, 4]"])
