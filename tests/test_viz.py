"""`tadfuse.viz` timelines and the ``tadfuse plot`` command."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli
from tadfuse.proposals import Proposals

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _cas(T: int = 80, K: int = 4) -> np.ndarray:
    t = np.arange(T)
    cas = np.full((T, K), 0.002)
    cas[10:25, 1] = 0.05
    cas[50:62, 3] = 0.03
    return cas + 0.001 * np.sin(t)[:, None] ** 2


def test_missing_matplotlib_gives_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from tadfuse import viz

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install \"tadfuse\[plot\]\""):
        viz.plot_timeline(cas=_cas())


def test_plot_timeline_rows_and_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from tadfuse.viz import plot_timeline, save_timeline

    raw = Proposals([1, 1, 1, 3], [10, 11, 9, 50], [25, 24, 26, 62], [0.04, 0.03, 0.035, 0.02])
    fused = Proposals([1, 3], [10.0, 50.0], [25.0, 62.0], [0.04, 0.02])
    nms = Proposals([1, 3], [10, 50], [25, 62], [0.04, 0.02])
    gt = (np.array([1, 3]), np.array([[6.4, 16.0], [32.0, 39.7]]))
    names = ["a", "b", "c", "d"]
    fig = plot_timeline(cas=_cas(), proposals=raw, fused=fused, nms=nms, ground_truth=gt,
                        ambiguous=np.array([[45.0, 47.0]]), class_names=names, title="video_x")
    axes = fig.get_axes()
    assert len(axes) == 5
    assert [ax.get_ylabel() for ax in axes] == ["TCAM", "proposals", "fused", "NMS", "ground truth"]
    assert [t.get_text() for t in axes[1].get_yticklabels()] == ["b", "d"]  # the active classes
    assert len(axes[0].get_lines()) == 2
    assert axes[-1].get_xlim()[1] == pytest.approx(80 * 0.64)
    path = save_timeline(tmp_path / "sub" / "v.png", cas=_cas(), fused=fused, class_names=names)
    assert path.read_bytes()[:8] == PNG_MAGIC
    # only ground truth, explicit classes and duration
    fig = plot_timeline(ground_truth=gt, classes=[3], duration=100.0)
    assert len(fig.get_axes()) == 1 and fig.get_axes()[0].get_xlim()[1] == 100.0
    assert [t.get_text() for t in fig.get_axes()[0].get_yticklabels()] == ["class 3"]


def test_plot_timeline_bad_inputs() -> None:
    pytest.importorskip("matplotlib")
    from tadfuse.viz import plot_timeline

    with pytest.raises(ValueError, match=r"shape \(T, K\)"):
        plot_timeline(cas=np.zeros(5))
    with pytest.raises(TypeError, match="`fused` must be Proposals"):
        plot_timeline(fused=[(0, 1, 2)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="nothing to draw"):
        plot_timeline()
    with pytest.raises(ValueError, match="out of range"):
        plot_timeline(cas=_cas(), classes=[7])
    with pytest.raises(ValueError, match="2 ground-truth labels for 1 segments"):
        plot_timeline(ground_truth=([0, 1], [[0.0, 1.0]]))


def test_rows_from_cas_use_the_postprocessing() -> None:
    from tadfuse.postprocess import extract_proposals
    from tadfuse.viz import timeline_rows_from_cas

    scores = np.array([0.0, 0.9, 0.0, 0.9])
    rows = timeline_rows_from_cas(_cas(), scores)
    assert set(rows) == {"proposals", "fused", "nms"}
    assert set(rows["proposals"].label.tolist()) == {1, 3}
    assert rows["proposals"] == extract_proposals(_cas(), classes=[1, 3])
    assert 0 < len(rows["fused"]) <= len(rows["proposals"]) and 0 < len(rows["nms"]) <= len(rows["proposals"])


def test_plot_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    gt = {"database": {"v1": {"subset": "test", "duration": 60.0, "annotations": [
        {"segment": [6.4, 16.0], "label": "b"}, {"segment": [32.0, 39.7], "label": "d"}]},
        "v2": {"subset": "test", "duration": 30.0, "annotations": []}},
        "class_names": ["a", "b", "c", "d"]}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    np.savez(tmp_path / "cas.npz", v1=_cas(), **{"v1:scores": np.array([0.0, 0.9, 0.0, 0.9])})
    (tmp_path / "pred.json").write_text(json.dumps({"results": {
        "v1": [{"label": "b", "score": 0.5, "segment": [6.0, 16.0]}],
        "v2": [{"label": "a", "score": 0.2, "segment": [1.0, 2.0]}]}}))
    rc = run_cli(["plot", "--gt", str(tmp_path / "gt.json"), "--cas", str(tmp_path / "cas.npz"),
                   "--pred", str(tmp_path / "pred.json"), "--out", str(tmp_path / "png")])
    assert rc == 0
    assert "wrote" in capsys.readouterr().out
    for v in ("v1", "v2"):
        assert (tmp_path / "png" / f"{v}.png").read_bytes()[:8] == PNG_MAGIC
    np.savez(tmp_path / "bad.npz", v1=np.zeros(3))
    with pytest.raises(ValueError, match=r"bad\.npz: 'v1' must be a \(T, K\) TCAM"):
        run_cli(["plot", "--cas", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "png")])
