"""Input validation of the post-processing API: errors name the argument; odd layouts work.

Contract (README, "Units and conventions"): float inputs are converted to contiguous float64;
errors are tadfuse.errors.InvalidArgumentError / InvalidTypeError (a ValueError / TypeError) whose
message names the offending argument.
"""

from __future__ import annotations

import numpy as np
import pytest
import tadfuse
from tadfuse import Proposals


def cas_example(length=40, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 0.05, (length, k))


def props_example(m=12, seed=0):
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 30, m).astype(float)
    return Proposals(rng.integers(0, 2, m), start, start + rng.integers(1, 10, m),
                     rng.uniform(0, 1, m), rng.uniform(0, 1, m))


def same(a, b):
    assert a == b, (a, b)


# ---------------------------------------------------------------------------------------------
# Proposals container
# ---------------------------------------------------------------------------------------------


def test_proposals_errors():
    with pytest.raises(ValueError, match="end"):
        Proposals([0, 0], [0.0, 5.0], [1.0, 4.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="start"):
        Proposals([0, 0, 0], [0.0, 5.0], [1.0, 6.0, 7.0], [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="score"):
        Proposals([0], [0.0], [1.0], [np.nan])
    with pytest.raises(ValueError, match="start"):
        Proposals([0], [np.inf], [np.inf], [0.5])
    with pytest.raises(ValueError, match="label"):
        Proposals([[0]], [0.0], [1.0], [0.5])


def test_proposals_accept_float32_int_noncontiguous():
    big = np.arange(20, dtype=np.float32)
    p = Proposals(np.arange(5, dtype=np.int32), big[::4], big[::4] + 2, big[1::4] / 20,
                  inner=np.arange(5))
    assert p.start.dtype == np.float64 and p.start.flags.c_contiguous
    assert p.label.dtype == np.int64 and p.inner.dtype == np.float64


# ---------------------------------------------------------------------------------------------
# extract_proposals
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_extract_nonfinite_cas(bad):
    cas = cas_example()
    cas[5, 1] = bad
    with pytest.raises(ValueError, match="cas"):
        tadfuse.extract_proposals(cas)


@pytest.mark.parametrize("shape", [(10,), (4, 5, 2), ()])
def test_extract_wrong_ndim(shape):
    with pytest.raises(ValueError, match="cas"):
        tadfuse.extract_proposals(np.zeros(shape))


def test_extract_bad_arguments():
    cas = cas_example()
    with pytest.raises(TypeError, match="cas"):
        tadfuse.extract_proposals(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="thresholds"):
        tadfuse.extract_proposals(cas, [0.01, np.nan])
    with pytest.raises(ValueError, match="preset"):
        tadfuse.extract_proposals(cas, preset="oficial")
    with pytest.raises(ValueError, match="classes"):
        tadfuse.extract_proposals(cas, classes=[0, 3])
    with pytest.raises(ValueError, match="classes"):
        tadfuse.extract_proposals(cas, classes=[-1])
    with pytest.raises(ValueError, match="min_length"):
        tadfuse.extract_proposals(cas, min_length=-1)
    with pytest.raises(ValueError, match="alpha"):
        tadfuse.extract_proposals(cas, preset="paper", alpha=np.nan)


def test_extract_accepts_layouts_and_dtypes():
    cas = cas_example(60, 6)
    ref = tadfuse.extract_proposals(np.ascontiguousarray(cas[:, ::2]))
    same(tadfuse.extract_proposals(cas[:, ::2]), ref)                 # strided columns
    same(tadfuse.extract_proposals(np.asfortranarray(cas[:, ::2])), ref)
    same(tadfuse.extract_proposals(cas[:, ::2].tolist()), ref)         # nested lists
    c32 = cas.astype(np.float32)
    same(tadfuse.extract_proposals(c32), tadfuse.extract_proposals(c32.astype(np.float64)))
    ints = (cas > 0.02).astype(np.int32)
    same(tadfuse.extract_proposals(ints), tadfuse.extract_proposals(ints.astype(np.float64)))
    bools = cas > 0.02
    same(tadfuse.extract_proposals(bools), tadfuse.extract_proposals(bools.astype(np.float64)))
    same(tadfuse.extract_proposals(cas, thresholds=np.float32([0.01, 0.02])),
         tadfuse.extract_proposals(cas, thresholds=np.float32([0.01, 0.02]).astype(np.float64)))
    same(tadfuse.extract_proposals(cas, thresholds=(0.01, 0.02)),
         tadfuse.extract_proposals(cas, thresholds=np.array([0.01, 0.02])))
    same(tadfuse.extract_proposals(cas, classes=np.array([2, 0], dtype=np.int32)),
         tadfuse.extract_proposals(cas, classes=[0, 2]))


# ---------------------------------------------------------------------------------------------
# fuse / nms / soft_nms
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("t", [0.0, -0.2, np.nan, np.inf, -np.inf])
def test_fuse_bad_temperature(t):
    with pytest.raises(ValueError, match="temperature"):
        tadfuse.fuse(props_example(), temperature=t)


def test_fuse_bad_names_and_numbers():
    p = props_example()
    with pytest.raises(ValueError, match="overlap"):
        tadfuse.fuse(p, temperature=0.2, overlap="IoU-ish")
    with pytest.raises(ValueError, match="weight"):
        tadfuse.fuse(p, temperature=0.2, weight="outer")
    with pytest.raises(ValueError, match="template"):
        tadfuse.fuse(p, temperature=0.2, template="cauchy")
    with pytest.raises(ValueError, match="threshold"):
        tadfuse.fuse(p, temperature=0.2, threshold=np.nan)
    with pytest.raises(ValueError, match="dof"):
        tadfuse.fuse(p, temperature=0.2, template="student_t", dof=0.0)
    with pytest.raises(ValueError, match="dof"):
        tadfuse.fuse(p, temperature=0.2, template="student_t", dof=-2.0)
    with pytest.raises(TypeError, match="temperature"):
        tadfuse.fuse(p, temperature="hot")
    with pytest.raises(TypeError, match="proposals"):
        tadfuse.fuse({"label": [0]}, temperature=0.2)


def test_fuse_rejects_corrupted_columns():
    # columns are public attributes: a user can break the invariants after construction
    p = props_example()
    p.end = p.start - 1.0
    with pytest.raises(ValueError, match="end"):
        tadfuse.fuse(p, temperature=0.2)
    with pytest.raises(ValueError, match="end"):
        tadfuse.nms(p)
    p = props_example()
    p.score = p.score.copy()
    p.score[3] = np.nan
    with pytest.raises(ValueError, match="score"):
        tadfuse.fuse(p, temperature=0.2)
    with pytest.raises(ValueError, match="score"):
        tadfuse.soft_nms(p)
    p = props_example()
    p.inner = p.inner[:-1]
    with pytest.raises(ValueError, match="inner"):
        tadfuse.fuse(p, temperature=0.2)
    p = props_example()
    p.start = p.start[:-2]
    with pytest.raises(ValueError, match="start"):
        tadfuse.nms(p)


def test_fuse_accepts_converted_columns():
    p = props_example(20)
    ref_f = tadfuse.fuse(p, temperature=0.2)
    ref_n = tadfuse.nms(p)
    ref_s = tadfuse.soft_nms(p)
    q = props_example(20)
    # non-contiguous float64 views and other dtypes put in after construction
    big = np.zeros(40)
    big[::2] = q.start
    q.start = big[::2]
    q.end = q.end.astype(np.float32)  # small integers: exact in float32
    q.label = q.label.astype(np.int32)
    same(tadfuse.fuse(q, temperature=0.2), ref_f)
    same(tadfuse.nms(q), ref_n)
    same(tadfuse.soft_nms(q), ref_s)


def test_nms_soft_nms_bad_arguments():
    p = props_example()
    with pytest.raises(ValueError, match="overlap"):
        tadfuse.nms(p, overlap="area")
    with pytest.raises(ValueError, match="threshold"):
        tadfuse.nms(p, threshold=np.nan)
    with pytest.raises(ValueError, match="method"):
        tadfuse.soft_nms(p, method="exponential")
    with pytest.raises(ValueError, match="sigma"):
        tadfuse.soft_nms(p, sigma=0.0)
    with pytest.raises(ValueError, match="sigma"):
        tadfuse.soft_nms(p, sigma=-1.0)
    with pytest.raises(ValueError, match="min_score"):
        tadfuse.soft_nms(p, min_score=np.nan)
    with pytest.raises(ValueError, match="max_out"):
        tadfuse.soft_nms(p, max_out=-1)


# ---------------------------------------------------------------------------------------------
# config / detect / detect_batch
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field,value", [
    ("preset", "offical"), ("method", "wbf"), ("overlap", "giou"), ("weight", "outer"),
    ("template", "cauchy"), ("soft_method", "hard"), ("temperature", 0.0),
    ("temperature", -1.0), ("temperature", np.nan), ("thresholds", [np.nan]),
    ("min_length", -1),
])
def test_config_errors(field, value):
    with pytest.raises((ValueError, TypeError), match=field):
        tadfuse.PostprocessConfig.official(**{field: value})
    with pytest.raises((ValueError, TypeError), match=field):
        tadfuse.PostprocessConfig.paper(**{field: value})


