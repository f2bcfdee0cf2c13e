"""Synthetic generators: determinism, planted ground truth, and features that make the task
learnable but not trivial."""

from __future__ import annotations

import itertools
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli
from tadfuse.data import (
    ANET_WITHHELD_FILE,
    SYNTH_KINDS,
    DataWarning,
    FeatureModel,
    load_dataset,
    load_folders,
    load_ground_truth,
    load_wtalc,
    make_anet_structured,
    make_thumos14_structured,
    make_toy,
    synthesize,
    thumos14_annotation_dir,
)
from tadfuse.errors import EvaluationWarning, InvalidArgumentError, InvalidTypeError
from tadfuse.evaluation import evaluate
from tadfuse.proposals import Proposals


def test_toy_is_fast_and_deterministic(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    a = load_wtalc(make_toy(tmp_path / "a", seed=3))
    elapsed = time.perf_counter() - t0
    assert elapsed < 5.0, f"toy took {elapsed:.1f} s"
    b = load_wtalc(make_toy(tmp_path / "b", seed=3))
    c = load_wtalc(make_toy(tmp_path / "c", seed=4))
    assert len(a) == 40 and a.num_classes == 4 and a.feature_dim == 32
    assert a.names == b.names and np.array_equal(a.gt.start, b.gt.start)
    assert all(np.array_equal(a.feature(i), b.feature(i)) for i in range(len(a)))
    assert not np.array_equal(a.gt.start, c.gt.start)
    for i in range(len(a)):
        assert a.num_snippets(i) == int(np.floor(a.durations[i] / 0.64 + 1e-9))
        lab, seg = a.segments(i)
        assert len(lab) >= 1 and np.all(seg[:, 0] >= 0) and np.all(seg[:, 1] <= a.durations[i])
        assert set(a.video_labels(i)) == {a.class_names[c] for c in lab}
        order = np.argsort(seg[:, 0])
        assert np.all(seg[order][1:, 0] >= seg[order][:-1, 1] + 0.9)  # non-overlapping, ~1 s apart


def test_toy_options_and_validation(tmp_path: Path) -> None:
    ds = load_wtalc(make_toy(tmp_path / "t", num_videos=10, num_classes=2, feature_dim=5, test_fraction=0.3,
                             layout="annotations-subfolder", name="Tiny"))
    assert len(ds) == 10 and len(ds.test_indices) == 3 and ds.class_names == ("Class00", "Class01")
    assert ds.feature_dim == 5 and ds.layout == "annotations-subfolder"
    f = load_folders(make_toy(tmp_path / "f", num_videos=10, num_classes=2, feature_dim=5, test_fraction=0.3,
                              name="Tiny", format="folders"))
    np.testing.assert_array_equal(f.feature(4), ds.feature(4))  # same seed, same content in either format
    with pytest.raises(ValueError, match="num_videos"):
        make_toy(tmp_path / "x", num_videos=1)
    with pytest.raises(ValueError, match="test_fraction"):
        make_toy(tmp_path / "x", test_fraction=1.0)
    with pytest.raises(FileExistsError, match="overwrite"):
        make_toy(tmp_path / "t", layout="annotations-subfolder", name="Tiny")
    with pytest.raises(ValueError, match="unknown synthetic dataset kind"):
        synthesize("ucf101", tmp_path / "x")
    with pytest.raises(ValueError, match="temporal_smoothing"):
        FeatureModel(temporal_smoothing=1.0)
    with pytest.raises(ValueError, match="latent_noise"):
        FeatureModel(latent_noise=-1.0)


def _snippet_targets(ds, i: int) -> np.ndarray:
    """(T,) class index of each snippet (covered more than half by a segment), -1 for background."""
    y = np.full(ds.num_snippets(i), -1)
    lab, seg = ds.segments(i, "snippets")
    for c, (s, e) in zip(lab, seg):
        y[int(np.round(s)):int(np.round(e))] = c
    return y


def _probe(ds):
    """Least-squares linear probe trained with snippet labels on the train split."""
    X = np.concatenate([ds.feature(i) for i in ds.train_indices]).astype(np.float64)
    y = np.concatenate([_snippet_targets(ds, i) for i in ds.train_indices])
    Y = np.zeros((len(y), ds.num_classes))
    Y[y >= 0, y[y >= 0]] = 1
    W = np.linalg.lstsq(np.hstack([X, np.ones((len(X), 1))]), Y, rcond=None)[0]
    return lambda f: np.hstack([f, np.ones((len(f), 1))]) @ W


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    ranks = np.argsort(np.argsort(np.concatenate([pos, neg]))) + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


@pytest.fixture(scope="module")
def learnable(tmp_path_factory: pytest.TempPathFactory):
    ds = load_wtalc(make_toy(tmp_path_factory.mktemp("l"), num_videos=160, feature_dim=48, seed=1))
    return ds, _probe(ds)


def test_features_are_learnable_but_not_trivial(learnable) -> None:
    ds, probe = learnable
    pos, neg = [], []
    for i in ds.test_indices:
        s, y = probe(ds.feature(i)), _snippet_targets(ds, i)
        for c in np.flatnonzero(ds.labels_multihot[i]):
            pos.append(s[y == c, c])
            neg.append(s[y != c, c])
    auc = _auc(np.concatenate(pos), np.concatenate(neg))
    # a fully supervised linear probe separates action snippets from the rest of their own
    # videos well, but far from perfectly (noise, instance variation, class-like context)
    assert 0.85 < auc < 0.985, auc


def test_context_resembles_the_class(learnable) -> None:
    ds, probe = learnable
    context, far = [], []
    for i in ds.test_indices:
        s, y = probe(ds.feature(i)), _snippet_targets(ds, i)
        lab, seg = ds.segments(i, "snippets")
        near = np.zeros(len(y), bool)
        for c, (a, b) in zip(lab, seg):
            m = max(1, int(0.25 * (b - a)))
            lo, hi = int(np.round(a)), int(np.round(b))
            idx = np.r_[max(0, lo - m):lo, hi:min(len(y), hi + m)]
            idx = idx[y[idx] < 0]
            near[idx] = True
            context.append(s[idx, c])
        for c in set(lab.tolist()):
            far.append(s[(y < 0) & ~near, c])
    # the class score just outside its actions is higher than on the rest of the background
    assert np.concatenate(context).mean() > np.concatenate(far).mean() + 0.02


def test_planted_ground_truth_is_what_the_evaluator_scores(learnable) -> None:
    ds, probe = learnable
    gt = ds.ground_truth("test")
    # perfect predictions (the planted segments, in snippets) score 1 under anet
    perfect = {}
    for v in gt.videos:
        lab, seg = ds.segments(v, "snippets")
        perfect[v] = Proposals(lab, seg[:, 0], seg[:, 1], np.arange(len(lab), 0, -1) / 10)
    np.testing.assert_allclose(evaluate(gt, perfect).mAP, 1.0)
    # probe detections: runs of the probe score, scored by their mean
    dets, shifted = {}, {}
    for i in ds.test_indices:
        s = probe(ds.feature(i))
        L, S, E, C = [], [], [], []
        for c in np.flatnonzero(ds.labels_multihot[i]):
            m = np.r_[0, (s[:, c] > 0.15).astype(int), 0]
            for a, b in zip(np.flatnonzero(np.diff(m) == 1), np.flatnonzero(np.diff(m) == -1)):
                if b - a >= 2:
                    L.append(c), S.append(a), E.append(b), C.append(s[a:b, c].mean())
        dets[ds.names[i]] = Proposals(L, S, E, C)
        T = ds.num_snippets(i)  # the same detections moved to the other end of the video
        shifted[ds.names[i]] = Proposals(L, np.maximum(0, T - np.asarray(E, float)), T - np.asarray(S, float), C)
    good = evaluate(ds, dets, protocol="wtalc").mAP
    bad = evaluate(ds, shifted, protocol="wtalc").mAP
    # a supervised probe finds most actions (mAP@0.3 ≈ 0.8) but degrades at strict tIoU; the same
    # detections in the wrong place score near zero
    assert good[2] > 0.6 and good[-1] < good[2] - 0.2 and bad[2] < 0.2, (good, bad)


def test_thumos14_structured_uses_shipped_annotations(tmp_path: Path) -> None:
    ds = load_wtalc(make_thumos14_structured(tmp_path / "th", feature_dim=3, seed=0))
    ann = load_wtalc(thumos14_annotation_dir(), features=False)
    assert ds.names == ann.names and ds.subsets == ann.subsets and ds.class_names == ann.class_names
    for name in ("video", "label", "start", "end", "ambiguous_video", "ambiguous_start", "ambiguous_end"):
        np.testing.assert_array_equal(getattr(ds.gt, name), getattr(ann.gt, name))
    np.testing.assert_array_equal(ds.durations, ann.durations)
    np.testing.assert_array_equal(ds.labels_multihot, ann.labels_multihot)
    assert ds.feature_dim == 3 and len(ds.ground_truth("test")) == 3358
    same = load_wtalc(make_thumos14_structured(tmp_path / "again", feature_dim=3, seed=0))
    assert np.array_equal(ds.feature(300), same.feature(300))
    assert sum(ds.num_snippets(i) for i in range(len(ds))) == sum(
        int(np.floor(d / 0.64 + 1e-9)) for d in ann.durations)


def test_thumos14_structured_2048_dimensional_video(tmp_path: Path) -> None:
    """The default dimension is 2048 (generating all 412 videos at 2048-d writes 1.1 GB, so only
    the model and one video's features are checked here)."""
    from tadfuse.data.synth import _Plan, _video_features, _World

    assert FeatureModel().feature_dim == 2048
    model = FeatureModel()
    world = _World(model, 2, np.random.default_rng(0))
    plan = _Plan(["v"], ["test"], ["a", "b"], np.array([64.0]), [[(1, 6.4, 19.2)]], [["b"]], [], np.array([25.0]))
    x = _video_features(world, model, plan, 0, 100, 0.64, np.random.default_rng(1))
    assert x.shape == (100, 2048) and x.dtype == np.float32 and np.isfinite(x).all()
    # class evidence: the projection on class b's embedded prototype is higher inside [10, 30)
    proto = world.u[1] @ world.embed
    score = x @ proto / np.linalg.norm(proto)
    assert score[12:28].mean() > score[np.r_[0:5, 40:100]].mean() + 0.5


def test_data_synth_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["data", "synth", "--kind", "toy", "--out", str(tmp_path / "toy"), "--num-videos", "8"]) == 0
    assert "videos: 8" in capsys.readouterr().out
    # per-video folders cannot hold the 3 ambiguous rows of video_test_0001292 (not a video): warned
    with pytest.warns(DataWarning, match=r"3 ambiguous-list row\(s\) for \['video_test_0001292'\]"):
        assert run_cli(["data", "synth", "--kind", "thumos14-structured", "--out", str(tmp_path / "th"),
                         "--feature-dim", "2", "--format", "folders"]) == 0
    assert "videos: 412 (validation: 200, test: 212)" in capsys.readouterr().out
    # a user error (ValueError: one line, exit 2 from tadfuse.cli.main), not SystemExit (exit 1)
    with pytest.raises(ValueError, match="--num-videos applies to --kind toy and anet-structured only"):
        run_cli(["data", "synth", "--kind", "thumos14-structured", "--out", str(tmp_path / "x"), "--num-videos", "3"])


