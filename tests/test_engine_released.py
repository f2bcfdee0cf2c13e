"""A released-format checkpoint through ``tadfuse infer`` and ``evaluate(protocol="wtalc")``
against a restatement of the released test path, under ``official`` (GauFuse) and ``rskp``.

The checkpoint is built here with the released key names and weights chosen so that its TCAMs
hold real actions (random weights detect almost nothing): identity embedding, class centres on
the first axes, background on the next, the foreground centre pointing from background to the
classes, and features that move smoothly between the background and a class direction, so the
TCAM crosses the activation thresholds at different snippets.

The restatement (from reading GauFuse and RSKP ``evaluation/eval.py::ss_eval`` and
``evaluation/detectionMAP.py::getActLoc``): TCAM ``(a·softmax(o) + (1−a)·softmax(m))·att_o``,
video scores ``0.6·o + 0.4·m`` (``released_forward_torch`` / ``released_ss_eval`` of
tests/test_models_reference.py: dense inverse for GauFuse, ``linalg.solve`` for RSKP); then, per
action class with video score over the class threshold, the multi-threshold runs with their
outer-inner scores and GauFuse's fusion (``official_transcription`` of tests/reference.py,
T = 0.2, coverage > 0.25) or RSKP's ``NonMaximumSuppression`` (coverage > 0.5, restated below).
RSKP's outer pad is ``0.25·n`` where GauFuse has ``0.0785·n^0.9``; tadfuse's ``rskp`` preset
extracts with it (``PostprocessConfig.rskp()``: ``preset="rskp"``).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import run_cli  # noqa: E402
from tadfuse import Proposals, evaluate  # noqa: E402
from tadfuse.config import PostprocessConfig  # noqa: E402
from tadfuse.data import write_wtalc  # noqa: E402
from tadfuse.reference.released import video_class_detections  # noqa: E402
from tadfuse.tcam_io import read_tcam_folder  # noqa: E402
from test_models_reference import released_forward_torch, released_ss_eval  # noqa: E402

C, D = 3, 8
THRESHOLDS = np.arange(0.001, 0.04, 0.002)


def _unit(i: int) -> np.ndarray:
    v = np.zeros(D, np.float32)
    v[i] = 1.0
    return v


def released_state() -> OrderedDict[str, torch.Tensor]:
    """Identity embedding; class centres ``e_0..e_{C-1}``, background ``e_C``; foreground centre
    ``e_{C+1} − e_C`` (an actionness axis against the background)."""
    return OrderedDict([
        ("mu", torch.tensor(np.stack([_unit(k) + 0.1 for k in range(4)]))),
        ("ac_center", torch.tensor(np.stack([_unit(c) for c in range(C + 1)]))),
        ("fg_center", torch.tensor((_unit(C + 1) - _unit(C))[None])),
        ("feature_embedding.0.weight", torch.eye(D)),
        ("feature_embedding.0.bias", torch.zeros(D)),
    ])


def _video(rng: np.random.Generator, length: int, segments: list[tuple[int, float, float]]) -> np.ndarray:
    """Background ``e_C`` plus small positive noise; inside a segment the features move to
    ``2·e_c + q·e_{C+1}`` over a 4-snippet ramp, with a jittering actionness ``q``, so the
    attention (and the TCAM) rises from ~0 through the activation thresholds (0.001..0.039),
    dips at some snippets and splits runs differently at different thresholds."""
    t = np.arange(length)[:, None]
    f = np.tile(_unit(C), (length, 1)) + 0.05 * np.abs(rng.normal(size=(length, D))).astype(np.float32)
    for c, s, e in segments:
        ramp = np.clip(np.minimum(t - s + 1, e - t) / 4.0, 0.0, 1.0)
        q = np.clip(rng.normal(0.4, 0.4, size=(length, 1)), 0.0, None)
        f = f * (1 - ramp) + ramp * (2.0 * _unit(c) + q * _unit(C + 1) + 0.05)
    return f.astype(np.float32)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("released")
    rng = np.random.default_rng(7)
    names, subsets, durations, segs, labs, vlabs, feats = [], [], [], [], [], [], []
    for i in range(16):
        length = int(rng.integers(100, 200))
        k = int(rng.integers(2, 5))
        planted = []
        starts = np.sort(rng.choice(np.arange(2, length - 20, 20), size=k, replace=False))
        for s in starts:
            planted.append((int(rng.integers(0, C)), float(s), float(s + rng.integers(5, 16))))
        names.append(f"video_test_{i:04d}" if i >= 2 else f"video_validation_{i:04d}")
        subsets.append("test" if i >= 2 else "validation")
        durations.append(length * 0.64)
        segs.append([[s * 0.64, e * 0.64] for _, s, e in planted])
        labs.append([f"C{c}" for c, _, _ in planted])
        vlabs.append(sorted({f"C{c}" for c, _, _ in planted}))
        feats.append(_video(rng, length, planted))
    # ambiguous intervals: one over a planted instance (its predictions are filtered), one in background
    ambiguous = [(names[3], segs[3][0][0], segs[3][0][1]), (names[5], 0.0, 1.0)]
    data = write_wtalc(root / "data", name="R", videos=names, subsets=subsets, class_names=[f"C{c}" for c in range(C)],
                       durations=durations, segments=segs, segment_labels=labs, video_labels=vlabs, features=feats,
                       ambiguous=ambiguous)
    ckpt = root / "350.pkl"
    torch.save(released_state(), ckpt)
    return data, ckpt


def _snap(x: float) -> float:
    """The released fusion has no max shift and can land one ulp off an integer (docs/engine.md)."""
    r = round(x)
    return float(r) if abs(x - r) < 1e-9 else x


def rskp_transcription(cas: np.ndarray, scores: np.ndarray, class_threshold: float = 0.1,
                       overlap: float = 0.5) -> list[np.ndarray]:
    """RSKP ``getActLoc`` + ``NonMaximumSuppression`` for one video, per class column: runs of
    ``cas > θ`` of length >= 2, inner mean over ``[s, e]`` (one past the run), outer snippets
    ``[max(0, int(s − pad)), s) ∪ [e + 1, min(l − 1, int(e + pad + 1)))`` (mean, 0 if none), row
    ``[s, e + 1, inner − outer]``; NMS: repeatedly keep the highest score (ties: lowest index)
    and drop every row whose inclusive overlap ``max(0, min(e) − max(s) + 1) / (e_j − s_j + 1)``
    exceeds ``overlap``. ``pad = 0.25·n`` (RSKP's; GauFuse's is ``0.0785·n^0.9``)."""
    length = cas.shape[0]
    out = []
    for c in range(cas.shape[1]):
        if scores[c] < class_threshold:
            out.append(np.zeros((0, 3)))
            continue
        x = cas[:, c]
        rows = []
        for theta in THRESHOLDS:
            above = np.concatenate([[0.0], (x > theta).astype(np.float32), [0.0]])
            diff = above[1:] - above[:-1]
            starts, ends = np.flatnonzero(diff == 1), np.flatnonzero(diff == -1)
            for s, e in zip(starts, ends):
                n = e - s
                if n < 2:
                    continue
                inner = float(np.mean(x[s:e + 1]))
                pad = 0.25 * n
                idx = list(range(max(0, int(s - pad)), s)) + list(range(e + 1, min(length - 1, int(e + pad + 1))))
                outer = float(np.mean(x[idx])) if idx else 0.0
                rows.append([float(s), float(e + 1), inner - outer])
        alive = list(range(len(rows)))
        kept = []
        while alive:
            p = max(alive, key=lambda j: (rows[j][2], -j))
            kept.append(rows[p])
            sp, ep = rows[p][0], rows[p][1]
            alive = [j for j in alive if j != p and not
                     max(0.0, min(ep, rows[j][1]) - max(sp, rows[j][0]) + 1) / (rows[j][1] - rows[j][0] + 1) > overlap]
        out.append(np.array(kept).reshape(-1, 3))
    return out


def _restated(data: Path, preset: str) -> tuple[dict[str, np.ndarray], dict[str, Proposals]]:
    from tadfuse.data import load_dataset

    ds = load_dataset(data)
    state = released_state()
    a, solver = (0.85, "inverse") if preset == "official" else (0.6, "solve")
    tcams, dets = {}, {}
    for i in ds.split("test"):
        feats = torch.as_tensor(ds.feature(int(i)))[None]
        o, m, _ = released_forward_torch(state, feats, solver=solver)
        tcam, video = released_ss_eval(o, m, a)
        name = ds.names[int(i)]
        tcams[name] = tcam
        if preset == "official":
            # The released test path bit for bit (tadfuse.reference.released), on its float32 TCAM:
            # a released .pkl under official is post-processed in the exact mode.
            thresholds = PostprocessConfig.official().thresholds
            per_class = [[] if (rows := video_class_detections(tcam[:, c], video[c], 0, thresholds)) is None
                         else np.asarray(rows, np.float64).reshape(-1, 4)[:, 1:] for c in range(C)]
            rows = [(c, r[0], r[1], r[2]) for c, arr in enumerate(per_class) for r in np.asarray(arr)]
        else:
            per_class = rskp_transcription(tcam[:, :C].astype(np.float64), video[:C])
            rows = [(c, _snap(r[0]), _snap(r[1]), r[2]) for c, arr in enumerate(per_class) for r in np.asarray(arr)]
        dets[name] = Proposals([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows])
    return tcams, dets


@pytest.mark.parametrize("preset", ["official", "rskp"])
def test_released_checkpoint_through_infer_matches_the_released_test_path(bundle, tmp_path: Path, preset: str) -> None:
    data, ckpt = bundle
    pred, raw = tmp_path / "pred.json", tmp_path / "raw"
    assert run_cli(["infer", "--checkpoint", str(ckpt), "--data", str(data), "--out", str(pred), "--save-raw", str(raw),
                    "--preset", preset]) == 0
    tcams, dets = _restated(data, preset)
    folder = read_tcam_folder(raw)
    assert sorted(folder.videos) == sorted(tcams) and folder.meta.background
    for video in folder.videos:
        got = folder.read(video)
        np.testing.assert_allclose(got.tcam, tcams[video], rtol=0, atol=1e-5)
        assert got.tcam.shape == (tcams[video].shape[0], C + 1)
    assert sum(len(p) for p in dets.values()) > 20  # real detections, not an empty comparison
    ours = evaluate(data, pred, protocol="wtalc")
    theirs = evaluate(data, dets, protocol="wtalc")
    np.testing.assert_array_equal(ours.mAP, theirs.mAP)
    assert ours.average_mAP > 0.3
    written = json.loads(pred.read_text())
    assert written["tadfuse"]["provenance"]["preset"] == preset
    assert written["tadfuse"]["provenance"]["config"]["postprocess"]["exact"] == (preset == "official")
    inputs = written["tadfuse"]["provenance"]["inputs"]
    assert inputs["released_test_path"] and inputs["checkpoint_kind"] == "released"
    assert all(d["label"] != "background" and d["label"] in {"C0", "C1", "C2"}
               for v in written["results"].values() for d in v)
