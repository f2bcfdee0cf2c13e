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
    strip = lambda s: re.sub(r"\d+\.\d+ ms|\d+\.\d+x", "", s)  # noqa: E731
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


@pytest.mark.skipif(shutil.which("tadfuse") is None, reason="console script not on PATH")
def test_console_script_runs():
    r = subprocess.run(["tadfuse", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "demo" in r.stdout


def test_module_entry_point():
    r = subprocess.run([sys.executable, "-m", "tadfuse.cli", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "demo" in r.stdout