def test_toy_segments_stay_inside_the_video(tmp_path: Path) -> None:
    """Times are rounded to 0.1 s before the bounds check (seeds 14, 33, 37, 39 used to end a
    segment at 45.7 s in a 45.681 s video)."""
    from tadfuse.data.synth import _toy_plan

    for seed in range(61):
        plan = _toy_plan(40, 4, seed, 0.5, (30.0, 90.0), (2.0, 8.0))
        for i, inst in enumerate(plan.instances):
            assert all(0 <= s < e <= plan.durations[i] for _, s, e in inst), (seed, plan.names[i], inst)
        index = {v: i for i, v in enumerate(plan.names)}
        assert all(0 <= s < e <= plan.durations[index[v]] for v, s, e in plan.ambiguous), seed
    for seed in (14, 33, 37, 39):
        ds = load_wtalc(make_toy(tmp_path / f"s{seed}", seed=seed, feature_dim=2))
        assert np.all(ds.gt.end <= ds.durations[ds.gt.video]), seed




# --------------------------------------------------------------------------------------------
# anet-structured
# --------------------------------------------------------------------------------------------


def _anet_stats(durations: np.ndarray, instances: list) -> dict[str, float]:
    """The statistics of `tadfuse.data.activitynet_stats.SUMMARY`, computed the same way."""
    n = np.array([len(inst) for inst in instances])
    cov = np.array([(e - s) / durations[i] for i, inst in enumerate(instances) for _, s, e in inst])
    video_cov = np.array([sum(e - s for _, s, e in inst) / durations[i] for i, inst in enumerate(instances)])
    secs = np.array([e - s for inst in instances for _, s, e in inst])
    return {
        "instances_per_video": n.mean(), "share_single_instance": np.mean(n == 1),
        "duration_mean": durations.mean(), "duration_median": np.median(durations),
        "instance_coverage_mean": cov.mean(), "instance_coverage_median": np.median(cov),
        "share_instances_over_half": np.mean(cov > 0.5), "video_coverage_mean": video_cov.mean(),
        "share_videos_over_half": np.mean(video_cov > 0.5), "instance_seconds_median": np.median(secs),
        "instance_seconds_mean": secs.mean(),
    }


