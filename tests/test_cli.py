"""The `tadfuse` command line: layout, errors and warnings, argument checks, demo, data, detect."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import tadfuse
from tadfuse.cli import build_parser, main
from tadfuse.demo import run_demo, synthetic_tcam, tcam_from_segments
from tadfuse.errors import DataFormatError, DataWarning, InvalidArgumentError

COMMANDS = ("demo", "train", "infer", "eval", "data", "plot", "detect")


def _user_error(capsys: pytest.CaptureFixture[str], rc: int, *needles: str) -> str:
    """Assert a one-line ``tadfuse: error:`` (exit 2, after any warnings) containing ``needles``;
    return it."""
    lines = capsys.readouterr().err.splitlines()
    assert rc == 2, lines
    *before, err = lines
    assert err.startswith("tadfuse: error: ") and "Traceback" not in err, lines
    assert all(b.startswith("tadfuse: warning: ") for b in before), lines
    for n in needles:
        assert n in err, (n, err)
    return err


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    """Assert argparse rejects ``argv`` (exit 2) with ``needles`` in its message."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    for n in needles:
        assert n in err, (n, err)
    return err


# --------------------------------------------------------------------------------------------
# layout: help, version, entry points
# --------------------------------------------------------------------------------------------


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", out, re.M), command
    assert main([]) == 0 and "COMMAND" in capsys.readouterr().out  # no command: the help


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert tadfuse.__version__ in capsys.readouterr().out


def test_each_command_lives_in_its_own_module() -> None:
    import tadfuse.cli as cli

    for command in COMMANDS:
        module = getattr(cli, command)
        assert module.__name__ == f"tadfuse.cli.{command}" and callable(module.add_parser)
    # no import cycle: command modules do not import the package's __init__ names
    for command in COMMANDS:
        source = Path(getattr(cli, command).__file__).read_text()
        assert "from tadfuse.cli import" not in source, command


def _console_script() -> str | None:
    """The ``tadfuse`` script of the running interpreter's environment (beside
    ``sys.executable``, e.g. ``.venv/bin/tadfuse``), else the one on PATH."""
    for name in ("tadfuse", "tadfuse.exe"):
        here = Path(sys.executable).parent / name
        if here.is_file():
            return str(here)
    return shutil.which("tadfuse")


