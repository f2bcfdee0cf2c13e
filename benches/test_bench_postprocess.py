"""pytest-benchmark suites for the post-processing core (not part of the test run).

    python -m pytest benches                               # run them (tests/ is the default path)
    python -m pytest benches --benchmark-autosave; python -m pytest benches --benchmark-compare

Each numpy baseline is benchmarked beside the tadfuse call on the same inputs, so the
report's rows can be compared within one run.
"""

from __future__ import annotations

import numpy as np
import pytest
import tadfuse
from tadfuse.bench.workloads import one_class_segments, thumos14_test_like
from tadfuse.reference.numpy_official import numpy_detect, numpy_fuse, numpy_nms, numpy_soft_nms


@pytest.fixture(scope="module")
def thumos():
    videos = thumos14_test_like(0)
    return [v.cas for v in videos], [v.video_scores for v in videos]


@pytest.mark.parametrize("threads", [1, 2])
def test_detect_batch_thumos(benchmark, thumos, threads):
    cas, scores = thumos
    cfg = tadfuse.PostprocessConfig.official()
    out = benchmark(tadfuse.detect_batch, cas, scores, cfg, threads)
    assert len(out) == len(cas)


@pytest.mark.parametrize("method", ["fusion", "nms", "soft_nms"])
def test_detect_batch_methods(benchmark, thumos, method):
    cas, scores = thumos
    cfg = tadfuse.PostprocessConfig.official(method=method)
    benchmark(tadfuse.detect_batch, cas, scores, cfg, 1)


def test_numpy_detect_thumos(benchmark, thumos):
    cas, scores = thumos
    benchmark.pedantic(lambda: [numpy_detect(c, s) for c, s in zip(cas, scores)], rounds=3, iterations=1)


@pytest.mark.parametrize("n", [2_000, 20_000])
@pytest.mark.parametrize("kernel", ["fuse", "nms", "soft_nms"])
def test_kernel_tadfuse(benchmark, n, kernel):
    p = tadfuse.Proposals(**one_class_segments(n))
    call = {
        "fuse": lambda: tadfuse.fuse(p, temperature=0.2),
        "nms": lambda: tadfuse.nms(p),
        "soft_nms": lambda: tadfuse.soft_nms(p),
    }[kernel]
    benchmark(call)


@pytest.mark.parametrize("n", [2_000, 20_000])
@pytest.mark.parametrize("kernel", ["fuse", "nms", "soft_nms"])
def test_kernel_numpy(benchmark, n, kernel):
    seg = one_class_segments(n)
    s, e, sc, inn = seg["start"], seg["end"], seg["score"], seg["inner"]
    call = {
        "fuse": lambda: numpy_fuse(s, e, sc, inn, 0.2, 0.25),
        "nms": lambda: numpy_nms(s, e, sc),
        "soft_nms": lambda: numpy_soft_nms(s, e, sc),
    }[kernel]
    benchmark.pedantic(call, rounds=3 if n > 2_000 else 10, iterations=1)


@pytest.mark.parametrize("length", [1_000, 100_000])
def test_extract_one_column(benchmark, length):
    x = np.random.default_rng(0).uniform(0.0, 0.05, (length, 1))
    benchmark(tadfuse.extract_proposals, x)
