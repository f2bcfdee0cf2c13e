"""Inference: batched TCAMs equal per-video ones and the released construction; the label mode
uses the label weights and dropout exactly when configured; detections never hold the
background column; loading checkpoints and fitting dimensions; devices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from tadfuse.config import get_preset  # noqa: E402
from tadfuse.demo import demo_dataset  # noqa: E402
from tadfuse.engine import infer, train  # noqa: E402
from tadfuse.engine.inference import model_outputs, resolve_device, split_inference  # noqa: E402
from tadfuse.engine.loading import check_model_fits, fit_dimensions, load_data, load_model  # noqa: E402
from tadfuse.errors import ConfigError, DataFormatError, InvalidArgumentError  # noqa: E402
from tadfuse.models import (  # noqa: E402
    RSKP,
    BasNetBaseline,
    BasNetConfig,
    ModelConfig,
    released_test_outputs,
    save_checkpoint,
)

CFG = ModelConfig.paper(feature_dim=6, embed_dim=8, num_classes=3, num_centres=4)


def _model(cfg: ModelConfig = CFG, seed: int = 0) -> RSKP:
    torch.manual_seed(seed)
    return RSKP(cfg)


def _videos(lengths, seed=0, d=6):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, d)).astype(np.float32) for n in lengths]


@settings(max_examples=20)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=9), st.integers(1, 5), st.sampled_from([0.0, 0.25, 4.0]))
def test_batched_outputs_equal_one_video_at_a_time(lengths, batch, budget):
    model = _model()
    feats = _videos(lengths)
    batched = model_outputs(model, feats, batch_videos=batch, padding_budget=budget)
    single = [model_outputs(model, [f], batch_videos=1)[0] for f in feats]
    assert len(batched) == len(feats)
    for (t, s), (t1, s1), f in zip(batched, single, feats):
        assert t.shape == (f.shape[0], CFG.num_classes + 1) and s.shape == (CFG.num_classes + 1,)
        assert t.dtype == np.float32
        np.testing.assert_allclose(t, t1, rtol=1e-5, atol=2e-6)
        np.testing.assert_allclose(s, s1, rtol=1e-5, atol=2e-6)


def test_test_outputs_are_the_released_construction():
    model = _model()
    feats = _videos([17, 40, 3])
    for (t, s), f in zip(model_outputs(model, feats, batch_videos=3), feats):
        rt, rs = released_test_outputs(model, f, CFG, released_compatible=False)
        np.testing.assert_allclose(t, rt, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(s, rs, rtol=1e-5, atol=1e-7)


def test_label_mode_uses_the_label_weights_and_dropout_only_when_configured():
    feats = _videos([30, 12])
    plain = _model(CFG.replace(tcam_o_weight=0.5, label_tcam_o_weight=0.9))
    labels = model_outputs(plain, feats, purpose="labels")
    again = model_outputs(plain, feats, purpose="labels")
    for (t, _), (t2, _), f in zip(labels, again, feats):
        np.testing.assert_array_equal(t, t2)  # eval mode: deterministic
        rt, _ = released_test_outputs(plain, f, CFG.replace(tcam_o_weight=0.9), released_compatible=False)
        np.testing.assert_allclose(t, rt, rtol=1e-5, atol=1e-7)
    test = model_outputs(plain, feats, purpose="test")
    assert not np.allclose(test[0][0], labels[0][0])
    noisy = _model(CFG.replace(pseudo_label_dropout=True))
    noisy.train()
    a = model_outputs(noisy, feats, purpose="labels")
    b = model_outputs(noisy, feats, purpose="labels")
    assert not np.array_equal(a[0][0], b[0][0])  # dropout active (the released defect)
    assert noisy.training  # the mode is restored
    with pytest.raises(InvalidArgumentError, match="`purpose`"):
        model_outputs(plain, feats, purpose="train")


def test_other_tcam_models_plug_in():
    torch.manual_seed(0)
    model = BasNetBaseline(BasNetConfig(feature_dim=6, num_classes=3, hidden_dim=8, filter_dim=4))
    out = model_outputs(model, _videos([9, 20]), batch_videos=2)
    assert [o[0].shape for o in out] == [(9, 4), (20, 4)]


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory):
    return load_data(demo_dataset(tmp_path_factory.mktemp("toy") / "toy", videos=12, seed=3))


def test_detections_never_hold_the_background_column(toy):
    cfg = fit_dimensions(get_preset("demo"), {"feature_dim": 32, "num_classes": 4}, "toy")
    inf = split_inference(_model(cfg.model), cfg, toy, toy.split("test"), device=torch.device("cpu"))
    for i in range(len(inf.tcams)):  # make the background column the strongest everywhere
        inf.tcams[i][:, -1] = 0.5
        inf.video_scores[i][-1] = 1.0
    for method in ("fusion", "nms", "soft_nms"):
        dets = inf.detections(method)
        assert set(dets) == set(inf.videos)
        assert all((p.label < toy.num_classes).all() for p in dets.values())
    assert inf.config.postprocess.method == "fusion"


def test_load_model_kinds_and_dimension_checks(toy, tmp_path: Path):
    run = tmp_path / "run"
    train("demo", toy, run, epochs=1, progress=False)
    loaded = load_model(run)
    assert loaded.kind == "run" and loaded.class_names == list(toy.class_names)
    assert loaded.path.name == "last.pt" and loaded.config.preset == "demo"
    assert load_model(run / "checkpoints" / "last.pt").kind == "checkpoint"
    over = load_model(run, overrides=["postprocess.method=nms"])
    assert over.config.postprocess.method == "nms"
    with pytest.raises(ConfigError, match="--preset and --config apply to released"):
        load_model(run, preset="official")
    with pytest.raises(ConfigError, match="cannot change at inference"):
        load_model(run, overrides=["model.embed_dim=64"])
    with pytest.raises(DataFormatError, match="without checkpoints/last.pt"):
        load_model(tmp_path)
    with pytest.raises(DataFormatError, match="no such checkpoint file"):
        load_model(tmp_path / "nope.pt")
    # a checkpoint for other data: named with both sources
    other = RSKP(ModelConfig.paper(feature_dim=5, embed_dim=8, num_classes=4, num_centres=2))
    path = save_checkpoint(tmp_path / "other.pt", other, get_preset("demo").to_dict(), list(toy.class_names))
    with pytest.raises(DataFormatError, match=r"other.pt: the model takes 5-d features, .* has 32-d"):
        infer(path, toy)
    with pytest.raises(DataFormatError, match="classes differ"):
        check_model_fits(loaded.model.config, ["x", "y", "z", "w"], toy, "ckpt")
    with pytest.raises(DataFormatError, match="the model has 3 classes, .* has 4"):
        check_model_fits(CFG.replace(feature_dim=32), None, toy, "ckpt")
    with pytest.raises(DataFormatError, match="no such dataset folder"):
        load_data(tmp_path / "missing")


def test_infer_on_a_run_folder(toy, tmp_path: Path):
    run = tmp_path / "run"
    train("demo", toy, run, epochs=2, progress=False)
    inf = infer(run, toy)
    assert inf.videos == tuple(toy.names[i] for i in toy.split("test"))
    assert not inf.provenance["released_test_path"] and inf.provenance["checkpoint_kind"] == "run"
    train_split = infer(run, toy, split="train")
    assert len(train_split.videos) == len(toy.split("train"))
    from tadfuse.engine import evaluate_inference

    by_path = evaluate_inference(inf, toy.source, methods=("nms",))  # a dataset folder works too
    assert set(by_path) == {"nms", "classification"}
    assert by_path["nms"].mAP.tolist() == evaluate_inference(inf, toy, methods=("nms",))["nms"].mAP.tolist()
    released = infer(run, toy, released_path=True)  # the dense one-video path: the same TCAMs to rounding
    for a, b in zip(inf.tcams, released.tcams):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_devices():
    assert resolve_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(InvalidArgumentError, match="not a torch device"):
        resolve_device("gpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidArgumentError, match="CUDA is not available"):
            resolve_device("cuda")