def test_detect_errors():
    cas = cas_example()
    with pytest.raises(ValueError, match="video_scores"):
        tadfuse.detect(cas, [0.5, 0.5])
    with pytest.raises(ValueError, match="video_scores"):
        tadfuse.detect(cas, [0.5, np.nan, 0.5])
    with pytest.raises(ValueError, match="video_scores"):
        tadfuse.detect(cas, np.ones((3, 1)))
    bad = cas.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="cas"):
        tadfuse.detect(bad, [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="cas"):
        tadfuse.detect(cas[:, 0], [0.5])
    with pytest.raises(TypeError, match="config"):
        tadfuse.detect(cas, [0.5, 0.5, 0.5], {"temperature": 0.2})


def test_detect_accepts_layouts_and_dtypes():
    cas = cas_example(50, 6)
    vs = np.array([0.5, 0.1, 0.3, 0.2, 0.17, 0.9])
    ref = tadfuse.detect(np.ascontiguousarray(cas[:, ::2]), vs[::2].copy())
    same(tadfuse.detect(cas[:, ::2], vs[::2]), ref)
    same(tadfuse.detect(np.asfortranarray(cas[:, ::2]), list(vs[::2])), ref)
    c32 = cas.astype(np.float32)
    same(tadfuse.detect(c32, vs.astype(np.float32)),
         tadfuse.detect(c32.astype(np.float64), vs.astype(np.float32).astype(np.float64)))
    ints = (cas > 0.02).astype(np.int64)
    same(tadfuse.detect(ints, np.ones(6, dtype=np.int32)),
         tadfuse.detect(ints.astype(float), np.ones(6)))


def test_detect_batch_errors_and_layouts():
    videos = [cas_example(30, 3, s) for s in range(4)]
    scores = [np.full(3, 0.5) for _ in videos]
    with pytest.raises(ValueError, match="video_scores|cas"):
        tadfuse.detect_batch(videos, scores[:3])
    bad = [v.copy() for v in videos]
    bad[2][3, 1] = np.inf
    with pytest.raises(ValueError, match="cas"):
        tadfuse.detect_batch(bad, scores)
    with pytest.raises(ValueError, match="video_scores"):
        tadfuse.detect_batch(videos, [np.full(2, 0.5)] + scores[1:])
    for n in (0, -1):
        with pytest.raises(ValueError, match="num_threads"):
            tadfuse.detect_batch(videos, scores, num_threads=n)
    ref = tadfuse.detect_batch(videos, scores)
    mixed = [np.repeat(videos[0], 2, axis=1)[:, ::2], np.asfortranarray(videos[1]),
             videos[2].tolist(), videos[3]]
    out = tadfuse.detect_batch(mixed, [list(s) for s in scores], num_threads=2)
    for a, b in zip(out, ref):
        same(a, b)
    # a float32 video gives the same result as its float64 copy
    v32 = [v.astype(np.float32) for v in videos]
    out32 = tadfuse.detect_batch(v32, scores)
    for a, v in zip(out32, v32):
        same(a, tadfuse.detect(v.astype(np.float64), np.full(3, 0.5)))
    # a tuple of videos works too
    for a, b in zip(tadfuse.detect_batch(tuple(videos), tuple(scores)), ref):
        same(a, b)
