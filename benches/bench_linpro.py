"""pytest-benchmark suite for LinPro labels on the THUMOS14-like training set
(`tadfuse.bench.workloads.thumos14_train_like`).

Run (the project's pytest config skips benchmarks by default):

    RAYON_NUM_THREADS=1 pytest -o addopts="" benches/bench_linpro.py

The ratio that matters (batch vs full LP) is measured side by side in one process by
benches/compare_linpro.py (``tadfuse bench --only linpro``); this suite tracks each path on its own over time.
"""

from __future__ import annotations

import numpy as np
import pytest
from tadfuse.bench.full_lp import full_lp_labels
from tadfuse.bench.workloads import NUM_CLASSES as C
from tadfuse.bench.workloads import TrainingWorkload, thumos14_train_like
from tadfuse.linpro import linpro_labels, linpro_labels_batch, partition


@pytest.fixture(scope="module")
def work() -> TrainingWorkload:
    return thumos14_train_like(0)


@pytest.mark.parametrize("solver", ["highspy", "scipy"])
def test_batch(benchmark, work, solver):
    out = benchmark(linpro_labels_batch, work.fused, work.lengths, C, solver=solver)
    assert len(out) == len(work.fused) and all(np.isfinite(g).all() for g in out)


def test_per_video(benchmark, work):
    def run():
        return [linpro_labels(f, int(l), C) for f, l in zip(work.fused, work.lengths)]

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
    benchmark.pedantic(full_lp_labels, args=(work.fused, work.lengths, C), rounds=3, iterations=1)