#: How far the generator's statistics may be from ActivityNet's (SUMMARY) over 20,000 videos:
#: sampling noise is a few thousandths; the rest is the model's simplifications (uniform
#: durations within a histogram bin, >= 10 instances drawn as 10, disjoint instances, the
#: 0.5 s minimum length).
ANET_TOLERANCE = {
    "instances_per_video": 0.03, "share_single_instance": 0.015, "duration_mean": 3.0, "duration_median": 4.0,
    "instance_coverage_mean": 0.02, "instance_coverage_median": 0.03, "share_instances_over_half": 0.025,
    "video_coverage_mean": 0.02, "share_videos_over_half": 0.02, "instance_seconds_median": 3.0,
    "instance_seconds_mean": 3.0,
}


def test_anet_structure_matches_activitynet() -> None:
    """Over 20,000 planned videos every headline statistic is within ANET_TOLERANCE of
    ActivityNet 1.3's, and the per-group instance counts follow the measured table."""
    from tadfuse.data import activitynet_stats as anet
    from tadfuse.data.synth import _anet_plan

    plan = _anet_plan(20000, 5, (0.5, 0.25, 0.25))
    d = plan.durations
    got = _anet_stats(d, plan.instances)
    for key, tol in ANET_TOLERANCE.items():
        assert abs(got[key] - anet.SUMMARY[key]) <= tol, (key, got[key], anet.SUMMARY[key])
    # durations: ActivityNet's range, rounded to 1 ms
    assert d.min() >= 1.5 and d.max() <= 760 and np.all(np.round(d, 3) == d)
    assert d.max() > 240 and np.mean(d > 240) < 0.005  # a rare tail of long videos, as measured
    # longer videos hold more instances: the mean per duration group is the table's
    n = np.array([len(inst) for inst in plan.instances])
    edges = anet.INSTANCE_COUNT_GROUP_EDGES
    for g, counts in enumerate(anet.INSTANCE_COUNT_COUNTS):
        sel = (d >= edges[g]) & (d < edges[g + 1])
        want = np.dot(np.arange(1, 11), counts) / np.sum(counts)
        assert abs(n[sel].mean() - want) < 0.05, (g, n[sel].mean(), want)
    # splits, one class per video, classes balanced within each split
    assert [plan.subsets.count(s) for s in ("training", "validation", "testing")] == [10000, 5000, 5000]
    assert len(plan.class_names) == 200
    for subset in ("training", "validation", "testing"):
        classes = [{c for c, _, _ in inst} for inst, s in zip(plan.instances, plan.subsets) if s == subset]
        assert all(len(c) == 1 for c in classes)
        per_class = np.bincount([next(iter(c)) for c in classes], minlength=200)
        assert per_class.max() - per_class.min() <= 1, subset
    # instances: sorted, disjoint, inside the video, >= 0.49 s long, on the 0.01 s grid
    for i, inst in enumerate(plan.instances):
        assert all(0 <= s < e <= d[i] and e - s >= 0.49 for _, s, e in inst), (i, inst)
        assert all(a[2] <= b[1] for a, b in itertools.pairwise(inst)), (i, inst)
        assert all(round(s, 2) == s and (round(e, 2) == e or e == d[i]) for _, s, e in inst), (i, inst)
    # weak labels: the video's class, none for the withheld testing split
    for inst, subset, labs in zip(plan.instances, plan.subsets, plan.video_labels):
        assert labs == ([] if subset == "testing" else [plan.class_names[inst[0][0]]])


