"""`tadfuse.evaluation`: edge cases, documented behaviours, JSON I/O, errors and the eval CLI."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import tadfuse
from hypothesis import given, settings
from hypothesis import strategies as st
from tadfuse.annotations import (
    GroundTruth,
    activitynet_results,
    as_ground_truth,
    proposals_by_video,
    proposals_from_activitynet,
    provenance_record,
    read_activitynet_ground_truth,
    read_activitynet_results,
    read_ambiguous_list,
    snippets_to_seconds,
    write_activitynet_ground_truth,
    write_activitynet_results,
)
from tadfuse.errors import DataFormatError, EvaluationWarning, InvalidArgumentError
from tadfuse.evaluation import EvalResult, evaluate
from tadfuse.proposals import Proposals


def _gt_json() -> dict:
    """Two classes on three validation videos; one training video."""
    return {
        "version": "x",
        "database": {
            "v1": {"subset": "validation", "duration": 60.0, "annotations": [
                {"segment": [0.0, 10.0], "label": "jump"}, {"segment": [20.0, 30.0], "label": "run"}]},
            "v2": {"subset": "validation", "duration": 60.0, "annotations": [
                {"segment": [5.0, 15.0], "label": "jump"}, {"segment": [40.0, 42.0], "label": "jump"}]},
            "v3": {"subset": "validation", "duration": 60.0, "annotations": [
                {"segment": [1.0, 8.0], "label": "run"}]},
            "t1": {"subset": "training", "duration": 60.0, "annotations": [
                {"segment": [0.0, 5.0], "label": "swim"}]},
        },
    }


def _preds_json() -> dict:
    return {"version": "x", "external_data": {}, "results": {
        "v1": [{"label": "jump", "score": 0.9, "segment": [0.5, 10.0]},
               {"label": "run", "score": 0.7, "segment": [19.0, 29.0]},
               {"label": "jump", "score": 0.3, "segment": [30.0, 50.0]}],
        "v2": [{"label": "jump", "score": 0.8, "segment": [5.0, 14.0]},
               {"label": "jump", "score": 0.6, "segment": [40.5, 42.0]}],
        "v3": [{"label": "run", "score": 0.5, "segment": [2.0, 8.0]}],
    }}


def _quiet_evaluate(*args, **kwargs) -> EvalResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)
        return evaluate(*args, **kwargs)


# --------------------------------------------------------------------------------------------
# Basic results and the table
# --------------------------------------------------------------------------------------------


def test_result_fields_and_table() -> None:
    res = evaluate(_gt_json(), _preds_json(), subset="validation", tiou_thresholds=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    assert res.protocol == "anet" and res.subset == "validation"
    assert res.videos == ("v1", "v2", "v3")
    assert res.mAP.shape == (7,) and np.all((res.mAP >= 0) & (res.mAP <= 1))
    assert list(res.ap_per_class) == ["jump", "run"]  # class order; swim has no validation GT
    np.testing.assert_allclose(res.mAP, np.mean([res.ap_per_class["jump"], res.ap_per_class["run"]], axis=0))
    assert res.average_mAP == pytest.approx(res.mAP.mean())
    assert set(res.averages) == {"0.1:0.5", "0.3:0.7", "0.1:0.7"}
    assert res.averages["0.3:0.7"] == pytest.approx(res.mAP[2:7].mean())
    assert res.num_ground_truth == 5 and res.num_predictions == 6
    table = res.table()
    assert "protocol: anet" in table and "videos: 3 (subset 'validation'" in table
    assert res.video_list_digest in table and "avg 0.1:0.5" in table
    assert str(res) == table
    json.dumps(res.to_dict())  # JSON-ready


def test_perfect_predictions_score_one() -> None:
    gt = GroundTruth.from_activitynet(_gt_json()).select(subset="validation")
    preds = {v: [] for v in gt.videos}
    for v, c, s, e in zip(gt.video, gt.label, gt.start, gt.end):
        preds[gt.videos[v]].append({"label": gt.class_names[c], "score": float(e - s), "segment": [s, e]})
    res = evaluate(gt, {"results": preds})
    np.testing.assert_allclose(res.mAP, 1.0)


def test_default_thresholds_per_protocol() -> None:
    res = evaluate(_gt_json(), _preds_json(), subset="validation")
    np.testing.assert_allclose(res.tiou_thresholds, np.linspace(0.5, 0.95, 10))
    assert "0.5:0.95" in res.averages
    gt = GroundTruth.from_activitynet(_gt_json())
    gt = GroundTruth(videos=gt.videos, subsets=["test"] * 4, class_names=gt.class_names, video=gt.video,
                     label=gt.label, start=gt.start, end=gt.end, snippet_seconds=0.64)
    res = _quiet_evaluate(gt, _preds_json(), protocol="wtalc")
    np.testing.assert_allclose(res.tiou_thresholds, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])


# --------------------------------------------------------------------------------------------
# The "Done means" edge cases
# --------------------------------------------------------------------------------------------


def test_class_without_predictions_scores_zero_others_unaffected() -> None:
    full = evaluate(_gt_json(), _preds_json(), subset="validation", tiou_thresholds=[0.5, 0.7])
    no_run = _preds_json()
    for v in no_run["results"]:
        no_run["results"][v] = [d for d in no_run["results"][v] if d["label"] != "run"]
    res = evaluate(_gt_json(), no_run, subset="validation", tiou_thresholds=[0.5, 0.7])
    np.testing.assert_array_equal(res.ap_per_class["run"], 0.0)
    np.testing.assert_array_equal(res.ap_per_class["jump"], full.ap_per_class["jump"])
    np.testing.assert_allclose(res.mAP, full.ap_per_class["jump"] / 2)
    assert any("without predictions" in n for n in res.notes)


def _wtalc_gt() -> GroundTruth:
    return GroundTruth(videos=["a", "b"], subsets=["test", "test"], class_names=["x", "y"],
                       video=[0, 1], label=[0, 1], start=[1.28, 0.64], end=[3.84, 2.56],
                       snippet_seconds=0.64, ambiguous_video=[1], ambiguous_start=[30.0], ambiguous_end=[31.0])


def test_wtalc_zero_map_bug_only_behind_flag() -> None:
    preds = {"a": Proposals([0], [2.0], [6.0], [0.9]), "b": Proposals.empty()}
    res = evaluate(_wtalc_gt(), preds, protocol="wtalc", tiou_thresholds=[0.5])
    np.testing.assert_allclose(res.mAP, [0.5])  # x: AP 1, y: AP 0
    res = evaluate(_wtalc_gt(), preds, protocol="wtalc", tiou_thresholds=[0.5], zero_map_bug=True)
    np.testing.assert_allclose(res.mAP, [0.0])
    assert any("zero_map_bug" in n for n in res.notes)
    both = {"a": Proposals([0], [2.0], [6.0], [0.9]), "b": Proposals([1], [1.0], [4.0], [0.8])}
    res = evaluate(_wtalc_gt(), both, protocol="wtalc", tiou_thresholds=[0.5], zero_map_bug=True)
    np.testing.assert_allclose(res.mAP, [1.0])
    with pytest.raises(ValueError, match="wtalc"):
        evaluate(_gt_json(), _preds_json(), subset="validation", zero_map_bug=True)


def test_predictions_on_unknown_videos() -> None:
    base = evaluate(_gt_json(), _preds_json(), subset="validation", tiou_thresholds=[0.5])
    extra = _preds_json()
    extra["results"]["nowhere"] = [{"label": "jump", "score": 0.95, "segment": [0.0, 10.0]}]
    # anet default: false positive (the official behaviour), with a warning
    with pytest.warns(EvaluationWarning, match="1 prediction.*outside the evaluated list.*false positives"):
        fp = evaluate(_gt_json(), extra, subset="validation", tiou_thresholds=[0.5])
    assert fp.ap_per_class["jump"][0] < base.ap_per_class["jump"][0]
    np.testing.assert_array_equal(fp.ap_per_class["run"], base.ap_per_class["run"])
    with pytest.warns(EvaluationWarning, match="dropped"):
        dropped = evaluate(_gt_json(), extra, subset="validation", tiou_thresholds=[0.5], unknown_videos="drop")
    np.testing.assert_array_equal(dropped.mAP, base.mAP)
    with pytest.raises(ValueError, match="nowhere"):
        evaluate(_gt_json(), extra, subset="validation", unknown_videos="error")


def test_predictions_on_other_subset_follow_unknown_videos() -> None:
    extra = _preds_json()
    extra["results"]["t1"] = [{"label": "jump", "score": 0.99, "segment": [0.0, 10.0]}]
    with pytest.warns(EvaluationWarning, match="false positives"):
        res = evaluate(_gt_json(), extra, subset="validation", tiou_thresholds=[0.5])
    assert res.num_predictions == 7


def test_labels_absent_from_ground_truth_are_ignored_with_warning() -> None:
    base = evaluate(_gt_json(), _preds_json(), subset="validation", tiou_thresholds=[0.5])
    extra = _preds_json()
    extra["results"]["v1"] += [{"label": "fly", "score": 0.99, "segment": [0.0, 10.0]},
                               {"label": "swim", "score": 0.98, "segment": [0.0, 10.0]},  # GT only in training
                               {"label": 7, "score": 0.97, "segment": [0.0, 10.0]}]
    with pytest.warns(EvaluationWarning, match=r"3 prediction\(s\) with labels .*'7'.*'fly'.*'swim'"):
        res = evaluate(_gt_json(), extra, subset="validation", tiou_thresholds=[0.5])
    np.testing.assert_array_equal(res.mAP, base.mAP)
    assert "swim" not in res.ap_per_class and "fly" not in res.ap_per_class


def test_integer_labels_index_class_names_only_when_asked() -> None:
    preds = _preds_json()
    gt = GroundTruth.from_activitynet(_gt_json())
    assert gt.class_names == ("jump", "run", "swim")  # sorted over all subsets
    for dets in preds["results"].values():
        for d in dets:
            d["label"] = gt.class_names.index(d["label"])
    a = evaluate(gt, preds, subset="validation", tiou_thresholds=[0.5], integer_labels="index")
    b = evaluate(gt, _preds_json(), subset="validation", tiou_thresholds=[0.5])
    np.testing.assert_array_equal(a.mAP, b.mAP)
    # by default an integer is a class *name*: 0/1 are not classes here, so they are ignored
    # with a warning that points at integer_labels='index'
    with pytest.warns(EvaluationWarning, match=r"labels .*'0'.*'1'.*integer_labels='index'"):
        res = evaluate(gt, preds, subset="validation", tiou_thresholds=[0.5])
    assert res.mAP[0] == 0.0 and b.mAP[0] > 0
    with pytest.raises(ValueError, match="integer_labels"):
        evaluate(gt, preds, subset="validation", integer_labels="position")


def _int_label_case(n_classes: int = 12) -> tuple[dict, dict]:
    """One video, class c at [20c, 20c + 10] s with integer labels; perfect predictions."""
    gt = {"database": {"v": {"subset": "test", "duration": 20.0 * n_classes, "annotations": [
        {"segment": [20.0 * c, 20.0 * c + 10.0], "label": c} for c in range(n_classes)]}}}
    preds = {"results": {"v": [
        {"label": c, "score": 0.9, "segment": [20.0 * c, 20.0 * c + 10.0]} for c in range(n_classes)]}}
    return gt, preds


def test_integer_labels_match_by_value_not_text_sorted_position() -> None:
    # Regression: GT integer labels were stringified and text-sorted ("0","1","10","11","2",...)
    # while a result's integer label was a position in that list (3 -> "11"): mAP 0.167, not 1.
    gt, preds = _int_label_case()
    res = evaluate(gt, preds, tiou_thresholds=[0.5])
    assert res.mAP[0] == pytest.approx(1.0)
    # string labels on either side mean the same classes
    str_preds = json.loads(json.dumps(preds))
    for d in str_preds["results"]["v"]:
        d["label"] = str(d["label"])
    assert evaluate(gt, str_preds, tiou_thresholds=[0.5]).mAP[0] == pytest.approx(1.0)
    str_gt = json.loads(json.dumps(gt))
    for a in str_gt["database"]["v"]["annotations"]:
        a["label"] = str(a["label"])
    assert evaluate(str_gt, preds, tiou_thresholds=[0.5]).mAP[0] == pytest.approx(1.0)
    # an all-integer label set is ordered numerically, so names and positions agree
    assert GroundTruth.from_activitynet(gt).class_names == tuple(str(c) for c in range(12))
    assert GroundTruth.from_activitynet(str_gt).class_names[:3] == ("0", "1", "10")  # text labels: text order
    props = proposals_from_activitynet(preds, GroundTruth.from_activitynet(str_gt).class_names,
                                       snippet_seconds=1.0)
    names = GroundTruth.from_activitynet(str_gt).class_names
    assert [names[c] for c in props["v"].label] == [str(c) for c in range(12)]


def test_zero_length_segments() -> None:
    gt = {"database": {"v": {"subset": "s", "annotations": [
        {"segment": [5.0, 5.0], "label": "a"}, {"segment": [10.0, 20.0], "label": "a"}]}}}
    # a zero-length prediction on the zero-length GT: IoU 0 (no NaN), a false positive;
    # the zero-length GT stays in the positives count, so recall tops out at 1/2
    preds = {"results": {"v": [{"label": "a", "score": 0.9, "segment": [5.0, 5.0]},
                               {"label": "a", "score": 0.8, "segment": [10.0, 20.0]}]}}
    res = evaluate(gt, preds, tiou_thresholds=[0.5])
    # FP, TP: precision 0, 1/2 at recall 0, 1/2 -> AP 1/2 * 1/2
    np.testing.assert_allclose(res.mAP, [0.25])
    assert np.all(np.isfinite(res.mAP))
    # zero-length prediction inside a normal GT: IoU 0
    preds = {"results": {"v": [{"label": "a", "score": 0.9, "segment": [15.0, 15.0]}]}}
    np.testing.assert_allclose(evaluate(gt, preds, tiou_thresholds=[0.1]).mAP, [0.0])


def test_duplicates_are_false_positives_for_both_protocols() -> None:
    gt = _wtalc_gt()
    preds = {"a": Proposals([0, 0, 0], [2.0, 2.0, 2.0], [6.0, 6.0, 6.0], [0.9, 0.8, 0.7]),
             "b": Proposals([1], [1.0], [4.0], [0.5])}
    for proto in ("anet", "wtalc"):
        res = evaluate(gt, preds, protocol=proto, tiou_thresholds=[0.5])
        np.testing.assert_allclose(res.ap_per_class["x"], [1.0])  # TP first, FPs after: AP stays 1
    preds["a"] = Proposals([0, 0, 0], [2.0, 2.0, 2.0], [6.0, 6.0, 6.0], [0.9, 0.95, 0.97])
    res = evaluate(gt, preds, protocol="wtalc", tiou_thresholds=[0.5])
    np.testing.assert_allclose(res.ap_per_class["x"], [1.0])  # identical boxes: one TP wherever it is


def test_empty_ground_truth_for_a_class() -> None:
    gt = GroundTruth(videos=["v"], subsets=["s"], class_names=["a", "b", "c"], video=[0], label=[0],
                     start=[0.0], end=[10.0])
    preds = {"results": {"v": [{"label": "a", "score": 0.9, "segment": [0.0, 10.0]},
                               {"label": "c", "score": 0.95, "segment": [0.0, 10.0]}]}}
    with pytest.warns(EvaluationWarning, match="'c'"):
        res = evaluate(gt, preds, tiou_thresholds=[0.5])
    assert list(res.ap_per_class) == ["a"]  # classes without GT are not part of the mAP
    np.testing.assert_allclose(res.mAP, [1.0])


def test_no_ground_truth_at_all_is_an_error() -> None:
    gt = GroundTruth(videos=["v"], subsets=["s"], class_names=["a"], video=[], label=[], start=[], end=[])
    with pytest.raises(ValueError, match="no ground-truth segments"):
        evaluate(gt, {"results": {}})


def test_no_predictions_at_all() -> None:
    res = evaluate(_gt_json(), {"results": {}}, subset="validation", tiou_thresholds=[0.5])
    np.testing.assert_array_equal(res.mAP, [0.0])
    assert res.num_predictions == 0


# --------------------------------------------------------------------------------------------
# Video lists, determinism, units
# --------------------------------------------------------------------------------------------


def test_several_subsets_need_a_choice() -> None:
    with pytest.raises(ValueError, match="several subsets"):
        evaluate(_gt_json(), _preds_json())
    with pytest.raises(ValueError, match="not in the ground truth"):
        evaluate(_gt_json(), _preds_json(), subset="testing")


def test_videos_and_exclude() -> None:
    with pytest.warns(EvaluationWarning, match=r"2 prediction\(s\) on 1 video\(s\) outside .*'v2'.*dropped"):
        res = evaluate(_gt_json(), _preds_json(), videos=["v1", "v3"], tiou_thresholds=[0.5], unknown_videos="drop")
    assert res.videos == ("v1", "v3") and res.num_ground_truth == 3
    res2 = evaluate(_gt_json(), _preds_json(), subset="validation", exclude=["v2"], tiou_thresholds=[0.5])
    assert res2.videos == ("v1", "v3")
    np.testing.assert_array_equal(res.mAP, res2.mAP)  # excluded videos' predictions are dropped
    assert any("excluded" in n for n in res2.notes)
    with pytest.raises(ValueError, match="not in the ground truth"):
        evaluate(_gt_json(), _preds_json(), subset="validation", exclude=["zzz"])
    with pytest.raises(ValueError, match="not in the ground truth"):
        evaluate(_gt_json(), _preds_json(), videos=["v1", "zzz"])


def test_input_order_does_not_matter_without_ties() -> None:
    rng = np.random.default_rng(0)
    preds = _preds_json()
    res = evaluate(_gt_json(), preds, subset="validation", tiou_thresholds=[0.3, 0.5, 0.7])
    items = list(preds["results"].items())
    for _ in range(5):
        shuffled = {"results": {}}
        for k in rng.permutation(len(items)):
            v, dets = items[k]
            shuffled["results"][v] = [dets[j] for j in rng.permutation(len(dets))]
        res2 = evaluate(_gt_json(), shuffled, subset="validation", tiou_thresholds=[0.3, 0.5, 0.7])
        np.testing.assert_array_equal(res.mAP, res2.mAP)


def test_score_ties_keep_input_order() -> None:
    gt = {"database": {"v": {"subset": "s", "annotations": [{"segment": [0.0, 10.0], "label": "a"}]}}}
    hit = {"label": "a", "score": 0.5, "segment": [0.0, 10.0]}
    miss = {"label": "a", "score": 0.5, "segment": [50.0, 60.0]}
    first = evaluate(gt, {"results": {"v": [hit, miss]}}, tiou_thresholds=[0.5])
    second = evaluate(gt, {"results": {"v": [miss, hit]}}, tiou_thresholds=[0.5])
    np.testing.assert_allclose(first.mAP, [1.0])
    np.testing.assert_allclose(second.mAP, [0.5])


def test_proposals_in_snippets_equal_json_in_seconds() -> None:
    rng = np.random.default_rng(3)
    gt = GroundTruth(videos=["a", "b"], subsets=["test"] * 2, class_names=["x", "y"],
                     video=[0, 0, 1], label=[0, 1, 1], start=[1.0, 10.0, 3.2], end=[6.0, 20.5, 9.6],
                     snippet_seconds=0.64, ambiguous_video=[0], ambiguous_start=[30.0], ambiguous_end=[32.0])
    props = {}
    for v in ("a", "b"):
        n = 15
        s = rng.uniform(0, 30, n).round(0)  # integral snippet bounds: the seconds round trip must not lose one
        props[v] = Proposals(rng.integers(0, 2, n), s, s + rng.integers(1, 20, n), rng.random(n))
    as_json = activitynet_results(props, gt.class_names, snippet_seconds=0.64)
    seconds_only = {"results": {v: [{k: d[k] for k in ("label", "score", "segment")} for d in dets]
                                for v, dets in as_json["results"].items()}}
    for proto in ("anet", "wtalc"):
        a = evaluate(gt, props, protocol=proto, tiou_thresholds=[0.1, 0.3, 0.5, 0.7])
        for data in (as_json, seconds_only):  # with the exact snippets, and from seconds alone
            b = evaluate(gt, data, protocol=proto, tiou_thresholds=[0.1, 0.3, 0.5, 0.7])
            np.testing.assert_allclose(a.mAP, b.mAP, rtol=0, atol=1e-12)
        assert a.mAP.max() > 0


def _one_segment_gt(snippets: int) -> GroundTruth:
    """One test video with one segment of exactly ``snippets`` snippets of 0.64 s, from 0 s."""
    return GroundTruth(videos=["v"], subsets=["test"], class_names=["x"], video=[0], label=[0], start=[0.0],
                       end=[snippets * 0.64], snippet_seconds=0.64, ambiguous_video=[0],
                       ambiguous_start=[500.0], ambiguous_end=[501.0])


def test_exact_snippets_survive_the_result_json(tmp_path: Path) -> None:
    """61.99999999999999 snippets covers range(0, 61) in memory; from seconds the wtalc snapping
    would make it 62. Written with its exact snippets, the file scores exactly like memory."""
    gt = _one_segment_gt(62)  # ground truth range(0, 62)
    props = {"v": Proposals([0], [0.0], [61.99999999999999], [0.9])}
    path = write_activitynet_results(tmp_path / "r.json", props, gt.class_names)
    data = json.loads(path.read_text())
    assert data["results"]["v"][0]["snippets"] == [0.0, 61.99999999999999]
    thr = [61 / 62, 0.99]
    memory = evaluate(gt, props, protocol="wtalc", tiou_thresholds=thr)
    from_file = evaluate(gt, path, protocol="wtalc", tiou_thresholds=thr)
    np.testing.assert_array_equal(memory.mAP, [1.0, 0.0])  # IoU 61/62
    np.testing.assert_array_equal(from_file.mAP, memory.mAP)
    for v in data["results"].values():
        for d in v:
            del d["snippets"]
    snapped = evaluate(gt, data, protocol="wtalc", tiou_thresholds=thr)
    np.testing.assert_array_equal(snapped.mAP, [1.0, 1.0])  # the seconds path snaps 61.999... onto 62
    back = proposals_from_activitynet(path, gt.class_names)
    assert back["v"] == props["v"]


def test_snippets_must_match_the_timebase(tmp_path: Path) -> None:
    gt = _one_segment_gt(10)
    props = {"v": Proposals([0], [0.0], [10.0], [0.9])}
    path = write_activitynet_results(tmp_path / "r.json", props, gt.class_names, snippet_seconds=0.5)
    with pytest.raises(ValueError, match=r"snippet_seconds=0.5.*snippet_seconds=0.64"):
        evaluate(gt, path, protocol="wtalc")
    ok = evaluate(gt, path, protocol="wtalc", snippet_seconds=0.5, tiou_thresholds=[0.5])
    assert ok.num_predictions == 1
    offset = write_activitynet_results(tmp_path / "o.json", props, gt.class_names, offset_seconds=0.2)
    with pytest.raises(ValueError, match="offset_seconds=0.2"):
        evaluate(gt, offset, protocol="wtalc")
    per_video = write_activitynet_results(tmp_path / "p.json", props, gt.class_names, snippet_seconds={"v": 0.64})
    assert evaluate(gt, per_video, protocol="wtalc", tiou_thresholds=[0.5]).mAP[0] == 1.0


def test_seconds_are_clipped_to_the_duration_snippets_are_not(tmp_path: Path) -> None:
    """The official preset's last proposal ends one snippet past the features, which can pass
    the video's end: the seconds are clipped to a known duration, the snippets kept."""
    gt = GroundTruth(videos=["v", "w"], subsets=["test"] * 2, class_names=["x"], video=[0, 1], label=[0, 0],
                     start=[5.0, 1.0], end=[10.0, 3.0], durations=[10.2, np.nan], snippet_seconds=0.64)
    props = {"v": Proposals([0, 0], [8.0, 17.0], [16.0, 17.0], [0.9, 0.4]), "w": Proposals([0], [1.0], [40.0], [0.5])}
    durations = {"v": 10.2, "w": float("nan")}
    data = activitynet_results(props, gt.class_names, snippet_seconds=0.64, durations=durations)
    v = data["results"]["v"]
    assert v[0]["segment"] == [8.0 * 0.64, 10.2] and v[0]["snippets"] == [8.0, 16.0]
    assert v[1]["segment"] == [10.2, 10.2] and v[1]["snippets"] == [17.0, 17.0]  # past the end: zero length
    assert data["results"]["w"][0]["segment"] == [0.64, 40.0 * 0.64]  # unknown duration: not clipped
    assert data["tadfuse"]["clipped_to_duration"] == 2
    unclipped = activitynet_results(props, gt.class_names, snippet_seconds=0.64)
    assert unclipped["results"]["v"][0]["segment"][1] == 16.0 * 0.64
    assert unclipped["tadfuse"]["clipped_to_duration"] == 0
    thr = np.linspace(0.1, 0.9, 9)
    memory = evaluate(gt, props, subset="test", tiou_thresholds=thr)  # anet clips with the ground truth's durations
    np.testing.assert_array_equal(memory.mAP, evaluate(gt, data, subset="test", tiou_thresholds=thr).mAP)
    path = write_activitynet_results(tmp_path / "r.json", props, gt.class_names, snippet_seconds=0.64,
                                     durations=durations)
    assert proposals_from_activitynet(path, gt.class_names)["v"] == props["v"]  # the exact snippets come back
    with pytest.raises(ValueError, match="durations has no entry for video 'w'"):
        activitynet_results(props, gt.class_names, durations={"v": 10.2})
    with pytest.raises(ValueError, match="durations must be positive"):
        activitynet_results(props, gt.class_names, durations=0.0)