def test_entry_points_in_a_subprocess(tmp_path: Path) -> None:
    """``python -m tadfuse``, ``python -m tadfuse.cli`` and the console script run ``main``;
    a user error is one line with exit status 2, a usage error argparse's."""
    runs = [[sys.executable, "-m", "tadfuse"], [sys.executable, "-m", "tadfuse.cli"]]
    if _console_script() is not None:
        runs.append([_console_script()])
    for prefix in runs:
        r = subprocess.run([*prefix, "--help"], capture_output=True, text=True, timeout=60, check=False)
        assert r.returncode == 0 and "detect" in r.stdout, (prefix, r.stderr)
    r = subprocess.run([*runs[0], "eval", "--gt", str(tmp_path / "nope.json"), "--pred", "x.json"],
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2 and r.stderr.startswith("tadfuse: error: ") and "nope.json" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    r = subprocess.run([*runs[0], "demo", "--epochs", "0"], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2 and "argument --epochs" in r.stderr and "Traceback" not in r.stderr
    bug = ("import tadfuse.cli.demo as d; d.run = lambda args: {}['videos']; "
           "from tadfuse.cli import main; raise SystemExit(main(['demo']))")
    r = subprocess.run([sys.executable, "-c", bug], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 1 and "Traceback" in r.stderr and "KeyError: 'videos'" in r.stderr
    assert "tadfuse: error" not in r.stderr


# --------------------------------------------------------------------------------------------
# errors and warnings
# --------------------------------------------------------------------------------------------


def _patch_handler(monkeypatch: pytest.MonkeyPatch, fn) -> None:
    import tadfuse.cli.demo as demo

    monkeypatch.setattr(demo, "run", fn)


def test_a_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for exc in (KeyError("videos"), ValueError("a plain ValueError is a bug"), IndexError("0")):
        def handler(args: argparse.Namespace, exc: Exception = exc) -> int:
            raise exc

        _patch_handler(monkeypatch, handler)
        with pytest.raises(type(exc)):
            main(["demo"])
        assert "tadfuse: error" not in capsys.readouterr().err


def test_user_errors_are_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def handler(args: argparse.Namespace) -> int:
        raise DataFormatError("gt.json: bad\n  second line")

    _patch_handler(monkeypatch, handler)
    assert main(["demo"]) == 2
    assert capsys.readouterr().err == "tadfuse: error: gt.json: bad second line\n"

    def os_error(args: argparse.Namespace) -> int:
        Path("/nonexistent-dir/x.json").read_text()  # the OSError carries the file name
        return 0

    _patch_handler(monkeypatch, os_error)
    assert main(["demo"]) == 2
    assert capsys.readouterr().err == "tadfuse: error: /nonexistent-dir/x.json: No such file or directory\n"
    from tadfuse.cli._errors import error_message

    assert error_message(OSError(18, "Invalid cross-device link", "a.tmp", None, "b.json")) == \
        "a.tmp: Invalid cross-device link (-> b.json)"
    assert error_message(FileNotFoundError("gt.json: ground truth file not found")) == "gt.json: ground truth file not found"
    assert error_message(DataFormatError()) == "DataFormatError"


def test_traceback_flag_before_or_after_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "nope")
    for argv in (["--traceback", "data", "info", missing], ["data", "--traceback", "info", missing],
                 ["data", "info", missing, "--traceback"]):
        with pytest.raises(DataFormatError, match="nope: not found"):
            main(argv)
    assert main(["data", "info", missing]) == 2
    _user_error(capsys, 2, "nope: not found")
    with pytest.raises(FileNotFoundError, match="nope.json"):
        main(["eval", "--gt", str(tmp_path / "nope.json"), "--pred", "x.json", "--traceback"])


def test_warnings_are_one_line_once(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def handler(args: argparse.Namespace) -> int:
        for _ in range(3):
            warnings.warn("3 videos skipped", DataWarning, stacklevel=1)
        warnings.warn("another\nmessage", DataWarning, stacklevel=1)
        warnings.warn("x is odd", RuntimeWarning, stacklevel=1)
        return 0

    _patch_handler(monkeypatch, handler)
    filters = list(warnings.filters)
    for _ in range(2):  # and again in the next call of the same process
        assert main(["demo"]) == 0
        err = capsys.readouterr().err
        assert err.splitlines() == ["tadfuse: warning: 3 videos skipped", "tadfuse: warning: another message",
                                    "tadfuse: warning: RuntimeWarning: x is odd"], err
        assert ".py" not in err
    assert warnings.filters == filters and warnings.showwarning is not None


def _lengths_bundle(root: Path) -> Path:
    """A W-TALC bundle whose feature lengths disagree with the durations (a DataWarning + note)."""
    from tadfuse.data import write_wtalc

    lengths = [100, 90, 160]
    return write_wtalc(root, name="L", videos=[f"v{k}" for k in range(3)], subsets=["test"] * 3,
                       class_names=["c"], durations=[64.0] * 3, segments=[[[0.0, 1.0]]] * 3,
                       segment_labels=[["c"]] * 3, video_labels=[["c"]] * 3,
                       features=[np.zeros((T, 2), np.float32) for T in lengths])


def test_warned_notes_are_not_repeated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _lengths_bundle(tmp_path / "b")
    assert main(["data", "info", str(root)]) == 0
    out, err = capsys.readouterr()
    assert err.count("feature count far from") == 1 and err.startswith("tadfuse: warning: ")
    assert "far from" not in out and "note:" not in out
    # eval: a prediction on an unknown video is warned about once, and not repeated as a note
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"database": {"v": {"subset": "test", "annotations": [{"segment": [0, 1], "label": "a"}]}}}))
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps({"results": {"v": [{"label": "a", "score": 1.0, "segment": [0, 1]}],
                                            "w": [{"label": "a", "score": 1.0, "segment": [0, 1]}]}}))
    assert main(["eval", "--gt", str(gt), "--pred", str(pred), "--json", str(tmp_path / "r.json")]) == 0
    out, err = capsys.readouterr()
    assert err.count("outside the evaluated list") == 1 and "outside the evaluated list" not in out
    assert any("outside" in n for n in json.loads((tmp_path / "r.json").read_text())["notes"])  # the file keeps it


def test_missing_file_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["eval", "--gt", str(tmp_path / "nope.json"), "--pred", str(tmp_path / "x.json")])
    _user_error(capsys, rc, "nope.json", "not found")
    gt = tmp_path / "gt.json"
    gt.write_text('{"database": {"v": {"subset": "test", "annotations": [{"segment": [0, 1], "label": "a"}]}}}')
    rc = main(["eval", "--gt", str(gt), "--pred", str(gt), "--videos", str(tmp_path / "list.txt")])
    _user_error(capsys, rc, "list.txt")
    (tmp_path / "list.txt").write_bytes(b"\xff\xfe\x00")
    rc = main(["eval", "--gt", str(gt), "--pred", str(gt), "--videos", str(tmp_path / "list.txt")])
    _user_error(capsys, rc, "list.txt: the video list is not a UTF-8 text file")