def test_anet_short_videos_and_split_rounding() -> None:
    """Engineered edges: the 1.5 s shortest videos hold one instance; split counts follow the
    rounded cumulative fractions and a zero fraction gives no video."""
    from tadfuse.data.synth import _anet_instances, _split_counts

    rng = np.random.default_rng(0)
    for d in (1.5, 1.51, 1.99, 2.0, 3.0, 760.0):
        for _ in range(200):
            inst = _anet_instances(rng, d, 7)
            assert 1 <= len(inst) <= max(1, int(0.5 * d / 0.5)), (d, inst)
            assert all(0 <= s < e <= d and e - s >= 0.49 and c == 7 for c, s, e in inst), (d, inst)
    assert _split_counts(400, (0.5, 0.25, 0.25)) == (200, 100, 100)
    assert _split_counts(5, (0.5, 0.5, 0.0)) == (3, 2, 0)
    assert _split_counts(6, (0.5, 0.25, 0.25)) == (3, 2, 1)
    assert _split_counts(7, (0.6, 0.2, 0.2)) == (4, 2, 1)
    assert sum(_split_counts(13, (0.3, 0.3, 0.4))) == 13


@pytest.fixture(scope="module")
def anet_pair(tmp_path_factory: pytest.TempPathFactory):
    """The default anet-structured dataset (400 videos, 64-d) in both formats."""
    root = tmp_path_factory.mktemp("anet")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # writing and reading warn about nothing
        w = make_anet_structured(root / "w")
        f = make_anet_structured(root / "f", format="folders")
        return load_dataset(w), load_dataset(f)


