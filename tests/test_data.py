"""`tadfuse.data`: the W-TALC loader on the real THUMOS14 annotations, per-video folders, the
converters, error messages and memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tadfuse
from helpers import run_cli
from tadfuse.annotations import GroundTruth
from tadfuse.data import (
    THUMOS14_COMMONLY_EXCLUDED,
    THUMOS14_QUIRKS,
    DataFormatError,
    DataWarning,
    FolderDataset,
    VideoDataset,
    folders_to_wtalc,
    load_dataset,
    load_folders,
    load_wtalc,
    make_thumos14_structured,
    make_toy,
    thumos14_annotation_dir,
    write_wtalc,
    wtalc_to_folders,
)
from tadfuse.data._base import save_object_array
from tadfuse.evaluation import evaluate

SHARED = Path(os.environ.get("TADFUSE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
REAL = SHARED / "data" / "thumos14reduced-annotations"
needs_shared = pytest.mark.skipif(
    not (REAL / "videoname.npy").is_file(),
    reason=f"real THUMOS14 annotations not found at {REAL} (the shared folder beside the repository; "
    "set TADFUSE_SHARED to point elsewhere)",
)
ANNOTATION_FILES = ("videoname", "subset", "classlist", "duration", "segments", "labels", "labels_all",
                    "original_fps", "extracted_fps")


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_toy(tmp_path_factory.mktemp("toy"), num_videos=12, feature_dim=6)


@pytest.fixture(scope="module")
def real_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real annotation files (from ../shared) with generated 4-d features."""
    if not (REAL / "videoname.npy").is_file():
        pytest.skip(f"real THUMOS14 annotations not found at {REAL} (set TADFUSE_SHARED)")
    return make_thumos14_structured(tmp_path_factory.mktemp("real"), feature_dim=4, annotation_dir=REAL)


# --------------------------------------------------------------------------------------------
# Real THUMOS14 annotations
# --------------------------------------------------------------------------------------------


@needs_shared
def test_real_annotations_numbers(real_bundle: Path) -> None:
    ds = load_wtalc(real_bundle)
    assert len(ds) == 412 and ds.num_classes == 20 and ds.feature_dim == 4
    assert len(ds.train_indices) == 200 and len(ds.test_indices) == 212
    assert ds.train_subset == "validation"
    assert {ds.subsets[i] for i in ds.train_indices} == {"validation"}
    test_gt = ds.ground_truth("test")
    assert len(test_gt) == 3358 and len(test_gt.videos) == 212
    assert len(ds.ground_truth("train")) == 3007
    assert ds.labels_multihot.shape == (412, 20)
    # one feature row per 0.64 s snippet
    for i in (0, 100, 411):
        assert ds.num_snippets(i) == int(np.floor(ds.durations[i] / 0.64 + 1e-9))
        assert ds.feature(i).shape == (ds.num_snippets(i), 4) and ds.feature(i).dtype == np.float32
    # ambiguous list: 99 rows, 3 for a video outside the release (noted, not warned)
    assert ds.gt.ambiguous_video.size == 96
    assert any("video_test_0001292" in n for n in ds.notes)


@needs_shared
def test_real_annotation_quirks() -> None:
    ds = load_wtalc(REAL, features=False)
    i270 = ds.index("video_test_0000270")
    assert ds.labels_multihot[i270].sum() == 0  # empty weak label
    labels, segs = ds.segments(i270)
    assert set(labels) == {ds.class_names.index("HammerThrow")} and segs[:, 1].max() > ds.durations[i270]
    i1496 = ds.index("video_test_0001496")
    assert ds.video_labels(i1496) == ["FrisbeeCatch"]
    assert {ds.class_names[c] for c in ds.segments(i1496)[0]} == {"CricketShot"}
    cliff, diving = ds.class_names.index("CliffDiving"), ds.class_names.index("Diving")
    for i in range(len(ds)):
        lab, seg = ds.segments(i)
        dive = {tuple(s) for s in seg[lab == diving]}
        assert all(tuple(s) in dive for s in seg[lab == cliff])
    gt = ds.ground_truth("test")
    f = 25 / 16
    assert int(np.sum(np.round(gt.start * f) >= np.round(gt.end * f))) == 17  # empty snippet ranges
    assert set(THUMOS14_COMMONLY_EXCLUDED) <= set(gt.videos)
    assert len(gt.select(exclude=THUMOS14_COMMONLY_EXCLUDED).videos) == 210


_PAST_DURATION = {"video_validation_0000364": 2, "video_validation_0000856": 2, "video_test_0000270": 22,
                  "video_test_0000814": 3, "video_test_0001081": 1}


