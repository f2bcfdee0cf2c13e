"""Run folders: creation rules, the metrics log (append, read past a torn line, truncate without
duplicates), atomic publishing of checkpoints, and the state that must survive a restart (RNG
states and the optimiser through ``torch.load(weights_only=True)``)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tadfuse.config import get_preset  # noqa: E402
from tadfuse.engine.run import (  # noqa: E402
    RunDir,
    atomic_write_text,
    optimizer_state_in,
    optimizer_state_out,
    rng_state,
    set_rng_state,
)
from tadfuse.errors import DataFormatError, InvalidArgumentError  # noqa: E402
from tadfuse.models import RSKP, ModelConfig, save_checkpoint  # noqa: E402


def _draws() -> tuple:
    return random.random(), float(np.random.random()), float(np.random.standard_normal()), float(torch.rand(()))


def test_rng_state_survives_a_weights_only_round_trip(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.standard_normal()  # leaves a cached Gaussian in NumPy's state
    state = rng_state()
    expected = _draws()
    torch.save({"rng": state}, tmp_path / "s.pt")
    loaded = torch.load(tmp_path / "s.pt", weights_only=True)["rng"]
    _draws()  # move every generator on
    set_rng_state(loaded)
    assert _draws() == expected


def test_optimizer_state_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.9, 0.99), weight_decay=5e-4)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(4, 3)).sum().backward()
        opt.step()
    out = optimizer_state_out(opt)
    assert all(isinstance(k, str) for k in out["state"])
    torch.save({"opt": out}, tmp_path / "o.pt")
    twin = torch.nn.Linear(3, 2)
    twin.load_state_dict(model.state_dict())
    opt2 = torch.optim.Adam(twin.parameters(), lr=1.0)
    optimizer_state_in(opt2, torch.load(tmp_path / "o.pt", weights_only=True)["opt"])
    assert opt2.param_groups[0]["betas"] == (0.9, 0.99) and opt2.param_groups[0]["lr"] == 1e-2
    x = torch.randn(4, 3)
    for o, m in ((opt, model), (opt2, twin)):
        o.zero_grad()
        m(x).sum().backward()
        o.step()
    for a, b in zip(model.parameters(), twin.parameters()):
        assert torch.equal(a, b)


def test_create_refuses_existing_runs_and_files(tmp_path: Path) -> None:
    cfg = get_preset("demo")
    run = RunDir(tmp_path / "run")
    run.create(cfg, {"data": "x"})
    assert run.is_run() and run.load_config() == cfg and run.info() == {"data": "x"}
    with pytest.raises(FileExistsError, match="already holds a run"):
        RunDir(tmp_path / "run").create(cfg, {})
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        RunDir(tmp_path / "other").create(cfg, {})
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidArgumentError, match="not a folder"):
        RunDir(tmp_path / "file").create(cfg, {})
    with pytest.raises(DataFormatError, match="not a run folder"):
        RunDir(tmp_path / "other").load_config()
    (tmp_path / "run" / "run.json").write_text("{")
    with pytest.raises(DataFormatError, match="run.json: not valid JSON"):
        run.info()


def test_metrics_log_truncates_to_the_checkpoint(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    for e in range(5):
        run.append_metrics({"epoch": e, "loss": float(e)})
    with open(run.metrics_path, "a") as f:
        f.write('{"epoch": 3, "loss": 3.0}\n{"epoch": 5, "lo')  # a duplicate and a torn line
    assert [r["epoch"] for r in run.read_metrics()] == [0, 1, 2, 3, 4, 3]
    kept = run.truncate_metrics(2)
    assert [r["epoch"] for r in kept] == [0, 1, 2]
    assert [json.loads(x)["epoch"] for x in run.metrics_path.read_text().splitlines()] == [0, 1, 2]
    run.append_metrics({"epoch": 3})
    assert [r["epoch"] for r in run.truncate_metrics(10)] == [0, 1, 2, 3]
    assert run.truncate_metrics(-1) == [] and run.metrics_path.read_text() == ""
    with pytest.raises(ValueError):
        run.append_metrics({"epoch": 0, "loss": float("nan")})  # never a NaN in the log


def test_publish_and_temporaries(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.checkpoints.mkdir()
    model = RSKP(ModelConfig.paper(feature_dim=4, embed_dim=4, num_classes=2, num_centres=2))
    path = save_checkpoint(run.epoch_checkpoint(3), model, {}, ["a", "b"])
    assert path.name == "epoch_0003.pt"
    run.publish(path, "last.pt", "best.pt")
    for name in ("last.pt", "best.pt"):
        assert (run.checkpoints / name).read_bytes() == path.read_bytes()
    save_checkpoint(run.epoch_checkpoint(4), model, {"x": 1}, ["a", "b"])
    run.publish(run.epoch_checkpoint(4), "last.pt")  # replacing keeps the older files intact
    assert run.last.read_bytes() == run.epoch_checkpoint(4).read_bytes()
    assert run.best.read_bytes() == path.read_bytes()
    (run.checkpoints / ".last.pt.99.tmp").write_text("x")
    (tmp_path / ".metrics.jsonl.abc.tmp").write_text("x")
    run.remove_temporaries()
    assert not list(tmp_path.rglob(".*.tmp"))
    atomic_write_text(tmp_path / "a" / "b.txt", "hello")
    assert (tmp_path / "a" / "b.txt").read_text() == "hello" and not list((tmp_path / "a").glob(".*"))
