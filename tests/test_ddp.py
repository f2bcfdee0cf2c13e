"""Data-parallel training (tadfuse.engine.distributed) on the CPU with gloo: a 2-process run
started by torchrun through the CLI has the loss curve and the final weights of a 1-process run
of the same global batch (memory bank, refreshes with dropout active, distillation, steps that
span epochs and do not divide among the ranks); the 1-process distributed path is the plain
trainer when dropout is off; per-video dropout masks do not depend on the batch."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import package_path

torch = pytest.importorskip("torch")

from tadfuse.config import load_config  # noqa: E402
from tadfuse.demo import demo_dataset  # noqa: E402
from tadfuse.engine import train  # noqa: E402
from tadfuse.engine.distributed import VideoSeededDropout, dropout_seed, launched, process_group  # noqa: E402
from tadfuse.errors import InvalidArgumentError  # noqa: E402

#: Memory warm-up after epoch 1 (the bank on from epoch 2), refreshes at 2 and 4 (pseudo labels
#: with dropout active), distillation from 3; 7 videos per step over 10 training videos: steps
#: span epochs and 7 does not divide between 2 ranks; padded passes of 2 videos; evaluations.
CONFIG = """
[train]
epochs = 6
videos_per_step = 7
batch_videos = {batch}
eval_every = 3
checkpoint_every = 3
refresh_temperatures = [0.02, 0.002]
self_label_milestones = [2]
self_label_weights = [1.0, 0.5]

[model]
warmup_epoch = 1
dropout = {dropout}
pseudo_label_dropout = {label_dropout}

[delta]
name = "short"
refresh_epochs = [2, 4]
weight_start = 2

[[delta.phases]]
first = 3
last = "none"
coef = 1.0
delta = true
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_dataset(tmp_path_factory.mktemp("ddp") / "tiny", videos=20, seed=1)


def _config_file(tmp_path: Path, **fields) -> Path:
    path = tmp_path / "ddp.toml"
    path.write_text(CONFIG.format(**fields))
    return path


@pytest.fixture
def one_rank(monkeypatch: pytest.MonkeyPatch):
    """This process as rank 0 of a group of one (what ``torchrun --nproc-per-node 1`` sets)."""
    for k, v in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                 "MASTER_PORT": str(_free_port())}.items():
        monkeypatch.setenv(k, v)


def _losses(history: list[dict]) -> np.ndarray:
    return np.array([[r["loss"][k] for k in sorted(r["loss"])] for r in history])