@pytest.mark.parametrize("where", [pytest.param("shared", marks=needs_shared), "shipped"])
def test_real_segments_past_the_duration(where: str) -> None:
    """30 segments in 5 videos end (and start) after their video's duration; 22 of them in
    video_test_0000270, from 187.3 s on. The summary (``tadfuse data info``) reports them."""
    ds = load_wtalc(REAL if where == "shared" else thumos14_annotation_dir(), features=False)
    assert ds.gt.segments_past_duration() == _PAST_DURATION
    i270 = ds.index("video_test_0000270")
    _, segs = ds.segments(i270)
    past = segs[:, 1] > ds.durations[i270]
    assert past.sum() == 22 and len(segs) == 29 and segs[past, 0].min() == 187.3 and segs[past, 1].max() == 713.7
    assert round(float(ds.durations[i270]), 1) == 176.2
    gt = ds.gt
    assert np.all(gt.start[gt.end > gt.durations[gt.video]] > gt.durations[gt.video][gt.end > gt.durations[gt.video]])
    line = next(ln for ln in ds.summary().splitlines() if "past their video's duration" in ln)
    assert "30 in 5 videos" in line and "video_test_0000270: 22" in line and "video_test_0001081: 1" in line
    assert "22 of its 29" in THUMOS14_QUIRKS["video_test_0000270"]
    assert "30 segments in 5 videos" in THUMOS14_QUIRKS["segments_past_duration"]
    for video, n in _PAST_DURATION.items():
        assert f"{video} ({n})" in THUMOS14_QUIRKS["segments_past_duration"]


def test_segments_past_duration_counts() -> None:
    gt = GroundTruth(videos=["a", "b", "c"], subsets=["s"] * 3, class_names=["x"], video=[0, 0, 1, 2, 2],
                     label=[0] * 5, start=[0.0, 9.0, 1.0, 50.0, 0.0], end=[10.0, 10.5, 2.0, 60.0, 1.0],
                     durations=[10.0, 5.0, np.nan])
    assert gt.segments_past_duration() == {"a": 1}  # 10.0 is not past 10.0; c has no duration
    ds = VideoDataset(ground_truth=gt, weak_labels=[["x"]] * 3, features=None, train_subset="", test_subset="s",
                      source="mem")
    assert "segments past their video's duration: 1 in 1 videos (a: 1)" in ds.summary()
    ok = gt.select(videos=["b"])
    assert "past their video's duration: none" in VideoDataset(
        ground_truth=ok, weak_labels=[["x"]], features=None, train_subset="", test_subset="s", source="m").summary()
    unknown = gt.select(videos=["c"])
    assert "past their video's duration: unknown (no durations)" in VideoDataset(
        ground_truth=unknown, weak_labels=[["x"]], features=None, train_subset="", test_subset="s",
        source="m").summary()


@needs_shared
def test_shipped_annotations_are_the_real_files() -> None:
    shipped = thumos14_annotation_dir()
    for name in [f"{n}.npy" for n in ANNOTATION_FILES] + ["Ambiguous_test.txt"]:
        assert (shipped / name).read_bytes() == (REAL / name).read_bytes(), name


def test_shipped_annotations_load_without_shared() -> None:
    ds = load_wtalc(thumos14_annotation_dir(), features=False)
    assert len(ds) == 412 and len(ds.ground_truth("test")) == 3358
    assert not ds.has_features
    with pytest.raises(RuntimeError, match="without features"):
        ds.feature(0)


@needs_shared
def test_both_layouts(tmp_path: Path) -> None:
    flat = make_thumos14_structured(tmp_path / "flat", feature_dim=2, annotation_dir=REAL)
    sub = make_thumos14_structured(tmp_path / "sub", feature_dim=2, annotation_dir=REAL,
                                   layout="annotations-subfolder")
    assert (sub / "Thumos14reduced-Annotations" / "videoname.npy").is_file()
    a, b = load_wtalc(flat), load_wtalc(sub)
    assert a.layout == "flat" and b.layout == "annotations-subfolder"
    assert a.names == b.names and np.array_equal(a.gt.start, b.gt.start)
    assert np.array_equal(a.feature(7), b.feature(7))
    # annotation files are written as released
    for name in ANNOTATION_FILES:
        x = np.load(REAL / f"{name}.npy", allow_pickle=True)
        y = np.load(flat / f"{name}.npy", allow_pickle=True)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert [list(v) if isinstance(v, list) else v for v in x.tolist()] == y.tolist(), name
    assert (flat / "Ambiguous_test.txt").read_bytes() == (REAL / "Ambiguous_test.txt").read_bytes()


# --------------------------------------------------------------------------------------------
# Loader details on the toy bundle
# --------------------------------------------------------------------------------------------


