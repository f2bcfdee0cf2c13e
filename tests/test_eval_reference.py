"""The evaluator against slow references of the two evaluators it reproduces, and hand-computed
cases.

`_anet_reference` restates ActivityNet's ``eval_detection.py`` (ANETdetection with
``check_status=False``) one prediction at a time, in plain Python, including its own
(descending ``argsort``) orderings; `_wtalc_reference` restates W-TALC/RSKP/GauFuse's
``detectionMAP.getLocMAP`` + ``filter_segments`` with Python ``range``/``set`` objects and
``round``/``int`` exactly as they are used there. Random inputs have continuous scores (no
ties), where the official orderings are deterministic, so the numbers must agree to 1e-9.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tadfuse.annotations import GroundTruth, read_ambiguous_list
from tadfuse.errors import EvaluationWarning
from tadfuse.evaluation import average_precision, evaluate
from tadfuse.proposals import Proposals

# --------------------------------------------------------------------------------------------
# Slow references
# --------------------------------------------------------------------------------------------


def _voc_ap(prec: list[float], rec: list[float]) -> float:
    """VOC 2011 all-points interpolation, written as a plain loop."""
    p = [0.0] + list(prec) + [0.0]
    r = [0.0] + list(rec) + [1.0]
    for i in range(len(p) - 2, -1, -1):
        p[i] = max(p[i], p[i + 1])
    total = 0.0
    for i in range(1, len(r)):
        if r[i] != r[i - 1]:
            total += (r[i] - r[i - 1]) * p[i]
    return total


def _anet_reference(gt_json: dict, pred_json: dict, thresholds: list[float], subset: str, ties: str = "official"):
    """Returns (mAP per threshold, {class name: AP per threshold}).

    ``ties="official"`` orders scores and tIoUs like the official code (descending ``argsort``,
    which puts the *last* of equal values first for short lists); ``ties="stable"`` is tadfuse's
    documented rule (equal scores keep their input order; the first of equal-tIoU ground truths
    wins) and scores a zero-length union as tIoU 0 (the official code computes 0/0)."""
    class_index: dict[str, int] = {}
    gt_rows = []  # (video, start, end, class)
    for vid, entry in gt_json["database"].items():
        if entry["subset"] != subset:
            continue
        for ann in entry["annotations"]:
            if ann["label"] not in class_index:
                class_index[ann["label"]] = len(class_index)
            gt_rows.append((vid, float(ann["segment"][0]), float(ann["segment"][1]), class_index[ann["label"]]))
    preds = []
    for vid, dets in pred_json["results"].items():
        for d in dets:
            preds.append((vid, float(d["segment"][0]), float(d["segment"][1]), class_index[d["label"]], d["score"]))

    n_t = len(thresholds)
    per_class = {}
    for name, c in class_index.items():
        gts = [g for g in gt_rows if g[3] == c]
        prs = [p for p in preds if p[3] == c]
        ap = [0.0] * n_t
        if prs:
            if ties == "official":
                order = np.array([p[4] for p in prs]).argsort()[::-1]
            else:
                order = sorted(range(len(prs)), key=lambda i: -prs[i][4])
            prs = [prs[i] for i in order]
            locked = [[False] * len(gts) for _ in range(n_t)]
            tp = [[0] * len(prs) for _ in range(n_t)]
            fp = [[0] * len(prs) for _ in range(n_t)]
            for k, (vid, ps, pe, _, _) in enumerate(prs):
                mine = [j for j, g in enumerate(gts) if g[0] == vid]
                if not mine:
                    for t in range(n_t):
                        fp[t][k] = 1
                    continue
                tious = []
                for j in mine:
                    gs, ge = gts[j][1], gts[j][2]
                    inter = max(0.0, min(pe, ge) - max(ps, gs))
                    union = (ge - gs) + (pe - ps) - inter
                    tious.append(inter / union if union > 0 or ties == "official" else 0.0)
                if ties == "official":
                    ranked = np.array(tious).argsort()[::-1]
                else:
                    ranked = sorted(range(len(tious)), key=lambda r: -tious[r])
                for t, thr in enumerate(thresholds):
                    for r in ranked:
                        if tious[r] < thr:
                            fp[t][k] = 1
                            break
                        if locked[t][mine[r]]:
                            continue
                        tp[t][k] = 1
                        locked[t][mine[r]] = True
                        break
                    if not tp[t][k] and not fp[t][k]:
                        fp[t][k] = 1
            for t in range(n_t):
                ctp = np.cumsum(tp[t]).astype(float)
                cfp = np.cumsum(fp[t]).astype(float)
                ap[t] = _voc_ap(list(ctp / (ctp + cfp)), list(ctp / len(gts)))
        per_class[name] = np.array(ap)
    m = np.mean(np.stack(list(per_class.values()), axis=1), axis=1)
    return m, per_class


def _wtalc_reference(videonames, subsets, gt_segments, gt_labels, classlist, preds_by_class, ambiguous,
                     th, factor=25 / 16, zero_map_bug=True):
    """``preds_by_class[c]``: rows ``[video index into the filtered list, start, end, score]`` in
    snippets. Returns mAP as a fraction (the original returns a percentage)."""
    keep = [i for i in range(len(videonames)) if subsets[i] == "test" and len(gt_segments[i])]
    names = [videonames[i] for i in keep]
    segs = [gt_segments[i] for i in keep]
    labs = [gt_labels[i] for i in keep]
    classes = sorted({lab for ls in labs for lab in ls})
    class_idx = [classlist.index(c) for c in classes]
    aps = []
    for c in class_idx:
        rows = sorted(preds_by_class.get(c, []), key=lambda r: -r[3])
        kept = []
        for r in rows:  # filter_segments
            drop = False
            for vid, a, b in ambiguous:
                if vid == names[int(r[0])]:
                    amb = set(range(int(round(a * factor)), int(round(b * factor))))
                    pr = set(range(int(r[1]), int(r[2])))
                    union = len(amb | pr)
                    if union and len(amb & pr) / union > 0:
                        drop = True
            if not drop:
                kept.append(r)
        if not kept:
            if zero_map_bug:
                return 0.0
            aps.append(0.0)
            continue
        gt_list = [[i, s[0], s[1]] for i in range(len(segs)) for s, lab in zip(segs[i], labs[i])
                   if classlist.index(lab) == c]
        npos = len(gt_list)
        tp, fp = [], []
        for r in kept:
            matched, best, best_j = False, 0.0, None
            for j, g in enumerate(gt_list):
                if r[0] == g[0]:
                    gs = set(range(int(round(g[1] * factor)), int(round(g[2] * factor))))
                    ps = set(range(int(r[1]), int(r[2])))
                    union = len(gs | ps)
                    iou = len(gs & ps) / union if union else 0.0
                    if iou >= th:
                        matched = True
                        if iou > best:
                            best, best_j = iou, j
            if matched:
                del gt_list[best_j]
            tp.append(float(matched))
            fp.append(1.0 - float(matched))
        if sum(tp) == 0:
            aps.append(0.0)
            continue
        ctp, cfp = np.cumsum(tp), np.cumsum(fp)
        aps.append(_voc_ap(list(ctp / (cfp + ctp)), list(ctp / npos)))
    return float(np.mean(aps)) if aps else 0.0


# --------------------------------------------------------------------------------------------
# Random inputs
# --------------------------------------------------------------------------------------------


def _random_anet_case(rng: np.random.Generator):
    n_classes = int(rng.integers(1, 5))
    names = [f"c{k}" for k in range(n_classes)]
    db, results = {}, {}
    n_videos = int(rng.integers(1, 7))
    for v in range(n_videos):
        vid = f"v{v}"
        subset = "validation" if rng.random() < 0.8 else "training"
        anns = []
        for _ in range(int(rng.integers(0, 6))):
            s = float(rng.uniform(0, 90))
            anns.append({"segment": [s, s + float(rng.uniform(0.5, 20))], "label": names[int(rng.integers(n_classes))]})
        db[vid] = {"subset": subset, "duration": 120.0, "annotations": anns}
        dets = []
        for _ in range(int(rng.integers(0, 25))):
            if anns and rng.random() < 0.6:  # near a ground-truth segment
                a = anns[int(rng.integers(len(anns)))]
                s = a["segment"][0] + float(rng.normal(0, 3))
                e = a["segment"][1] + float(rng.normal(0, 3))
                s, e = max(0.0, min(s, e)), max(0.0, s, e)  # result files have no negative times
                label = a["label"] if rng.random() < 0.8 else names[int(rng.integers(n_classes))]
            else:
                s = float(rng.uniform(0, 100))
                e = s + float(rng.uniform(0, 15)) * (rng.random() > 0.05)  # some zero-length
                label = names[int(rng.integers(n_classes))]
            dets.append({"label": label, "score": float(rng.random()), "segment": [s, e]})
        results[vid] = dets
    # predictions on a video that is not in the ground truth
    results["unknown_video"] = [{"label": names[0], "score": float(rng.random()), "segment": [1.0, 5.0]}]
    return {"database": db}, {"results": results}


def _used_labels_ok(gt, pred, subset):
    present = {a["label"] for e in gt["database"].values() if e["subset"] == subset for a in e["annotations"]}
    used = {d["label"] for dets in pred["results"].values() for d in dets}
    return present, used


@pytest.mark.parametrize("seed", range(60))
def test_anet_matches_reference_on_random_inputs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    present: set[str] = set()
    while not present:  # redraw until the subset has ground truth
        gt, pred = _random_anet_case(rng)
        present, _ = _used_labels_ok(gt, pred, "validation")
    # the official code raises KeyError for labels without ground truth: keep the rest only
    pred = {"results": {v: [d for d in ds if d["label"] in present] for v, ds in pred["results"].items()}}
    thresholds = [0.1, 0.3, 0.5, 0.7] + list(np.linspace(0.5, 0.95, 10))
    ref_map, ref_ap = _anet_reference(gt, pred, thresholds, "validation")
    with warnings.catch_warnings():  # other-subset and unknown videos: false positives, with a warning
        warnings.simplefilter("ignore", EvaluationWarning)
        res = evaluate(gt, pred, protocol="anet", subset="validation", tiou_thresholds=thresholds)
    np.testing.assert_allclose(res.mAP, ref_map, rtol=0, atol=1e-9)
    assert set(res.ap_per_class) == set(ref_ap)
    for name, ap in ref_ap.items():
        np.testing.assert_allclose(res.ap_per_class[name], ap, rtol=0, atol=1e-9)


def test_anet_reference_is_exercised() -> None:
    """The random cases are not degenerate: they mix hits and misses."""
    values = []
    for seed in range(20):
        gt, pred = _random_anet_case(np.random.default_rng(seed))
        present, _ = _used_labels_ok(gt, pred, "validation")
        if present:
            pred = {"results": {v: [d for d in ds if d["label"] in present] for v, ds in pred["results"].items()}}
            values.append(_anet_reference(gt, pred, [0.5], "validation")[0][0])
    values = np.array(values)
    assert np.any(values > 0.2) and np.any(values < 0.9) and len(values) >= 15


def _random_wtalc_case(rng: np.random.Generator):
    classlist = [f"K{k}" for k in range(int(rng.integers(2, 5)))]
    videonames, subsets, segs, labs = [], [], [], []
    for v in range(int(rng.integers(2, 8))):
        videonames.append(f"video_{v}")
        subsets.append("test" if rng.random() < 0.8 else "validation")
        n = int(rng.integers(0, 5))
        s = np.round(rng.uniform(0, 60, n), 1)
        e = np.round(s + rng.uniform(0.2, 10, n), 1)  # 0.1 s granularity like THUMOS14
        segs.append([[float(a), float(b)] for a, b in zip(s, e)])
        labs.append([classlist[int(rng.integers(len(classlist)))] for _ in range(n)])
    keep = [i for i in range(len(videonames)) if subsets[i] == "test" and segs[i]]
    ambiguous = []
    for i in keep:
        if rng.random() < 0.4:
            a = float(np.round(rng.uniform(0, 60), 1))
            ambiguous.append((videonames[i], a, a + float(np.round(rng.uniform(0.5, 4), 1))))
    return classlist, videonames, subsets, segs, labs, keep, ambiguous


@pytest.mark.parametrize("seed", range(40))
def test_wtalc_matches_reference_on_random_inputs(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    keep: list[int] = []
    while not keep:  # redraw until a test video has ground truth
        classlist, videonames, subsets, segs, labs, keep, ambiguous = _random_wtalc_case(rng)
    f = 25 / 16
    preds_by_class: dict[int, list[list[float]]] = {}
    props: dict[str, tuple[list, list, list, list]] = {videonames[i]: ([], [], [], []) for i in keep}
    for k, i in enumerate(keep):
        for _ in range(int(rng.integers(0, 12))):
            if segs[i] and rng.random() < 0.7:
                j = int(rng.integers(len(segs[i])))
                s = segs[i][j][0] * f + rng.normal(0, 2)
                e = segs[i][j][1] * f + rng.normal(0, 2)
                c = classlist.index(labs[i][j]) if rng.random() < 0.8 else int(rng.integers(len(classlist)))
            else:
                s = rng.uniform(0, 100)
                e = s + rng.uniform(1, 15)
                c = int(rng.integers(len(classlist)))
            s, e = max(0.0, min(s, e)), max(0.0, max(s, e))
            score = float(rng.random())
            preds_by_class.setdefault(c, []).append([k, float(s), float(e), score])
            for col, val in zip(props[videonames[i]], (c, s, e, score)):
                col.append(val)
    gt = GroundTruth(
        videos=videonames, subsets=subsets, class_names=classlist,
        video=[i for i in range(len(videonames)) for _ in segs[i]],
        label=[classlist.index(lab) for i in range(len(videonames)) for lab in labs[i]],
        start=[s[0] for i in range(len(videonames)) for s in segs[i]],
        end=[s[1] for i in range(len(videonames)) for s in segs[i]],
        snippet_seconds=16 / 25,
        ambiguous_video=[videonames.index(v) for v, _, _ in ambiguous],
        ambiguous_start=[a for _, a, _ in ambiguous], ambiguous_end=[b for _, _, b in ambiguous],
    )
    predictions = {v: Proposals(*cols) for v, cols in props.items()}
    thresholds = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    for bug in (False, True):
        with warnings.catch_warnings():  # labels without ground truth, no ambiguous list: warned
            warnings.simplefilter("ignore", EvaluationWarning)
            res = evaluate(gt, predictions, protocol="wtalc", tiou_thresholds=thresholds, zero_map_bug=bug)
        ref = [_wtalc_reference(videonames, subsets, segs, labs, classlist, preds_by_class, ambiguous, t,
                                zero_map_bug=bug) for t in thresholds]
        np.testing.assert_allclose(res.mAP, ref, rtol=0, atol=1e-9)
        assert res.videos == tuple(videonames[i] for i in keep)


# --------------------------------------------------------------------------------------------
# Generated inputs (hypothesis): ties, zero-length and repeated values included
# --------------------------------------------------------------------------------------------

# Times on a 0.1 s grid and scores from a few values, so that equal scores, equal tIoUs and
# shared boundaries are common; the references above then break ties like tadfuse documents.
_TENTHS = st.integers(0, 1000).map(lambda k: k / 10)
_SCORES = st.one_of(st.sampled_from([0.25, 0.5, 0.75]), st.floats(0, 1))


@st.composite
def _anet_cases(draw: st.DrawFn) -> tuple[dict, dict]:
    names = [f"c{k}" for k in range(draw(st.integers(1, 3)))]
    db, results = {}, {}
    for v in range(draw(st.integers(1, 4))):
        vid = f"v{v}"
        anns = []
        for _ in range(draw(st.integers(0, 4))):
            s = draw(_TENTHS)
            anns.append({"segment": [s, s + draw(st.integers(1, 200)) / 10], "label": draw(st.sampled_from(names))})
        db[vid] = {"subset": draw(st.sampled_from(["validation", "validation", "training"])), "annotations": anns}
        dets = []
        for _ in range(draw(st.integers(0, 8))):
            if anns and draw(st.booleans()):  # near a ground-truth segment, or exactly on it
                a = draw(st.sampled_from(anns))
                s = max(0.0, a["segment"][0] + draw(st.integers(-30, 30)) / 10)
                e = max(s, a["segment"][1] + draw(st.integers(-30, 30)) / 10)
                label = a["label"] if draw(st.booleans()) else draw(st.sampled_from(names))
            else:
                s = draw(_TENTHS)
                e = s + draw(st.integers(0, 150)) / 10  # zero-length ones included
                label = draw(st.sampled_from(names))
            dets.append({"label": label, "score": draw(_SCORES), "segment": [s, e]})
        results[vid] = dets
    results["unknown_video"] = [{"label": names[0], "score": draw(_SCORES), "segment": [1.0, 5.0]}]
    return {"database": db}, {"results": results}


@given(case=_anet_cases())
@settings(max_examples=150)
def test_anet_matches_stable_reference_on_generated_inputs(case: tuple[dict, dict]) -> None:
    gt, pred = case
    present, _ = _used_labels_ok(gt, pred, "validation")
    assume(present)
    pred = {"results": {v: [d for d in ds if d["label"] in present] for v, ds in pred["results"].items()}}
    thresholds = [0.1, 0.3, 0.5, 0.7, 1.0]
    ref_map, ref_ap = _anet_reference(gt, pred, thresholds, "validation", ties="stable")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)
        res = evaluate(gt, pred, protocol="anet", subset="validation", tiou_thresholds=thresholds)
    np.testing.assert_allclose(res.mAP, ref_map, rtol=0, atol=1e-12)
    assert set(res.ap_per_class) == set(ref_ap)
    for name, ap in ref_ap.items():
        np.testing.assert_allclose(res.ap_per_class[name], ap, rtol=0, atol=1e-12)


@st.composite
def _wtalc_cases(draw: st.DrawFn):
    classlist = [f"K{k}" for k in range(draw(st.integers(2, 4)))]
    videonames, subsets, segs, labs = [], [], [], []
    for v in range(draw(st.integers(1, 5))):
        videonames.append(f"video_{v}")
        subsets.append(draw(st.sampled_from(["test", "test", "validation"])))
        starts = draw(st.lists(st.integers(0, 600), max_size=4))
        segs.append([[a / 10, (a + draw(st.integers(0, 100))) / 10] for a in starts])  # sub-snippet ones too
        labs.append([draw(st.sampled_from(classlist)) for _ in starts])
    keep = [i for i in range(len(videonames)) if subsets[i] == "test" and segs[i]]
    ambiguous = []
    for i in keep:
        if draw(st.booleans()):
            a = draw(st.integers(0, 600)) / 10
            ambiguous.append((videonames[i], a, a + draw(st.integers(1, 40)) / 10))
    f = 25 / 16
    preds_by_class: dict[int, list[list[float]]] = {}
    props: dict[str, tuple[list, list, list, list]] = {videonames[i]: ([], [], [], []) for i in keep}
    for k, i in enumerate(keep):
        for _ in range(draw(st.integers(0, 8))):
            if draw(st.booleans()):  # near a ground-truth segment, in (possibly fractional) snippets
                j = draw(st.integers(0, len(segs[i]) - 1))
                s = max(0.0, segs[i][j][0] * f + draw(st.integers(-8, 8)) / 4)
                e = max(s, segs[i][j][1] * f + draw(st.integers(-8, 8)) / 4)
                c = classlist.index(labs[i][j]) if draw(st.booleans()) else draw(st.integers(0, len(classlist) - 1))
            else:
                s = draw(st.integers(0, 400)) / 4
                e = s + draw(st.integers(0, 60)) / 4
                c = draw(st.integers(0, len(classlist) - 1))
            score = draw(_SCORES)
            preds_by_class.setdefault(c, []).append([k, s, e, score])
            for col, val in zip(props[videonames[i]], (c, s, e, score)):
                col.append(val)
    return classlist, videonames, subsets, segs, labs, keep, ambiguous, preds_by_class, props


@given(case=_wtalc_cases(), bug=st.booleans())
@settings(max_examples=150)
def test_wtalc_matches_reference_on_generated_inputs(case, bug: bool) -> None:
    classlist, videonames, subsets, segs, labs, keep, ambiguous, preds_by_class, props = case
    assume(keep)
    gt = GroundTruth(
        videos=videonames, subsets=subsets, class_names=classlist,
        video=[i for i in range(len(videonames)) for _ in segs[i]],
        label=[classlist.index(lab) for i in range(len(videonames)) for lab in labs[i]],
        start=[s[0] for i in range(len(videonames)) for s in segs[i]],
        end=[s[1] for i in range(len(videonames)) for s in segs[i]],
        snippet_seconds=16 / 25,
        ambiguous_video=[videonames.index(v) for v, _, _ in ambiguous],
        ambiguous_start=[a for _, a, _ in ambiguous], ambiguous_end=[b for _, _, b in ambiguous],
    )
    thresholds = [0.1, 0.3, 0.5, 0.7, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)
        res = evaluate(gt, {v: Proposals(*cols) for v, cols in props.items()}, protocol="wtalc",
                       tiou_thresholds=thresholds, zero_map_bug=bug)
    ref = [_wtalc_reference(videonames, subsets, segs, labs, classlist, preds_by_class, ambiguous, t,
                            zero_map_bug=bug) for t in thresholds]
    np.testing.assert_allclose(res.mAP, ref, rtol=0, atol=1e-12)
    assert res.videos == tuple(videonames[i] for i in keep)


# --------------------------------------------------------------------------------------------
# Hand-computed cases
# --------------------------------------------------------------------------------------------


def _gt(*segments, label="a", subset="test"):
    return {"database": {"v": {"subset": subset, "annotations": [{"segment": list(s), "label": label} for s in segments]}}}


def _pred(*rows, video="v"):
    return {"results": {video: [{"label": lab, "score": sc, "segment": list(seg)} for lab, sc, seg in rows]}}


def test_hand_case_duplicate_is_false_positive() -> None:
    # GT [0,10], [20,30]. Ranked: exact hit (TP), duplicate of it (FP), [20,25] (tIoU 0.5).
    gt = _gt((0, 10), (20, 30))
    pred = _pred(("a", 0.9, (0, 10)), ("a", 0.8, (0, 10)), ("a", 0.7, (20, 25)))
    res = evaluate(gt, pred, tiou_thresholds=[0.5, 0.6])
    # @0.5: TP FP TP -> precision 1, 1/2, 2/3; recall 1/2, 1/2, 1 -> AP = 1/2*1 + 1/2*2/3 = 5/6
    # @0.6: TP FP FP -> AP = 1/2
    np.testing.assert_allclose(res.mAP, [5 / 6, 0.5], rtol=0, atol=1e-12)


def test_hand_case_prediction_takes_best_unmatched_ground_truth() -> None:
    # Two GT overlapping the first prediction: it takes the higher-tIoU one ([0,10], tIoU 0.8);
    # the second prediction can then only take [4,14].
    gt = _gt((0, 10), (4, 14))
    pred = _pred(("a", 0.9, (0, 8)), ("a", 0.8, (4, 12)))
    res = evaluate(gt, pred, tiou_thresholds=[0.5, 0.75])
    # @0.5: [0,8] vs [0,10] = 0.8 (TP); [4,12] vs [4,14] = 0.8 (TP) -> AP 1
    # @0.75: same matches (0.8 >= 0.75) -> AP 1
    np.testing.assert_allclose(res.mAP, [1.0, 1.0], atol=1e-12)
    res = evaluate(gt, pred, tiou_thresholds=[0.85])
    np.testing.assert_allclose(res.mAP, [0.0], atol=1e-12)


def test_hand_case_wtalc_snippet_sets() -> None:
    # GT 1.28 s .. 3.84 s -> round(2.0)=2 .. round(6.0)=6: snippets {2,3,4,5}.
    # Prediction [2.7, 6.9) snippets -> range(2, 6): IoU 1 although its continuous IoU is < 1.
    # Prediction [5.5, 9.2) -> range(5, 9) = {5,6,7,8}: IoU 1/7.
    gt = GroundTruth(videos=["v"], subsets=["test"], class_names=["a"], video=[0], label=[0],
                     start=[1.28], end=[3.84], snippet_seconds=0.64)
    preds = {"v": Proposals([0, 0], [2.7, 5.5], [6.9, 9.2], [0.9, 0.8])}
    with pytest.warns(Warning, match="ambiguous"):
        res = evaluate(gt, preds, protocol="wtalc", tiou_thresholds=[1.0, 1 / 7])
    # @1.0: TP, FP -> AP 1.  @1/7: TP, FP (the GT is taken) -> AP 1.
    np.testing.assert_allclose(res.mAP, [1.0, 1.0], atol=1e-12)
    preds = {"v": Proposals([0, 0], [2.7, 5.5], [6.9, 9.2], [0.8, 0.9])}  # the poor one first
    with pytest.warns(Warning, match="ambiguous"):
        res = evaluate(gt, preds, protocol="wtalc", tiou_thresholds=[1.0, 1 / 7])
    # @1.0: FP, TP -> precision 0, 1/2 at recall 0, 1 -> AP 1/2.  @1/7: TP (IoU 1/7), FP -> AP 1.
    np.testing.assert_allclose(res.mAP, [0.5, 1.0], atol=1e-12)


def test_hand_case_wtalc_ambiguous_filter() -> None:
    # The ambiguous interval 5.12-6.4 s covers snippets {8, 9}; a prediction touching snippet 8
    # is removed before matching, one ending at snippet 8 (exclusive) is kept.
    gt = GroundTruth(videos=["v"], subsets=["test"], class_names=["a"], video=[0], label=[0],
                     start=[1.28], end=[3.84], snippet_seconds=0.64,
                     ambiguous_video=[0], ambiguous_start=[5.12], ambiguous_end=[6.4])
    preds = {"v": Proposals([0, 0, 0], [7.0, 2.0, 8.9], [8.0, 6.0, 12.0], [0.95, 0.9, 0.99])}
    res = evaluate(gt, preds, protocol="wtalc", tiou_thresholds=[0.5])
    # kept: [7, 8) (FP, rank 1) and [2, 6) (TP, rank 2) -> AP = 1/2
    np.testing.assert_allclose(res.mAP, [0.5], atol=1e-12)
    assert res.num_predictions == 2
    assert any("removed" in n for n in res.notes)


def test_average_precision_hand_values() -> None:
    assert average_precision([1, 1, 1], 3) == 1.0
    assert average_precision([0, 0], 2) == 0.0
    assert average_precision([], 2) == 0.0
    # TP FP TP with 4 positives: recall .25 .25 .5, precision 1 .5 .667 -> .25*1 + .25*2/3
    assert math.isclose(average_precision([1, 0, 1], 4), 0.25 + 0.25 * 2 / 3, rel_tol=0, abs_tol=1e-12)
    np.testing.assert_allclose(average_precision([[1, 0], [0, 1]], 1), [1.0, 0.5])
    with pytest.raises(ValueError, match="num_positives"):
        average_precision([1], 0)


def test_wtalc_matches_reference_on_real_thumos14_annotations() -> None:
    """Real THUMOS14 test annotations (shipped copy; quirks included: sub-snippet segments,
    segments past the end, CliffDiving/Diving duplicates, the real ambiguous list) on 40 videos,
    with predictions near and away from the ground truth."""
    from tadfuse.data import load_wtalc, thumos14_annotation_dir

    ds = load_wtalc(thumos14_annotation_dir(), features=False)
    test = [int(i) for i in ds.test_indices]
    rng = np.random.default_rng(7)
    chosen = sorted(rng.choice(test, 40, replace=False).tolist()) + [ds.index("video_test_0000270")]
    chosen = sorted(set(chosen))
    names = [ds.names[i] for i in chosen]
    segs = [ds.segments(i)[1].tolist() for i in chosen]
    labs = [[ds.class_names[c] for c in ds.segments(i)[0]] for i in chosen]
    f = 25 / 16
    preds_by_class: dict[int, list[list[float]]] = {}
    props: dict[str, tuple[list, list, list, list]] = {}
    for k, i in enumerate(chosen):
        cols: tuple[list, list, list, list] = ([], [], [], [])
        for _ in range(30):
            j = int(rng.integers(len(segs[k])))
            if rng.random() < 0.7:
                s, e = segs[k][j][0] * f + rng.normal(0, 3), segs[k][j][1] * f + rng.normal(0, 3)
            else:
                s = rng.uniform(0, ds.durations[i] * f)
                e = s + rng.uniform(2, 40)
            s, e = max(0.0, min(s, e)), max(0.0, s, e)
            c = ds.class_names.index(labs[k][j]) if rng.random() < 0.9 else int(rng.integers(20))
            score = float(rng.random())
            preds_by_class.setdefault(c, []).append([k, float(s), float(e), score])
            for col, val in zip(cols, (c, s, e, score)):
                col.append(val)
        props[names[k]] = cols
    ambiguous = read_ambiguous_list(thumos14_annotation_dir() / "Ambiguous_test.txt")
    gt = ds.gt.select(videos=names)
    thresholds = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)
        res = evaluate(gt, {v: Proposals(*c) for v, c in props.items()}, protocol="wtalc",
                       tiou_thresholds=thresholds)
    ref = [_wtalc_reference(names, ["test"] * len(names), segs, labs, list(ds.class_names), preds_by_class,
                            ambiguous, t, zero_map_bug=False) for t in thresholds]
    np.testing.assert_allclose(res.mAP, ref, rtol=0, atol=1e-9)
    assert any("removed" in n for n in res.notes) and 0.05 < res.mAP[4] < 0.95
