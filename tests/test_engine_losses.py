"""The training losses: hand-computed values on tiny tensors, a plain-numpy restatement of the
released per-video formulas, and padded batches = the sum of their videos (values and gradients,
whatever the padding holds)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tadfuse.config import DeltaSchedule
from tadfuse.delta import distillation_loss
from tadfuse.engine import TrainConfig, loss_weights
from tadfuse.engine.losses import (
    NCE_EPS,
    BranchOutput,
    attention_loss,
    background_nce,
    distillation,
    foreground_nce,
    normalized_cross_entropy,
    self_label_ce,
    self_label_target,
    training_losses,
    valid_mask,
)
from tadfuse.engine.schedule import LossWeights
from tadfuse.errors import InvalidArgumentError, InvalidTypeError


def t64(x) -> torch.Tensor:
    return torch.tensor(np.asarray(x, dtype=np.float64))


# ---------------------------------------------------------------------------------------------
# plain-numpy restatements of the released per-video losses (one video, no padding)


def np_log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def np_nce(probs: np.ndarray, target: np.ndarray) -> float:
    y = target / (target.sum() + 1e-8)
    return float(-sum(y[k] * math.log(probs[k]) for k in range(len(y)) if y[k] != 0))


def np_attention(att: np.ndarray, divisor: int = 8) -> float:
    k = max(len(att) // divisor, 1)
    s = np.sort(att)
    return float(s[:k].mean() - s[::-1][:k].mean())


def np_self_label(logits: np.ndarray, target_logits: np.ndarray, temperature: float) -> float:
    p = np.exp(np_log_softmax(target_logits / temperature))
    return float(-(p * np_log_softmax(logits / temperature)).sum(axis=-1).mean())


def np_distill(o: np.ndarray, m: np.ndarray, g: np.ndarray, o_coef: float = 0.8) -> float:
    ce = lambda z: float(-(np_log_softmax(z) * g).sum(axis=-1).mean())
    return o_coef * ce(o) + (1 - o_coef) * ce(m)


# ---------------------------------------------------------------------------------------------
# hand-computed values


def test_nce_by_hand():
    probs = t64([[0.5, 0.25, 0.25]])
    labels = t64([[1.0, 0.0]])
    assert foreground_nce(probs, labels).item() == pytest.approx(math.log(2) / (1 + NCE_EPS), rel=1e-15)
    # [1, 0, 1] / 2: (log 2 + log 4) / 2
    assert background_nce(probs, labels).item() == pytest.approx(3 * math.log(2) / (2 + NCE_EPS), rel=1e-15)
    two = t64([[0.2, 0.3, 0.5]])
    both = t64([[1.0, 1.0]])  # [1, 1, 0] / 2
    assert foreground_nce(two, both).item() == pytest.approx(-(math.log(0.2) + math.log(0.3)) / (2 + NCE_EPS))


def test_nce_zero_probability_under_zero_target_is_not_nan():
    probs = t64([[1.0, 0.0, 0.0]])
    assert foreground_nce(probs, t64([[1.0, 0.0]])).item() == pytest.approx(0.0, abs=1e-12)
    assert math.isinf(background_nce(probs, t64([[1.0, 0.0]])).item())  # a real infinite loss stays one


def test_attention_loss_by_hand():
    att = t64([[0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6]])  # l = 9: k = 1
    assert attention_loss(att).item() == pytest.approx(0.1 - 0.9)
    sixteen = t64([np.arange(16) / 16.0])  # k = 2: (0 + 1/16)/2 - (15/16 + 14/16)/2
    assert attention_loss(sixteen).item() == pytest.approx((1 / 16) / 2 - (29 / 16) / 2)
    ties = t64([[0.5, 0.5, 0.5]])
    assert attention_loss(ties).item() == 0.0
    # The padded batch: video 2 is [0.3, 0.6, 0.4] (k = 1) padded with values that would win.
    batch = t64([[0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6], [0.3, 0.6, 0.4, 1.0, -5.0, 0, 0, 0, 0]])
    per = attention_loss(batch, lengths=[9, 3], reduction="none")
    assert per.tolist() == pytest.approx([-0.8, 0.3 - 0.6])
    assert attention_loss(batch, lengths=[9, 3]).item() == pytest.approx(-0.8 - 0.3)
    assert attention_loss(att, divisor=3).item() == pytest.approx((0.1 + 0.2 + 0.3) / 3 - (0.9 + 0.8 + 0.7) / 3)


def test_self_label_ce_by_hand():
    # One snippet, K = 2, τ = 0.5: target softmax([0, 0.5] / 0.5) = softmax([0, 1]).
    logits = t64([[[1.0, 0.0]]])
    target = t64([[[0.0, 0.5]]])
    p1 = math.e / (1 + math.e)
    lse = math.log(math.exp(2.0) + 1.0)  # log_softmax([2, 0]) = [2 - lse, -lse]
    expected = -((1 - p1) * (2.0 - lse) + p1 * (-lse))
    assert self_label_ce(logits, target, temperature=0.5).item() == pytest.approx(expected, rel=1e-14)


def test_self_label_target_mixes_logits():
    m = t64([[[1.0, 2.0]]])
    r = t64([[[3.0, -1.0]]])
    assert self_label_target(m).data_ptr() == m.data_ptr()
    assert self_label_target(m, r, 0.2)[0, 0].tolist() == pytest.approx([0.2 * 3 + 0.8 * 1, 0.2 * -1 + 0.8 * 2])


def test_self_label_target_is_detached():
    logits = torch.randn(1, 4, 3, dtype=torch.float64, requires_grad=True)
    target = torch.randn(1, 4, 3, dtype=torch.float64, requires_grad=True)
    self_label_ce(logits, target).backward()
    assert target.grad is None and logits.grad is not None


def test_distillation_matches_delta_module():
    rng = np.random.default_rng(0)
    o, m = rng.normal(size=(1, 5, 4)), rng.normal(size=(1, 5, 4))
    g = rng.normal(size=(5, 4))
    ref = distillation_loss(t64(o), t64(m), g).item()
    assert distillation(t64(o), t64(m), [g]).item() == pytest.approx(ref, rel=1e-14)
    assert distillation(t64(o), t64(m), t64(g)[None]).item() == pytest.approx(ref, rel=1e-14)
    assert ref == pytest.approx(np_distill(o[0], m[0], g), rel=1e-12)
    assert distillation(t64(o), t64(m), [None]).item() == 0.0


# ---------------------------------------------------------------------------------------------
# per-video values against the numpy restatement, and batched = sum of per-video


@st.composite
def padded_batches(draw):
    lengths = draw(st.lists(st.integers(1, 19), min_size=1, max_size=4))
    k = draw(st.integers(2, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    pad_value = draw(st.sampled_from([0.0, 1e3, -1e3, float("nan")]))
    rng = np.random.default_rng(seed)
    b, t = len(lengths), max(lengths)
    def padded(shape, scale=3.0):
        x = np.full(shape, pad_value)
        for i, n in enumerate(lengths):
            x[i, :n] = rng.normal(size=(n, *shape[2:])) * scale
        return x
    att = padded((b, t))
    with np.errstate(over="ignore"):
        att = 1 / (1 + np.exp(-att))  # in (0, 1) where real
    # Ties are part of the contract: round half the time so equal attentions occur.
    if draw(st.booleans()):
        att = np.round(att, 1)
    probs = np.exp(np_log_softmax(rng.normal(size=(b, k))))
    labels = (rng.random(size=(b, k - 1)) < 0.5).astype(np.float64)
    labels[np.arange(b), rng.integers(0, k - 1, size=b)] = 1.0
    targets = [rng.normal(size=(n, k)) for n in lengths]
    return dict(lengths=lengths, att=att, o=padded((b, t, k)), m=padded((b, t, k)), probs=probs, labels=labels,
                targets=targets, temperature=draw(st.sampled_from([0.2, 1.0])))


def _check_grad(batched_fn, single_fn, x: np.ndarray, lengths: list[int], by_value: bool = False):
    """Gradient of the batched loss wrt the real entries of ``x`` = that of each video alone.
    ``by_value``: compare the gradient summed over entries of equal value (which of several tied
    attentions is "the" k-th largest is arbitrary; the sum over the tie is not)."""
    xb = t64(x).requires_grad_(True)
    batched_fn(xb).backward()
    assert xb.grad is not None
    for i, n in enumerate(lengths):
        xi = t64(x[i : i + 1, :n]).requires_grad_(True)
        single_fn(xi, i).backward()
        got, want = xb.grad[i, :n].numpy(), xi.grad[0].numpy()
        assert np.all(np.isfinite(got))
        if by_value:
            values = x[i, :n]
            got = np.array([got[values == v].sum() for v in np.unique(values)])
            want = np.array([want[values == v].sum() for v in np.unique(values)])
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@settings(max_examples=40)
@given(padded_batches())
def test_attention_batched_is_sum_of_videos(d):
    lengths, att = d["lengths"], d["att"]
    per = [np_attention(att[i, :n]) for i, n in enumerate(lengths)]
    got = attention_loss(t64(att), lengths=lengths, reduction="none").numpy()
    np.testing.assert_allclose(got, per, rtol=1e-12, atol=1e-15)
    mask = np.arange(att.shape[1])[None, :] < np.array(lengths)[:, None]
    total = attention_loss(t64(att), mask=torch.tensor(mask)).item()
    assert total == pytest.approx(sum(per), rel=1e-12, abs=1e-15)
    _check_grad(lambda x: attention_loss(x, lengths=lengths), lambda x, i: attention_loss(x), att, lengths,
                by_value=True)


@settings(max_examples=40)
@given(padded_batches())
def test_self_label_batched_is_sum_of_videos(d):
    lengths, o, m, temp = d["lengths"], d["o"], d["m"], d["temperature"]
    per = [np_self_label(o[i, :n], m[i, :n], temp) for i, n in enumerate(lengths)]
    got = self_label_ce(t64(o), t64(m), lengths, temperature=temp, reduction="none").numpy()
    np.testing.assert_allclose(got, per, rtol=1e-11)
    assert self_label_ce(t64(o), t64(m), lengths, temperature=temp).item() == pytest.approx(sum(per), rel=1e-11)
    _check_grad(lambda x: self_label_ce(x, t64(m), lengths, temperature=temp),
                lambda x, i: self_label_ce(x, t64(m[i : i + 1, : lengths[i]]), temperature=temp), o, lengths)


@settings(max_examples=40)
@given(padded_batches())
def test_distillation_batched_is_sum_of_videos(d):
    lengths, o, m, g = d["lengths"], d["o"], d["m"], d["targets"]
    per = [np_distill(o[i, :n], m[i, :n], g[i]) for i, n in enumerate(lengths)]
    got = distillation(t64(o), t64(m), g, lengths, reduction="none").numpy()
    np.testing.assert_allclose(got, per, rtol=1e-11, atol=1e-13)
    padded = np.zeros(o.shape)
    for i, n in enumerate(lengths):
        padded[i, :n] = g[i]
    assert distillation(t64(o), t64(m), t64(padded), lengths).item() == pytest.approx(sum(per), rel=1e-11, abs=1e-13)
    _check_grad(lambda x: distillation(x, t64(m), g, lengths),
                lambda x, i: distillation(x, t64(m[i : i + 1, : lengths[i]]), [g[i]]), o, lengths)


@settings(max_examples=40)
@given(padded_batches())
def test_nce_batched_is_sum_of_videos(d):
    probs, labels = d["probs"], d["labels"]
    b = len(probs)
    fg = [np_nce(probs[i], np.append(labels[i], 0.0)) for i in range(b)]
    bg = [np_nce(probs[i], np.append(labels[i], 1.0)) for i in range(b)]
    np.testing.assert_allclose(foreground_nce(t64(probs), t64(labels), reduction="none").numpy(), fg, rtol=1e-12)
    np.testing.assert_allclose(background_nce(t64(probs), t64(labels), reduction="none").numpy(), bg, rtol=1e-12)
    assert foreground_nce(t64(probs), t64(labels)).item() == pytest.approx(sum(fg), rel=1e-12)
    assert background_nce(t64(probs), t64(labels)).item() == pytest.approx(sum(bg), rel=1e-12)


# ---------------------------------------------------------------------------------------------
# the composition


def _head(rng, b, t, k, lengths, requires_grad=False):
    probs = lambda: t64(np.exp(np_log_softmax(rng.normal(size=(b, k))))).requires_grad_(requires_grad)
    att = t64(1 / (1 + np.exp(-rng.normal(size=(b, t))))).requires_grad_(requires_grad)
    return BranchOutput(probs(), probs(), att, t64(rng.normal(size=(b, t, k)) * 3).requires_grad_(requires_grad))


@pytest.mark.parametrize("with_memory", [False, True])
def test_training_losses_composes_as_released(with_memory):
    rng = np.random.default_rng(7)
    lengths = [6, 3, 9]
    b, t, k = 3, 9, 4
    o, m = _head(rng, b, t, k, lengths), _head(rng, b, t, k, lengths)
    r = _head(rng, b, t, k, lengths) if with_memory else None
    labels = t64([[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    g = [rng.normal(size=(n, k)) for n in lengths]
    w = loss_weights(TrainConfig.official(), DeltaSchedule.official(), 230)
    out = training_losses(o, m, labels, w, memory=r, lengths=lengths, distillation_targets=g)
    # Per video, with the released formulas in numpy.
    fore = back = spl = kd = att = 0.0
    for i, n in enumerate(lengths):
        f_lab, b_lab = np.append(labels[i].numpy(), 0.0), np.append(labels[i].numpy(), 1.0)
        fore += np_nce(o.video_agnostic[i].numpy(), f_lab) + np_nce(m.video_agnostic[i].numpy(), f_lab)
        back += np_nce(o.video_classwise[i].numpy(), b_lab) + np_nce(m.video_classwise[i].numpy(), b_lab)
        target = m.logits[i, :n].numpy()
        if r is not None:
            fore += 0.5 * np_nce(r.video_agnostic[i].numpy(), f_lab)
            back += 0.5 * np_nce(r.video_classwise[i].numpy(), b_lab)
            target = r.logits[i, :n].numpy() * 0.2 + target * 0.8
        att += np_attention(o.attention[i, :n].numpy())
        spl += np_self_label(o.logits[i, :n].numpy(), target, 0.2)
        kd += np_distill(o.logits[i, :n].numpy(), m.logits[i, :n].numpy(), g[i])
    expected = {"foreground": fore, "background": back, "attention": att, "self_label": spl, "distillation": kd}
    for name, value in expected.items():
        assert out[name].item() == pytest.approx(value, rel=1e-11), name
    total = 1.0 * fore + 0.2 * back + 0.1 * att + 1.0 * spl + 10.0 * 1.035**30 * kd
    assert out["total"].item() == pytest.approx(total, rel=1e-11)


def test_training_losses_without_distillation_and_gradients():
    rng = np.random.default_rng(3)
    o, m = _head(rng, 2, 5, 3, [5, 2], True), _head(rng, 2, 5, 3, [5, 2], True)
    w = loss_weights(TrainConfig.official(), DeltaSchedule.official(), 150)
    assert w.distillation == 0.0 and w.self_label == 0.5
    out = training_losses(o, m, t64([[1, 0], [0, 1]]), w, lengths=[5, 2])
    assert out["distillation"].item() == 0.0
    expected = out["foreground"] + 0.2 * out["background"] + 0.1 * out["attention"] + 0.5 * out["self_label"]
    assert out["total"].item() == pytest.approx(expected.item(), rel=1e-14)
    out["total"].backward()
    assert o.logits.grad is not None and torch.isfinite(o.logits.grad).all()
    assert o.logits.grad[1, 2:].abs().max().item() == 0.0  # padding gets no gradient
    assert m.logits.grad is None  # the self-label target is detached; no distillation


def test_training_losses_input_errors():
    rng = np.random.default_rng(1)
    o, m = _head(rng, 1, 4, 3, [4]), _head(rng, 1, 4, 3, [4])
    labels = t64([[1, 0]])
    kd_on = LossWeights(1.0, 0.2, 0.1, 1.0, 10.0)
    with pytest.raises(InvalidArgumentError, match="`distillation_targets` are required"):
        training_losses(o, m, labels, kd_on)
    with pytest.raises(InvalidTypeError, match="`weights` must be a LossWeights"):
        training_losses(o, m, labels, {"foreground": 1.0})
    with pytest.raises(InvalidTypeError, match="`propagated` must have the attributes"):
        training_losses(o, (1, 2), labels, kd_on)
    with pytest.raises(InvalidArgumentError, match=r"`labels` must have shape \(B, K - 1\)"):
        training_losses(o, m, t64([[1, 0, 0]]), LossWeights(1.0, 0.2, 0.1, 1.0, 0.0))


def test_argument_checks_name_the_argument():
    att = t64([[0.1, 0.2, 0.3]])
    with pytest.raises(InvalidArgumentError, match="`lengths` must be in"):
        attention_loss(att, lengths=[0])
    with pytest.raises(InvalidArgumentError, match="`lengths` must be in"):
        attention_loss(att, lengths=[4])
    with pytest.raises(InvalidTypeError, match="`lengths` must hold integers"):
        attention_loss(att, lengths=[2.0])
    with pytest.raises(InvalidArgumentError, match="not both"):
        attention_loss(att, lengths=[3], mask=torch.ones(1, 3, dtype=torch.bool))
    with pytest.raises(InvalidArgumentError, match="video 0 has no real snippet"):
        attention_loss(att, mask=torch.zeros(1, 3, dtype=torch.bool))
    with pytest.raises(InvalidTypeError, match="`mask` must be a bool tensor"):
        attention_loss(att, mask=torch.ones(1, 3))
    with pytest.raises(InvalidArgumentError, match="`mask` must have shape"):
        attention_loss(att, mask=torch.ones(1, 4, dtype=torch.bool))
    with pytest.raises(InvalidArgumentError, match="`divisor` must be an integer"):
        attention_loss(att, divisor=0)
    with pytest.raises(InvalidArgumentError, match="`attention` must be 2-D"):
        attention_loss(att[0])
    with pytest.raises(InvalidTypeError, match="`attention` must be a torch.Tensor"):
        attention_loss(np.zeros((1, 3)))
    with pytest.raises(InvalidTypeError, match="floating-point"):
        attention_loss(torch.zeros(1, 3, dtype=torch.int64))
    with pytest.raises(InvalidArgumentError, match="`reduction` must be"):
        attention_loss(att, reduction="mean")
    z = torch.zeros(1, 3, 2, dtype=torch.float64)
    with pytest.raises(InvalidArgumentError, match="`temperature` must be > 0"):
        self_label_ce(z, z, temperature=0.0)
    with pytest.raises(InvalidArgumentError, match="`target_logits` must have the shape of `logits`"):
        self_label_ce(z, z[:, :2])
    with pytest.raises(InvalidArgumentError, match=r"`targets\[0\]` must have shape \(3, 2\)"):
        distillation(z, z, [np.zeros((2, 2))])
    with pytest.raises(InvalidArgumentError, match=r"`targets\[0\]` must hold finite"):
        distillation(z, z, [np.full((3, 2), np.nan)])
    with pytest.raises(InvalidArgumentError, match="sequence of 1"):
        distillation(z, z, [np.zeros((3, 2)), np.zeros((3, 2))])
    with pytest.raises(InvalidArgumentError, match="`target` must have the shape of `probs`"):
        normalized_cross_entropy(t64([[0.5, 0.5]]), t64([[1.0]]))
    assert valid_mask(2, 3).all()
    assert valid_mask(2, 3, lengths=[1, 3]).tolist() == [[True, False, False], [True, True, True]]


def test_float32_inputs_stay_float32():
    rng = np.random.default_rng(5)
    o = torch.tensor(rng.normal(size=(2, 4, 3)), dtype=torch.float32)
    att = torch.sigmoid(o[..., 0])
    assert self_label_ce(o, o, [4, 2]).dtype == torch.float32
    assert attention_loss(att, [4, 2]).dtype == torch.float32
    # float64 targets promote, as in the released code
    assert distillation(o, o, [rng.normal(size=(4, 3)), rng.normal(size=(2, 3))], [4, 2]).dtype == torch.float64