def test_anet_structured_defaults_and_formats(anet_pair) -> None:
    w, f = anet_pair
    assert type(w).__name__ == "WtalcDataset" and type(f).__name__ == "FolderDataset"
    assert len(w) == 400 and w.feature_dim == 64 and w.num_classes == 200
    assert w.gt.subset_counts() == {"training": 200, "validation": 100, "testing": 100}
    assert (w.train_subset, w.test_subset) == ("training", "validation")
    # both formats hold the same dataset: annotations, timebase, weak labels, features
    assert f.names == w.names and f.subsets == w.subsets and f.class_names == w.class_names
    for key in ("video", "label", "start", "end", "durations", "snippet_seconds", "offset_seconds"):
        np.testing.assert_array_equal(getattr(f.gt, key), getattr(w.gt, key))
    np.testing.assert_array_equal(f.labels_multihot, w.labels_multihot)
    for i in (0, 199, 250, 399):
        np.testing.assert_array_equal(f.feature(i), w.feature(i))
    assert np.all(w.snippet_seconds == 0.64) and np.all(w.original_fps == 25.0)
    for i in range(len(w)):
        assert w.num_snippets(i) == max(1, int(np.floor(w.durations[i] / 0.64 + 1e-9)))
    # 200 training videos: every class exactly once; one class per labelled video
    train = w.train_indices
    np.testing.assert_array_equal(w.labels_multihot[train].sum(axis=0), np.ones(200))
    for i in np.r_[train, w.test_indices]:
        lab, _ = w.segments(i)
        assert len(lab) >= 1 and set(lab.tolist()) == set(np.flatnonzero(w.labels_multihot[i]))
    # testing: features but no labels, as in ActivityNet
    testing = w.split("testing")
    assert testing.size == 100 and not w.labels_multihot[testing].any()
    assert not np.isin(w.gt.video, testing).any()
    assert all(w.feature(i).shape[0] >= 1 for i in testing)