def test_snippets_to_seconds() -> None:
    s, e = snippets_to_seconds(np.array([0.0, 10.0, 20.0]), np.array([5.0, 30.0, 25.0]), 0.5, 1.0,
                               np.array([np.nan, 12.0, 3.0]))
    np.testing.assert_array_equal(s, [1.0, 6.0, 3.0])  # NaN: unknown duration, not clipped
    np.testing.assert_array_equal(e, [3.5, 12.0, 3.0])
    s, e = snippets_to_seconds(np.array([1.0]), np.array([2.0]), 0.64, 0.0)
    assert s.tolist() == [0.64] and e.tolist() == [1.28]


def test_small_helpers() -> None:
    from tadfuse.evaluation.metrics import group_bounds

    gt = GroundTruth.from_activitynet(_gt_json())
    assert gt.video_indices(["v3", "nope", "v1"]).tolist() == [2, -1, 0]
    assert gt.video_indices([]).dtype == np.int64
    keys, starts = group_bounds(np.array([1, 1, 4, 7, 7, 7]))
    assert keys.tolist() == [1, 4, 7] and starts.tolist() == [0, 2, 3, 6]
    keys, starts = group_bounds(np.zeros(0, np.int64))
    assert keys.size == 0 and starts.tolist() == [0]


def test_writer_rejects_detections_before_zero() -> None:
    with pytest.raises(ValueError, match=r"detections\['v'\]: row 1 starts before 0"):
        activitynet_results({"v": Proposals([0, 0], [1.0, -0.5], [2.0, 3.0], [0.5, 0.5])}, ["x"])
    with pytest.raises(ValueError, match="starts before 0"):
        activitynet_results({"v": Proposals([0], [1.0], [2.0], [0.5])}, ["x"], offset_seconds=-1.0)


