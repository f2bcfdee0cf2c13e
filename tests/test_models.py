"""The RSKP model: shapes, masking (batched = unbatched), the numpy reference, the released test
path, the plug-in interface and the BaS-Net-like baseline."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

torch = pytest.importorskip("torch")

from tadfuse.errors import DataFormatError, InvalidArgumentError, InvalidTypeError  # noqa: E402
from tadfuse.models import (  # noqa: E402
    RSKP,
    BasNetBaseline,
    BasNetConfig,
    ModelConfig,
    TCAMModel,
    masked_topk_mean,
    pad_features,
    predict,
    pseudo_label_mode,
    released_test_outputs,
    tcam_from_outputs,
)
from test_models_reference import ref_forward, ref_test_outputs, released_forward_torch, released_ss_eval  # noqa: E402

D_IN, D, C, K = 10, 12, 4, 3
feature_values = st.floats(-2.0, 2.0, allow_nan=False, width=32)


def small(preset="paper", **kw):
    return ModelConfig.named(preset, feature_dim=D_IN, embed_dim=D, num_classes=C, num_centres=K, **kw)


def make_model(preset="paper", seed=0, dtype=torch.float32, **kw):
    torch.manual_seed(seed)
    model = RSKP(small(preset, **kw)).to(dtype).eval()
    with torch.no_grad():  # a non-trivial bias so padded rows would leak if they were not masked
        model.feature_embedding[0].bias.uniform_(-0.5, 0.5)
    return model


def all_tensors(out, b, n):
    """Every per-video output of a forward, cut to the video's n real snippets."""
    vals = {}
    for name, br in (("main", out.main), ("walk", out.walk)):
        vals[f"{name}.video_agnostic"] = br.video_agnostic[b]
        vals[f"{name}.video_classwise"] = br.video_classwise[b]
        vals[f"{name}.attention"] = br.attention[b, :n]
        vals[f"{name}.logits"] = br.logits[b, :n]
    vals["embedded"] = out.embedded[b, :n]
    vals["centres"] = out.centres[b]
    vals["centre_scores"] = out.centre_scores[b]
    return vals


def test_shapes():
    model = make_model()
    out = model(torch.randn(3, 7, D_IN), lengths=[7, 2, 5])
    assert out.main.logits.shape == out.walk.logits.shape == (3, 7, C + 1)
    assert out.main.attention.shape == (3, 7)
    assert out.main.video_agnostic.shape == out.walk.video_classwise.shape == (3, C + 1)
    assert out.embedded.shape == (3, 7, D) and out.centres.shape == (3, K, D)
    assert out.centre_scores.shape == (3, K, C + 1)
    torch.testing.assert_close(out.main.video_agnostic.sum(-1), torch.ones(3))
    assert out.mask.tolist() == [[True] * 7, [True] * 2 + [False] * 5, [True] * 5 + [False] * 2]
    for t in (out.main.logits, out.walk.logits, out.main.attention, out.walk.attention, out.embedded):
        assert torch.all(t[1, 2:] == 0) and torch.all(t[2, 5:] == 0)


@settings(max_examples=25)
@given(st.lists(st.integers(1, 12), min_size=1, max_size=4), st.data())
def test_batched_equals_unbatched(lengths, data):
    """A video's outputs do not depend on the rest of its batch (float rounding aside), whatever
    the padding holds."""
    model = make_model(seed=len(lengths))
    videos = [data.draw(arrays(np.float32, (n, D_IN), elements=feature_values)) for n in lengths]
    x, mask = pad_features(videos)
    x = x + (~mask)[..., None] * 3.0  # junk in the padding: must be ignored, not just zero
    with torch.no_grad():
        out = model(x, mask)
        for b, v in enumerate(videos):
            alone = all_tensors(model(torch.from_numpy(v)[None]), 0, len(v))
            for name, got in all_tensors(out, b, len(v)).items():
                torch.testing.assert_close(got, alone[name], rtol=1e-5, atol=2e-5, msg=name)