def test_anet_structured_withheld_testing_ground_truth(anet_pair, tmp_path: Path) -> None:
    w, f = anet_pair
    for ds in (w, f):
        held = load_ground_truth(Path(ds.source) / ANET_WITHHELD_FILE)
        assert held.videos == tuple(ds.names[i] for i in ds.split("testing"))
        assert held.class_names == ds.class_names and np.all(held.snippet_seconds == 0.64)
        assert set(held.video.tolist()) == set(range(100))  # every testing video has its instances
        np.testing.assert_array_equal(held.durations, ds.durations[ds.split("testing")])
    # the planted testing segments are in the features: the class prototype fires inside them
    a = load_ground_truth(Path(w.source) / ANET_WITHHELD_FILE)
    b = load_ground_truth(Path(f.source) / ANET_WITHHELD_FILE)
    for key in ("video", "label", "start", "end"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))


def test_anet_structured_provenance(anet_pair) -> None:
    w, f = anet_pair
    rec = json.loads((Path(w.source) / "tadfuse_timebase.json").read_text())["provenance"]
    assert rec["inputs"]["kind"] == "anet-structured" and rec["inputs"]["num_videos"] == 400
    assert rec["inputs"]["split_fractions"] == [0.5, 0.25, 0.25] and rec["inputs"]["feature_model"]["feature_dim"] == 64
    block = json.loads((Path(f.source) / "annotations.json").read_text())["tadfuse"]
    assert block["provenance"]["inputs"] == rec["inputs"]
    held = json.loads((Path(w.source) / ANET_WITHHELD_FILE).read_text())["tadfuse"]["provenance"]
    assert held["inputs"]["withheld_subset"] == "testing" and held["inputs"]["seed"] == 0


def _perfect(ds, gt) -> dict[str, Proposals]:
    """The ground truth as predictions (snippets), scores in descending order."""
    out = {}
    for v in gt.videos:
        i = gt.index(v)
        lab, seg = gt.segments(i)
        ss = gt.snippet_seconds[i]
        out[v] = Proposals(lab, seg[:, 0] / ss, seg[:, 1] / ss, np.arange(len(lab), 0, -1) / 10)
    return out


def test_anet_ground_truth_scores_itself_under_anet(anet_pair) -> None:
    w, f = anet_pair
    for ds in (w, f):
        gt = ds.ground_truth("validation")
        perfect = _perfect(ds, gt)
        # read from the folder, the dataset object or the GroundTruth: all the same
        for source in (ds.source, ds, gt):
            res = evaluate(source, perfect, protocol="anet", subset="validation")
            assert res.protocol == "anet" and res.subset == "validation"
            np.testing.assert_allclose(res.mAP, 1.0)
        assert len(res.tiou_thresholds) == 10 and res.num_ground_truth == len(gt)
        # the same segments as an ActivityNet result JSON (seconds, class names)
        results = {"results": {v: [{"segment": [float(s), float(e)], "label": gt.class_names[c], "score": 1.0}
                                   for c, (s, e) in zip(*gt.segments(v))] for v in gt.videos}}
        np.testing.assert_allclose(evaluate(ds.source, results, protocol="anet", subset="validation").mAP, 1.0)
        # and it can fail: the right segments with the wrong classes score 0
        wrong = {v: Proposals((p.label + 1) % 200, p.start, p.end, p.score) for v, p in perfect.items()}
        with pytest.warns(EvaluationWarning):  # classes without ground truth in validation
            assert np.all(evaluate(ds.source, wrong, protocol="anet", subset="validation").mAP < 0.05)
    held = Path(w.source) / ANET_WITHHELD_FILE
    np.testing.assert_allclose(evaluate(held, _perfect(w, load_ground_truth(held)), protocol="anet").mAP, 1.0)