_boundaries = st.floats(0, 500, allow_nan=False, allow_infinity=False)


@st.composite
def _detections(draw: st.DrawFn) -> dict[str, Proposals]:
    out = {}
    for v in ("a", "b"):
        n = draw(st.integers(0, 6))
        starts = [draw(_boundaries) for _ in range(n)]
        ends = [s + draw(st.one_of(st.just(0.0), st.floats(0, 80), st.sampled_from([61.99999999999999, 1e-12])))
                for s in starts]
        out[v] = Proposals([draw(st.integers(0, 1)) for _ in range(n)], starts, ends,
                           [draw(st.floats(0, 1)) for _ in range(n)])
    return out


@given(props=_detections(), snap_end=st.booleans())
@settings(max_examples=60)
def test_result_json_round_trip_is_exact(props: dict[str, Proposals], snap_end: bool) -> None:
    """Any Proposals → result JSON text → back: the same Proposals, and the wtalc protocol (and
    anet, with the same clipping) scores the file exactly like the detections in memory."""
    gt = GroundTruth(videos=["a", "b"], subsets=["test"] * 2, class_names=["x", "y"], video=[0, 0, 1],
                     label=[0, 1, 1], start=[0.0, 39.68, 3.2], end=[39.68, 80.0, 9.6],
                     durations=[90.0, np.nan], snippet_seconds=0.64, ambiguous_video=[1],
                     ambiguous_start=[200.0], ambiguous_end=[210.0])
    text = json.dumps(activitynet_results(props, gt.class_names, durations={"a": 90.0, "b": np.nan}))
    data = json.loads(text)
    back = proposals_from_activitynet(data, gt.class_names)
    for v in props:
        assert back[v] == props[v]
    thr = [0.1, 0.5, 61 / 62, 1.0]
    for proto in ("wtalc", "anet"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EvaluationWarning)
            memory = evaluate(gt, props, protocol=proto, tiou_thresholds=thr)
            from_file = evaluate(gt, data, protocol=proto, tiou_thresholds=thr)
        np.testing.assert_array_equal(from_file.mAP, memory.mAP)
        for c in memory.ap_per_class:
            np.testing.assert_array_equal(from_file.ap_per_class[c], memory.ap_per_class[c])


