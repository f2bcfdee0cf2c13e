"""Streaming ``tadfuse infer``: the fast JSON text equals `activitynet_results`; the streamed file
equals the in-memory inference; JSON lines; a torn progress line; resume after SIGKILL at random
moments gives the uninterrupted file byte for byte; --from-raw equals the run that saved the TCAMs;
--on-error skip names and counts corrupt feature files and keeps what was written."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import package_path

torch = pytest.importorskip("torch")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from tadfuse.annotations import activitynet_results  # noqa: E402
from tadfuse.cli import main  # noqa: E402
from tadfuse.config import PostprocessConfig  # noqa: E402
from tadfuse.data import wtalc_to_folders  # noqa: E402
from tadfuse.demo import demo_dataset  # noqa: E402
from tadfuse.engine import infer  # noqa: E402
from tadfuse.engine.inference import infer_to_file  # noqa: E402
from tadfuse.engine.stream import (  # noqa: E402
    JSONL_FORMAT,
    VideoInfo,
    detections_json,
    detections_json_batch,
    partial_path,
    read_progress,
    stream_detections,
)
from tadfuse.errors import DataFormatError, InvalidArgumentError  # noqa: E402
from tadfuse.proposals import Proposals  # noqa: E402
from tadfuse.tcam_io import write_tcam, write_tcam_meta  # noqa: E402

CLASSES = ["A", 'B "quoted"', "C\u00e9"]


@st.composite
def proposals(draw):
    n = draw(st.integers(0, 12))
    fl = st.floats(0, 500, allow_nan=False, allow_infinity=False)
    start = np.array(draw(st.lists(fl, min_size=n, max_size=n)), np.float64)
    length = np.array(draw(st.lists(st.floats(0, 50), min_size=n, max_size=n)), np.float64)
    score = np.array(draw(st.lists(st.floats(-5, 5, allow_nan=False), min_size=n, max_size=n)), np.float64)
    label = np.array(draw(st.lists(st.integers(0, len(CLASSES) - 1), min_size=n, max_size=n)), np.int64)
    return Proposals(label, start, start + length, score)


@settings(max_examples=60, deadline=None)
@given(proposals(), st.sampled_from([0.64, 0.32, 1 / 3]), st.sampled_from([0.0, 0.5]),
       st.sampled_from([float("nan"), 3.0, 1e9]))
def test_detection_text_equals_activitynet_results(p, ss, off, dur):
    labels = [json.dumps(c) for c in CLASSES]
    text, clipped = detections_json(p, labels, VideoInfo(ss, off, dur))
    ref = activitynet_results({"v": p}, CLASSES, snippet_seconds=ss, offset_seconds=off, durations={"v": dur})
    assert json.loads(text) == ref["results"]["v"]
    assert clipped == ref["tadfuse"]["clipped_to_duration"]


def _hex(obj):
    """Floats as their hex spelling (distinguishes -0.0 and every bit), recursively."""
    if isinstance(obj, float):
        return obj.hex()
    if isinstance(obj, list):
        return [_hex(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _hex(v) for k, v in obj.items()}
    return obj


_EXTREME = st.one_of(st.floats(0, 1e300), st.sampled_from([0.0, -0.0, 5e-324, 2.2250738585072014e-308, 1e300,
                                                            0.1 + 0.2, 123456789.12345679, 1e16, 1e-7]))
LABELS = ["A", 'B "quoted" \\ back', "C\u00e9 \U0001F600", "tab\tnew\nline"]


@st.composite
def extreme_proposals(draw):
    n = draw(st.integers(0, 8))
    start = np.array(draw(st.lists(_EXTREME, min_size=n, max_size=n)), np.float64)
    length = np.array(draw(st.lists(_EXTREME, min_size=n, max_size=n)), np.float64)
    score = np.array(draw(st.lists(st.floats(allow_nan=False, allow_infinity=False) | _EXTREME, min_size=n,
                                   max_size=n)), np.float64)
    label = np.array(draw(st.lists(st.integers(0, len(LABELS) - 1), min_size=n, max_size=n)), np.int64)
    return Proposals(label, start, start + length, score)


@settings(max_examples=80, deadline=None)
@given(st.lists(extreme_proposals(), max_size=5), st.sampled_from([0.64, 1 / 3, 1e-300]),
       st.sampled_from([0.0, 0.5, 1e-310]), st.sampled_from([float("nan"), 3.0, 1e300]), st.booleans(),
       st.sampled_from([1, 2, None]))
def test_batch_text_equals_activitynet_results_bit_for_bit(dets, ss, off, dur, ascii_, threads):
    """Extremes (0, -0.0, subnormal, 1e300, many digits), labels with quotes, backslashes and
    unicode (escaped or raw), empty videos, any thread count: parsed, the same float bits."""
    labels = [json.dumps(c, ensure_ascii=ascii_) for c in LABELS]
    names = [f"v{k}" for k in range(len(dets))]
    texts, clipped = detections_json_batch(dets, labels, [VideoInfo(ss, off, dur)] * len(dets), names, threads)
    ref = activitynet_results(dict(zip(names, dets)), LABELS, snippet_seconds=ss, offset_seconds=off,
                              durations=dur)
    assert [_hex(json.loads(t)) for t in texts] == [_hex(ref["results"][v]) for v in names]
    assert sum(clipped) == ref["tadfuse"]["clipped_to_duration"]
    for p, text, c in zip(dets, texts, clipped):
        assert detections_json(p, labels, VideoInfo(ss, off, dur)) == (text, c)
        assert (text == "[]") == (len(p) == 0)


def test_batch_per_video_timebases_and_errors():
    p = Proposals(np.array([0, 1]), np.array([0.0, 10.0]), np.array([5.0, 20.0]), np.array([1.0, 0.5]))
    infos = [VideoInfo(0.64, 0.0, 5.0), VideoInfo(1 / 3, 0.5, math.nan)]
    labels = [json.dumps(c) for c in CLASSES]
    texts, clipped = detections_json_batch([p, p], labels, infos, ["a", "b"])
    for text, c, info in zip(texts, clipped, infos):
        ref = activitynet_results({"v": p}, CLASSES, snippet_seconds=info.snippet_seconds,
                                  offset_seconds=info.offset_seconds, durations={"v": info.duration})
        assert _hex(json.loads(text)) == _hex(ref["results"]["v"]) and c == ref["tadfuse"]["clipped_to_duration"]
    assert clipped == [1, 0]  # row 1 ends at 12.8 s > 5 s
    neg = Proposals(np.array([0]), np.array([-1.0]), np.array([5.0]), np.array([1.0]))
    with pytest.raises(InvalidArgumentError, match=r"video 'b': a detection starts before 0 \(-1.0 snippets\)"):
        detections_json_batch([p, neg], labels, infos, ["a", "b"])
    with pytest.raises(InvalidArgumentError, match=r"video 'a': a detection starts before 0 s"):
        detections_json_batch([p], labels, [VideoInfo(1.0, -3.0)], ["a"])
    with pytest.raises(InvalidArgumentError, match="label"):
        detections_json_batch([p], labels[:1], infos[:1], ["a"])
    with pytest.raises(InvalidArgumentError, match="differ in length"):
        detections_json_batch([p], labels, infos, ["a"])
    huge = Proposals(np.array([0]), np.array([1e308]), np.array([1e308]), np.array([1.0]))
    with pytest.raises(InvalidArgumentError, match="seg_start.*finite"):  # seconds overflow: no `inf` in JSON
        detections_json(huge, labels, VideoInfo(2.0))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data = demo_dataset(tmp_path_factory.mktemp("demo") / "data", videos=12, seed=0)
    run = tmp_path_factory.mktemp("run") / "run"
    assert main(["train", "--preset", "demo", "--data", str(data), "--out", str(run), "--epochs", "1",
                 "--seed", "1"]) == 0
    return data, run


def test_streamed_file_equals_the_in_memory_inference(demo, tmp_path):
    data, run = demo
    inf = infer(run, data, device="cpu")
    ref = activitynet_results(inf.detections(), list(inf.class_names), snippet_seconds=inf.snippet_seconds,
                              offset_seconds=inf.offset_seconds, durations=inf.durations)
    for window, qs in ((1, 1), (3, 2), (100, 4)):
        out = tmp_path / f"p{window}.json"
        res = infer_to_file(out, run, data, device="cpu", window=window, queue_size=qs)
        got = json.loads(out.read_text())
        assert got["results"] == ref["results"] and list(got["results"]) == sorted(ref["results"])
        assert got["tadfuse"]["clipped_to_duration"] == ref["tadfuse"]["clipped_to_duration"]
        assert got["tadfuse"]["provenance"]["skipped_videos"] == {"count": 0, "videos": {}}
        assert res.videos == len(inf.videos) and res.detections == sum(len(v) for v in ref["results"].values())
        assert not partial_path(out).exists()
    # JSON lines: the header, then one line per video with the same detections
    jl = tmp_path / "p.jsonl"
    infer_to_file(jl, run, data, device="cpu", fmt="jsonl")
    lines = [json.loads(x) for x in jl.read_text().splitlines()]
    assert lines[0]["format"] == JSONL_FORMAT and lines[0]["tadfuse"]["provenance"]["preset"] == "demo"
    assert {x["video"]: x["detections"] for x in lines[1:]} == ref["results"]
    assert [x["video"] for x in lines[1:]] == sorted(ref["results"]) and set(lines[1]) == {"video", "detections"}


def test_from_raw_equals_the_run_that_saved_the_tcams(demo, tmp_path):
    data, run = demo
    a, raw = tmp_path / "a.json", tmp_path / "raw"
    assert main(["infer", "--checkpoint", str(run), "--data", str(data), "--out", str(a), "--save-raw", str(raw)]) == 0
    b = tmp_path / "b.json"
    assert main(["infer", "--from-raw", str(raw), "--out", str(b), "--preset", "demo"]) == 0
    assert json.loads(a.read_text())["results"] == json.loads(b.read_text())["results"]  # durations kept too
    nms = tmp_path / "nms.json"
    assert main(["infer", "--from-raw", str(raw), "--out", str(nms), "--preset", "demo", "--postprocess", "nms"]) == 0
    assert json.loads(nms.read_text())["tadfuse"]["provenance"]["config"]["postprocess"]["method"] == "nms"


def test_from_raw_flag_errors_are_one_line(demo, tmp_path, capsys):
    data, _ = demo
    assert main(["infer", "--from-raw", str(tmp_path), "--data", str(data), "--out", str(tmp_path / "x")]) == 2
    assert "--from-raw reads TCAMs: drop --data" in capsys.readouterr().err
    assert main(["infer", "--out", str(tmp_path / "x")]) == 2
    assert "--checkpoint and --data are required" in capsys.readouterr().err


def _raw_folder(folder: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    write_tcam_meta(folder, class_names=CLASSES, background=True, snippet_seconds=0.64, producer="test")
    for i in range(n):
        t = rng.random((int(rng.integers(5, 60)), len(CLASSES) + 1))
        write_tcam(folder, f"video_{i:04d}", t, rng.random(len(CLASSES) + 1))


def test_a_torn_last_line_is_dropped_on_resume(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    _raw_folder(raw, 30)
    full = tmp_path / "full.jsonl"
    infer_to_file(full, from_raw=raw, fmt="jsonl")
    out = tmp_path / "out.jsonl"
    part = partial_path(out)
    # a run that dies in its third window leaves two windows (14 videos) in the progress file
    from tadfuse.tcam_io import TcamFolder

    real_read, calls = TcamFolder.read, []

    def dying_read(self, video):
        calls.append(video)
        if len(calls) > 14:
            raise KeyboardInterrupt
        return real_read(self, video)

    monkeypatch.setattr(TcamFolder, "read", dying_read)
    with pytest.raises(KeyboardInterrupt):
        infer_to_file(out, from_raw=raw, fmt="jsonl", window=7, queue_size=1)
    monkeypatch.setattr(TcamFolder, "read", real_read)
    assert not out.exists() and len(read_progress(part).done) == 14
    whole = part.read_bytes()
    part.write_bytes(whole + whole.splitlines(keepends=True)[3][:40])  # and a torn line after them
    prog = read_progress(part)
    assert len(prog.done) == 14 and prog.end == len(whole)
    res = infer_to_file(out, from_raw=raw, fmt="jsonl", resume=True)
    assert res.resumed == 14 and res.videos == 30
    assert out.read_bytes() == full.read_bytes()


def test_resume_refuses_other_settings(tmp_path):
    raw = tmp_path / "raw"
    _raw_folder(raw, 5)
    out = tmp_path / "o.json"
    part = partial_path(out)
    part.write_text(json.dumps({"format": JSONL_FORMAT, "tadfuse": {"provenance": {"other": 1}}}) + "\n")
    with pytest.raises(DataFormatError, match="other settings"):
        infer_to_file(out, from_raw=raw, resume=True)
    part.write_text('{"video": 1}\n')
    with pytest.raises(DataFormatError, match="not a tadfuse progress file"):
        infer_to_file(out, from_raw=raw, resume=True)
    part.write_text('{"tadfuse": 1}\n{"video": "x", "detections": []}\n')
    with pytest.raises(DataFormatError, match="not a tadfuse progress file"):
        infer_to_file(out, from_raw=raw, resume=True)


@pytest.mark.parametrize("left", [b"", b'{"format": "tadfuse-detec'])
def test_a_progress_file_killed_before_its_header_is_whole_starts_again(tmp_path, left):
    raw = tmp_path / "raw"
    _raw_folder(raw, 5)
    ref = infer_to_file(tmp_path / "ref.json", from_raw=raw)
    out = tmp_path / "o.json"
    partial_path(out).write_bytes(left)
    assert read_progress(partial_path(out)).end == 0
    res = infer_to_file(out, from_raw=raw, resume=True)
    assert res.resumed == 0 and res.videos == 5
    assert out.read_bytes() == ref.path.read_bytes()


def _kill_and_resume(argv: list[str], env: dict[str, str], rng: random.Random, kills: int) -> int:
    """Runs ``argv --resume`` until it finishes, SIGKILLing the first ``kills`` runs after a
    random delay; returns how many runs were killed mid-way."""
    killed = 0
    for _ in range(kills + 20):
        proc = subprocess.Popen(argv + ["--resume"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if killed < kills:
            try:
                proc.wait(timeout=rng.uniform(1.0, 4.0))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                killed += 1
                continue
        else:
            proc.wait(timeout=300)
        assert proc.returncode == 0, proc.stderr.read().decode() if proc.stderr else ""
        return killed
    raise AssertionError("did not finish")


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_sigkill_at_random_moments_then_resume_equals_an_uninterrupted_run(tmp_path, fmt):
    raw = tmp_path / "raw"
    _raw_folder(raw, 1500, seed=3)
    env = {**os.environ, "PYTHONPATH": package_path()}
    base = [sys.executable, "-m", "tadfuse", "infer", "--from-raw", str(raw), "--format", fmt, "--window", "4",
            "--queue-size", "2", "--threads", "1"]
    ref = tmp_path / f"ref.{fmt}"
    subprocess.run(base + ["--out", str(ref)], env=env, check=True, capture_output=True)
    out = tmp_path / f"out.{fmt}"
    killed = _kill_and_resume(base + ["--out", str(out)], env, random.Random(fmt), kills=4)
    assert killed >= 1  # at least one run really was interrupted
    assert out.read_bytes() == ref.read_bytes()
    assert not partial_path(out).exists()


def test_on_error_skip_names_and_counts_corrupt_files(demo, tmp_path, capsys):
    data, run = demo
    folders = wtalc_to_folders(data, tmp_path / "folders")
    from tadfuse.data import load_dataset

    ds = load_dataset(folders)
    names = sorted(ds.names[i] for i in ds.split("test"))
    bad = folders / "features" / f"{names[1]}.npy"
    bad.write_bytes(bad.read_bytes()[:100])  # truncated
    out = tmp_path / "p.json"
    assert main(["infer", "--checkpoint", str(run), "--data", str(folders), "--out", str(out)]) == 2
    assert str(bad) in capsys.readouterr().err
    assert partial_path(out).exists()  # what was written before the failure is kept
    assert main(["infer", "--checkpoint", str(run), "--data", str(folders), "--out", str(out), "--on-error", "skip",
                 "--resume"]) == 0
    cap = capsys.readouterr()
    assert f"video {names[1]!r} skipped" in cap.err and str(bad) in cap.err and "1 skipped" in cap.out
    got = json.loads(out.read_text())
    assert sorted(got["results"]) == [v for v in names if v != names[1]]
    skipped = got["tadfuse"]["provenance"]["skipped_videos"]
    assert skipped["count"] == 1 and list(skipped["videos"]) == [names[1]]
    ref = infer_to_file(tmp_path / "ref.json", run, data, device="cpu")
    want = json.loads(ref.path.read_text())["results"]
    assert all(got["results"][v] == want[v] for v in got["results"])


def test_stream_detections_checks_its_arguments(tmp_path):
    kw = dict(class_names=CLASSES, info={}, postprocess=PostprocessConfig.official(), provenance={})
    with pytest.raises(Exception, match="fmt"):
        stream_detections(tmp_path / "x", [], lambda n: ([], {}), fmt="xml", **kw)
    with pytest.raises(Exception, match="window"):
        stream_detections(tmp_path / "x", [], lambda n: ([], {}), window=0, **kw)
    res = stream_detections(tmp_path / "empty.json", [], lambda n: ([], {}), **kw)
    assert json.loads(res.path.read_text())["results"] == {}


@pytest.mark.parametrize(("window", "queue_size"), [(1, 1), (3, 2), (5, 4)])
def test_the_queues_bound_how_far_the_forward_runs_ahead(tmp_path, window, queue_size):
    rng = np.random.default_rng(0)
    vids = [f"v{i:03d}" for i in range(60)]
    tcams = {v: (rng.random((20, len(CLASSES) + 1)), rng.random(len(CLASSES) + 1)) for v in vids}
    produced, written, ahead = [0], [0], []

    def outputs(batch):
        ahead.append(produced[0] - written[0])  # computed but not yet written, before this window
        produced[0] += len(batch)
        return [(v, *tcams[v]) for v in batch], {}

    def on_raw(video, tcam, scores):
        time.sleep(0.002)  # a slow writer: the forward side must wait for it
        written[0] += 1

    res = stream_detections(tmp_path / "o.jsonl", vids, outputs, class_names=CLASSES,
                            info={v: VideoInfo(1.0) for v in vids}, postprocess=PostprocessConfig.official(),
                            provenance={}, fmt="jsonl", window=window, queue_size=queue_size, on_raw=on_raw)
    assert res.videos == 60 and written[0] == 60
    # queue 1, the window in detect, queue 2 (one) and the one being written
    assert max(ahead) <= (queue_size + 3) * window
    assert max(ahead) >= queue_size * window  # the slow writer did make the forward side wait