def test_anet_features_carry_class_evidence_and_context(anet_pair) -> None:
    """The feature model of the THUMOS14 generators: along the embedded prototype of a video's
    class, action snippets score above the rest, and the context just outside an action above
    the background farther away."""
    from tadfuse.data.synth import _World

    w, _ = anet_pair
    world = _World(FeatureModel(feature_dim=64), 200, np.random.default_rng(np.random.SeedSequence(0).spawn(2)[0]))
    inside, near, far = [], [], []
    for i in np.r_[w.train_indices, w.test_indices]:
        x = w.feature(i).astype(np.float64)
        lab, seg = w.segments(i, "snippets")
        proto = world.u[lab[0]] @ world.embed
        score = x @ proto / np.linalg.norm(proto)
        mid = np.arange(len(x)) + 0.5
        act = np.zeros(len(x), bool)
        ctx = np.zeros(len(x), bool)
        for a, b in seg:
            act |= (mid >= a) & (mid < b)
            m = min(0.5 * (b - a), 6.0 / 0.64) / 2  # the first half of the context ramp
            ctx |= ((mid >= a - m) & (mid < a)) | ((mid >= b) & (mid < b + m))
        ctx &= ~act
        inside.append(score[act])
        near.append(score[ctx])
        far.append(score[~act & ~ctx])
    inside, near, far = (np.concatenate(v) for v in (inside, near, far))
    # measured: 0.85, 0.35 and 0.01 (the action adds ~1 latent unit, the context 0.6 x 0.7 at the ramp's top)
    assert inside.mean() > near.mean() + 0.3 and near.mean() > far.mean() + 0.2, (inside.mean(), near.mean(), far.mean())


def test_anet_structured_is_deterministic(tmp_path: Path, anet_pair) -> None:
    w, _ = anet_pair
    again = load_dataset(make_anet_structured(tmp_path / "a"))
    other = load_dataset(make_anet_structured(tmp_path / "b", seed=1, feature_dim=8))
    assert again.names == w.names
    for key in ("video", "label", "start", "end", "durations"):
        np.testing.assert_array_equal(getattr(again.gt, key), getattr(w.gt, key))
    assert all(np.array_equal(again.feature(i), w.feature(i)) for i in range(0, 400, 37))
    assert other.feature_dim == 8 and not np.array_equal(other.durations, w.durations)
    assert synthesize("anet-structured", tmp_path / "c", num_videos=8, feature_dim=2).is_dir()
    assert "anet-structured" in SYNTH_KINDS


def test_anet_structured_argument_checks(tmp_path: Path) -> None:
    out = tmp_path / "x"
    for kwargs, match in [
        (dict(num_videos=3), r"num_videos \(CLI: --num-videos\) must be >= 4"),
        (dict(feature_dim=0), r"feature_dim \(CLI: --feature-dim\) must be >= 1"),
        (dict(seed=-1), r"seed \(CLI: --seed\)"),
        (dict(split_fractions=(0.5, 0.5)), r"split_fractions \(CLI: --split-fractions\) must be three numbers"),
        (dict(split_fractions="0.5,0.25,0.25"), "must be three numbers"),
        (dict(split_fractions=(0.6, 0.3, 0.2)), "must sum to 1"),
        (dict(split_fractions=(1.2, -0.1, -0.1)), "split_fractions"),
        (dict(split_fractions=(1.0, 0.0, 0.0)), "0 validation videos"),
        (dict(num_videos=4, split_fractions=(0.1, 0.8, 0.1)), "0 training"),
        (dict(format="hdf5"), r"format \(CLI: --format\)"),
        (dict(layout="nested"), r"layout \(CLI: --layout\)"),
    ]:
        with pytest.raises(InvalidArgumentError, match=match):
            make_anet_structured(out, **kwargs)
    with pytest.raises(InvalidTypeError, match="num_videos"):
        make_anet_structured(out, num_videos=10.0)
    assert not out.exists()  # nothing written by a refused call


