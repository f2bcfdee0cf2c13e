"""Released checkpoints (good and each bad case) and tadfuse's own checkpoint format."""

from __future__ import annotations

import collections
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tadfuse.errors import DataFormatError, InvalidArgumentError, InvalidTypeError  # noqa: E402
from tadfuse.models import (  # noqa: E402
    CHECKPOINT_VERSION,
    RELEASED_KEYS,
    RSKP,
    BasNetBaseline,
    BasNetConfig,
    MemoryBank,
    ModelConfig,
    load_checkpoint,
    load_released_checkpoint,
    read_released_state_dict,
    released_test_outputs,
    save_checkpoint,
)

D_IN, D, C1, K = 16, 12, 6, 8  # C1 = classes + background


def released_state(d_in=D_IN, d=D, c1=C1, k=K, seed=0):
    """What ``torch.save(WSTAL.state_dict())`` holds: an OrderedDict of the five tensors, in the
    released module's registration order, float32."""
    g = torch.Generator().manual_seed(seed)
    ac = torch.randn(c1, d, generator=g)
    return collections.OrderedDict(
        mu=torch.randn(k, d, generator=g),
        ac_center=ac,
        fg_center=-ac[-1:].clone(),
        **{"feature_embedding.0.weight": torch.randn(d, d_in, generator=g) * 0.2,
           "feature_embedding.0.bias": torch.randn(d, generator=g) * 0.1},
    )  # fmt: skip


def save(tmp_path, obj, name="350.pkl"):
    path = tmp_path / name
    torch.save(obj, path)
    return path


def test_released_checkpoint_loads_with_inferred_dimensions(tmp_path):
    state = released_state()
    path = save(tmp_path, state)
    model = load_released_checkpoint(path, "official")
    cfg = model.config
    assert (cfg.feature_dim, cfg.embed_dim, cfg.num_classes, cfg.num_centres) == (D_IN, D, C1 - 1, K)
    assert cfg.memory_class0_defect and cfg.pseudo_label_dropout and cfg.tcam_o_weight == 0.85
    assert not model.training and model.source == str(path)
    for k, v in state.items():
        assert torch.equal(model.state_dict()[k], v)
    assert tuple(model.state_dict()) == RELEASED_KEYS  # our parameter names are the released ones
    assert load_released_checkpoint(path, "rskp").config.tcam_o_weight == 0.6
    feats = np.random.default_rng(0).normal(size=(7, D_IN)).astype(np.float32)
    tcam, video = released_test_outputs(model, feats, "official")
    assert tcam.shape == (7, C1) and np.isfinite(tcam).all() and video.shape == (C1,)
    tensors, dims = read_released_state_dict(path)
    assert dims == dict(feature_dim=D_IN, embed_dim=D, num_classes=C1 - 1, num_centres=K)
    assert list(tensors) == list(RELEASED_KEYS)


def test_released_checkpoint_overrides(tmp_path):
    path = save(tmp_path, released_state())
    assert load_released_checkpoint(path, "paper", dropout=0.5).config.dropout == 0.5
    with pytest.raises(DataFormatError, match="num_classes"):
        load_released_checkpoint(path, "official", num_classes=20)


def test_features_of_the_wrong_dimension_name_the_file(tmp_path):
    path = save(tmp_path, released_state())
    model = load_released_checkpoint(path)
    with pytest.raises(DataFormatError, match=r"350\.pkl.*feature_embedding\.0\.weight"):
        model(torch.zeros(1, 5, D_IN + 1))
    with pytest.raises(DataFormatError, match=r"350\.pkl"):
        released_test_outputs(model, np.zeros((5, 2048), np.float32), "official")


def _drop(key):
    def edit(s):
        del s[key]
        return s

    return edit


def _set(key, value):
    def edit(s):
        s[key] = value(s) if callable(value) else value
        return s

    return edit


BAD = [
    (_drop("fg_center"), r"missing \['fg_center'\]"),
    (_set("extra", torch.zeros(1)), r"unexpected \['extra'\]"),
    (lambda s: collections.OrderedDict((f"module.{k}", v) for k, v in s.items()), "module."),
    (_set("mu", torch.zeros(K, D + 1)), r"'mu' has shape \(8, 13\)"),
    (_set("fg_center", torch.zeros(2, D)), r"'fg_center' has shape \(2, 12\), expected \(1, 12\)"),
    (_set("feature_embedding.0.bias", torch.zeros(D + 2)), r"feature_embedding\.0\.bias' has shape"),
    (_set("ac_center", torch.zeros(C1, D, 1)), r"'ac_center' must be 2-D"),
    (_set("ac_center", torch.zeros(1, D)), "empty dimension"),
    (_set("mu", torch.zeros(K, D, dtype=torch.int64)), r"'mu' has dtype torch\.int64"),
    (_set("mu", [1.0, 2.0]), r"'mu' is a list"),
    (_set("ac_center", lambda s: torch.full_like(s["ac_center"], float("nan"))), "'ac_center' holds NaN"),
    (lambda s: list(s.values()), "expected a state_dict"),
]


@pytest.mark.parametrize(("edit", "message"), BAD)
def test_bad_released_checkpoints(tmp_path, edit, message):
    path = save(tmp_path, edit(released_state()))
    with pytest.raises(DataFormatError, match=message) as err:
        load_released_checkpoint(path)
    assert "350.pkl" in str(err.value)


class NotAPlainValue:
    pass


