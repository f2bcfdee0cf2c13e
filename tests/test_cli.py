"""The `tadfuse` command line: help, version and the post-processing demo."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import tadfuse
from tadfuse.cli import main
from tadfuse.demo import run_demo, synthetic_tcam, tcam_from_segments


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "eval", "data", "plot"):
        assert re.search(rf"^\s+{command}\s", out, re.M), command


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert tadfuse.__version__ in capsys.readouterr().out


def test_demo_prints_detections_and_timing(capsys):
    assert main(["demo", "--videos", "6", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "fused detections" in out and "NMS detections" in out
    assert re.search(r"fusion / NMS time: \d+\.\d+x", out)


def test_demo_is_deterministic_apart_from_timings():
    strip = lambda s: re.sub(r"\d+\.\d+ ms|\d+\.\d+x", "", s)
    assert strip(run_demo(videos=4, seed=1, repeats=1)) == strip(run_demo(videos=4, seed=1, repeats=1))


def test_demo_detects_the_planted_actions():
    import numpy as np

    rng = np.random.default_rng(0)
    v = tcam_from_segments(400, 5, np.array([2]), np.array([100.0]), np.array([140.0]), rng)
    det = tadfuse.detect(v.cas, v.video_scores)
    assert set(det.label.tolist()) == {2}
    best = det[0]
    assert abs(best.start[0] - 100) <= 2 and abs(best.end[0] - 140) <= 3


def test_synthetic_tcam_rejects_bad_sizes():
    import numpy as np

    with pytest.raises(ValueError, match="length"):
        synthetic_tcam(0, 3, np.random.default_rng(0))


def _console_script() -> str | None:
    """The ``tadfuse`` script of the running interpreter's environment (beside
    ``sys.executable``, e.g. ``.venv/bin/tadfuse``), else the one on PATH."""
    from pathlib import Path

    for name in ("tadfuse", "tadfuse.exe"):
        here = Path(sys.executable).parent / name
        if here.is_file():
            return str(here)
    return shutil.which("tadfuse")


@pytest.mark.skipif(_console_script() is None, reason="no tadfuse console script beside sys.executable or on PATH")
def test_console_script_runs():
    r = subprocess.run([_console_script(), "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "demo" in r.stdout


def test_module_entry_point():
    r = subprocess.run([sys.executable, "-m", "tadfuse.cli", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "demo" in r.stdout


def _assert_user_error(capsys, rc, *needles):
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("tadfuse: error: ") and "Traceback" not in err, err
    for n in needles:
        assert n in err, (n, err)
    return err


def test_missing_file_is_a_one_line_error(tmp_path, capsys):
    missing = str(tmp_path / "nope.json")
    rc = main(["eval", "--gt", missing, "--pred", str(tmp_path / "x.json")])
    _assert_user_error(capsys, rc, "nope.json", "not found")
    # the video list too (it used to exit with status 1 through SystemExit)
    gt = tmp_path / "gt.json"
    gt.write_text('{"database": {"v": {"subset": "test", "annotations": '
                  '[{"segment": [0, 1], "label": "a"}]}}}')
    rc = main(["eval", "--gt", str(gt), "--pred", str(gt), "--videos", str(tmp_path / "list.txt")])
    _assert_user_error(capsys, rc, "list.txt")


def test_malformed_input_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    rc = main(["eval", "--gt", str(bad), "--pred", str(bad)])
    _assert_user_error(capsys, rc, "bad.json", "not valid JSON")
    gt = tmp_path / "gt.json"
    gt.write_text('{"database": {"v": {"subset": "test", "annotations": '
                  '[{"segment": [0, 1], "label": "a"}]}}}')
    pred = tmp_path / "pred.json"
    pred.write_text('{"results": {"v": [{"label": "a", "segment": [0, 1]}]}}')  # no score
    rc = main(["eval", "--gt", str(gt), "--pred", str(pred)])
    _assert_user_error(capsys, rc, "pred.json", "'score'")
    # a folder that is no dataset: the data module's DataFormatError (a ValueError)
    rc = main(["data", "info", str(tmp_path)])
    _assert_user_error(capsys, rc)


def test_traceback_flag_and_bugs_keep_the_traceback(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        main(["--traceback", "eval", "--gt", str(tmp_path / "nope.json"), "--pred", "x.json"])

    def bug(args):
        raise ZeroDivisionError("a bug")

    import tadfuse.cli_commands as cc

    monkeypatch.setattr(cc, "_eval", bug)
    with pytest.raises(ZeroDivisionError):
        main(["eval", "--gt", "g.json", "--pred", "p.json"])


def test_user_error_from_the_console_entry_point(tmp_path):
    r = subprocess.run([sys.executable, "-m", "tadfuse.cli", "eval", "--gt", str(tmp_path / "nope.json"),
                        "--pred", "x.json"], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2 and "tadfuse: error:" in r.stderr and "nope.json" in r.stderr
    assert "Traceback" not in r.stderr


def test_synth_option_misuse_is_a_one_line_error(tmp_path, capsys):
    # used to raise SystemExit (exit status 1)
    rc = main(["data", "synth", "--kind", "thumos14-structured", "--out", str(tmp_path / "x"), "--num-videos", "3"])
    _assert_user_error(capsys, rc, "--num-videos/--num-classes apply to --kind toy only")
    rc = main(["data", "synth", "--kind", "toy", "--out", str(tmp_path / "y"), "--format", "folders",
               "--layout", "flat"])
    _assert_user_error(capsys, rc, "--layout applies to --format wtalc only")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def _plot_gt(tmp_path):
    import json

    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"database": {
        "v1": {"subset": "test", "duration": 20.0, "annotations": [{"segment": [1.0, 5.0], "label": "a"}]},
        "v2": {"subset": "test", "duration": 20.0, "annotations": [{"segment": [2.0, 6.0], "label": "a"}]}}}))
    return str(gt)


def test_plot_without_matplotlib_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    rc = main(["plot", "--gt", _plot_gt(tmp_path), "--out", str(tmp_path / "png")])
    _assert_user_error(capsys, rc, 'pip install "tadfuse[plot]"')


def test_plot_unknown_videos(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    gt = _plot_gt(tmp_path)
    rc = main(["plot", "--gt", gt, "--videos", "typo", "v1_typo", "--out", str(tmp_path / "png")])
    _assert_user_error(capsys, rc, "none of the --videos", "'typo'", "'v1_typo'")
    assert not (tmp_path / "png").exists()
    rc = main(["plot", "--gt", gt, "--videos", "v2", "typo", "--out", str(tmp_path / "png")])
    assert rc == 0
    captured = capsys.readouterr()
    assert "warning: 1 of the --videos" in captured.err and "'typo'" in captured.err
    assert (tmp_path / "png" / "v2.png").is_file() and not (tmp_path / "png" / "typo.png").exists()