def test_anet_structured_overwrite_and_stale_withheld_file(tmp_path: Path) -> None:
    out = tmp_path / "d"
    make_anet_structured(out, num_videos=8, feature_dim=2)
    with pytest.raises(FileExistsError, match="overwrite"):
        make_anet_structured(out, num_videos=8, feature_dim=2, format="folders")
    # a leftover withheld file alone blocks too, before anything is written
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / ANET_WITHHELD_FILE).write_text("{}")
    with pytest.raises(FileExistsError, match=ANET_WITHHELD_FILE):
        make_anet_structured(lone, num_videos=8, feature_dim=2)
    assert sorted(p.name for p in lone.iterdir()) == [ANET_WITHHELD_FILE]
    # rewriting without a testing split removes the stale withheld file
    ds = load_dataset(make_anet_structured(out, num_videos=8, feature_dim=2, split_fractions=(0.75, 0.25, 0.0),
                                           format="folders", overwrite=True))
    assert ds.gt.subset_counts() == {"training": 6, "validation": 2} and not (out / ANET_WITHHELD_FILE).exists()
    assert not list(out.glob("*.npy"))  # the old W-TALC files are gone


def test_data_synth_cli_anet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tadfuse.cli import build_parser

    out = tmp_path / "anet"
    assert run_cli(["data", "synth", "--kind", "anet-structured", "--out", str(out), "--num-videos", "8",
                    "--feature-dim", "4", "--split-fractions", "0.5,0.25,0.25", "--seed", "3"]) == 0
    text = capsys.readouterr().out
    assert "videos: 8 (training: 4, validation: 2, testing: 2)" in text and "classes: 200" in text
    assert f"testing labels withheld: {out / ANET_WITHHELD_FILE}" in text
    assert load_dataset(out).feature_dim == 4
    assert run_cli(["data", "synth", "--kind", "anet-structured", "--out", str(tmp_path / "f"), "--num-videos", "6",
                    "--format", "folders", "--feature-dim", "2"]) == 0
    assert "videos: 6 (training: 3, validation: 2, testing: 1)" in capsys.readouterr().out
    # kind-specific options name the flag and the kinds that take it
    with pytest.raises(InvalidArgumentError, match="--num-classes applies to --kind toy only"):
        run_cli(["data", "synth", "--kind", "anet-structured", "--out", str(tmp_path / "x"), "--num-classes", "3"])
    with pytest.raises(InvalidArgumentError, match="--split-fractions applies to --kind anet-structured only"):
        run_cli(["data", "synth", "--kind", "toy", "--out", str(tmp_path / "x"), "--split-fractions", "1,0,0"])
    with pytest.raises(InvalidArgumentError, match=r"--num-videos \(CLI: --num-videos\)|--num-videos"):
        run_cli(["data", "synth", "--kind", "anet-structured", "--out", str(tmp_path / "x"), "--num-videos", "3"])
    with pytest.raises(InvalidArgumentError, match="--split-fractions"):
        run_cli(["data", "synth", "--kind", "anet-structured", "--out", str(tmp_path / "x"),
                 "--split-fractions", "0.5,0.3,0.3"])
    for bad in ("0.5,0.5", "a,b,c", "0.5,0.25,nan", "2,0,-1"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["data", "synth", "--kind", "anet-structured", "--out", "x",
                                       "--split-fractions", bad])
        assert "argument --split-fractions: must be three numbers in [0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    # the CLI offers exactly the generators synthesize knows
    synth = build_parser()._subparsers._group_actions[0].choices["data"]._subparsers._group_actions[0].choices["synth"]
    kind = next(a for a in synth._actions if a.dest == "kind")
    assert tuple(kind.choices) == SYNTH_KINDS