def test_snippets_need_a_timebase() -> None:
    gt = GroundTruth.from_activitynet(_gt_json())
    props = {"v1": Proposals([0], [0.0], [10.0], [0.9])}
    with pytest.raises(ValueError, match="snippet_seconds"):
        evaluate(gt, props, subset="validation")
    res = evaluate(gt, props, subset="validation", snippet_seconds=1.0, tiou_thresholds=[0.5])
    assert res.ap_per_class["jump"][0] > 0


def test_wtalc_defaults_to_test_subset() -> None:
    gt = GroundTruth(videos=["tr", "te"], subsets=["validation", "test"], class_names=["x"],
                     video=[0, 1], label=[0, 0], start=[0.0, 0.0], end=[6.4, 6.4], snippet_seconds=0.64,
                     ambiguous_video=[1], ambiguous_start=[20.0], ambiguous_end=[21.0])
    res = evaluate(gt, {"te": Proposals([0], [0.0], [10.0], [1.0])}, protocol="wtalc")
    assert res.videos == ("te",) and res.subset == "test"
    np.testing.assert_allclose(res.mAP, 1.0)


def test_wtalc_skips_videos_without_ground_truth() -> None:
    gt = GroundTruth(videos=["a", "empty"], subsets=["test"] * 2, class_names=["x"], video=[0], label=[0],
                     start=[0.0], end=[6.4], snippet_seconds=0.64,
                     ambiguous_video=[0], ambiguous_start=[20.0], ambiguous_end=[21.0])
    preds = {"a": Proposals([0], [0.0], [10.0], [0.5]), "empty": Proposals([0], [0.0], [10.0], [0.9])}
    with pytest.warns(EvaluationWarning, match="dropped"):
        res = evaluate(gt, preds, protocol="wtalc", tiou_thresholds=[0.5])
    assert res.videos == ("a",)
    np.testing.assert_allclose(res.mAP, [1.0])
    # anet keeps the video: its prediction is a false positive ranked first
    res = evaluate(gt, preds, protocol="anet", tiou_thresholds=[0.5])
    np.testing.assert_allclose(res.mAP, [0.5])


