"""pytest-benchmark suite for LinPro labels on the THUMOS14-like training sets: the sparse one
(tadfuse.bench.workloads.thumos14_train_like, ~8 fused instances per (video, class)) and the dense one
(tadfuse.bench.workloads.thumos14_dense_like, ~29).

Run (the project's pytest config skips benchmarks by default):

    RAYON_NUM_THREADS=1 pytest -o addopts="" benches/bench_linpro.py

The ratios that matter (tadfuse vs the full LP) are measured side by side in one process by
benches/compare_linpro_native.py; this suite tracks each path on its own over time.
"""

from __future__ import annotations

import numpy as np
import pytest
from compare_linpro_native import full_lp_labels
from tadfuse.bench.workloads import NUM_CLASSES, TrainingWorkload, thumos14_dense_like, thumos14_train_like
from tadfuse.linpro import linpro_labels, linpro_labels_batch, partition

C = NUM_CLASSES


@pytest.fixture(scope="module", params=["sparse", "dense"])
def work(request) -> TrainingWorkload:
    return (thumos14_dense_like if request.param == "dense" else thumos14_train_like)(0)


@pytest.mark.parametrize(("solver", "native"), [("highspy", True), ("highspy", False), ("scipy", False)])
def test_batch(benchmark, work, solver, native):
    out = benchmark(linpro_labels_batch, work.fused, work.lengths, C, solver=solver, native=native)
    assert len(out) == len(work.fused) and all(np.isfinite(g).all() for g in out)


@pytest.mark.parametrize("native", [True, False])
def test_per_video(benchmark, work, native):
    def run():
        return [linpro_labels(f, int(l), C, native=native) for f, l in zip(work.fused, work.lengths)]

    out = benchmark(run)
    assert len(out) == len(work.fused)


def test_partition_only(benchmark, work):
    """The Rust sweep alone, one call per (video, class)."""
    jobs = []
    for f, l in zip(work.fused, work.lengths.tolist()):
        for c in np.unique(f.label).tolist():
            sel = f.label == c
            jobs.append((f.start[sel], f.end[sel], l))
    benchmark(lambda: [partition(s, e, l) for s, e, l in jobs])


def test_full_lp_baseline(benchmark, work):
    """The released code's approach: one dense linprog(method='highs') per (video, class)."""
    benchmark.pedantic(full_lp_labels, args=(work,), rounds=3, iterations=1)
