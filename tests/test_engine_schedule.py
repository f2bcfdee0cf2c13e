"""Per-epoch schedules: exact values before, at and after every milestone, for each preset."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tadfuse.config import Config, DeltaSchedule, ModelConfig
from tadfuse.engine import (
    OptimConfig,
    TrainConfig,
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
from tadfuse.errors import ConfigError, InvalidArgumentError, InvalidTypeError

OFF_T, PAP_T, RSKP_T = TrainConfig.official(), TrainConfig.paper(), TrainConfig.rskp()
OFF_D, PAP_D = DeltaSchedule.official(), DeltaSchedule.paper()
OFF_M = ModelConfig.official()


def released_step_change_lr(epoch: int, changes=(80, 200, 245, 260, 350),
                            values=(5e-5, 4e-5, 2.048e-5, 5.12e-7, 2.56e-7, 5.12e-8), max_epoch=350) -> float:
    """GauFuse ``Step_change_lr`` restated: 1-based epoch in ``(bounds[i], bounds[i + 1]]``."""
    current = epoch + 1
    bounds = [0, *changes, max_epoch + 1]
    for i in range(len(bounds) - 1):
        if bounds[i] < current <= bounds[i + 1]:
            return values[i]
    raise AssertionError("epoch outside the released table")


@pytest.mark.parametrize(
    ("epoch", "lr"),
    [(0, 5e-5), (79, 5e-5), (80, 4e-5), (81, 4e-5), (199, 4e-5), (200, 2.048e-5), (201, 2.048e-5),
     (244, 2.048e-5), (245, 5.12e-7), (246, 5.12e-7), (259, 5.12e-7), (260, 2.56e-7), (261, 2.56e-7),
     (349, 2.56e-7), (350, 5.12e-8)],
)
def test_official_learning_rate_at_the_boundaries(epoch, lr):
    assert learning_rate(OptimConfig.official(), epoch) == lr
    assert learning_rate(OptimConfig.paper(), epoch) == lr


def test_learning_rate_equals_the_released_function_at_every_epoch():
    for epoch in range(351):
        assert learning_rate(OptimConfig.official(), epoch) == released_step_change_lr(epoch), epoch


@pytest.mark.parametrize("epoch", [0, 79, 80, 199, 200])
def test_rskp_learning_rate_is_constant(epoch):
    assert learning_rate(OptimConfig.rskp(), epoch) == 5e-5


@given(st.lists(st.integers(1, 400), min_size=0, max_size=6, unique=True), st.integers(0, 500))
def test_piecewise_rule(milestones, epoch):
    ms = tuple(sorted(milestones))
    values = tuple(float(i + 1) for i in range(len(ms) + 1))
    o = OptimConfig.official(lr_milestones=ms, lr_values=values)
    assert learning_rate(o, epoch) == values[sum(m <= epoch for m in ms)]


@pytest.mark.parametrize(
    ("epoch", "official", "rskp"),
    [(0, 1.0, 1.0), (100, 1.0, 1.0), (101, 0.5, 0.5), (199, 0.5, 0.5), (200, 0.5, 0.5), (201, 1.0, 0.5),
     (349, 1.0, 0.5)],
)
def test_self_label_weight_by_phase(epoch, official, rskp):
    assert self_label_weight(OFF_T, epoch) == official
    assert self_label_weight(PAP_T, epoch) == official
    assert self_label_weight(RSKP_T, epoch) == rskp


@pytest.mark.parametrize(
    ("epoch", "distillation"),
    [(0, 0.0), (199, 0.0), (200, 0.0), (201, 10.0 * 1.035), (230, 10.0 * 1.035**30), (246, 10.0 * 1.035**46),
     (247, 50.0), (300, 50.0), (349, 50.0)],
)
def test_official_loss_weights(epoch, distillation):
    w = loss_weights(OFF_T, OFF_D, epoch)
    assert (w.foreground, w.background, w.attention) == (1.0, 0.2, 0.1)
    assert w.distillation == pytest.approx(distillation, rel=1e-15)
    assert w.self_label == self_label_weight(OFF_T, epoch)
    assert w.as_dict()["distillation"] == w.distillation


@pytest.mark.parametrize(("epoch", "distillation"), [(199, 0.0), (200, 10.0), (201, 10.35), (290, 50.0)])
def test_paper_loss_weights(epoch, distillation):
    assert loss_weights(PAP_T, PAP_D, epoch).distillation == pytest.approx(distillation, rel=1e-15)


def test_rskp_never_distills_or_refreshes():
    for epoch in (0, 200, 201, 260, 300, 349):
        assert loss_weights(RSKP_T, OFF_D, epoch).distillation == 0.0
        assert refresh_temperature(RSKP_T, OFF_D, epoch) is None
        assert delta_phase(RSKP_T, OFF_D, epoch) is None
        assert not memory_emptied(RSKP_T, OFF_D, epoch)


@pytest.mark.parametrize(
    ("epoch", "official"),
    [(199, None), (200, 0.02), (201, None), (230, 0.02), (245, 0.02), (259, None), (260, 0.002), (275, 0.002),
     (299, None), (300, 0.0016), (301, None)],
)
def test_official_refresh_temperatures(epoch, official):
    assert refresh_temperature(OFF_T, OFF_D, epoch) == official
    assert memory_emptied(OFF_T, OFF_D, epoch) == (official is not None)


@pytest.mark.parametrize("epoch", [200, 215, 230, 245, 270, 290])
def test_paper_refresh_temperatures(epoch):
    assert refresh_temperature(PAP_T, PAP_D, epoch) == 0.1
    assert refresh_temperature(PAP_T, PAP_D, epoch + 1) is None


def test_missing_refresh_temperature_names_the_field():
    short = TrainConfig.official(refresh_temperatures=(0.02,))
    assert refresh_temperature(short, OFF_D, 200) == 0.02
    with pytest.raises(ConfigError, match=r"train\.refresh_temperatures: no temperature for refresh 1"):
        refresh_temperature(short, OFF_D, 230)


@pytest.mark.parametrize(
    ("epoch", "phase"),
    [(200, None), (201, (1.0, False)), (250, (1.0, False)), (251, (2.0, True)), (300, (2.0, True)),
     (301, (2.15, True)), (349, (2.15, True))],
)
def test_delta_phase_delegates(epoch, phase):
    p = delta_phase(OFF_T, OFF_D, epoch)
    assert (None if p is None else (p.coef, p.delta)) == phase


def test_memory_bank_timeline():
    assert not memory_active(OFF_T, OFF_M, 100) and memory_active(OFF_T, OFF_M, 101)
    assert memory_filled_after(OFF_T, OFF_M, 100) and not memory_filled_after(OFF_T, OFF_M, 99)
    assert not memory_filled_after(OFF_T, OFF_M, 101)
    early = ModelConfig.official(warmup_epoch=3)  # the warm-up epoch is the model section's
    assert memory_filled_after(OFF_T, early, 3) and memory_active(OFF_T, early, 4)
    assert not memory_active(OFF_T, early, 3)
    off = TrainConfig.official(use_memory=False)
    assert not memory_active(off, OFF_M, 200) and not memory_filled_after(off, OFF_M, 100)
    assert not memory_emptied(off, OFF_D, 200)
    keep = TrainConfig.official(empty_memory_at_refresh=False)
    assert not memory_emptied(keep, OFF_D, 200)


@pytest.mark.parametrize(("epoch", "evaluates"), [(0, False), (3, False), (4, True), (5, False), (9, True),
                                                  (349, True)])
def test_evaluation_after_every_fifth_epoch(epoch, evaluates):
    assert evaluates_after(OFF_T, epoch) == evaluates


@pytest.mark.parametrize(("epoch", "every", "expected"), [(0, 5, False), (4, 5, True), (5, 5, False), (6, 7, True),
                                                         (12, 7, False), (13, 7, True), (15, 7, True)])
def test_evaluation_and_checkpoints_also_after_the_last_epoch(epoch, every, expected):
    t = TrainConfig.official(epochs=16, eval_every=every, checkpoint_every=every)
    assert evaluates_after(t, epoch) == expected
    assert checkpoints_after(t, epoch) == expected
    assert checkpoints_after(TrainConfig.official(checkpoint_every=2), 1)
    assert not checkpoints_after(TrainConfig.official(checkpoint_every=2), 2)


def test_epoch_plan_bundles_everything():
    cfg = Config.official()
    p = epoch_plan(cfg, 260)
    assert p.epoch == 260 and p.learning_rate == 2.56e-7 and p.refresh_temperature == 0.002
    assert p.memory_emptied and p.memory_active and not p.memory_filled_after and not p.evaluates_after
    assert not p.checkpoints_after
    assert p.delta_phase is not None and p.delta_phase.coef == 2.0
    assert p.weights == loss_weights(OFF_T, OFF_D, 260)
    q = epoch_plan(cfg, 100)
    assert q.memory_filled_after and not q.memory_active and q.refresh_temperature is None
    assert q.delta_phase is None and q.weights.distillation == 0.0
    assert epoch_plan(cfg, 99).evaluates_after and epoch_plan(cfg, 99).checkpoints_after


@pytest.mark.parametrize(("epoch", "error"), [(-1, InvalidArgumentError), (1.0, InvalidTypeError),
                                              (True, InvalidTypeError)])
def test_bad_epoch_is_named(epoch, error):
    with pytest.raises(error, match="`epoch`"):
        learning_rate(OptimConfig.official(), epoch)
    with pytest.raises(error, match="`epoch`"):
        epoch_plan(Config.official(), epoch)
