"""Δ pseudo labels: schedules against hand-computed targets, loss values, checkpoints."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from tadfuse.delta import DeltaLabelStore, DeltaSchedule, distillation_loss

try:
    import torch
except ImportError:  # the store works without torch; the loss and checkpoint tests need it
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="needs torch")


def gen(epoch, shape=(3, 2)):
    """A recognisable generation: every entry equals epoch / 1000."""
    return np.full(shape, epoch / 1000.0)


def run_refreshes(store, until, videos=(0, "vid_b")):
    """Simulates the training loop up to (and including) the start of epoch `until`."""
    for e in store.schedule.refresh_epochs:
        if e <= until:
            store.add_generation(e, {v: gen(e) for v in videos})


# (epoch, expected target as a function of generation epochs) for the official schedule.
OFFICIAL = [
    (0, None),
    (199, None),
    (200, None),  # refreshed at the start of 200, first used at 201 (`epoch <= 200`)
    (201, lambda: gen(200)),
    (229, lambda: gen(200)),
    (230, lambda: gen(230)),
    (244, lambda: gen(230)),
    (250, lambda: gen(245)),
    (251, lambda: 2 * (gen(245) - gen(230))),
    (259, lambda: 2 * (gen(245) - gen(230))),
    (260, lambda: 2 * (gen(260) - gen(245))),
    (299, lambda: 2 * (gen(275) - gen(260))),
    (300, lambda: 2 * (gen(300) - gen(275))),
    (301, lambda: 2.15 * (gen(300) - gen(275))),
    (349, lambda: 2.15 * (gen(300) - gen(275))),
]

PAPER = [
    (199, None),
    (200, lambda: gen(200)),  # ΔG^1 = G^1 − 0
    (214, lambda: gen(200)),
    (215, lambda: gen(215) - gen(200)),
    (244, lambda: gen(230) - gen(215)),
    (245, lambda: gen(245) - gen(230)),
    (269, lambda: gen(245) - gen(230)),
    (270, lambda: gen(270) - gen(245)),
    (290, lambda: gen(290) - gen(270)),
    (349, lambda: gen(290) - gen(270)),
]


@pytest.mark.parametrize("name, table", [("official", OFFICIAL), ("paper", PAPER)])
def test_targets_hand_computed(name, table):
    for epoch, expected in table:
        store = DeltaLabelStore(name)
        run_refreshes(store, epoch)
        for video in (0, "vid_b"):
            got = store.target(video, epoch)
            if expected is None:
                assert got is None, (epoch, got)
            else:
                np.testing.assert_allclose(got, expected(), rtol=0, atol=1e-15, err_msg=f"epoch {epoch}")


def test_refresh_epochs_and_weights():
    off, pap = DeltaSchedule.official(), DeltaSchedule.paper()
    assert [e for e in range(400) if off.is_refresh(e)] == [200, 230, 245, 260, 275, 300]
    assert [e for e in range(400) if pap.is_refresh(e)] == [200, 215, 230, 245, 270, 290]
    for s in (off, pap):
        assert s.loss_weight(200) == pytest.approx(10.0)
        assert s.loss_weight(210) == pytest.approx(10 * 1.035**10)  # 14.106
        assert s.loss_weight(246) == pytest.approx(10 * 1.035**46)  # 48.68, still below the cap
        assert s.loss_weight(247) == 50.0  # 10 * 1.035**47 = 50.39 -> capped
        assert s.loss_weight(340) == 50.0
    with pytest.raises(ValueError, match="schedule"):
        DeltaLabelStore("nope")


def test_store_keeps_last_generations_and_validates():
    store = DeltaLabelStore("official", keep=2)
    for e in (200, 230, 245):
        store.add(7, e, gen(e))
    assert [e for e, _ in store.generations(7)] == [230, 245]
    assert store.target(8, 260) is None  # unknown video
    assert 7 in store and len(store) == 1
    with pytest.raises(ValueError, match="shape"):
        store.add(7, 260, gen(260, shape=(4, 2)))
    with pytest.raises(ValueError, match="epoch"):
        store.add(7, 100, gen(100))
    with pytest.raises(ValueError, match="labels"):
        store.add(9, 200, np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="keep"):
        DeltaLabelStore(keep=1)
    # Sequence form indexes videos by position; the stored arrays are copies.
    g = gen(200)
    store2 = DeltaLabelStore("paper")
    store2.add_generation(200, [g, 2 * g])
    g[:] = 99.0
    np.testing.assert_array_equal(store2.target(1, 200), 2 * gen(200))


def test_same_epoch_replaces_latest_generation():
    # Resuming from a checkpoint saved after a refresh recomputes that refresh: the Δ target
    # must stay G^t − G^{t−1}, not collapse to G^t − G^t = 0.
    store = DeltaLabelStore("official", keep=2)
    store.add(0, 245, gen(245))
    store.add(0, 260, gen(260))
    expected = 2.0 * (gen(260) - gen(245))
    np.testing.assert_array_equal(store.target(0, 270), expected)
    store.add_generation(260, {0: gen(260)})  # the same refresh again
    assert [e for e, _ in store.generations(0)] == [245, 260]
    np.testing.assert_array_equal(store.target(0, 270), expected)
    # replacing takes the new values, still against the previous generation
    store.add(0, 260, 3 * gen(260))
    np.testing.assert_array_equal(store.target(0, 270), 2.0 * (3 * gen(260) - gen(245)))
    # a single generation replaced stays a single generation (G^{t-1} = 0)
    one = DeltaLabelStore("paper")
    one.add("v", 200, gen(200))
    one.add("v", 200, 2 * gen(200))
    assert [e for e, _ in one.generations("v")] == [200]
    np.testing.assert_array_equal(one.target("v", 200), 2 * gen(200))


def hand_soft_ce(z, y):
    """−mean_t Σ_c y_tc log softmax(z_t)_c, in numpy float64."""
    z = np.asarray(z, np.float64)
    logp = z - z.max(-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    return float(-(logp * y).sum(-1).mean())


@needs_torch
def test_loss_hand_computed():
    # Zero logits: log softmax = −log 3 everywhere; targets' rows sum to 1 and 1 -> softCE = log 3.
    y = np.array([[1.0, 0.0, 0.0], [0.5, -0.5, 1.0]])
    z0 = torch.zeros(1, 2, 3)
    store = DeltaLabelStore("official")
    store.add(0, 200, y)
    assert store.loss(0, 200, z0, z0) is None
    loss = store.loss(0, 201, z0, z0)
    assert loss.item() == pytest.approx(10 * 1.035 * math.log(3))
    # Distinct branch logits: 0.8 / 0.2 mixture, weight outside.
    zo = np.array([[[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]]])
    zm = np.array([[[-1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]])
    expected = 0.8 * hand_soft_ce(zo[0], y) + 0.2 * hand_soft_ce(zm[0], y)
    got = distillation_loss(torch.tensor(zo, dtype=torch.float32), torch.tensor(zm, dtype=torch.float32), y)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # Δ phase of the official schedule: target 2·(G_t − G_{t−1}), weight capped at 50 by epoch 251.
    store.add(0, 230, 3 * y)
    store.add(0, 245, 4 * y)
    got = store.loss(0, 251, torch.tensor(zo), torch.tensor(zm))
    assert got.item() == pytest.approx(50 * (0.8 * hand_soft_ce(zo[0], 2 * y) + 0.2 * hand_soft_ce(zm[0], 2 * y)))
    with pytest.raises(ValueError, match="target"):
        distillation_loss(torch.zeros(1, 3, 3), torch.zeros(1, 3, 3), y)


@needs_torch
def test_loss_gradient_flows():
    y = np.abs(np.random.default_rng(0).normal(size=(5, 21)))
    zo = torch.randn(1, 5, 21, requires_grad=True)
    zm = torch.randn(1, 5, 21, requires_grad=True)
    store = DeltaLabelStore("paper")
    store.add("v", 200, y)
    store.loss("v", 200, zo, zm).backward()
    assert zo.grad is not None and torch.isfinite(zo.grad).all() and zm.grad.abs().sum() > 0


@pytest.mark.skipif(torch is None or not torch.cuda.is_available(), reason="needs CUDA")
def test_loss_on_cuda_matches_cpu():
    y = np.random.default_rng(1).uniform(-0.2, 1, size=(7, 21))
    zo, zm = torch.randn(1, 7, 21), torch.randn(1, 7, 21)
    cpu = distillation_loss(zo, zm, y)
    gpu = distillation_loss(zo.cuda(), zm.cuda(), y)
    assert gpu.device.type == "cuda"
    assert gpu.item() == pytest.approx(cpu.item(), rel=1e-6)


@needs_torch
def test_state_dict_round_trip_through_torch_save():
    store = DeltaLabelStore("paper", keep=3)
    for e in (200, 215, 230, 245):
        store.add_generation(e, {0: gen(e), "clip": gen(e, (4, 2)) + 1})
    buf = io.BytesIO()
    torch.save({"delta": store.state_dict()}, buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)["delta"]
    restored = DeltaLabelStore("official")
    restored.load_state_dict(state)
    assert restored.schedule == DeltaSchedule.paper() and restored.keep == 3
    assert restored.videos() == [0, "clip"]
    for v in (0, "clip"):
        assert [e for e, _ in restored.generations(v)] == [215, 230, 245]
        for epoch in (240, 300):
            np.testing.assert_array_equal(restored.target(v, epoch), store.target(v, epoch))