def test_malformed_input_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    _user_error(capsys, main(["eval", "--gt", str(bad), "--pred", str(bad)]), "bad.json", "not valid JSON")
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"database": {
        "v": {"subset": "test", "annotations": [{"segment": [0, 1], "label": "a"}]},
        "w": {"subset": "validation", "annotations": [{"segment": [0, 1], "label": "a"}]}}}))
    pred = tmp_path / "pred.json"
    pred.write_text('{"results": {"v": [{"label": "a", "segment": [0, 1]}]}}')  # no score
    _user_error(capsys, main(["eval", "--gt", str(gt), "--pred", str(pred), "--subset", "test"]), "pred.json", "'score'")
    pred.write_text('{"results": {"v": [{"label": "a", "segment": [0, 1], "score": 1}]}}')
    _user_error(capsys, main(["eval", "--gt", str(gt), "--pred", str(pred)]), "CLI: --subset or --videos")
    _user_error(capsys, main(["eval", "--gt", str(gt), "--pred", str(pred), "--subset", "tset"]), "'tset'")
    _user_error(capsys, main(["eval", "--gt", str(gt), "--pred", str(pred), "--subset", "test", "--zero-map-bug"]),
                "zero_map_bug applies to protocol 'wtalc'")
    _user_error(capsys, main(["data", "info", str(tmp_path)]), "no W-TALC annotations found")


# --------------------------------------------------------------------------------------------
# argument checks: every number flag is validated by argparse, naming the flag
# --------------------------------------------------------------------------------------------


def _all_parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_parsers(sub)


def test_no_number_flag_takes_a_bare_int_or_float() -> None:
    """Every integer/float option has a range-checking type (a bare ``int``/``float`` lets 0,
    -1 and nan through); --thumos-list is fine with int because it has choices."""
    for p in _all_parsers(build_parser()):
        for action in p._actions:
            if action.type in (int, float):
                assert action.choices is not None, (p.prog, action.option_strings)


@pytest.mark.parametrize(
    ("argv", "flag", "value"),
    [
        (["demo"], "--videos", "3"),
        (["demo"], "--epochs", "0"),
        (["demo"], "--epochs", "2.5"),
        (["demo"], "--seed", "-1"),
        (["demo"], "--plots", "-1"),
        (["train", "--data", "d", "--out", "o"], "--epochs", "0"),
        (["train", "--data", "d", "--out", "o"], "--seed", "-1"),
        (["train", "--data", "d", "--out", "o"], "--checkpoint-every", "0"),
        (["train", "--data", "d", "--out", "o"], "--preset", "nope"),
        (["eval", "--gt", "g", "--pred", "p"], "--tiou", "0"),
        (["eval", "--gt", "g", "--pred", "p"], "--tiou", "1.5"),
        (["eval", "--gt", "g", "--pred", "p"], "--snippet-seconds", "-0.64"),
        (["data", "synth", "--kind", "toy", "--out", "o"], "--seed", "-1"),
        (["data", "synth", "--kind", "toy", "--out", "o"], "--num-videos", "1"),
        (["data", "synth", "--kind", "toy", "--out", "o"], "--num-classes", "0"),
        (["data", "synth", "--kind", "toy", "--out", "o"], "--feature-dim", "0"),
        (["data", "info", "d"], "--fps", "0"),
        (["data", "info", "d"], "--fps", "nan"),
        (["data", "info", "d"], "--stride", "-16"),
        (["data", "info", "d"], "--offset", "-1"),
        (["data", "convert", "a", "b", "--to", "wtalc"], "--stride", "inf"),
        (["plot", "--out", "o"], "--max-videos", "0"),
        (["plot", "--out", "o"], "--max-videos", "-1"),
        (["plot", "--out", "o"], "--snippet-seconds", "0"),
        (["detect", "--cas", "c", "--out", "o"], "--threads", "0"),
        (["detect", "--cas", "c", "--out", "o"], "--threads", str(tadfuse.postprocess.MAX_THREADS + 1)),
        (["detect", "--cas", "c", "--out", "o"], "--set", "temperature"),
        (["detect", "--cas", "c", "--out", "o"], "--set", "postprocess.temperature="),
    ],
)
def test_bad_numbers_are_usage_errors_naming_the_flag(capsys, argv: list[str], flag: str, value: str) -> None:
    _usage_error(capsys, [*argv, flag, value], f"argument {flag}:", repr(value))


def test_demo_library_checks_its_arguments(tmp_path: Path) -> None:
    for kw, name in ((dict(videos=3), "videos"), (dict(seed=-1), "seed"), (dict(plots=-1), "plots")):
        with pytest.raises(InvalidArgumentError, match=f"`{name}`"):
            run_demo(tmp_path / name, **kw)
    with pytest.raises(InvalidArgumentError, match="length"):
        synthetic_tcam(0, 3, np.random.default_rng(0))


# --------------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------------