def test_one_rank_is_the_plain_trainer_without_dropout(tiny: Path, tmp_path: Path, one_rank,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config("demo", _config_file(tmp_path, batch=1, dropout=0.0, label_dropout="false"))
    ddp = train(cfg, tiny, progress=False)
    for k in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(k)
    assert not launched()
    plain = train(cfg, tiny, progress=False)
    assert len(ddp.history) == len(plain.history) == 6
    assert any("refresh" in r for r in ddp.history) and any("eval" in r for r in ddp.history)
    assert ddp.history[-1]["loss"]["distillation"] != 0
    np.testing.assert_allclose(_losses(ddp.history), _losses(plain.history), rtol=1e-5, atol=1e-7)
    for (k, a), b in zip(ddp.model.state_dict().items(), plain.model.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6, err_msg=k)
    assert isinstance(ddp.model.dropout, torch.nn.Dropout)  # the seeded dropout is put back


def test_two_ranks_match_one_rank(tiny: Path, tmp_path: Path, one_rank) -> None:
    """torchrun, 2 CPU processes on gloo, through ``tadfuse train``, against a 1-process run."""
    cfg_file = _config_file(tmp_path, batch=2, dropout=0.5, label_dropout="true")
    run = tmp_path / "run2"
    out = _torchrun(2, "--data", str(tiny), "--out", str(run), "--preset", "demo", "--config", str(cfg_file),
                    "--device", "cpu")
    assert out.count(f"run {run}: 6 epochs recorded") == 2  # each rank's summary names the run
    two = _metrics(run)
    assert json.loads((run / "run.json").read_text())["world_size"] == 2

    one = train(load_config("demo", cfg_file), tiny, progress=False)
    assert len(two) == len(one.history) == 6
    assert [r["step"] for r in two] == [r["step"] for r in one.history]
    assert two[-1]["loss"]["distillation"] != 0 and two[-1]["loss"]["self_label"] != 0
    np.testing.assert_allclose(_losses(two), _losses(one.history), rtol=1e-4, atol=1e-6)
    for a, b in zip([r for r in two if "eval" in r], [r for r in one.history if "eval" in r]):
        assert a["eval"]["fusion"]["average_mAP"] == pytest.approx(b["eval"]["fusion"]["average_mAP"], abs=1e-6)
    weights = torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)["state_dict"]
    for k, a in one.model.state_dict().items():
        np.testing.assert_allclose(weights[k].numpy(), a.numpy(), rtol=1e-3, atol=1e-5, err_msg=k)


    # Resumed under torchrun from the checkpoint after epoch 3 (an open step: 30 videos, 7 per
    # step), the run ends as the uninterrupted one.
    again = tmp_path / "resumed"
    shutil.copytree(run, again)
    shutil.copyfile(again / "checkpoints" / "epoch_0003.pt", again / "checkpoints" / "last.pt")
    assert torch.load(again / "checkpoints" / "last.pt", weights_only=True)["extra_state"]["train_state"]["pending_videos"]
    _torchrun(2, "--resume", str(again), "--device", "cpu")
    assert _strip(_metrics(again)) == _strip(two)
    resumed = torch.load(again / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)["state_dict"]
    for k, a in weights.items():
        assert torch.equal(resumed[k], a), k
    # ... and resumed on one rank (this process) instead, to float tolerance.
    single = tmp_path / "resumed1"
    shutil.copytree(run, single)
    shutil.copyfile(single / "checkpoints" / "epoch_0003.pt", single / "checkpoints" / "last.pt")
    res = train(None, None, single, resume=True, progress=False)
    np.testing.assert_allclose(_losses(res.history), _losses(two), rtol=1e-4, atol=1e-6)
    for k, a in res.model.state_dict().items():
        np.testing.assert_allclose(a.numpy(), weights[k].numpy(), rtol=1e-3, atol=1e-5, err_msg=k)


def _torchrun(n: int, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                            "MASTER_PORT")}
    # the tadfuse these tests import (installed wheel or source tree), compiled extension included
    env.update(PYTHONPATH=package_path(), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", str(n),
           "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m", "tadfuse", "train", *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


def _metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _strip(records: list[dict]) -> list[dict]:
    """The records without timings (the refresh's ``*_s`` fields and ``time_s``)."""
    out = []
    for r in records:
        r = {k: v for k, v in r.items() if k != "time_s"}
        if "refresh" in r:
            r["refresh"] = {k: v for k, v in r["refresh"].items() if not k.endswith("_s")}
        out.append(r)
    return out


def test_seeded_dropout_is_per_video() -> None:
    torch.manual_seed(0)
    d = VideoSeededDropout(0.5).train()
    a, b = torch.rand(5, 3), torch.rand(3, 3)
    s = [dropout_seed(7, 1, 2, v) for v in (4, 9)]
    d.rows = [(s[0], 5), (s[1], 3)]
    x = torch.zeros(2, 6, 3)
    x[0, :5], x[1, :3] = a, b
    both = d(x)
    d.rows = [(s[1], 3)]
    alone = d(b[None])
    assert torch.equal(both[1, :3], alone[0])  # the same mask in another batch and padding
    assert torch.equal(both[1, 3:], torch.zeros(3, 3)) and torch.equal(both[0, 5:], torch.zeros(1, 3))
    kept = both[0, :5] != 0
    assert torch.allclose(both[0, :5][kept], 2 * a[kept])  # scaled by 1/(1 - p)
    big = VideoSeededDropout(0.3).train()
    big.rows = [(dropout_seed(0, 1, 0, 0), 400)]
    rate = float((big(torch.ones(1, 400, 50)) != 0).float().mean())
    assert abs(rate - 0.7) < 0.01
    assert dropout_seed(7, 1, 2, 4) != dropout_seed(7, 1, 3, 4) != dropout_seed(7, 2, 3, 4)
    d.eval()
    assert d(x) is x
    d.train()
    d.rows = None
    with pytest.raises(RuntimeError, match="rows"):
        d(x)


def test_bad_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "x")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(InvalidArgumentError, match="RANK='x'"), process_group(torch.device("cpu")):
        pass
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(InvalidArgumentError, match="RANK=2 must be below WORLD_SIZE=2"), process_group(torch.device("cpu")):
        pass