def test_lengths_and_mask_agree():
    model = make_model()
    x = torch.randn(2, 6, D_IN)
    with torch.no_grad():
        a = model(x, lengths=torch.tensor([6, 3]))
        b = model(x, torch.tensor([[True] * 6, [True] * 3 + [False] * 3]))
    torch.testing.assert_close(a.walk.logits, b.walk.logits, rtol=0, atol=0)


def state_numpy(model):
    return {k: v.detach().double().numpy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("t", [1, 2, 9, 30])
def test_forward_matches_the_numpy_reference(t):
    model = make_model(dtype=torch.float64, seed=t)
    feats = np.random.default_rng(t).normal(size=(t, D_IN))
    with torch.no_grad():
        out = model(torch.from_numpy(feats)[None])
    ref = ref_forward(state_numpy(model), feats)
    for got, want in zip((out.main.video_agnostic, out.main.video_classwise, out.main.attention, out.main.logits), ref["o"]):
        np.testing.assert_allclose(got[0].numpy(), want, rtol=0, atol=1e-10)
    for got, want in zip((out.walk.video_agnostic, out.walk.video_classwise, out.walk.attention, out.walk.logits), ref["m"]):
        np.testing.assert_allclose(got[0].numpy(), want, rtol=0, atol=1e-10)
    np.testing.assert_allclose(out.centres[0].numpy(), ref["mu"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(out.centre_scores[0].numpy(), ref["mu_pred"], rtol=0, atol=1e-10)


@pytest.mark.parametrize(("preset", "a", "solver"), [("official", 0.85, "inverse"), ("rskp", 0.6, "solve")])
@pytest.mark.parametrize("t", [1, 5, 40])
def test_released_test_outputs(preset, a, solver, t):
    """Released-compatible path = the torch restatement of the released forward + ss_eval, bit for
    bit; both = the float64 reference to float32 precision; the fast path stays within 1e-5."""
    model = make_model(preset, seed=t)
    feats = np.random.default_rng(t).normal(size=(t, D_IN)).astype(np.float32)
    tcam, video = released_test_outputs(model, feats, preset)
    assert tcam.shape == (t, C + 1) and video.shape == (C + 1,) and tcam.dtype == np.float32
    state = {k: v.detach() for k, v in model.state_dict().items()}
    o, m, _ = released_forward_torch(state, torch.from_numpy(feats)[None], solver)
    want_tcam, want_video = released_ss_eval(o, m, a)
    np.testing.assert_array_equal(tcam, want_tcam)  # the same float32 operations: bit for bit
    np.testing.assert_array_equal(video, want_video)
    ref = ref_forward(state_numpy(model), feats.astype(np.float64))
    ref_tcam, ref_video = ref_test_outputs(ref["o"], ref["m"], a)
    np.testing.assert_allclose(tcam, ref_tcam, rtol=0, atol=1e-5)
    np.testing.assert_allclose(video, ref_video, rtol=0, atol=1e-5)
    fast_tcam, fast_video = released_test_outputs(model, feats, preset, released_compatible=False)
    np.testing.assert_allclose(fast_tcam, tcam, rtol=0, atol=1e-5)
    np.testing.assert_allclose(fast_video, video, rtol=0, atol=1e-5)


def test_released_test_outputs_restores_mode_and_checks_input():
    model = make_model("official").train()
    released_test_outputs(model, np.zeros((3, D_IN), np.float32), "official")
    assert model.training
    with pytest.raises(InvalidArgumentError, match="features"):
        released_test_outputs(model, np.zeros((2, 3, D_IN), np.float32), "official")
    with pytest.raises(InvalidTypeError, match="model"):
        released_test_outputs(BasNetBaseline(BasNetConfig(feature_dim=D_IN, num_classes=C)), np.zeros((3, D_IN)), "official")
    with pytest.raises(ValueError, match="preset"):
        released_test_outputs(model, np.zeros((3, D_IN), np.float32), "nope")


def test_snippet_outputs_give_the_released_tcam():
    """The plug-in path (log-mixture logits → shared TCAM function) equals the released TCAM."""
    model = make_model("official", seed=3)
    feats = [np.random.default_rng(i).normal(size=(n, D_IN)).astype(np.float32) for i, n in enumerate([8, 3, 5])]
    got = predict(model, feats, batch_size=2)
    for f, (tcam, video) in zip(feats, got):
        want_tcam, want_video = released_test_outputs(model, f, "official", released_compatible=False)
        np.testing.assert_allclose(tcam, want_tcam, rtol=0, atol=2e-6)
        np.testing.assert_allclose(video, want_video, rtol=0, atol=1e-6)


def test_label_tcam_weight():
    model = make_model("official", seed=4)
    x = torch.randn(1, 6, D_IN)
    with torch.no_grad():
        out = model(x)
        lab = model.snippet_outputs(x, for_labels=True)
    mix = torch.softmax(out.main.logits, -1) * 0.8 + torch.softmax(out.walk.logits, -1) * 0.2
    torch.testing.assert_close(torch.softmax(lab.logits, -1), mix, rtol=1e-5, atol=1e-6)


def test_tcam_from_outputs_default_video_scores():
    from tadfuse.models import SnippetOutputs

    logits = torch.tensor([[[2.0, 0.0], [0.0, 2.0], [9.0, 9.0]]])
    att = torch.tensor([[1.0, 0.5, 0.7]])
    mask = torch.tensor([[True, True, False]])
    tcam, scores = tcam_from_outputs(SnippetOutputs(logits, att, mask))
    p = torch.softmax(logits, -1)
    torch.testing.assert_close(tcam[0, :2], p[0, :2] * att[0, :2, None])
    assert torch.all(tcam[0, 2] == 0)
    torch.testing.assert_close(scores[0], (p[0, 0] * 1.0 + p[0, 1] * 0.5) / (1.5 + 1e-5))


def test_pseudo_label_mode():
    official, paper = make_model("official"), make_model("paper")
    x = torch.randn(1, 20, D_IN)
    with pseudo_label_mode(official):
        assert official.training  # dropout active: the released defect
        a, b = official(x), official(x)
        assert not torch.equal(a.embedded, b.embedded)
    assert not official.training
    paper.train()
    with pseudo_label_mode(paper):
        assert not paper.training
        assert not torch.is_grad_enabled()
    assert paper.training


def test_input_errors():
    model = make_model()
    with pytest.raises(DataFormatError, match=rf"\(B, T, {D_IN}\)"):
        model(torch.zeros(1, 4, D_IN + 1))
    with pytest.raises(DataFormatError, match="NaN"):
        model(torch.full((1, 4, D_IN), float("nan")))
    with pytest.raises(InvalidTypeError, match="features"):
        model(np.zeros((1, 4, D_IN)))
    x = torch.zeros(2, 4, D_IN)
    with pytest.raises(InvalidArgumentError, match="before the padding"):
        model(x, torch.tensor([[True, False, True, True], [True] * 4]))
    with pytest.raises(InvalidArgumentError, match="at least one snippet"):
        model(x, torch.tensor([[False] * 4, [True] * 4]))
    with pytest.raises(InvalidArgumentError, match="not both"):
        model(x, torch.ones(2, 4, dtype=torch.bool), lengths=[4, 4])
    with pytest.raises(InvalidArgumentError, match="lengths"):
        model(x, lengths=[4, 5])
    with pytest.raises(InvalidArgumentError, match="lengths"):
        model(x, lengths=[4.0, 2.0])
    with pytest.raises(InvalidArgumentError, match="shape"):
        model(x, torch.ones(2, 5, dtype=torch.bool))
    with pytest.raises(InvalidTypeError, match="bool"):
        model(x, torch.ones(2, 4))
    with pytest.raises(InvalidArgumentError, match="at least one snippet"):
        model(torch.zeros(1, 0, D_IN))
    with pytest.raises(InvalidArgumentError, match="no snippets"):
        pad_features([np.zeros((3, D_IN)), np.zeros((0, D_IN))])
    with pytest.raises(InvalidArgumentError, match="one D"):
        pad_features([np.zeros((3, D_IN)), np.zeros((3, D_IN + 1))])
    with pytest.raises(InvalidTypeError, match="config"):
        RSKP({"num_classes": 3})  # type: ignore[arg-type]


def test_training_step_runs_and_has_gradients():
    model = make_model().train()
    out = model(torch.randn(2, 9, D_IN), lengths=[9, 4])
    loss = out.main.logits.square().mean() + out.walk.video_agnostic[:, 0].sum()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


# -- the baseline --------------------------------------------------------------------------------


def baseline(seed=0):
    torch.manual_seed(seed)
    return BasNetBaseline(BasNetConfig(feature_dim=D_IN, num_classes=C, hidden_dim=8, filter_dim=5)).eval()


def test_both_models_implement_the_interface():
    assert isinstance(make_model(), TCAMModel) and isinstance(baseline(), TCAMModel)


def test_baseline_shapes():
    out = baseline()(torch.randn(2, 17, D_IN), lengths=[17, 9])
    assert out.base_logits.shape == out.supp_logits.shape == (2, 17, C + 1)
    assert out.attention.shape == (2, 17) and out.supp_scores.shape == (2, C + 1)
    assert torch.all(out.attention[1, 9:] == 0) and torch.all(out.supp_logits[1, 9:] == 0)
    assert bool(((out.attention[:, :9] > 0) & (out.attention[:, :9] < 1)).all())


@settings(max_examples=20)
@given(st.lists(st.integers(1, 20), min_size=1, max_size=4), st.data())
def test_baseline_batched_equals_unbatched(lengths, data):
    model = baseline(len(lengths))
    videos = [data.draw(arrays(np.float32, (n, D_IN), elements=feature_values)) for n in lengths]
    x, mask = pad_features(videos)
    x = x + (~mask)[..., None] * 5.0
    with torch.no_grad():
        out = model(x, mask)
        for b, v in enumerate(videos):
            alone = model(torch.from_numpy(v)[None])
            n = len(v)
            torch.testing.assert_close(out.supp_logits[b, :n], alone.supp_logits[0], rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(out.base_logits[b, :n], alone.base_logits[0], rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(out.attention[b, :n], alone.attention[0], rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(out.supp_scores[b], alone.supp_scores[0], rtol=1e-5, atol=1e-6)


@settings(max_examples=40)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=4), st.integers(1, 9), st.data())
def test_masked_topk_mean_matches_sorting_each_video(lengths, ratio, data):
    vals = [data.draw(arrays(np.float64, (n, 3), elements=st.floats(-5, 5, allow_nan=False))) for n in lengths]
    x, mask = pad_features(vals, dtype=torch.float64)
    got = masked_topk_mean(x + (~mask)[..., None] * 100.0, mask, ratio).numpy()
    for b, v in enumerate(vals):
        k = max(1, len(v) // ratio)
        np.testing.assert_allclose(got[b], np.sort(v, axis=0)[::-1][:k].mean(axis=0), rtol=1e-12, atol=1e-12)


def test_baseline_loss_trains():
    model = baseline().train()
    out = model(torch.randn(2, 16, D_IN), lengths=[16, 10])
    loss = model.loss(out, torch.tensor([[1.0, 0, 0, 1], [0, 1, 0, 0]]))
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(InvalidArgumentError, match="labels"):
        model.loss(out, torch.ones(2, C + 1))


def test_baseline_predict_and_errors():
    model = baseline()
    got = predict(model, [np.ones((5, D_IN), np.float32), np.ones((2, D_IN), np.float32)])
    assert [g[0].shape for g in got] == [(5, C + 1), (2, C + 1)]
    with pytest.raises(DataFormatError, match="shape"):
        model(torch.zeros(1, 3, D_IN + 2))
    with pytest.raises(ValueError, match="hidden_dim"):
        BasNetConfig(hidden_dim=0)
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        predict(model, [np.ones((5, D_IN))], batch_size=0)