def test_demo_trains_evaluates_and_prints_one_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["demo", "--videos", "12", "--epochs", "3", "--seed", "3", "--plots", "1"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    for row in ("RSKP baseline (no pseudo labels) + NMS", "RSKP baseline (no pseudo labels) + fusion",
                "+ LinPro / Δ pseudo labels + NMS", "+ LinPro / Δ pseudo labels + fusion"):
        assert row in out
    assert re.search(r"0\.1\s+0\.2\s+0\.3\s+0\.4\s+0\.5\s+0\.6\s+0\.7\s+avg", out)
    assert re.search(r"fusion \d+\.\d+ ms, NMS \d+\.\d+ ms", out)
    a = tmp_path / "a"
    assert sorted(p.name for p in (a / "detections").iterdir()) == [
        "baseline_fusion.json", "baseline_nms.json", "method_fusion.json", "method_nms.json"]
    assert len(list((a / "plots").glob("*.png"))) == 1
    assert (a / "runs" / "method" / "checkpoints" / "last.pt").is_file()
    # the same seed gives the same table (run through the same CLI again)
    assert main([*argv, "--plots", "0", "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert (a / "table.txt").read_text() == (tmp_path / "b" / "table.txt").read_text()
    # the detections written score like the table says (the same evaluate as tadfuse eval)
    table = (a / "table.txt").read_text()
    result = tadfuse.evaluate(a / "data", a / "detections" / "method_nms.json", protocol="wtalc")
    assert f"{100 * result.average_mAP:6.2f}" in table.splitlines()[-2]
    assert main([*argv, "--out", str(a)]) == 2  # an existing output folder
    assert "not empty" in capsys.readouterr().err


def test_demo_detects_the_planted_actions() -> None:
    rng = np.random.default_rng(0)
    v = tcam_from_segments(400, 5, np.array([2]), np.array([100.0]), np.array([140.0]), rng)
    det = tadfuse.detect(v.cas, v.video_scores)
    assert set(det.label.tolist()) == {2}
    best = det[0]
    assert abs(best.start[0] - 100) <= 2 and abs(best.end[0] - 140) <= 3


# --------------------------------------------------------------------------------------------
# data: flags instead of Python-only arguments, wrong directions, export-gt
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tadfuse.data import make_toy

    return make_toy(tmp_path_factory.mktemp("toy") / "toy", num_videos=6, feature_dim=2, seed=0)


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_wtalc_feature_file_flags(toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b = _copy(toy, tmp_path / "b")
    shutil.copyfile(b / "Toy-I3D-JOINTFeatures.npy", b / "Other-I3D-JOINTFeatures.npy")
    _user_error(capsys, main(["data", "info", str(b)]), "several feature files", "(CLI: --name or --features)")
    assert main(["data", "info", str(b), "--name", "Other"]) == 0
    assert "Other-I3D-JOINTFeatures.npy" in capsys.readouterr().out
    assert main(["data", "info", str(b), "--features", str(b / "Toy-I3D-JOINTFeatures.npy")]) == 0
    assert "Toy-I3D-JOINTFeatures.npy" in capsys.readouterr().out
    assert main(["data", "convert", str(b), str(tmp_path / "f"), "--to", "folders", "--name", "Toy"]) == 0
    assert "FolderDataset" in capsys.readouterr().out
    for n in ("Toy", "Other"):
        (b / f"{n}-I3D-JOINTFeatures.npy").unlink()
    _user_error(capsys, main(["data", "info", str(b)]), "(CLI: --features)", "(CLI: --no-features)")
    # two annotation folders: --annotation-dir chooses
    c = tmp_path / "c"
    c.mkdir()
    for sub in ("A-Annotations", "B-Annotations"):
        shutil.copytree(toy, c / sub, ignore=shutil.ignore_patterns("*JOINTFeatures.npy"))
    _user_error(capsys, main(["data", "info", str(c), "--no-features"]), "(CLI: --annotation-dir)")
    assert main(["data", "info", str(c), "--no-features", "--annotation-dir", str(c / "B-Annotations")]) == 0
    # options for the other layout are errors, not ignored
    _user_error(capsys, main(["data", "info", str(c), "--fps", "25"]), "--fps applies to per-video folder datasets")
    _user_error(capsys, main(["data", "info", str(tmp_path / "f"), "--name", "X"]), "--name applies to W-TALC bundles")


def test_folder_dataset_flags(toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "f"
    assert main(["data", "convert", str(toy), str(f), "--to", "folders"]) == 0
    capsys.readouterr()
    gone = sorted((f / "features").iterdir())[0]
    gone.unlink()
    _user_error(capsys, main(["data", "info", str(f)]), "have no feature file", "(CLI: --missing skip)")
    assert main(["data", "info", str(f), "--missing", "skip"]) == 0
    out, err = capsys.readouterr()
    assert "videos: 5" in out and err.count("tadfuse: warning: ") == 1 and "skipped" in err
    # a timebase flag without its partner names the missing flag
    data = json.loads((f / "annotations.json").read_text())
    del data["tadfuse"]["snippet_seconds"]
    (f / "annotations.json").write_text(json.dumps(data))
    _user_error(capsys, main(["data", "info", str(f), "--missing", "skip", "--fps", "30"]),
                "fps= needs stride=", "CLI: --stride")
    assert main(["data", "info", str(f), "--missing", "skip", "--fps", "25", "--stride", "16"]) == 0
    assert "snippet seconds: 0.64" in capsys.readouterr().out
    _user_error(capsys, main(["data", "info", str(f), "--no-features", "--rescaled"]),
                "--rescaled applies to reading features (not with --no-features)")
    _user_error(capsys, main(["data", "convert", str(f), str(tmp_path / "w"), "--to", "wtalc", "--stride", "16",
                              "--fps", "25"]), "have no feature file", "(CLI: --missing skip)")
    assert main(["data", "convert", str(f), str(tmp_path / "w"), "--to", "wtalc", "--stride", "16", "--fps", "25",
                 "--missing", "skip"]) == 0
    assert "videos: 5" in capsys.readouterr().out


def test_convert_in_the_wrong_direction(toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _user_error(capsys, main(["data", "convert", str(toy), str(tmp_path / "x"), "--to", "wtalc"]),
                "is a W-TALC bundle already", "--to folders converts this one")
    f = tmp_path / "f"
    assert main(["data", "convert", str(toy), str(f), "--to", "folders"]) == 0
    capsys.readouterr()
    _user_error(capsys, main(["data", "convert", str(f), str(tmp_path / "y"), "--to", "folders"]),
                "is a per-video folder dataset already", "--to wtalc converts this one")
    _user_error(capsys, main(["data", "convert", str(tmp_path), str(tmp_path / "z"), "--to", "folders"]),
                "no dataset found")
    _user_error(capsys, main(["data", "convert", str(f), str(tmp_path / "y"), "--to", "wtalc", "--features", "x"]),
                "--features applies to --to folders only")
    for src, to in ((toy, "folders"), (f, "wtalc")):
        _user_error(capsys, main(["data", "convert", str(src), str(src), "--to", to, "--overwrite"]),
                    "the output folder holds the source dataset")
    assert not any((tmp_path / n).exists() for n in "xyz")


def test_export_gt(toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tadfuse.annotations import GroundTruth
    from tadfuse.data import load_wtalc

    ds = load_wtalc(toy, features=False)
    out = tmp_path / "gt" / "test.json"
    assert main(["data", "export-gt", str(toy), "--out", str(out), "--subset", "test"]) == 0
    assert f"wrote {out}: 3 videos (subset 'test')" in capsys.readouterr().out
    back = GroundTruth.from_activitynet(out)
    want = ds.ground_truth("test")
    assert back.videos == want.videos and back.class_names == want.class_names and set(back.subsets) == {"test"}
    for v in want.videos:
        np.testing.assert_array_equal(back.segments(v)[0], want.segments(v)[0])
        np.testing.assert_allclose(back.segments(v)[1], want.segments(v)[1])
        np.testing.assert_allclose(back.ambiguous(v), want.ambiguous(v))
    np.testing.assert_allclose(back.snippet_seconds, 0.64)
    # a per-video folder dataset gives the same file; the whole dataset without --subset
    f = tmp_path / "f"
    assert main(["data", "convert", str(toy), str(f), "--to", "folders"]) == 0
    assert main(["data", "export-gt", str(f), "--out", str(tmp_path / "f.json"), "--subset", "test"]) == 0
    assert json.loads((tmp_path / "f.json").read_text())["database"] == json.loads(out.read_text())["database"]
    assert main(["data", "export-gt", str(toy), "--out", str(tmp_path / "all.json")]) == 0
    assert len(GroundTruth.from_activitynet(tmp_path / "all.json").videos) == 6
    capsys.readouterr()
    _user_error(capsys, main(["data", "export-gt", str(toy), "--out", str(tmp_path / "x.json"), "--subset", "tst"]),
                "no videos in subset 'tst'")
    _user_error(capsys, main(["data", "export-gt", str(f), "--out", str(f / "annotations.json")]),
                "the dataset's own annotation file")
    assert not (tmp_path / "x.json").exists()


# --------------------------------------------------------------------------------------------
# detect
# --------------------------------------------------------------------------------------------


def _tcam_folder(tmp_path: Path, *, background: bool = True, videos: int = 5, dtype=np.float32) -> Path:
    """Generated TCAMs of 3 classes (+ a background column that is high everywhere)."""
    from tadfuse.tcam_io import write_tcam, write_tcam_meta

    folder = write_tcam_meta(tmp_path / "tcams", class_names=["jump", "run", "swim"], background=background,
                             snippet_seconds=0.5, offset_seconds=1.0, producer="tests")
    rng = np.random.default_rng(7)
    for k in range(videos):
        v = synthetic_tcam(int(rng.integers(80, 300)), 3, rng)
        cas, scores = v.cas, v.video_scores
        if background:
            cas = np.concatenate([cas, np.full((cas.shape[0], 1), 0.5)], axis=1)
            scores = np.append(scores, 1.0)
        write_tcam(folder, f"vid{k:02d}", cas.astype(dtype), scores.astype(dtype))
    return folder


def _expected(folder: Path, cfg) -> dict[str, list[dict]]:
    from tadfuse.annotations import activitynet_results
    from tadfuse.tcam_io import read_tcam_folder

    tc = read_tcam_folder(folder)
    recs = list(tc)
    c = tc.meta.num_classes
    dets = tadfuse.detect_batch([r.tcam[:, :c] for r in recs], [r.video_scores[:c] for r in recs], cfg)
    return activitynet_results(dict(zip(tc.videos, dets)), tc.meta.class_names, snippet_seconds=0.5,
                               offset_seconds=1.0)["results"]


def test_detect_writes_activitynet_detections(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _tcam_folder(tmp_path)
    out = tmp_path / "out" / "pred.json"
    assert main(["detect", "--cas", str(folder), "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["results"] == _expected(folder, tadfuse.PostprocessConfig.official())
    n = sum(map(len, data["results"].values()))
    assert n > 0 and f"wrote {out}: {n} detections in 5 videos (fusion, preset official)" in capsys.readouterr().out
    labels = {d["label"] for dets in data["results"].values() for d in dets}
    assert labels <= {"jump", "run", "swim"}  # never the background column
    prov = data["tadfuse"]["provenance"]
    assert prov["tadfuse_version"] == tadfuse.__version__ and prov["preset"] == "official"
    assert prov["inputs"]["cas"] == str(folder.resolve()) and prov["inputs"]["cas_provenance"]["producer"] == "tests"
    assert prov["config"]["postprocess"]["method"] == "fusion"
    assert prov["config"] == tadfuse.config.get_preset("official").to_dict()
    # the file reads back through the validating reader, and scores against ground truth in seconds
    from tadfuse.annotations import read_activitynet_results

    assert read_activitynet_results(out)["results"] == data["results"]


def test_detect_background_column_is_never_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_bg = _tcam_folder(tmp_path / "a", background=True, dtype=np.float64)
    without = _tcam_folder(tmp_path / "b", background=False, dtype=np.float64)
    for folder in (with_bg, without):
        assert main(["detect", "--cas", str(folder), "--out", str(folder / "pred.json")]) == 0
    a, b = (json.loads((f / "pred.json").read_text())["results"] for f in (with_bg, without))
    assert a == b  # the same foreground columns: the background column changes nothing


def test_detect_configuration_options(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _tcam_folder(tmp_path)
    cfg = tadfuse.PostprocessConfig.official()
    for extra, want in ((["--postprocess", "nms"], cfg.replace(method="nms")),
                        (["--preset", "paper"], tadfuse.PostprocessConfig.paper()),
                        (["--set", "postprocess.temperature=0.05"], cfg.replace(temperature=0.05)),
                        (["--set", "postprocess.sigma=0.3", "--postprocess", "soft_nms"],
                         cfg.replace(sigma=0.3, method="soft_nms")),
                        (["--set", "postprocess.method=nms", "--postprocess", "nms"], cfg.replace(method="nms"))):
        out = tmp_path / "p.json"
        assert main(["detect", "--cas", str(folder), "--out", str(out), "--threads", "1", *extra]) == 0, extra
        data = json.loads(out.read_text())
        assert data["results"] == _expected(folder, want), extra
        assert data["tadfuse"]["provenance"]["config"]["postprocess"] == want.to_dict(), extra
    capsys.readouterr()
    _user_error(capsys, main(["detect", "--cas", str(folder), "--out", str(out), "--postprocess", "nms",
                              "--set", "postprocess.method=fusion"]), "--postprocess nms and --set", "disagree")
    _usage_error(capsys, ["detect", "--cas", str(folder), "--out", "o", "--preset", "nope"],
                 "argument --preset: unknown preset 'nope'")
    _usage_error(capsys, ["detect", "--cas", str(folder), "--out", "o", "--postprocess", "wbf"],
                 "argument --postprocess: invalid choice")


def test_detect_passes_the_options_to_load_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tadfuse.config as config

    folder = _tcam_folder(tmp_path, videos=1)
    real = config.load_config
    calls = []

    def spy(preset=None, file=None, overrides=()):
        calls.append((preset, file, list(overrides)))
        return real(preset, None, overrides)

    monkeypatch.setattr(config, "load_config", spy)
    assert main(["detect", "--cas", str(folder), "--out", str(tmp_path / "p.json"), "--preset", "paper",
                 "--config", "my.toml", "--set", "postprocess.threshold=0.3", "--set", "postprocess.class_threshold=0.2",
                 "--postprocess", "nms"]) == 0
    assert calls == [("paper", "my.toml",
                      ["postprocess.threshold=0.3", "postprocess.class_threshold=0.2", "postprocess.method=nms"])]
    assert main(["detect", "--cas", str(folder), "--out", str(tmp_path / "p.json")]) == 0
    assert calls[-1] == (None, None, [])  # no --preset: load_config takes the --config file's, else official


def test_detect_input_errors(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    _user_error(capsys, main(["detect", "--cas", str(tmp_path / "nope"), "--out", "o.json"]),
                "nope: TCAM folder not found")
    folder = _tcam_folder(tmp_path, videos=0)
    _user_error(capsys, main(["detect", "--cas", str(folder), "--out", "o.json"]), "no <video>.npz TCAM files")
    np.savez(folder / "v.npz", tcam=np.zeros((5, 3)), video_scores=np.zeros(4))
    _user_error(capsys, main(["detect", "--cas", str(folder), "--out", str(tmp_path / "o.json")]),
                "v.npz: `tcam` must have shape (l, K) with K = 4")
    _user_error(capsys, main(["detect", "--cas", str(folder), "--out", "o.json", "--set", "postprocess.nope=1"]),
                "postprocess.nope")
    assert not (tmp_path / "o.json").exists()


# --------------------------------------------------------------------------------------------
# plot (the figures themselves: tests/test_viz.py)
# --------------------------------------------------------------------------------------------


def _plot_gt(tmp_path: Path) -> str:
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"database": {
        "v1": {"subset": "test", "duration": 20.0, "annotations": [{"segment": [1.0, 5.0], "label": "a"}]},
        "v2": {"subset": "test", "duration": 20.0, "annotations": [{"segment": [2.0, 6.0], "label": "a"}]}}}))
    return str(gt)


def test_plot_without_matplotlib_is_a_one_line_error(tmp_path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    rc = main(["plot", "--gt", _plot_gt(tmp_path), "--out", str(tmp_path / "png")])
    _user_error(capsys, rc, 'pip install "tadfuse[plot]"')


def test_plot_unknown_videos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    gt = _plot_gt(tmp_path)
    rc = main(["plot", "--gt", gt, "--videos", "typo", "v1_typo", "--out", str(tmp_path / "png")])
    _user_error(capsys, rc, "none of the --videos", "'typo'", "'v1_typo'")
    assert not (tmp_path / "png").exists()
    assert main(["plot", "--gt", gt, "--videos", "v2", "typo", "--out", str(tmp_path / "png")]) == 0
    err = capsys.readouterr().err
    assert err.splitlines() == ["tadfuse: warning: 1 of the --videos are in none of the inputs and are skipped: "
                                "['typo']"]
    assert (tmp_path / "png" / "v2.png").is_file() and not (tmp_path / "png" / "typo.png").exists()


# --------------------------------------------------------------------------------------------
# train and infer
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tadfuse.demo import demo_dataset

    return demo_dataset(tmp_path_factory.mktemp("demo") / "data", videos=12, seed=0)


@pytest.fixture(scope="module")
def demo_run(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("run") / "run"
    assert main(["train", "--preset", "demo", "--data", str(demo_data), "--out", str(run), "--epochs", "2",
                 "--seed", "1", "--checkpoint-every", "1", "--set", "train.eval_every=1"]) == 0
    return run


def test_train_writes_a_run_and_resumes(demo_data: Path, demo_run: Path, capsys) -> None:
    assert (demo_run / "checkpoints" / "epoch_0001.pt").is_file() and (demo_run / "checkpoints" / "last.pt").is_file()
    cfg = tadfuse.config.load_config(None, demo_run / "config.toml")
    assert (cfg.preset, cfg.train.epochs, cfg.train.seed, cfg.train.checkpoint_every) == ("demo", 2, 1, 1)
    assert main(["train", "--resume", str(demo_run)]) == 0  # finished: nothing left to do
    out = capsys.readouterr().out
    assert "2 epochs recorded (preset demo)" in out and re.search(r"best epoch \d: average mAP \d+\.\d\d", out)
    lines = (demo_run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [0, 1]


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["train", "--preset", "demo"], ["--data and --out required", "--resume"]),
        (["train", "--preset", "demo", "--data", "d"], ["--out required"]),
        (["train", "--resume", "R", "--epochs", "3", "--set", "train.seed=1"], ["--resume", "--set", "--epochs"]),
        (["train", "--resume", "R", "--preset", "demo"], ["drop --preset"]),
    ],
)
def test_train_flag_errors_are_one_line(argv, needles, capsys) -> None:
    err = _user_error(capsys, main(argv), *needles)
    assert err.count("\n") == 0


def test_train_input_errors_name_the_flag(demo_data: Path, demo_run: Path, tmp_path: Path, capsys) -> None:
    _user_error(capsys, main(["train", "--preset", "demo", "--data", str(tmp_path / "nope"), "--out",
                              str(tmp_path / "r")]), "no such dataset folder", "--data")
    _user_error(capsys, main(["train", "--preset", "demo", "--data", str(demo_data), "--out", str(demo_run)]),
                "already holds a run", "--resume")
    _user_error(capsys, main(["train", "--preset", "demo", "--data", str(demo_data), "--out", str(tmp_path / "r"),
                              "--device", "not-a-device"]), "--device")
    _user_error(capsys, main(["train", "--resume", str(tmp_path)]), "not a run folder", "--resume")
    _user_error(capsys, main(["train", "--preset", "demo", "--data", str(demo_data), "--out", str(tmp_path / "r2"),
                              "--set", "model.feature_dim=5"]), "model.feature_dim = 5", "feature_dim = 32")
    _user_error(capsys, main(["train", "--preset", "demo", "--data", str(demo_data), "--out", str(tmp_path / "r3"),
                              "--set", "train.nope=1"]), "unknown setting `train.nope`")


def test_infer_writes_detections_and_raw_tcams(demo_data: Path, demo_run: Path, tmp_path: Path, capsys) -> None:
    pred, raw = tmp_path / "pred.json", tmp_path / "raw"
    assert main(["infer", "--checkpoint", str(demo_run), "--data", str(demo_data), "--out", str(pred),
                 "--postprocess", "nms", "--save-raw", str(raw)]) == 0
    assert "(nms, preset demo)" in capsys.readouterr().out
    written = json.loads(pred.read_text())
    prov = written["tadfuse"]["provenance"]
    assert prov["preset"] == "demo" and prov["config"]["postprocess"]["method"] == "nms"
    assert prov["inputs"]["command"] == "tadfuse infer" and prov["inputs"]["checkpoint_kind"] == "run"
    assert prov["inputs"]["checkpoint"].endswith("last.pt") and prov["inputs"]["split"] == "test"
    from tadfuse.data import load_dataset
    from tadfuse.tcam_io import read_tcam_folder

    ds = load_dataset(demo_data)
    folder = read_tcam_folder(raw)
    assert folder.meta.background and list(folder.meta.class_names) == list(ds.class_names)
    assert sorted(folder.videos) == sorted(ds.names[i] for i in ds.split("test"))
    for t in folder:
        assert t.tcam.shape == (ds.num_snippets(t.video), ds.num_classes + 1) and t.video_scores.shape == (5,)
    # detect on the raw folder gives the same detections: they are what the post-processing consumed
    again = tmp_path / "again.json"
    assert main(["detect", "--cas", str(raw), "--out", str(again), "--preset", "demo", "--postprocess", "nms"]) == 0
    a, b = json.loads(pred.read_text())["results"], json.loads(again.read_text())["results"]
    exact = lambda res: {v: [(d["label"], d["score"], d["snippets"]) for d in ds_] for v, ds_ in res.items()}
    assert exact(a) == exact(b)  # (detect knows no durations, so only infer clips the seconds)
    durations = dict(zip(ds.names, ds.durations))
    for video, dets in a.items():
        assert all(d["label"] in ds.class_names for d in dets)  # never the background column
        assert all(d["segment"][1] <= durations[video] + 1e-9 for d in dets)  # clipped to the duration


def test_infer_errors_are_one_line(demo_data: Path, demo_run: Path, tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "p.json")
    _user_error(capsys, main(["infer", "--checkpoint", str(tmp_path / "nope.pkl"), "--data", str(demo_data),
                              "--out", out]), "no such checkpoint file", "--checkpoint")
    _user_error(capsys, main(["infer", "--checkpoint", str(tmp_path), "--data", str(demo_data), "--out", out]),
                "without checkpoints/last.pt")
    _user_error(capsys, main(["infer", "--checkpoint", str(demo_run), "--data", str(demo_data), "--out", out,
                              "--preset", "official"]), "--preset and --config apply to released")
    _user_error(capsys, main(["infer", "--checkpoint", str(demo_run), "--data", str(demo_data), "--out", out,
                              "--split", "nosuch"]), "no videos in subset 'nosuch'")
    _user_error(capsys, main(["infer", "--checkpoint", str(demo_run), "--data", str(demo_data), "--out", out,
                              "--postprocess", "nms", "--set", "postprocess.method=fusion"]), "--postprocess nms")
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"not a torch file")
    _user_error(capsys, main(["infer", "--checkpoint", str(bad), "--data", str(demo_data), "--out", out]),
                "bad.pkl")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "meta.json").write_text("{}")
    _user_error(capsys, main(["infer", "--checkpoint", str(demo_run), "--data", str(demo_data), "--out", out,
                              "--save-raw", str(raw)]), str(raw))
