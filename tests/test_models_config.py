"""ModelConfig (torch-free): presets, validation naming the field, dict round trip; the models
package imports without torch and says which extra to install."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from helpers import package_path
from tadfuse.config.model import MODEL_PRESETS, ModelConfig
from tadfuse.errors import ConfigError

PYTHON_DIR = package_path()


def test_presets():
    off, rskp, anet, paper = (ModelConfig.named(n) for n in MODEL_PRESETS)
    assert off.memory_class0_defect and off.pseudo_label_dropout
    for cfg in (rskp, anet, paper):
        assert not cfg.memory_class0_defect and not cfg.pseudo_label_dropout
    common = dict(feature_dim=2048, embed_dim=2048, num_classes=20, dropout=0.6, num_centres=8, em_iterations=2,
                  assign_scale=5.0, walk_weight=0.5, scale_factor=20.0, memory_slots=5, warmup_epoch=100,
                  video_o_weight=0.6, label_tcam_o_weight=0.8)  # fmt: skip
    for cfg in (off, rskp, paper):
        assert {k: getattr(cfg, k) for k in common} == common
    assert off.tcam_o_weight == paper.tcam_o_weight == 0.85 and rskp.tcam_o_weight == 0.6
    assert (anet.num_classes, anet.dropout, anet.scale_factor, anet.tcam_o_weight) == (200, 0.7, 10.0, 0.8)
    assert paper == ModelConfig() and off == ModelConfig.official()
    assert ModelConfig.named("official", num_classes=3).num_classes == 3
    with pytest.raises(ConfigError, match="preset"):
        ModelConfig.named("gaufuse")
    assert not off.uses_memory(100) and off.uses_memory(101)


BAD = [
    ("feature_dim", 0), ("embed_dim", 2.0), ("num_classes", True), ("num_centres", -1), ("memory_slots", 0),
    ("em_iterations", -1), ("warmup_epoch", "100"), ("dropout", 1.0), ("dropout", -0.1), ("walk_weight", 1.0),
    ("walk_weight", float("nan")), ("scale_factor", 0.0), ("assign_scale", float("inf")), ("eps_norm", 0.0),
    ("eps_assign", -1e-9), ("eps_attention", "1e-5"), ("tcam_o_weight", 1.5), ("label_tcam_o_weight", -0.2),
    ("video_o_weight", None), ("memory_class0_defect", 1), ("pseudo_label_dropout", "yes"),
]  # fmt: skip


@pytest.mark.parametrize(("field", "value"), BAD)
def test_validation_names_the_field(field, value):
    with pytest.raises(ConfigError, match=f"`{field}`"):
        ModelConfig(**{field: value})
    with pytest.raises(ConfigError, match=f"`{field}`"):
        ModelConfig.official().replace(**{field: value})


def test_edge_values_are_accepted():
    cfg = ModelConfig(dropout=0.0, walk_weight=0.0, em_iterations=0, warmup_epoch=0, tcam_o_weight=1.0, video_o_weight=0.0)
    assert cfg.walk_weight == 0.0 and isinstance(ModelConfig(dropout=0).dropout, float)


def test_dict_round_trip_and_unknown_keys():
    for name in MODEL_PRESETS:
        cfg = ModelConfig.named(name)
        d = cfg.to_dict()
        assert ModelConfig.from_dict(d) == cfg
        assert all(isinstance(v, (int, float, bool)) for v in d.values())
    assert set(ModelConfig().to_dict()) == {f.name for f in dataclasses.fields(ModelConfig)}
    with pytest.raises(ConfigError, match="w_eight"):
        ModelConfig.from_dict({"w_eight": 0.5})
    with pytest.raises(ConfigError, match="unknown"):
        ModelConfig().replace(lr=1.0)
    with pytest.raises(ConfigError, match="mapping"):
        ModelConfig.from_dict([("dropout", 0.5)])
    with pytest.raises(dataclasses.FrozenInstanceError):
        ModelConfig().dropout = 0.1  # type: ignore[misc]


def run_without_torch(code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter in which ``import torch`` fails."""
    prelude = "import sys; sys.modules['torch'] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, env={"PYTHONPATH": PYTHON_DIR}, timeout=60
    )


def test_import_without_torch():
    res = run_without_torch(
        "import tadfuse, sys\n"
        "assert 'tadfuse.models' not in sys.modules\n"
        "from tadfuse.models import ModelConfig\n"
        "print(ModelConfig.official().tcam_o_weight)\n"
        "from tadfuse.errors import MissingExtraError\n"
        "try:\n"
        "    from tadfuse.models import RSKP\n"
        "except MissingExtraError as e:\n"
        "    print('missing:', e)\n"
    )
    assert res.returncode == 0, res.stderr
    assert "0.85" in res.stdout and "missing: tadfuse.models.RSKP needs torch" in res.stdout and "tadfuse[train]" in res.stdout


def test_lazy_names():
    pytest.importorskip("torch")
    import tadfuse.models as models

    assert set(models.__all__) == {"MODEL_PRESETS", "ModelConfig", *models._LAZY}
    for name in models.__all__:
        assert getattr(models, name) is not None
    with pytest.raises(AttributeError, match="nope"):
        models.nope