def test_wtalc_warns_without_ambiguous_list() -> None:
    gt = GroundTruth(videos=["a"], subsets=["test"], class_names=["x"], video=[0], label=[0],
                     start=[0.0], end=[6.4], snippet_seconds=0.64)
    with pytest.warns(EvaluationWarning, match="ambiguous"):
        evaluate(gt, {"a": Proposals([0], [0.0], [10.0], [0.5])}, protocol="wtalc")
    # an explicit list: rows (video, start, end) or a file
    res = evaluate(gt, {"a": Proposals([0, 0], [0.0, 12.0], [10.0, 14.0], [0.5, 0.9])}, protocol="wtalc",
                   tiou_thresholds=[0.5], ambiguous=[("a", 8.0, 9.0)])
    np.testing.assert_allclose(res.mAP, [1.0])  # the FP at 12-14 snippets (7.7-9 s) was removed
    with pytest.warns(EvaluationWarning, match=r"ambiguous list are not in the ground truth.*'zzz'"):
        evaluate(gt, {"a": Proposals([0], [0.0], [10.0], [0.5])}, protocol="wtalc", ambiguous=[("zzz", 1.0, 2.0)])


def test_threshold_and_argument_validation() -> None:
    for bad in ([0.0], [1.5], [], [[0.5]]):
        with pytest.raises(ValueError, match="tiou_thresholds"):
            evaluate(_gt_json(), _preds_json(), subset="validation", tiou_thresholds=bad)
    with pytest.raises(ValueError, match="protocol"):
        evaluate(_gt_json(), _preds_json(), subset="validation", protocol="voc")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="video names"):
        evaluate(_gt_json(), Proposals([0], [0.0], [1.0], [1.0]), subset="validation")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown_videos"):
        evaluate(_gt_json(), _preds_json(), subset="validation", unknown_videos="maybe")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# JSON I/O and bad files
# --------------------------------------------------------------------------------------------


def test_ground_truth_json_round_trip(tmp_path: Path) -> None:
    gt = GroundTruth(videos=["a", "b"], subsets=["test", "validation"], class_names=["y", "x"],
                     video=[1, 0], label=[0, 1], start=[1.5, 0.1], end=[2.25, 3.0], durations=[10.0, np.nan],
                     snippet_seconds=0.5, ambiguous_video=[0], ambiguous_start=[4.0], ambiguous_end=[5.0])
    path = write_activitynet_ground_truth(tmp_path / "gt.json", gt)
    back = read_activitynet_ground_truth(path)
    assert back.videos == gt.videos and back.subsets == gt.subsets and back.class_names == gt.class_names
    for name in ("label", "start", "end", "ambiguous_start", "ambiguous_end", "snippet_seconds"):
        np.testing.assert_array_equal(getattr(back, name), getattr(gt.select(videos=["a", "b"]), name))
    np.testing.assert_array_equal(back.video, [0, 1])  # rows grouped by video on writing
    assert np.isnan(back.durations[1])
    assert back.source == str(path)
    assert as_ground_truth(str(path)).videos == gt.videos


def test_ground_truth_sources(tmp_path: Path) -> None:
    """`as_ground_truth` reads JSON and per-video folders; W-TALC folders (.npy files) are read by
    `tadfuse.data.load_ground_truth`, which `evaluate` uses and which accepts every source."""
    from tadfuse.data import load_ground_truth, load_wtalc, thumos14_annotation_dir

    wtalc_dir = thumos14_annotation_dir()
    with pytest.raises(ValueError, match="load_ground_truth"):
        as_ground_truth(wtalc_dir)
    gt = load_ground_truth(wtalc_dir)
    assert len(gt.videos) == 412 and gt.source == str(wtalc_dir)
    ds = load_wtalc(wtalc_dir, features=False)
    assert load_ground_truth(ds) is ds.gt and as_ground_truth(ds) is ds.gt
    folder = tmp_path / "folder"
    write_activitynet_ground_truth(folder / "annotations.json", gt)
    for read in (as_ground_truth, load_ground_truth):
        back = read(folder)
        assert back.videos == gt.videos and back.source == str(folder / "annotations.json")
    assert load_ground_truth(_gt_json()).videos == ("v1", "v2", "v3", "t1")
    with pytest.raises(TypeError, match="ground_truth must be"):
        load_ground_truth(3.5)
    res = evaluate(wtalc_dir, {}, protocol="wtalc", tiou_thresholds=[0.5])
    assert len(res.videos) == 212


def test_results_json_round_trip(tmp_path: Path) -> None:
    props = {"a": Proposals([1, 0], [0.0, 2.5], [4.0, 3.0], [0.5, 0.25]), "b": Proposals.empty()}
    path = write_activitynet_results(tmp_path / "r.json", props, ["x", "y"], snippet_seconds=0.5,
                                     external_data={"used": False})
    data = read_activitynet_results(path)
    assert data["results"]["a"][0] == {"label": "y", "score": 0.5, "segment": [0.0, 2.0], "snippets": [0.0, 4.0]}
    assert data["results"]["b"] == [] and data["external_data"] == {"used": False}
    assert data["tadfuse"]["snippet_seconds"] == 0.5 and data["tadfuse"]["offset_seconds"] == 0.0
    back = proposals_from_activitynet(path, ["x", "y"], snippet_seconds=0.5)
    for v in props:
        for col in ("label", "start", "end", "score"):
            np.testing.assert_array_equal(getattr(back[v], col), getattr(props[v], col))
    write_activitynet_results(tmp_path / "r2.json", data)  # an already built dict
    assert read_activitynet_results(tmp_path / "r2.json") == data
    with pytest.warns(EvaluationWarning, match="not in class_names"):
        assert len(proposals_from_activitynet(path, ["x"], snippet_seconds=0.5)["a"]) == 1


