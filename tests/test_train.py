"""The training loop end to end on the toy data: it learns; the run folder holds what
docs/engine.md says; step accumulation, refreshes, distillation, early stopping and dimensions
behave as configured; a resumed run ends with the weights of an uninterrupted one, also after
SIGKILL at a random moment (bit for bit, CPU, deterministic algorithms, one thread)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import package_path

torch = pytest.importorskip("torch")

from tadfuse.config import Config, get_preset, load_config  # noqa: E402
from tadfuse.demo import demo_dataset  # noqa: E402
from tadfuse.engine import resume, train  # noqa: E402
from tadfuse.engine.inference import evaluate_inference, split_inference  # noqa: E402
from tadfuse.engine.loading import fit_dimensions, load_data  # noqa: E402
from tadfuse.engine.trainer import seed_everything  # noqa: E402
from tadfuse.errors import ConfigError, DataFormatError, InvalidArgumentError  # noqa: E402
from tadfuse.models import RSKP, load_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: A short schedule that exercises everything: memory warm-up after epoch 1, refreshes at 2 and
#: 4 (Δ phases from 3), 7 videos per step over 10 training videos (steps span epochs).
SHORT = """
[train]
epochs = 6
videos_per_step = 7
batch_videos = 4
eval_every = 2
checkpoint_every = 1
refresh_temperatures = [0.02, 0.002]
self_label_milestones = [2]
self_label_weights = [1.0, 0.5]

[model]
warmup_epoch = 1

[delta]
name = "short"
refresh_epochs = [2, 4]
weight_start = 2

[[delta.phases]]
first = 3
last = 4
coef = 1.0
delta = false

