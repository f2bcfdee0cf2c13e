"""`tadfuse.viz` timelines and the ``tadfuse plot`` command."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli
from tadfuse.errors import InvalidArgumentError, InvalidTypeError, MissingExtraError
from tadfuse.proposals import Proposals
from tadfuse.viz import timeline_rows_from_cas

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
    with pytest.raises(MissingExtraError, match=r"pip install \"tadfuse\[plot\]\""):
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

    with pytest.raises(InvalidArgumentError, match=r"shape \(T, K\)"):
        plot_timeline(cas=np.zeros(5))
    with pytest.raises(InvalidTypeError, match="`fused` must be Proposals"):
        plot_timeline(fused=[(0, 1, 2)])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="nothing to draw"):
        plot_timeline()
    with pytest.raises(InvalidArgumentError, match="out of range"):
        plot_timeline(cas=_cas(), classes=[7])
    with pytest.raises(InvalidArgumentError, match="2 ground-truth labels for 1 segments"):
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


def _tcams(tmp_path: Path, class_names: list[str], **videos: tuple[np.ndarray, np.ndarray]) -> Path:
    from tadfuse.tcam_io import write_tcam, write_tcam_meta

    folder = write_tcam_meta(tmp_path / "tcams", class_names=class_names, background=True, snippet_seconds=0.64,
                             producer="tests")
    for vid, (cas, scores) in videos.items():
        write_tcam(folder, vid, np.concatenate([cas, np.ones((cas.shape[0], 1))], axis=1), np.append(scores, 1.0))
    return folder


def _gt(tmp_path: Path) -> str:
    gt = {"database": {"v1": {"subset": "test", "duration": 60.0, "annotations": [
        {"segment": [6.4, 16.0], "label": "b"}, {"segment": [32.0, 39.7], "label": "d"}]},
        "v2": {"subset": "test", "duration": 30.0, "annotations": []}},
        "class_names": ["a", "b", "c", "d"]}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    return str(tmp_path / "gt.json")


def test_plot_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    from tadfuse import viz

    folder = _tcams(tmp_path, ["a", "b", "c", "d"], v1=(_cas(), np.array([0.0, 0.9, 0.0, 0.9])))
    (tmp_path / "pred.json").write_text(json.dumps({"results": {
        "v1": [{"label": "b", "score": 0.5, "segment": [6.0, 16.0]}],
        "v2": [{"label": "a", "score": 0.2, "segment": [1.0, 2.0]}]}}))
    drawn: dict[str, dict] = {}
    real_save = viz.save_timeline

    def spy(path, **kw):
        drawn[Path(path).stem] = kw
        return real_save(path, **kw)

    monkeypatch.setattr(viz, "save_timeline", spy)
    argv = ["plot", "--gt", _gt(tmp_path), "--cas", str(folder), "--pred", str(tmp_path / "pred.json"),
            "--out", str(tmp_path / "png")]
    assert run_cli(argv) == 0
    assert "wrote" in capsys.readouterr().out
    for v in ("v1", "v2"):
        assert (tmp_path / "png" / f"{v}.png").read_bytes()[:8] == PNG_MAGIC
    # the TCAM without its background column; the rows not given as files computed from it
    np.testing.assert_array_equal(drawn["v1"]["cas"], _cas())
    rows = timeline_rows_from_cas(_cas(), np.array([0.0, 0.9, 0.0, 0.9]))
    assert drawn["v1"]["proposals"] == rows["proposals"] and drawn["v1"]["nms"] == rows["nms"]
    assert len(drawn["v1"]["fused"]) == 1  # from --pred, not computed
    assert "cas" not in drawn["v2"] and drawn["v1"]["snippet_seconds"] == 0.64
    # --preset / --set configure the computed rows; --no-detect draws the TCAM only
    assert run_cli([*argv, "--preset", "paper", "--set", "postprocess.class_threshold=0.95"]) == 0
    assert len(drawn["v1"]["proposals"]) == 0
    assert run_cli([*argv, "--no-detect"]) == 0
    assert set(drawn["v1"]) >= {"cas", "fused"} and "proposals" not in drawn["v1"]


def test_plot_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    from tadfuse.cli import main
    from tadfuse.errors import DataFormatError

    folder = _tcams(tmp_path, ["a", "b", "c", "x"], v1=(_cas(), np.zeros(4)))
    with pytest.raises(DataFormatError, match=r"meta\.json: class_names .* differ from the ground truth's"):
        run_cli(["plot", "--gt", _gt(tmp_path), "--cas", str(folder), "--out", str(tmp_path / "png")])
    np.savez(folder / "v2.npz", tcam=np.zeros(3), video_scores=np.zeros(5))
    with pytest.raises(DataFormatError, match=r"v2\.npz: `tcam` must have shape \(l, K\)"):
        run_cli(["plot", "--cas", str(folder), "--out", str(tmp_path / "png")])
    for extra, message in ((["--preset", "paper"], "--preset configure the rows computed from --cas"),
                           (["--no-detect"], "--no-detect applies to --cas only"),
                           (["--videos", "v1", "--max-videos", "3"], "--max-videos applies without --videos only")):
        assert main(["plot", "--gt", _gt(tmp_path), "--out", str(tmp_path / "png"), *extra]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "png").exists()


def test_plot_cli_max_videos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    from tadfuse.cli import main
    from tadfuse.cli.plot import DEFAULT_MAX_VIDEOS

    with pytest.raises(SystemExit):
        main(["plot", "--help"])
    assert f"(default {DEFAULT_MAX_VIDEOS})" in " ".join(capsys.readouterr().out.split())
    gt = {"database": {f"v{k}": {"subset": "test", "duration": 10.0, "annotations": [
        {"segment": [1.0, 2.0], "label": "a"}]} for k in range(3)}}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    assert main(["plot", "--gt", str(tmp_path / "gt.json"), "--out", str(tmp_path / "png"), "--max-videos", "2"]) == 0
    out = capsys.readouterr().out
    assert "plotting the first 2 of 3 videos by name" in out
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == ["v0.png", "v1.png"]
    assert main(["plot", "--gt", str(tmp_path / "gt.json"), "--out", str(tmp_path / "all")]) == 0
    assert "plotting the first" not in capsys.readouterr().out and len(list((tmp_path / "all").iterdir())) == 3