_PROVENANCE = {"preset": "official", "config": {"postprocess": {"method": "fusion", "temperature": 0.2}},
               "inputs": {"cas": "runs/cas.npz"}}


def test_result_json_records_provenance(tmp_path: Path) -> None:
    """The tadfuse version always; preset, configuration and inputs when given; in a top-level
    'tadfuse' block that the readers (and the ActivityNet tools) tolerate; no timestamp."""
    props = {"v1": Proposals([0], [0.0], [15.625], [0.9])}
    path = write_activitynet_results(tmp_path / "r.json", props, ["jump", "run"], provenance=_PROVENANCE)
    data = json.loads(path.read_text())
    assert data["tadfuse"]["provenance"] == {"tadfuse_version": tadfuse.__version__, **_PROVENANCE}
    assert set(data) == {"version", "results", "external_data", "tadfuse"}
    assert read_activitynet_results(path) == data
    again = write_activitynet_results(tmp_path / "r2.json", props, ["jump", "run"], provenance=_PROVENANCE)
    assert again.read_bytes() == path.read_bytes()  # deterministic: nothing time-dependent
    plain = activitynet_results(props, ["jump", "run"])
    assert plain["tadfuse"]["provenance"] == {"tadfuse_version": tadfuse.__version__}
    # an already built dict: given provenance replaces its own; a dict without one gets the version
    built = write_activitynet_results(tmp_path / "b.json", _preds_json(), provenance={"preset": "paper"})
    assert json.loads(built.read_text())["tadfuse"]["provenance"] == {"tadfuse_version": tadfuse.__version__,
                                                                      "preset": "paper"}
    kept = write_activitynet_results(tmp_path / "k.json", data)
    assert json.loads(kept.read_text())["tadfuse"]["provenance"] == data["tadfuse"]["provenance"]
    with pytest.raises(ValueError, match="apply to Proposals only"):
        write_activitynet_results(tmp_path / "x.json", data, snippet_seconds=0.5)


def test_eval_result_records_provenance(tmp_path: Path) -> None:
    gt_path = tmp_path / "gt.json"
    gt_path.write_text(json.dumps(_gt_json()))
    props = {"v1": Proposals([0], [0.0], [15.625], [0.9])}
    pred_path = write_activitynet_results(tmp_path / "r.json", props, ["jump", "run"], provenance=_PROVENANCE)
    res = evaluate(gt_path, pred_path, subset="validation", tiou_thresholds=[0.5],
                   provenance={"preset": "official", "inputs": {"run": "exp1"}})
    d = res.to_dict()
    assert d["provenance"] == {
        "tadfuse_version": tadfuse.__version__,
        "inputs": {"ground_truth": str(gt_path), "predictions": str(pred_path), "run": "exp1"},
        "preset": "official",
        "predictions_provenance": {"tadfuse_version": tadfuse.__version__, **_PROVENANCE},
    }
    assert d["protocol"] == "anet" and d["tiou_thresholds"] == [0.5] and d["video_list_sha1"] == res.video_list_digest
    assert json.loads(json.dumps(d)) == d
    assert evaluate(gt_path, pred_path, subset="validation", tiou_thresholds=[0.5],
                    provenance={"preset": "official", "inputs": {"run": "exp1"}}).to_dict() == d  # no timestamps
    memory = evaluate(GroundTruth.from_activitynet(_gt_json()), props, subset="validation", tiou_thresholds=[0.5],
                      snippet_seconds=0.64)
    assert memory.provenance == {"tadfuse_version": tadfuse.__version__,
                                 "inputs": {"ground_truth": "in-memory", "predictions": "in-memory"}}
    loaded = evaluate(GroundTruth.from_activitynet(gt_path), _preds_json(), subset="validation")
    assert loaded.provenance["inputs"] == {"ground_truth": str(gt_path), "predictions": "in-memory"}
    with pytest.raises(ValueError, match="provenance"):
        evaluate(gt_path, pred_path, subset="validation", provenance={"tadfuse_version": "9"})


