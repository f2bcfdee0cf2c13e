"""Inference over Ray Data (tadfuse.engine.ray_infer) on a local 2-CPU Ray instance: the
detections and the written JSON equal the local :func:`tadfuse.engine.infer` run's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ray = pytest.importorskip("ray", reason="Ray Data is not installed (the optional extra: pip install 'tadfuse[ray]')")

from tadfuse.annotations import activitynet_results  # noqa: E402
from tadfuse.demo import demo_dataset  # noqa: E402
from tadfuse.engine import infer, train  # noqa: E402
from tadfuse.engine.ray_infer import infer_ray  # noqa: E402
from tadfuse.errors import InvalidArgumentError  # noqa: E402


@pytest.fixture(scope="module")
def ray_local():
    ray.init(num_cpus=2, object_store_memory=100 * 2**20, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("ray")
    data = demo_dataset(root / "toy", videos=24, seed=3)
    train("demo", data, root / "run", epochs=4, seed=0, progress=False)
    return root / "run", data


def _local(run: Path, data: Path, **kw):
    """The local run at the actors' one torch thread (Ray gives each one CPU), so the TCAMs'
    float sums are the same."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return infer(run, data, device="cpu", **kw)
    finally:
        torch.set_num_threads(threads)


def _same(a, b) -> None:
    assert a.keys() == b.keys()
    for v in a:
        for k in ("label", "start", "end", "score", "inner"):
            np.testing.assert_array_equal(getattr(a[v], k), getattr(b[v], k), err_msg=f"{v} {k}")


def test_ray_detections_equal_local(trained, ray_local, tmp_path: Path) -> None:
    run, data = trained
    inference = _local(run, data)
    local = inference.detections()
    assert sum(len(p) for p in local.values()) > 0
    res = infer_ray(run, data, tmp_path / "pred.json", batch_size=5)  # 12 videos: uneven batches
    _same(res.detections, local)
    assert res.provenance["gpus_per_actor"] == 0.0
    written = json.loads((tmp_path / "pred.json").read_text())
    assert written["tadfuse"]["provenance"]["inputs"]["engine"] == "ray"
    expected = activitynet_results(local, list(inference.class_names), snippet_seconds=inference.snippet_seconds,
                                   offset_seconds=inference.offset_seconds, durations=inference.durations)
    assert written["results"] == json.loads(json.dumps(expected["results"]))

    nms = infer_ray(run, data, split="train", overrides=["postprocess.method=nms"], num_actors=2, batch_size=3)
    _same(nms.detections, _local(run, data, split="train", overrides=["postprocess.method=nms"]).detections())


def test_bad_arguments(trained, ray_local, tmp_path: Path) -> None:
    run, data = trained
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        infer_ray(run, data, batch_size=0)
    with pytest.raises(InvalidArgumentError, match="folder on disk"):
        infer_ray(run, tmp_path / "missing")
    with pytest.raises(InvalidArgumentError, match="num_gpus"):
        infer_ray(run, data, num_gpus=1)  # the local instance has no GPU


def test_cli_engine_ray_writes_the_infer_json(trained, ray_local, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from helpers import run_cli

    run, data = trained
    common = ["infer", "--checkpoint", str(run), "--data", str(data), "--split", "test",
              "--set", "postprocess.method=nms"]
    assert run_cli([*common, "--engine", "ray", "--out", str(tmp_path / "ray.json")]) == 0
    assert "model actor" in capsys.readouterr().out
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the actors' thread count, for the same float sums
    try:
        assert run_cli([*common, "--device", "cpu", "--out", str(tmp_path / "local.json")]) == 0
    finally:
        torch.set_num_threads(threads)
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("ray.json", "local.json"))
    assert a["results"] == b["results"] and a["tadfuse"]["snippet_seconds"] == b["tadfuse"]["snippet_seconds"]
    for extra, flag in ((["--save-raw", str(tmp_path / "raw")], "--save-raw"), (["--device", "cpu"], "--device"),
                        (["--resume"], "--resume"), (["--format", "jsonl"], "--format jsonl")):
        with pytest.raises(InvalidArgumentError, match=flag):
            run_cli([*common, "--engine", "ray", *extra, "--out", str(tmp_path / "x.json")])