def test_toy_bundle_api(toy: Path) -> None:
    ds = load_wtalc(toy)
    assert ds.feature_file == toy / "Toy-I3D-JOINTFeatures.npy" and ds.layout == "flat"
    assert ds.split("test").tolist() == ds.test_indices.tolist() == list(range(6, 12))
    assert ds.split("validation").tolist() == list(range(6))
    with pytest.raises(ValueError, match="no videos in subset"):
        ds.split("training")
    _, sec = ds.segments(0)
    _, snip = ds.segments(0, "snippets")
    np.testing.assert_allclose(snip, sec / 0.64)
    with pytest.raises(ValueError, match="unit"):
        ds.segments(0, "frames")
    names, feats, labels = zip(*ds.iter_videos("test"))
    assert names == ds.names[6:] and all(f.shape[1] == 6 for f in feats)
    assert all(set(np.flatnonzero(m)) == set(ds.segments(n)[0]) for n, m in zip(names, labels))
    assert "videos: 12 (validation: 6, test: 6)" in ds.summary()
    assert evaluate(ds, {}, protocol="wtalc").videos == ds.names[6:]


def _copy_bundle(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def test_missing_annotation_file(toy: Path, tmp_path: Path) -> None:
    b = _copy_bundle(toy, tmp_path / "b")
    (b / "labels.npy").unlink()
    with pytest.raises(DataFormatError, match=r"labels\.npy: required annotation file not found"):
        load_wtalc(b)
    with pytest.raises(DataFormatError, match="no W-TALC annotations found"):
        load_wtalc(tmp_path)


def test_mismatched_video_counts(toy: Path, tmp_path: Path) -> None:
    b = _copy_bundle(toy, tmp_path / "b")
    subset = np.load(b / "subset.npy")
    np.save(b / "subset.npy", subset[:-1])
    with pytest.raises(DataFormatError, match=r"subset\.npy: 11 entries but videoname\.npy has 12"):
        load_wtalc(b)
    b = _copy_bundle(toy, tmp_path / "c")
    feats = np.load(b / "Toy-I3D-JOINTFeatures.npy", allow_pickle=True)
    save_object_array(b / "Toy-I3D-JOINTFeatures.npy", list(feats[:-1]))
    with pytest.raises(DataFormatError, match=r"JOINTFeatures\.npy: 11 feature arrays .* 12 videos"):
        load_wtalc(b)


def test_wrong_feature_shapes_and_values(toy: Path, tmp_path: Path) -> None:
    feats = list(np.load(toy / "Toy-I3D-JOINTFeatures.npy", allow_pickle=True))
    cases = [
        (lambda f: f.__setitem__(3, f[3][:, 0]), r"video 'toy_validation_0004' have shape \(\d+,\)"),
        (lambda f: f.__setitem__(2, f[2][:, :4]), "feature dimension 4, other videos have 6"),
        (lambda f: f.__setitem__(5, f[5][:0]), "has no snippets"),
        (lambda f: f.__setitem__(1, "text"), "are a str, not an array"),
    ]
    for k, (mutate, message) in enumerate(cases):
        b = _copy_bundle(toy, tmp_path / f"b{k}")
        f = list(feats)
        mutate(f)
        save_object_array(b / "Toy-I3D-JOINTFeatures.npy", f)
        with pytest.raises(DataFormatError, match=message) as info:
            load_wtalc(b)
        assert "Toy-I3D-JOINTFeatures.npy" in str(info.value)
    b = _copy_bundle(toy, tmp_path / "nan")
    f = [x.copy() for x in feats]
    f[4][2, 3] = np.nan
    save_object_array(b / "Toy-I3D-JOINTFeatures.npy", f)
    with pytest.raises(DataFormatError, match=r"video 'toy_validation_0005' contain a non-finite value \(snippet 2, dimension 3"):
        load_wtalc(b)
    assert load_wtalc(b, check_finite=False).feature(4)[2, 3] != 0  # opt-out loads it


def test_bad_annotation_contents(toy: Path, tmp_path: Path) -> None:
    b = _copy_bundle(toy, tmp_path / "b")
    labels = np.load(b / "labels.npy", allow_pickle=True)
    labels[0] = labels[0] + ["Dance"]
    np.save(b / "labels.npy", labels, allow_pickle=True)
    with pytest.raises(DataFormatError, match=r"toy_validation_0001' has \d+ segments in segments.npy but \d+ labels"):
        load_wtalc(b, features=False)
    labels[0] = ["Dance"] * (len(labels[0]) - 1)
    np.save(b / "labels.npy", labels, allow_pickle=True)
    with pytest.raises(DataFormatError, match=r"labels\.npy: video 'toy_validation_0001' segment 0: unknown class 'Dance'"):
        load_wtalc(b, features=False)
    b = _copy_bundle(toy, tmp_path / "c")
    names = np.load(b / "videoname.npy")
    names[1] = names[0]
    np.save(b / "videoname.npy", names)
    with pytest.raises(DataFormatError, match="listed twice"):
        load_wtalc(b, features=False)
    b = _copy_bundle(toy, tmp_path / "d")
    (b / "Ambiguous_test.txt").write_text("toy_test_0001  1.0\n")
    with pytest.raises(ValueError, match=r"Ambiguous_test\.txt:1"):
        load_wtalc(b, features=False)
    (b / "Ambiguous_test.txt").write_text("not_a_video  1.0 2.0\n")
    with pytest.warns(DataWarning, match="not_a_video"):
        load_wtalc(b, features=False)


def test_plain_3d_feature_array_is_memory_mapped(tmp_path: Path) -> None:
    feats = [np.full((5, 3), k, np.float32) for k in range(4)]
    write_wtalc(tmp_path, name="Even", videos=[f"v{k}" for k in range(4)], subsets=["validation", "validation", "test", "test"],
                class_names=["a"], durations=[3.2] * 4, segments=[[[0.0, 1.0]]] * 4, segment_labels=[["a"]] * 4,
                video_labels=[["a"]] * 4, features=None)
    np.save(tmp_path / "Even-I3D-JOINTFeatures.npy", np.stack(feats))
    ds = load_wtalc(tmp_path)
    assert isinstance(ds.feature(2).base, np.memmap) or isinstance(ds.feature(2), np.memmap)
    assert ds.feature(3)[0, 0] == 3


def test_features_need_one_copy_in_memory(tmp_path: Path) -> None:
    """Loading the pickled bundle costs one copy of the features (peak RSS, fresh process)."""
    root = make_toy(tmp_path / "big", num_videos=60, feature_dim=2048, duration_range=(120.0, 180.0))
    script = (
        "import resource, sys\n"
        "from tadfuse.data import load_wtalc\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "ds = load_wtalc(sys.argv[1])\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(sum(ds.feature(i).nbytes for i in range(len(ds))), (peak - base) * 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True, check=True)
    nbytes, grown = map(int, out.stdout.split())
    assert nbytes > 100e6
    assert grown < 1.25 * nbytes, f"loading {nbytes / 1e6:.0f} MB of features grew RSS by {grown / 1e6:.0f} MB"


# --------------------------------------------------------------------------------------------
# Folders and conversion
# --------------------------------------------------------------------------------------------


def test_round_trip_wtalc_folders_wtalc(toy: Path, tmp_path: Path) -> None:
    a = load_wtalc(toy)
    folders = wtalc_to_folders(a, tmp_path / "f")
    f = load_folders(folders)
    assert isinstance(f, FolderDataset) and f.names == a.names and f.subsets == a.subsets
    assert f.class_names == a.class_names and f.train_subset == "validation" and f.test_subset == "test"
    assert isinstance(f.feature(0), np.memmap) and not f.feature(0).flags.writeable
    np.testing.assert_array_equal(f.snippet_seconds, 0.64)
    for name in ("video", "label", "start", "end", "ambiguous_video", "ambiguous_start", "ambiguous_end"):
        np.testing.assert_array_equal(getattr(f.gt, name), getattr(a.gt, name))
    np.testing.assert_array_equal(f.labels_multihot, a.labels_multihot)
    np.testing.assert_array_equal(f.durations, a.durations)
    back = load_wtalc(folders_to_wtalc(f, tmp_path / "w", name="Toy", layout="annotations-subfolder"))
    assert back.layout == "annotations-subfolder"
    for i in range(len(a)):
        np.testing.assert_array_equal(back.feature(i), a.feature(i))
    for name in ANNOTATION_FILES:
        x = np.load(a.annotation_dir / f"{name}.npy", allow_pickle=True)
        y = np.load(back.annotation_dir / f"{name}.npy", allow_pickle=True)
        assert x.tolist() == y.tolist(), name
    assert read_lines(a.annotation_dir) == read_lines(back.annotation_dir)
    assert load_dataset(folders).names == load_dataset(toy).names
    with pytest.raises(FileExistsError, match="overwrite"):
        wtalc_to_folders(a, folders)


def test_written_dataset_json_records_provenance(toy: Path, tmp_path: Path) -> None:
    """annotations.json and tadfuse_timebase.json record the tadfuse version and their inputs;
    nothing time-dependent, so equal writes give equal files."""
    a = load_wtalc(toy)
    block = json.loads((wtalc_to_folders(a, tmp_path / "f") / "annotations.json").read_text())["tadfuse"]
    assert block["provenance"] == {"tadfuse_version": tadfuse.__version__, "inputs": {"converted_from": str(toy)}}
    load_folders(tmp_path / "f")  # the reader tolerates it
    synth = [json.loads((make_toy(tmp_path / f"s{k}", num_videos=4, feature_dim=2, format="folders", seed=5)
                         / "annotations.json").read_text()) for k in range(2)]
    assert synth[0] == synth[1]
    prov = synth[0]["tadfuse"]["provenance"]
    assert prov["tadfuse_version"] == tadfuse.__version__
    assert prov["inputs"]["synthetic"] == "Toy" and prov["inputs"]["seed"] == 5
    assert prov["inputs"]["feature_model"]["feature_dim"] == 2
    gt = a.gt
    segs = [a.segments(i)[1].tolist() for i in range(len(a))]
    labs = [[a.class_names[c] for c in a.segments(i)[0]] for i in range(len(a))]
    out = write_wtalc(tmp_path / "w", name="T", videos=a.names, subsets=a.subsets, class_names=a.class_names,
                      durations=gt.durations, segments=segs, segment_labels=labs,
                      video_labels=[a.video_labels(i) for i in range(len(a))], features=None,
                      provenance={"inputs": {"from": "test"}})
    assert json.loads((out / "tadfuse_timebase.json").read_text()) == {
        "provenance": {"tadfuse_version": tadfuse.__version__, "inputs": {"from": "test"}}}
    assert load_wtalc(out, features=False).names == a.names


def read_lines(ann: Path) -> list[str]:
    return (ann / "Ambiguous_test.txt").read_text().splitlines()


@needs_shared
def test_real_weak_labels_survive_conversion(real_bundle: Path, tmp_path: Path) -> None:
    # the 3 Ambiguous_test.txt rows of video_test_0001292 (not a video here) cannot be kept: said so
    with pytest.warns(DataWarning, match=r"3 ambiguous-list row\(s\) for \['video_test_0001292'\]"):
        f = load_folders(wtalc_to_folders(load_wtalc(real_bundle), tmp_path / "f"))
    assert f.labels_multihot[f.index("video_test_0000270")].sum() == 0
    assert f.video_labels("video_test_0001496") == ["FrisbeeCatch"]
    assert len(f.ground_truth("test")) == 3358


def _activitynet_folder(tmp_path: Path, with_fps: bool = True) -> tuple[Path, Path]:
    fdir = tmp_path / "feats"
    fdir.mkdir(parents=True)
    db = {}
    for k, (subset, T) in enumerate([("training", 10), ("training", 20), ("validation", 8)]):
        np.save(fdir / f"vid{k}.npy", np.arange(T * 3, dtype=np.float32).reshape(T, 3))
        db[f"vid{k}"] = {"subset": subset, "duration": T * 0.5,
                         "annotations": [{"segment": [0.5, 2.0], "label": "cook" if k else "bake"}]}
        if with_fps:
            db[f"vid{k}"]["fps"] = 30.0 if k else 25.0
    ann = tmp_path / "activity_net.json"
    ann.write_text(json.dumps({"version": "1.3", "taxonomy": [], "database": db}))
    return fdir, ann


def test_folder_timebases(tmp_path: Path) -> None:
    fdir, ann = _activitynet_folder(tmp_path)
    ds = load_folders(fdir, ann, fps=25.0, stride=8, offset=4)
    np.testing.assert_allclose(ds.snippet_seconds, 0.32)
    np.testing.assert_allclose(ds.offset_seconds, 0.16)
    _, snip = ds.segments(0, "snippets")
    np.testing.assert_allclose(snip, [[(0.5 - 0.16) / 0.32, (2.0 - 0.16) / 0.32]])
    assert ds.train_subset == "training" and ds.test_subset == "validation"
    assert ds.class_names == ("bake", "cook") and ds.video_labels(1) == ["cook"]
    per_video = load_folders(fdir, ann, stride=16)  # per-video 'fps' entries
    np.testing.assert_allclose(per_video.snippet_seconds, [16 / 25, 16 / 30, 16 / 30])
    rescaled = load_folders(fdir, ann, rescaled=True)
    np.testing.assert_allclose(rescaled.snippet_seconds, 0.5)
    with pytest.raises(DataFormatError, match="no timebase"):
        load_folders(fdir, ann)
    with pytest.raises(ValueError, match="stride"):
        load_folders(fdir, ann, fps=25.0)
    fdir2, ann2 = _activitynet_folder(tmp_path / "nofps", with_fps=False)
    with pytest.raises(DataFormatError, match="'vid0' has none"):
        load_folders(fdir2, ann2, stride=16)
    # a different snippet duration per video cannot become a W-TALC bundle
    with pytest.raises(DataFormatError, match="one snippet duration"):
        folders_to_wtalc(per_video, tmp_path / "w")


def test_folder_missing_and_extra_files(tmp_path: Path) -> None:
    fdir, ann = _activitynet_folder(tmp_path)
    (fdir / "vid1.npy").unlink()
    np.save(fdir / "stray.npy", np.zeros((2, 3), np.float32))
    with pytest.raises(DataFormatError, match=r"1 of 3 videos .* have no feature file, e.g. \['vid1'\]"):
        load_folders(fdir, ann, fps=25, stride=16)
    with pytest.warns(DataWarning) as record:
        ds = load_folders(fdir, ann, fps=25, stride=16, missing="skip")
    messages = " ".join(str(w.message) for w in record)
    assert "skipped" in messages and "stray" in messages
    assert ds.names == ("vid0", "vid2")


def test_folder_bad_feature_files(tmp_path: Path) -> None:
    fdir, ann = _activitynet_folder(tmp_path)
    np.save(fdir / "vid2.npy", np.zeros(4, np.float32))
    with pytest.raises(DataFormatError, match=r"vid2\.npy: features of video 'vid2' have shape \(4,\)"):
        load_folders(fdir, ann, fps=25, stride=16)
    x = np.ones((8, 3), np.float32)
    x[5, 1] = np.inf
    np.save(fdir / "vid2.npy", x)
    ds = load_folders(fdir, ann, fps=25, stride=16)  # values are checked lazily
    ds.feature(0)
    with pytest.raises(DataFormatError, match=r"vid2\.npy: features of video 'vid2' contain a non-finite value \(snippet 5"):
        ds.feature(2)
    with pytest.raises(DataFormatError, match="non-finite"):
        ds.validate()
    (fdir / "vid0.npy").write_text("garbage")
    with pytest.raises(DataFormatError, match=r"vid0\.npy: not a plain numeric \.npy"):
        load_folders(fdir, ann, fps=25, stride=16)


def test_data_cli(toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["data", "info", str(toy), "--validate"]) == 0
    assert "all features finite" in capsys.readouterr().out
    assert run_cli(["data", "convert", str(toy), str(tmp_path / "f"), "--to", "folders"]) == 0
    assert run_cli(["data", "convert", str(tmp_path / "f"), str(tmp_path / "w"), "--to", "wtalc", "--name", "Toy"]) == 0
    assert "FolderDataset" in capsys.readouterr().out
    assert load_wtalc(tmp_path / "w").names == load_wtalc(toy).names
    assert run_cli(["data", "info", str(tmp_path / "f"), "--no-features"]) == 0
    assert "features: not loaded" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# Review fixes: splits, overwrite, mixed layouts, feature lengths, timebase, messages
# --------------------------------------------------------------------------------------------


def _anet_root(root: Path, *, block: dict | None = None) -> Path:
    """A per-video folder dataset with ActivityNet subsets (training, validation, testing) and a
    0.64 s timebase; ``block`` replaces the JSON's ``tadfuse`` block (None: no block)."""
    fdir = root / "features"
    fdir.mkdir(parents=True)
    db = {}
    for k, (subset, T) in enumerate([("training", 12), ("training", 20), ("validation", 15),
                                     ("validation", 10), ("testing", 9)]):
        v = f"v{k}"
        np.save(fdir / f"{v}.npy", np.full((T, 3), k, np.float32))
        anns = [] if subset == "testing" else [{"segment": [0.64, 3.2], "label": "cook" if k % 2 else "bake"}]
        db[v] = {"subset": subset, "duration": T * 0.64, "annotations": anns}
    data: dict = {"database": db}
    if block is not None:
        data["tadfuse"] = block
    (root / "annotations.json").write_text(json.dumps(data))
    return root


def test_wtalc_splits_survive_folders_wtalc_folders(tmp_path: Path) -> None:
    src = load_folders(_anet_root(tmp_path / "src", block={"snippet_seconds": 0.64}))
    assert (src.train_subset, src.test_subset) == ("training", "validation")
    w = load_wtalc(folders_to_wtalc(src, tmp_path / "w", name="Anet"))
    # it used to be train = 'validation' (the test videos) and test = 'test' (absent)
    assert (w.train_subset, w.test_subset) == ("training", "validation")
    assert [w.names[i] for i in w.split("train")] == ["v0", "v1"]
    assert [w.names[i] for i in w.split("test")] == ["v2", "v3"]
    back = load_folders(wtalc_to_folders(w, tmp_path / "f"))
    assert (back.train_subset, back.test_subset) == ("training", "validation")
    assert back.subsets == src.subsets
    # explicit names win; unknown names are errors, not silent mislabels
    w2 = load_wtalc(tmp_path / "w", train_subset="validation", test_subset="testing")
    assert [w2.names[i] for i in w2.split("test")] == ["v4"]
    with pytest.raises(ValueError, match=r"test_subset='test' is not one of its subsets"):
        load_wtalc(tmp_path / "w", test_subset="test")


def test_wtalc_records_split_names_it_cannot_infer(tmp_path: Path) -> None:
    block = {"snippet_seconds": 0.64, "train_subset": "validation", "test_subset": "testing"}
    src = load_folders(_anet_root(tmp_path / "src", block=block))
    assert (src.train_subset, src.test_subset) == ("validation", "testing")
    out = folders_to_wtalc(src, tmp_path / "w")
    assert json.loads((out / "tadfuse_timebase.json").read_text()) == {
        "train_subset": "validation", "test_subset": "testing",
        "provenance": {"tadfuse_version": tadfuse.__version__, "inputs": {"converted_from": str(src.source)}}}
    w = load_wtalc(out)
    assert (w.train_subset, w.test_subset) == ("validation", "testing")
    back = load_folders(wtalc_to_folders(w, tmp_path / "f"))
    assert (back.train_subset, back.test_subset) == ("validation", "testing")
    # a THUMOS14-style bundle gets no extra file (the names are inferred)
    assert not (load_wtalc(make_toy(tmp_path / "toy", num_videos=4, feature_dim=2)).annotation_dir
                / "tadfuse_timebase.json").exists()


def test_split_without_a_known_name_says_so(tmp_path: Path) -> None:
    out = write_wtalc(tmp_path, name="X", videos=["a", "b"], subsets=["fold1", "fold2"], class_names=["c"],
                      durations=[6.4, 6.4], segments=[[[0.0, 1.0]]] * 2, segment_labels=[["c"]] * 2,
                      video_labels=[["c"]] * 2, features=[np.zeros((10, 2), np.float32)] * 2)
    ds = load_wtalc(out)
    with pytest.raises(ValueError, match="no train subset.*train_subset="):
        ds.split("train")
    import warnings as _w

    with _w.catch_warnings():  # converting keeps "no train subset" without complaint
        _w.simplefilter("error", DataWarning)
        f = load_folders(wtalc_to_folders(ds, tmp_path / "f"))
    assert (f.train_subset, f.test_subset) == ("", "")
    ds = load_wtalc(out, train_subset="fold1", test_subset="fold2")
    assert ds.split("test").tolist() == [1]


def test_overwrite_with_the_other_layout_replaces_the_dataset(tmp_path: Path) -> None:
    out = tmp_path / "ow"
    make_toy(out, seed=0, num_videos=6, feature_dim=3)
    with pytest.raises(FileExistsError, match=r"overwrite=True \(CLI: --overwrite\)"):
        make_toy(out, seed=1, num_videos=6, feature_dim=3, layout="annotations-subfolder")
    make_toy(out, seed=1, num_videos=6, feature_dim=3, layout="annotations-subfolder", overwrite=True)
    assert not (out / "videoname.npy").exists()  # the stale flat files are gone
    fresh = make_toy(tmp_path / "fresh", seed=1, num_videos=6, feature_dim=3)
    import warnings as _w

    with _w.catch_warnings():
        _w.simplefilter("error", DataWarning)
        ds = load_wtalc(out)
    assert ds.layout == "annotations-subfolder"
    np.testing.assert_array_equal(ds.gt.start, load_wtalc(fresh).gt.start)
    # folders over a W-TALC bundle, then a W-TALC bundle over folders
    wtalc_to_folders(load_wtalc(fresh), out, overwrite=True)
    assert not list(out.glob("*-Annotations")) and not list(out.glob("*JOINTFeatures.npy"))
    assert isinstance(load_dataset(out), FolderDataset)
    folders_to_wtalc(load_folders(wtalc_to_folders(load_wtalc(fresh), tmp_path / "f")), out, name="Toy",
                     overwrite=True)
    assert not (out / "annotations.json").exists() and not (out / "features").exists()
    assert load_dataset(out).names == load_wtalc(fresh).names
    # without overwrite, neither layout is written next to the other
    with pytest.raises(FileExistsError):
        wtalc_to_folders(load_wtalc(fresh), out)
    with pytest.raises(ValueError, match="holds the source dataset"):
        wtalc_to_folders(load_wtalc(out), out, overwrite=True)


def test_overwrite_cli_repro(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "ow")
    assert run_cli(["data", "synth", "--kind", "toy", "--out", out, "--seed", "0", "--num-videos", "6"]) == 0
    assert run_cli(["data", "synth", "--kind", "toy", "--out", out, "--seed", "1", "--num-videos", "6",
                     "--layout", "annotations-subfolder", "--overwrite"]) == 0
    fresh = make_toy(tmp_path / "fresh", seed=1, num_videos=6)
    np.testing.assert_array_equal(load_wtalc(out).gt.start, load_wtalc(fresh).gt.start)


def test_mixed_layouts_warn(toy: Path, tmp_path: Path) -> None:
    b = _copy_bundle(toy, tmp_path / "b")
    sub = b / "Toy-Annotations"
    sub.mkdir()
    for n in ANNOTATION_FILES:
        (sub / f"{n}.npy").write_bytes((toy / f"{n}.npy").read_bytes())
    with pytest.warns(DataWarning, match=r"several datasets.*Toy-Annotations/.*Reading the flat W-TALC files"):
        assert load_wtalc(b).layout == "flat"
    # a per-video folder dataset beside a W-TALC bundle: load_dataset reads the folders, and warns
    c = _copy_bundle(toy, tmp_path / "c")
    wtalc_to_folders(load_wtalc(toy), tmp_path / "f")
    (c / "annotations.json").write_bytes((tmp_path / "f" / "annotations.json").read_bytes())
    (c / "features").mkdir()
    for p in (tmp_path / "f" / "features").iterdir():
        (c / "features" / p.name).write_bytes(p.read_bytes())
    with pytest.warns(DataWarning, match=r"several datasets.*annotations\.json.*Reading the per-video folders"):
        assert isinstance(load_dataset(c), FolderDataset)
    with pytest.warns(DataWarning, match="several datasets"):
        load_wtalc(c)


def _lengths_bundle(tmp_path: Path, lengths: list[int]) -> Path:
    n = len(lengths)
    return write_wtalc(tmp_path, name="L", videos=[f"v{k}" for k in range(n)], subsets=["test"] * n,
                       class_names=["c"], durations=[64.0] * n, segments=[[[0.0, 1.0]]] * n,
                       segment_labels=[["c"]] * n, video_labels=[["c"]] * n,
                       features=[np.zeros((T, 2), np.float32) for T in lengths])


def test_feature_lengths_are_checked_against_durations(tmp_path: Path) -> None:
    import warnings as _w

    with _w.catch_warnings():  # 64 s = 100 snippets; real features are off by a snippet or two
        _w.simplefilter("error", DataWarning)
        load_wtalc(_lengths_bundle(tmp_path / "ok", [100, 98, 102, 97]))
    with pytest.warns(DataWarning, match=r"2 of 3 videos have a feature count far from duration / 0\.64 s: "
                      r"'v1' \(T = 90, duration 64 s = 100\.0 snippets\), 'v2' \(T = 160"):
        ds = load_wtalc(_lengths_bundle(tmp_path / "bad", [100, 90, 160]))
    assert any("'v1'" in n for n in ds.notes)


def test_info_without_features_needs_no_timebase(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _anet_root(tmp_path / "anet")  # no tadfuse block: no timebase
    assert run_cli(["data", "info", str(root), "--no-features"]) == 0
    out = capsys.readouterr().out
    assert "features: not loaded" in out and "snippet seconds: unknown" in out
    ds = load_folders(None, root / "annotations.json")
    assert np.isnan(ds.snippet_seconds).all()
    ds.segments(0)  # seconds need no timebase
    with pytest.raises(ValueError, match=r"no timebase .*--fps, --stride"):
        ds.segments(0, "snippets")
    with pytest.raises(DataFormatError, match=r"no timebase; pass fps= and stride= .*CLI: --fps, --stride"):
        load_folders(root)  # with features it is needed


def test_messages_name_the_cli_options(toy: Path, tmp_path: Path) -> None:
    b = _copy_bundle(toy, tmp_path / "b")
    (b / "Toy-I3D-JOINTFeatures.npy").unlink()
    with pytest.raises(DataFormatError, match=r"features=False \(CLI: --no-features\)"):
        load_wtalc(b)
    with pytest.raises(FileExistsError, match=r"overwrite=True \(CLI: --overwrite\)"):
        wtalc_to_folders(load_wtalc(toy), _copy_bundle(tmp_path / "b", tmp_path / "c"))


def test_convert_and_synth_reject_options_they_would_ignore(toy: Path, tmp_path: Path) -> None:
    from tadfuse.cli import main

    for extra in (["--fps", "25"], ["--stride", "16"], ["--offset", "8"], ["--rescaled"], ["--layout", "flat"],
                  ["--name", "X"]):
        assert main(["data", "convert", str(toy), str(tmp_path / "f"), "--to", "folders", *extra]) == 2
    assert not (tmp_path / "f").exists()
    assert main(["data", "synth", "--kind", "toy", "--out", str(tmp_path / "s"), "--format", "folders",
                 "--layout", "annotations-subfolder"]) == 2
    assert main(["data", "synth", "--kind", "thumos14-structured", "--out", str(tmp_path / "x"),
                 "--num-videos", "3"]) == 2
    assert not (tmp_path / "s").exists() and not (tmp_path / "x").exists()


@needs_shared
def test_real_weak_labels_differ_from_segment_classes_in_28_videos() -> None:
    from tadfuse.data import THUMOS14_QUIRKS

    ds = load_wtalc(REAL, features=False)
    differ = [v for i, v in enumerate(ds.names)
              if set(ds.video_labels(i)) != {ds.class_names[c] for c in ds.segments(i)[0]}]
    assert len(differ) == 28 and len(ds) == 412
    assert sum(v.startswith("video_test") for v in differ) == 20
    assert {"video_validation_0000171", "video_test_0000367", "video_validation_0000316"} <= set(differ)
    assert "28 of 412" in THUMOS14_QUIRKS["video_labels"]
    assert "Diving's ground truth contains every CliffDiving instance" in THUMOS14_QUIRKS["CliffDiving"]
    import tadfuse.data.wtalc as wtalc_module

    assert "28 of the 412 videos" in (wtalc_module.__doc__ or "")