@pytest.mark.parametrize("bad, message", [
    (["preset"], "must be a mapping"),
    ({1: "x"}, "keys must be strings"),
    ({"tadfuse_version": "0"}, "recorded by tadfuse itself"),
    ({"config": "official"}, r"provenance\['config'\] must be a dict"),
    ({"inputs": ["a.json"]}, r"provenance\['inputs'\] must be a dict"),
    ({"preset": 3}, "preset name"),
    ({"seed": float("nan")}, "not JSON-serialisable"),
    ({"files": {"a", "b"}}, "not JSON-serialisable"),
])
def test_provenance_is_checked(bad: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        provenance_record(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=message):
        activitynet_results({}, ["x"], provenance=bad)  # type: ignore[arg-type]


def test_ground_truth_json_records_provenance(tmp_path: Path) -> None:
    gt = GroundTruth.from_activitynet(_gt_json())
    path = write_activitynet_ground_truth(tmp_path / "gt.json", gt, provenance={"inputs": {"from": "x.json"}})
    data = json.loads(path.read_text())
    assert data["tadfuse"]["provenance"] == {"tadfuse_version": tadfuse.__version__, "inputs": {"from": "x.json"}}
    back = read_activitynet_ground_truth(path)
    assert back.videos == gt.videos and back.class_names == gt.class_names
    assert json.loads(write_activitynet_ground_truth(tmp_path / "g2.json", gt).read_text())["tadfuse"] == {
        "provenance": {"tadfuse_version": tadfuse.__version__}}


def test_proposals_by_video() -> None:
    batch = Proposals([0, 1, 0], [0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [0.1, 0.2, 0.3], video=[1, 0, 1])
    split = proposals_by_video(batch, ["p", "q", "r"])
    assert list(split) == ["p", "q", "r"] and len(split["r"]) == 0
    np.testing.assert_array_equal(split["q"].start, [0.0, 2.0])
    with pytest.raises(ValueError, match="only 1 names"):
        proposals_by_video(batch, ["p"])


_DB = '{"database": {"v": {"subset": "s", "annotations": [%s]}}}'
_ANN = '{"label": "a", "segment": [0, 1]}'


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ('{"results": {}}', "missing key 'database'"),
        ('{"database": []}', "'database': must be an object"),
        ('{"database": {"v": {"annotations": []}}}', r"database\['v'\]: missing key 'subset'"),
        ('{"database": {"v": {"subset": 3, "annotations": []}}}', r"database\['v'\]: 'subset' must be"),
        ('{"database": {"v": {"subset": "s"}}}', "missing key 'annotations'"),
        ('{"database": {"v": {"subset": "s", "annotations": [{"label": "a"}]}}}', "'segment' and 'label'"),
        (_DB % '{"label": "a", "segment": [5, 1]}', r"\['annotations'\]\[0\]: 'segment' end 1.0 is before its start"),
        (_DB % '{"label": "a", "segment": [1]}', r"\[start, end\]"),
        (_DB % '{"label": "a", "segment": [-1, 1]}', r"\['annotations'\]\[0\]: 'segment' starts before 0"),
        (_DB % '{"label": "a", "segment": ["0", 1]}', "'segment' values must be numbers"),
        (_DB % '{"label": "a", "segment": [true, 1]}', "'segment' values must be numbers"),
        (_DB % '{"label": "a", "segment": [0, NaN]}', "'segment' must be finite"),
        (_DB % (_ANN + ', {"label": true, "segment": [0, 1]}'), r"\['annotations'\]\[1\]: 'label' must be"),
        (_DB % '{"label": 1.5, "segment": [0, 1]}', "'label' must be"),
        (_DB % '{"label": "", "segment": [0, 1]}', "'label' must be"),
        ('{"database": {"v": {"subset": "s", "duration": "long", "annotations": []}}}', "'duration' must be a number"),
        ('{"database": {"v": {"subset": "s", "duration": true, "annotations": []}}}', "'duration' must be a number"),
        ('{"database": {"v": {"subset": "s", "duration": -3, "annotations": []}}}', "'duration' must be positive"),
        ('{"database": {"v": {"subset": "s", "annotations": [], "ambiguous": [[3, 1]]}}}', "'ambiguous' end"),
        ('{"database": {"v": {"subset": "s", "annotations": [], "ambiguous": 3}}}', "'ambiguous' must be a list"),
        ('{"database": {"v": {"subset": "s", "annotations": []}, "v": {"subset": "s", "annotations": []}}}',
         "'v' appears twice"),
        ('{"class_names": "ab", "database": {}}', "'class_names' must be a list"),
        ('{"class_names": ["a", "a"], "database": {}}', "lists 'a' twice"),
        ('{"class_names": [null], "database": {}}', r"class_names\[0\]: 'label' must be"),
        ('{"tadfuse": [], "database": {}}', "'tadfuse': must be an object"),
        ('{"tadfuse": {"snippet_seconds": "0.64"}, "database": {}}', "'snippet_seconds' must be a number"),
        ('{"tadfuse": {"snippet_seconds": 0}, "database": {}}', "'snippet_seconds' must be positive"),
        ('{"tadfuse": {"snippet_seconds": 0.64, "offset_seconds": null}, "database": {}}', "'offset_seconds' must be"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_bad_ground_truth_files_name_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "gt.json"
    path.write_text(content)
    with pytest.raises(DataFormatError, match=message) as info:
        read_activitynet_ground_truth(path)
    assert str(path) in str(info.value)


_RES = '{"results": {"v": [%s]}}'
_DET = '{"label": "a", "score": 0.5, "segment": [0, 1]}'


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"database": {}}', "missing key 'results'"),
        ('{"results": []}', "'results': must be an object"),
        ('{"results": {"v": {}}}', "must be a list"),
        ('{"results": {"v": [], "v": []}}', "'v' appears twice"),
        ('{"results": {"": []}}', "video names must be non-empty"),
        (_RES % "3", r"results\['v'\]\[0\]: must be an object"),
        (_RES % '{"label": "a", "score": 1}', "missing key 'segment'"),
        (_RES % '{"label": "a", "segment": [0, 1]}', "missing key 'score'"),
        (_RES % '{"score": 1, "segment": [0, 1]}', "missing key 'label'"),
        (_RES % (_DET + ', {"label": "a", "score": "0.5", "segment": [0, 1]}'),
         r"results\['v'\]\[1\]: 'score' must be a number, got '0.5'"),
        (_RES % '{"label": "a", "score": true, "segment": [0, 1]}', r"results\['v'\]\[0\]: 'score' must be a number"),
        (_RES % '{"label": "a", "score": null, "segment": [0, 1]}', "'score' must be a number"),
        (_RES % '{"label": "a", "score": NaN, "segment": [0, 1]}', "'score' must be finite"),
        (_RES % '{"label": "a", "score": 1e400, "segment": [0, 1]}', "'score' must be finite"),
        (_RES % '{"label": "a", "score": 1, "segment": [0, Infinity]}', "'segment' must be finite"),
        (_RES % '{"label": "a", "score": 1, "segment": [3, 1]}', r"results\['v'\]\[0\]: 'segment' end 1.0 is before"),
        (_RES % '{"label": "a", "score": 1, "segment": [-0.5, 1]}', r"results\['v'\]\[0\]: 'segment' starts before 0"),
        (_RES % '{"label": "a", "score": 1, "segment": [0, 1, 2]}', r"'segment' must be a list \[start, end\]"),
        (_RES % '{"label": "a", "score": 1, "segment": "0-1"}', r"'segment' must be a list \[start, end\]"),
        (_RES % '{"label": "a", "score": 1, "segment": ["0", 1]}', "'segment' values must be numbers"),
        (_RES % '{"label": "a", "score": 1, "segment": [false, 1]}', "'segment' values must be numbers"),
        (_RES % '{"label": [1], "score": 1, "segment": [0, 1]}', "'label' must be"),
        (_RES % '{"label": true, "score": 1, "segment": [0, 1]}', "'label' must be"),
        (_RES % '{"label": 2.0, "score": 1, "segment": [0, 1]}', "'label' must be"),
        (_RES % '{"label": "", "score": 1, "segment": [0, 1]}', "'label' must be"),
        (_RES % '{"label": null, "score": 1, "segment": [0, 1]}', "'label' must be"),
        (_RES % '{"label": "a", "score": 1, "segment": [0, 1], "snippets": [3, 1]}',
         r"results\['v'\]\[0\]: 'snippets' end 1.0 is before"),
        (_RES % '{"label": "a", "score": 1, "segment": [0, 1], "snippets": [-1, 1]}', "'snippets' starts before 0"),
        (_RES % '{"label": "a", "score": 1, "segment": [0, 1], "snippets": ["0", 1]}', "'snippets' values must be"),
        (_RES % '{"label": "a", "score": 1, "segment": [0, 1], "snippets": [0, NaN]}', "'snippets' must be finite"),
        (_RES % '{"label": "a", "score": 1, "segment": [0, 1], "snippets": 2}', r"'snippets' must be a list"),
        ('{"results": {}, "tadfuse": {"snippet_seconds": "0.64"}}', "'snippet_seconds' must be a number"),
        ('{"results": {}, "tadfuse": {"snippet_seconds": {"v": 0}}}', r"\['snippet_seconds'\]\['v'\]: .* positive"),
        ('{"results": {}, "tadfuse": {"offset_seconds": true}}', "'offset_seconds' must be a number"),
        ('{"results": {}, "tadfuse": {"provenance": []}}', "'provenance': must be an object"),
        ('{"results": {}, "external_data": 3}', "'external_data': must be an object"),
        ('{"results": {}, "tadfuse": "x"}', "'tadfuse': must be an object"),
    ],
)
def test_bad_result_files_name_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "pred.json"
    path.write_text(content)
    with pytest.raises(DataFormatError, match=message) as info:
        read_activitynet_results(path)
    assert str(path) in str(info.value)
    with pytest.raises(DataFormatError, match=message):  # the evaluator reads it the same way
        evaluate(_gt_json(), path, subset="validation")