[[delta.phases]]
first = 5
last = "none"
coef = 2.0
delta = true
"""


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory):
    return load_data(demo_dataset(tmp_path_factory.mktemp("toy") / "toy", videos=40, seed=0))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_dataset(tmp_path_factory.mktemp("tiny") / "tiny", videos=20, seed=1)


@pytest.fixture(scope="module")
def short_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "short.toml"
    path.write_text(SHORT)
    return path


@pytest.fixture
def deterministic():
    threads = torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    yield
    torch.use_deterministic_algorithms(False)
    torch.set_num_threads(threads)


def _state(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def _assert_same_weights(a: Path, b: Path) -> None:
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def _strip_times(records: list[dict]) -> list[dict]:
    out = []
    for r in records:
        r = dict(r)
        r.pop("time_s", None)
        if "refresh" in r:
            r["refresh"] = {k: v for k, v in r["refresh"].items() if not k.endswith("_s")}
        out.append(r)
    return out


def test_training_learns_the_toy_data(toy) -> None:
    cfg = fit_dimensions(get_preset("demo"), {"feature_dim": toy.feature_dim, "num_classes": toy.num_classes}, "toy")
    seed_everything(2)
    untrained = evaluate_inference(split_inference(RSKP(cfg.model), cfg, toy, toy.split("test"),
                                                   device=torch.device("cpu")), toy)
    result = train("demo", toy, epochs=20, seed=2, progress=False)
    final = result.history[-1]["eval"]
    assert result.model.config.feature_dim == toy.feature_dim and result.model.num_classes == toy.num_classes
    assert final["fusion"]["average_mAP"] > untrained["fusion"].average_mAP + 0.1
    assert final["fusion"]["average_mAP"] > 2 * untrained["fusion"].average_mAP
    assert final["nms"]["average_mAP"] > untrained["nms"].average_mAP + 0.1
    assert final["classification"]["mAP"] > untrained["classification"].mAP + 0.2
    assert result.best_epoch is not None and result.best_score >= final["fusion"]["average_mAP"]


def test_run_folder_holds_config_metrics_and_checkpoints(tiny: Path, short_config: Path, tmp_path: Path) -> None:
    cfg = load_config("demo", short_config)
    run = tmp_path / "run"
    result = train(cfg, tiny, run, checkpoint_every=2, progress=False)
    saved = load_config(None, run / "config.toml")
    assert saved == result.config and saved.train.checkpoint_every == 2
    assert (run / "config.toml").read_text() == result.config.to_toml()
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == list(range(6))
    assert [("eval" in r) for r in lines] == [False, True, False, True, False, True]
    assert [("refresh" in r) for r in lines] == [False, False, True, False, True, False]
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names == ["best.pt", "epoch_0002.pt", "epoch_0004.pt", "epoch_0006.pt", "last.pt"]
    _assert_same_weights(run / "checkpoints" / "last.pt", run / "checkpoints" / "epoch_0006.pt")
    raw = torch.load(run / "checkpoints" / "last.pt", weights_only=True)  # no class is unpickled
    state = raw["extra_state"]["train_state"]
    assert state["next_epoch"] == 6 and raw["extra_state"]["epochs_done"] == 6
    assert set(state) >= {"optimizer", "memory_bank", "delta_store", "rng", "step", "pending_videos", "pending_grads"}
    assert set(state["rng"]) >= {"python", "numpy", "torch"}
    ckpt = load_checkpoint(run / "checkpoints" / "best.pt")
    assert ckpt.extra_state["epoch"] == result.best_epoch
    assert json.loads((run / "run.json").read_text())["data"] == str(tiny.resolve())
    # the Δ store holds both generations of every training video, (l, C+1) each
    store = state["delta_store"]
    ds = load_data(tiny)
    train_names = [ds.names[i] for i in ds.split("train")]
    assert sorted(store["videos"]) == sorted(train_names)
    for video, epochs, labels in zip(store["videos"], store["epochs"], store["labels"]):
        assert epochs == [2, 4]
        assert tuple(labels[0].shape) == (ds.num_snippets(video), ds.num_classes + 1)


def test_steps_accumulate_videos_across_epochs(tiny: Path, short_config: Path) -> None:
    cfg = load_config("demo", short_config)
    spanning = train(cfg, tiny, epochs=3, progress=False).history  # 10 videos per epoch, 7 per step
    assert [(r["step"], r["pending_videos"]) for r in spanning] == [(1, 3), (2, 6), (4, 2)]
    per_epoch = train(cfg.override(["train.steps_span_epochs=false"]), tiny, epochs=3, progress=False).history
    assert [(r["step"], r["pending_videos"]) for r in per_epoch] == [(2, 0), (4, 0), (6, 0)]


def test_refresh_and_distillation_follow_the_schedule(tiny: Path, short_config: Path) -> None:
    cfg = load_config("demo", short_config)
    history = train(cfg, tiny, progress=False).history
    refreshes = {r["epoch"]: r["refresh"] for r in history if "refresh" in r}
    assert sorted(refreshes) == [2, 4] and refreshes[2]["temperature"] == 0.02 and refreshes[4]["temperature"] == 0.002
    assert all(r["videos"] == 10 and r["linpro"]["videos"] == 10 for r in refreshes.values())
    kd = [r["loss"]["distillation"] for r in history]
    assert kd[:3] == [0.0, 0.0, 0.0] and all(v != 0.0 for v in kd[3:])
    no_refresh = train(cfg.override(["train.refresh=false"]), tiny, progress=False).history
    assert all("refresh" not in r and r["loss"]["distillation"] == 0.0 for r in no_refresh)


def test_patience_stops_and_keeps_the_best(tiny: Path, tmp_path: Path) -> None:
    # a learning rate too small to change the scores: the second evaluation is no better
    cfg = get_preset("demo").override(["optim.lr_milestones=[]", "optim.lr_values=[1e-12]", "train.eval_every=1",
                                       "train.patience=1", "train.epochs=5"])
    result = train(cfg, tiny, tmp_path / "run", progress=False)
    assert result.stopped_early and [r["epoch"] for r in result.history] == [0, 1]
    assert result.best_epoch == 0 and result.history[-1]["stopped_early"]
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt").extra_state["epoch"] == 0
    again = resume(tmp_path / "run", progress=False)  # a stopped run stays stopped
    assert [r["epoch"] for r in again.history] == [0, 1]


def test_dimensions_come_from_the_data(tiny: Path) -> None:
    ds = load_data(tiny)
    cfg = fit_dimensions(get_preset("demo"), {"feature_dim": ds.feature_dim, "num_classes": ds.num_classes}, "d")
    assert (cfg.model.feature_dim, cfg.model.num_classes) == (32, 4)
    explicit = get_preset("demo").override(["model.feature_dim=7"])
    with pytest.raises(ConfigError, match=r"model.feature_dim = 7 was set, but .* has feature_dim = 32"):
        train(explicit, tiny, epochs=1, progress=False)
    same = get_preset("demo").override(["model.num_classes=4"])
    assert train(same, tiny, epochs=1, progress=False).model.num_classes == 4


def test_train_argument_errors(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="`data` is required"):
        train("demo", None)
    with pytest.raises(InvalidArgumentError, match="`resume` needs the run folder"):
        train(None, tiny, resume=True)
    with pytest.raises(DataFormatError, match="not a run folder"):
        resume(tmp_path)
    with pytest.raises(ConfigError, match=r"--epochs"):
        train("demo", tiny, epochs=0)
    run = tmp_path / "r"
    train("demo", tiny, run, epochs=1, progress=False)
    with pytest.raises(FileExistsError, match="already holds a run"):
        train("demo", tiny, run, epochs=1)
    with pytest.raises(InvalidArgumentError, match="keeps its configuration"):
        train(None, tiny, run, resume=True, epochs=3)
    with pytest.raises(InvalidArgumentError, match="CUDA is not available|not a torch device"):
        train("demo", tiny, epochs=1, device="cuda:7" if not torch.cuda.is_available() else "nonsense")


def test_resume_from_an_intermediate_checkpoint(tiny: Path, short_config: Path, tmp_path: Path,
                                                deterministic) -> None:
    cfg = load_config("demo", short_config)
    full = tmp_path / "full"
    train(cfg, tiny, full, progress=False)
    part = tmp_path / "part"
    shutil.copytree(full, part)
    ck = part / "checkpoints"
    shutil.copyfile(ck / "epoch_0003.pt", ck / "last.pt")  # as if killed during epoch 3
    for n in (4, 5, 6):
        (ck / f"epoch_{n:04d}.pt").unlink()
    with open(part / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 3, "half-written')
    (ck / ".last.pt.123.tmp").write_bytes(b"junk")  # a killed run's temporary
    result = resume(part, progress=False)
    _assert_same_weights(full / "checkpoints" / "last.pt", part / "checkpoints" / "last.pt")
    a = [json.loads(x) for x in (full / "metrics.jsonl").read_text().splitlines()]
    b = [json.loads(x) for x in (part / "metrics.jsonl").read_text().splitlines()]
    assert _strip_times(a) == _strip_times(b) and [r["epoch"] for r in b] == list(range(6))
    assert _strip_times(result.history) == _strip_times(b)
    assert not list(ck.glob(".*.tmp"))
    full_state = torch.load(full / "checkpoints" / "last.pt", weights_only=True)["extra_state"]["train_state"]
    part_state = torch.load(part / "checkpoints" / "last.pt", weights_only=True)["extra_state"]["train_state"]
    for key in ("centres", "scores"):
        assert torch.equal(full_state["memory_bank"][key], part_state["memory_bank"][key])


_RUNNER = """
import sys, torch
torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)
from tadfuse.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def _cli(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": package_path()}
    return subprocess.Popen([sys.executable, "-c", _RUNNER, *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def test_sigkill_at_a_random_moment_then_resume_gives_the_same_weights(tiny: Path, short_config: Path,
                                                                        tmp_path: Path) -> None:
    base = ["--preset", "demo", "--config", str(short_config), "--data", str(tiny), "--set", "train.epochs=24",
            "--set", "train.eval_every=3"]
    full = _cli(["train", *base, "--out", str(tmp_path / "full")])
    victim = _cli(["train", *base, "--out", str(tmp_path / "killed")])
    last = tmp_path / "killed" / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 120
    while not last.exists():
        assert victim.poll() is None, victim.stderr.read() if victim.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.01)
    moment = random.Random(os.getpid()).uniform(0.0, 0.6)
    time.sleep(moment)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL, f"the run finished before the kill ({moment:.2f} s after)"
    done = [json.loads(x)["epoch"] for x in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()
            if x.endswith("}")]
    assert done and done[-1] < 23
    resumed = _cli(["train", "--resume", str(tmp_path / "killed")])
    assert resumed.wait(timeout=180) == 0, resumed.stderr.read() if resumed.stderr else ""
    assert full.wait(timeout=180) == 0, full.stderr.read() if full.stderr else ""
    _assert_same_weights(tmp_path / "full" / "checkpoints" / "last.pt", tmp_path / "killed" / "checkpoints" / "last.pt")
    a = [json.loads(x) for x in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    b = [json.loads(x) for x in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in b] == list(range(24)) and _strip_times(a) == _strip_times(b)


def test_config_sections_have_one_home_in_a_run(tiny: Path, tmp_path: Path) -> None:
    """The official preset keeps both released defects, the others fix them; a run records them
    in its configuration."""
    assert get_preset("official").model.memory_class0_defect and get_preset("official").model.pseudo_label_dropout
    for name in ("paper", "rskp", "anet", "demo"):
        m = get_preset(name).model
        assert not m.memory_class0_defect and not m.pseudo_label_dropout, name
    cfg = get_preset("demo").override(["model.memory_class0_defect=true", "model.pseudo_label_dropout=true"])
    train(cfg, tiny, tmp_path / "run", epochs=1, progress=False)
    saved = Config.from_dict(load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt").config)
    assert saved.model.memory_class0_defect and saved.model.pseudo_label_dropout


def test_sampled_snippets_train(tiny: Path) -> None:
    ds = load_data(tiny)
    cfg = get_preset("demo").override(["train.sample_snippets=16", "train.refresh=false"])
    result = train(cfg, ds, epochs=2, progress=False)
    assert np.isfinite(result.history[-1]["loss"]["total"])