def test_unreadable_files(tmp_path):
    with pytest.raises(DataFormatError, match="no such file"):
        load_released_checkpoint(tmp_path / "missing.pkl")
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(DataFormatError, match="garbage.pkl"):
        load_released_checkpoint(garbage)
    pickled = save(tmp_path, {"mu": NotAPlainValue()}, "pickled.pkl")
    with pytest.raises(DataFormatError, match="pickled.pkl"):  # weights_only refuses classes
        load_released_checkpoint(pickled)


# -- tadfuse checkpoints ------------------------------------------------------------------------


def small_model():
    torch.manual_seed(1)
    return RSKP(ModelConfig.official(feature_dim=D_IN, embed_dim=D, num_classes=C1 - 1, num_centres=K))


NAMES = [f"class_{i}" for i in range(C1 - 1)]


def test_round_trip_with_weights_only(tmp_path):
    model = small_model()
    bank = MemoryBank.from_config(model.config)
    bank.write(torch.randn(K, D), torch.rand(K, C1), np.array([1, 0, 1, 0, 0]))
    run_config = {"model": model.config.to_dict(), "train": {"lr": 5e-5, "epochs": (80, 200)}, "seed": np.int64(2)}
    path = save_checkpoint(tmp_path / "ckpt.pt", model, run_config, NAMES, {"memory_bank": bank.state_dict(), "epoch": 120})
    raw = torch.load(path, weights_only=True)  # no class is unpickled
    assert raw["format_version"] == CHECKPOINT_VERSION and raw["model_type"] == "rskp"
    assert raw["config"]["train"]["epochs"] == [80, 200] and raw["config"]["seed"] == 2
    ckpt = load_checkpoint(path)
    assert ckpt.class_names == NAMES and ckpt.extra_state["epoch"] == 120
    assert set(ckpt.provenance) == {"tadfuse", "torch", "created"}
    rebuilt = ckpt.build_model()
    assert rebuilt.config == model.config and not rebuilt.training and rebuilt.source == str(path)
    x = torch.randn(2, 6, D_IN)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x).walk.logits, model(x).walk.logits, rtol=0, atol=0)
    bank2 = MemoryBank.from_config(rebuilt.config)
    bank2.load_state_dict(ckpt.extra_state["memory_bank"])
    assert torch.equal(bank2.centres, bank.centres)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # the temporary file is gone


def test_baseline_round_trip(tmp_path):
    model = BasNetBaseline(BasNetConfig(feature_dim=D_IN, num_classes=3, hidden_dim=8, filter_dim=4)).eval()
    path = save_checkpoint(tmp_path / "b.pt", model, None, ["a", "b", "c"])
    rebuilt = load_checkpoint(path).build_model()
    assert isinstance(rebuilt, BasNetBaseline) and rebuilt.config == model.config
    x = torch.randn(1, 5, D_IN)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x).supp_logits, model(x).supp_logits, rtol=0, atol=0)


def test_version_mismatch_and_other_formats(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", small_model(), {}, NAMES)
    raw = torch.load(path, weights_only=True)
    raw["format_version"] = CHECKPOINT_VERSION + 1
    torch.save(raw, path)
    with pytest.raises(DataFormatError, match=rf"c\.pt.*format_version {CHECKPOINT_VERSION + 1}"):
        load_checkpoint(path)
    released = save(tmp_path, released_state())
    with pytest.raises(DataFormatError, match="load_released_checkpoint"):
        load_checkpoint(released)
    raw["format_version"] = CHECKPOINT_VERSION
    del raw["class_names"]
    torch.save(raw, path)
    with pytest.raises(DataFormatError, match="class_names"):
        load_checkpoint(path)
    good = save_checkpoint(tmp_path / "d.pt", small_model(), {}, NAMES)
    with pytest.raises(DataFormatError, match="tadfuse checkpoint"):
        load_released_checkpoint(good)
    raw = torch.load(good, weights_only=True)
    raw["model_config"]["num_centres"] = K + 1
    torch.save(raw, good)
    with pytest.raises(DataFormatError, match="do not fit"):
        load_checkpoint(good).build_model()


def test_save_errors_leave_nothing_behind(tmp_path):
    model = small_model()
    target = tmp_path / "e.pt"
    target.write_bytes(b"previous")
    with pytest.raises(InvalidTypeError, match=r"extra_state\['a'\]\[0\].*ndarray.*torch\.from_numpy"):
        save_checkpoint(target, model, {}, NAMES, {"a": [np.zeros(3)]})
    with pytest.raises(InvalidTypeError, match="NotAPlainValue"):
        save_checkpoint(target, model, {"x": NotAPlainValue()}, NAMES)
    with pytest.raises(InvalidTypeError, match="keys must be strings"):
        save_checkpoint(target, model, {1: 2}, NAMES)
    with pytest.raises(InvalidArgumentError, match="class_names"):
        save_checkpoint(target, model, {}, NAMES[:-1])
    with pytest.raises(InvalidTypeError, match="model"):
        save_checkpoint(target, torch.nn.Linear(2, 2), {}, NAMES)
    assert target.read_bytes() == b"previous" and os.listdir(tmp_path) == ["e.pt"]


def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "f.pt"
    target.write_bytes(b"previous")

    def broken_save(obj, f):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(target, small_model(), {}, NAMES)
    assert target.read_bytes() == b"previous" and os.listdir(tmp_path) == ["f.pt"]