def test_result_reader_accepts_what_the_format_allows(tmp_path: Path) -> None:
    """Integer scores and bounds, integer labels, zero-length segments, extra keys (ignored by
    the ActivityNet tools) and numpy scalars in an in-memory dict are all valid."""
    data = {"version": "VERSION 1.3", "external_data": {"used": False}, "tadfuse": {"anything": 1},
            "results": {"v1": [{"label": "jump", "score": 1, "segment": [0, 10], "extra": "kept"},
                               {"label": 3, "score": 0.5, "segment": [4.5, 4.5]},
                               {"label": "run", "score": np.float32(0.25), "segment": [np.int64(19), np.float64(29)]}],
                        "v2": []}}
    assert read_activitynet_results(data) == data
    res = _quiet_evaluate(_gt_json(), data, subset="validation", tiou_thresholds=[0.5])
    assert res.num_predictions == 2  # the label 3 has no ground truth


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.json"):
        evaluate(tmp_path / "nope.json", _preds_json())
    with pytest.raises(FileNotFoundError, match="amb.txt"):
        read_ambiguous_list(tmp_path / "amb.txt")


def test_ambiguous_list_parsing(tmp_path: Path) -> None:
    path = tmp_path / "Ambiguous_test.txt"
    path.write_text("video_test_1  0.0 1.4\n\nvideo_test_2  95.7 97.2\n")
    assert read_ambiguous_list(path) == [("video_test_1", 0.0, 1.4), ("video_test_2", 95.7, 97.2)]
    path.write_text("video_test_1  0.0\n")
    with pytest.raises(ValueError, match=r"Ambiguous_test.txt:1: expected 'video start end'"):
        read_ambiguous_list(path)
    path.write_text("v 2.0 1.0\n")
    with pytest.raises(DataFormatError, match="invalid interval"):
        read_ambiguous_list(path)
    path.write_text("v 1.0 2.0\nv -1.0 2.0\n")
    with pytest.raises(DataFormatError, match=r"Ambiguous_test.txt:2: invalid interval"):
        read_ambiguous_list(path)
    path.write_text("v nan 2.0\n")
    with pytest.raises(DataFormatError, match="invalid interval"):
        read_ambiguous_list(path)


def test_ground_truth_validation() -> None:
    with pytest.raises(ValueError, match="more than once"):
        GroundTruth(videos=["a", "a"], subsets=["s", "s"], class_names=["x"], video=[], label=[], start=[], end=[])
    with pytest.raises(ValueError, match="before it starts"):
        GroundTruth(videos=["a"], subsets=["s"], class_names=["x"], video=[0], label=[0], start=[2.0], end=[1.0])
    with pytest.raises(ValueError, match="out of range"):
        GroundTruth(videos=["a"], subsets=["s"], class_names=["x"], video=[0], label=[1], start=[0.0], end=[1.0])
    with pytest.raises(ValueError, match="non-finite"):
        GroundTruth(videos=["a"], subsets=["s"], class_names=["x"], video=[0], label=[0], start=[0.0], end=[np.inf])


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _run_cli(argv: list[str]) -> int:
    from helpers import run_cli

    return run_cli(argv)


def test_eval_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "gt.json").write_text(json.dumps(_gt_json()))
    (tmp_path / "pred.json").write_text(json.dumps(_preds_json()))
    rc = _run_cli(["eval", "--gt", str(tmp_path / "gt.json"), "--pred", str(tmp_path / "pred.json"),
                   "--subset", "validation", "--tiou", "0.3", "0.5", "0.7", "--per-class",
                   "--json", str(tmp_path / "out" / "res.json")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "protocol: anet" in out and "videos: 3" in out and "jump" in out
    saved = json.loads((tmp_path / "out" / "res.json").read_text())
    expected = evaluate(_gt_json(), _preds_json(), subset="validation", tiou_thresholds=[0.3, 0.5, 0.7])
    np.testing.assert_allclose(saved["mAP"], expected.mAP)
    assert saved["videos"] == ["v1", "v2", "v3"]


def test_eval_cli_integer_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt, preds = _int_label_case()
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "pred.json").write_text(json.dumps(preds))
    args = ["eval", "--gt", str(tmp_path / "gt.json"), "--pred", str(tmp_path / "pred.json"),
            "--tiou", "0.5", "--json", str(tmp_path / "res.json")]
    assert _run_cli(args) == 0
    assert json.loads((tmp_path / "res.json").read_text())["mAP"] == [pytest.approx(1.0)]
    # positions into a class list of names, on request
    named = {"database": {"v": {"subset": "test", "annotations": [
        {"segment": a["segment"], "label": f"c{a['label']:02d}"} for a in gt["database"]["v"]["annotations"]]}}}
    (tmp_path / "named.json").write_text(json.dumps(named))
    args[2] = str(tmp_path / "named.json")
    assert _run_cli(args + ["--integer-labels", "index"]) == 0
    assert json.loads((tmp_path / "res.json").read_text())["mAP"] == [pytest.approx(1.0)]


def test_cli_options_named_in_errors() -> None:
    with pytest.raises(ValueError, match=r"pass subset= or videos= \(CLI: --subset or --videos\)"):
        evaluate(_gt_json(), _preds_json())
    gt = GroundTruth(videos=["a"], subsets=["test"], class_names=["x"], video=[0], label=[0],
                     start=[0.0], end=[6.4])  # no timebase
    with pytest.raises(ValueError, match=r"pass snippet_seconds= \(CLI: --snippet-seconds\)"):
        evaluate(gt, {"a": Proposals([0], [0.0], [10.0], [0.5])})
    with pytest.raises(ValueError, match=r"pass snippet_seconds= \(CLI: --snippet-seconds\)"):
        evaluate(gt, {"a": Proposals([0], [0.0], [10.0], [0.5])}, protocol="wtalc")


def test_wtalc_notes_on_rounding_and_short_segments() -> None:
    """Under wtalc, predictions in seconds are truncated to snippets and the ground truth is
    rounded (as in the original), so the ground truth scored against itself stays below 1.0; the
    17 THUMOS14 test segments shorter than one snippet can never be matched."""
    from tadfuse.data import load_wtalc, thumos14_annotation_dir

    ds = load_wtalc(thumos14_annotation_dir(), features=False)
    gt = ds.ground_truth("test")
    as_results = {"results": {v: [{"label": gt.class_names[c], "segment": [float(a), float(b)], "score": 1.0}
                                  for c, (a, b) in zip(*gt.segments(v))] for v in gt.videos}}
    res = evaluate(ds, as_results, protocol="wtalc")
    assert res.mAP[-1] < 0.7 and res.mAP[0] < 1.0
    assert any("17 ground-truth segment(s) are shorter than one snippet" in n for n in res.notes)
    assert any("truncated to snippets while the ground truth is rounded" in n for n in res.notes)
    np.testing.assert_allclose(evaluate(ds, as_results, subset="test").mAP, 1.0)  # anet: exact
    # predictions in snippets get no truncation note; no short segments, no count
    g = GroundTruth(videos=["a"], subsets=["test"], class_names=["x"], video=[0], label=[0], start=[0.0],
                    end=[6.4], snippet_seconds=0.64, ambiguous_video=[0], ambiguous_start=[20.0], ambiguous_end=[21.0])
    res = evaluate(g, {"a": Proposals([0], [0.0], [10.0], [0.5])}, protocol="wtalc")
    assert not any("truncated" in n or "shorter than one snippet" in n for n in res.notes)


def test_atomic_json_write_keeps_the_old_file_on_failure_and_normal_permissions(tmp_path):
    import os
    import stat

    from tadfuse.annotations import atomic_write_json

    path = atomic_write_json(tmp_path / "out" / "r.json", {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~_umask()
    with pytest.raises(TypeError):
        atomic_write_json(path, {"a": object()})  # not JSON: fails half-way through the dump
    assert json.loads(path.read_text()) == {"a": 1}
    assert sorted(p.name for p in path.parent.iterdir()) == ["r.json"]  # no temporary file left


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
