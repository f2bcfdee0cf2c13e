"""Side-by-side: tadfuse LinPro labels vs the full LP per class (the released code's approach).

Workloads (``--workload``): ``sparse`` — tadfuse.bench.workloads.thumos14_train_like, 200 THUMOS14 training videos with
real durations, 1–3 classes each, fused instances from tadfuse.detect_batch (official preset,
T = 0.02; about 8 instances per (video, class)); ``dense`` — tadfuse.bench.workloads.thumos14_dense_like, the same
videos with TCAMs of many activity bumps (about 29 instances per (video, class)).

Baseline ("full LP"): per (video, class) the dense ``W`` exactly as the released code builds it
(``compute_score_matrix``) and ``scipy.optimize.linprog(ones(l), A_eq=W, b_eq=q, bounds=(0, 1),
method="highs")`` with default options, written into a ``(l, 21)`` label matrix (an infeasible
problem has no ``x``: the released code writes NaN there — counted here).

tadfuse: ``linpro_labels_batch`` over all 200 videos (one call) and ``linpro_labels`` called once
per video, each with the native simplex for the small components (the default) and with
``native=False`` (every component without a closed form to HiGHS: highspy, or scipy for the
batch). Every timing covers fused instances in, ``(l, 21)`` label matrices out. Rounds alternate
baseline and tadfuse; the table shows the best round of each (machines are noisy) and the
median. Before timing, the script checks the outputs: the same optimum as the full LP on every
feasible problem (1e-9 relative), ``W g = q`` there, ``g`` uniform within equivalence classes,
no NaN; and the native and HiGHS paths agree on the infeasible ones (minimum L1 residual and
``Σ g``, 1e-9 relative).

Run:  RAYON_NUM_THREADS=1 python benches/compare_linpro_native.py [--workload dense] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import scipy
from tadfuse.bench.full_lp import full_lp_labels as bench_full_lp_labels
from tadfuse.bench.workloads import NUM_CLASSES, TrainingWorkload, thumos14_dense_like, thumos14_train_like
from tadfuse.linpro import LinproStats, linpro_labels, linpro_labels_batch, partition, w_matrix

BASELINE = "full LP per class, scipy linprog(method='highs')"
REL_TOL = 1e-9


def full_lp_labels(work: TrainingWorkload) -> tuple[list[np.ndarray], dict[tuple[int, int], float], int]:
    """Baseline: one dense LP per (video, class) (tadfuse.bench.full_lp). Labels, objectives, #infeasible."""
    res = bench_full_lp_labels(work.fused, work.lengths, NUM_CLASSES)
    return res.labels, res.objective, res.infeasible


def timed(fn):
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def timed_mean(fn, reps: int) -> float:
    """Mean seconds of ``reps`` back-to-back calls."""
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def check(work: TrainingWorkload, objective: dict[tuple[int, int], float]) -> dict[str, float]:
    """Exactness of both tadfuse paths (module docs); raises AssertionError on a violation."""
    C = NUM_CLASSES
    native_stats, highs_stats = LinproStats(), LinproStats()
    native = linpro_labels_batch(work.fused, work.lengths, C, stats=native_stats)
    highs = linpro_labels_batch(work.fused, work.lengths, C, native=False, stats=highs_stats)
    per_video = [linpro_labels(f, int(l), C) for f, l in zip(work.fused, work.lengths)]
    worst = {"rel": 0.0, "res": 0.0, "inf_l1": -np.inf, "inf_mass": 0.0}
    for v, (fused, l) in enumerate(zip(work.fused, work.lengths.tolist())):
        for c in np.unique(fused.label).tolist():
            sel = fused.label == c
            s, e, q = fused.start[sel], fused.end[sel], fused.score[sel]
            w = w_matrix(s, e, l)
            cls = partition(s, e, l).snippet_class
            for g in (native[v][:, c], highs[v][:, c], per_video[v][:, c]):
                assert np.isfinite(g).all() and g.min() >= 0 and g.max() <= 1
                first = np.zeros(cls.max() + 1, dtype=np.int64)
                first[cls[::-1]] = np.arange(cls.size)[::-1]
                assert np.array_equal(g, g[first[cls]]), "not uniform within a class"
                if (v, c) in objective:
                    ref = objective[(v, c)]
                    worst["rel"] = max(worst["rel"], abs(g.sum() - ref) / max(abs(ref), 1e-12))
                    worst["res"] = max(worst["res"], float(np.abs(w @ g - q).max()))
            if (v, c) not in objective:  # infeasible: the two paths' elastic optima agree
                a, b = native[v][:, c], highs[v][:, c]
                l1a, l1b = np.abs(w @ a - q).sum(), np.abs(w @ b - q).sum()
                worst["inf_l1"] = max(worst["inf_l1"], (l1a - l1b) / l1b)
                worst["inf_mass"] = max(worst["inf_mass"], abs(a.sum() - b.sum()) / b.sum())
    # The HiGHS path caps phase 2's residual at (1 + 1e-9) times phase 1's, so it may trade up to
    # 1e-9 of residual for mass; the native one is exactly lexicographic (never a larger residual).
    assert worst["rel"] <= REL_TOL and worst["res"] <= 1e-9, worst
    assert worst["inf_l1"] <= 1e-12 and worst["inf_mass"] <= 2 * REL_TOL, worst
    assert native_stats.infeasible_problems == highs_stats.infeasible_problems
    assert native_stats.native_fallbacks == 0
    worst["native_stats"] = native_stats  # type: ignore[assignment]
    worst["highs_stats"] = highs_stats  # type: ignore[assignment]
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", choices=["sparse", "dense"], default="sparse")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    work = (thumos14_dense_like if args.workload == "dense" else thumos14_train_like)(args.seed)
    n_videos = len(work.fused)
    n_problems = sum(len(np.unique(f.label)) for f in work.fused)
    n_inst = sum(len(f) for f in work.fused)
    C = NUM_CLASSES

    per_video = lambda **kw: [linpro_labels(f, int(l), C, **kw) for f, l in zip(work.fused, work.lengths)]
    methods = {
        "tadfuse linpro_labels_batch (native + highspy)": lambda: linpro_labels_batch(work.fused, work.lengths, C),
        "tadfuse linpro_labels per video (native + highspy)": per_video,
        "tadfuse linpro_labels_batch, native=False (highspy)": lambda: linpro_labels_batch(
            work.fused, work.lengths, C, solver="highspy", native=False),
        "tadfuse linpro_labels_batch, native=False (scipy)": lambda: linpro_labels_batch(
            work.fused, work.lengths, C, solver="scipy", native=False),
        "tadfuse linpro_labels per video, native=False (highspy)": lambda: per_video(solver="highspy", native=False),
    }
    _, objective, base_infeasible = full_lp_labels(work)
    worst = check(work, objective)
    for fn in methods.values():  # warm-up (imports, HiGHS instance)
        fn()
    times: dict[str, list[float]] = {BASELINE: []}
    times.update({k: [] for k in methods})
    for _ in range(args.rounds):
        times[BASELINE].append(timed(lambda: full_lp_labels(work))[0])
        for name, fn in methods.items():
            times[name].append(timed_mean(fn, reps=10 if "batch" in name else 3))

    stats, highs_stats = worst["native_stats"], worst["highs_stats"]
    nan_ours = sum(int(np.isnan(g).sum()) for g in linpro_labels_batch(work.fused, work.lengths, C))
    base_best = min(times[BASELINE])
    print(f"# LinPro labels, THUMOS14-like training set, {args.workload} ({n_videos} videos,"
          f" {int(work.lengths.sum())} snippets, {n_problems} (video, class) problems, {n_inst} fused instances,"
          f" {n_inst / n_problems:.1f} per problem)\n")
    print("| method | best ms / 200 videos | median ms | videos/s | speed-up vs full LP |")
    print("|---|---:|---:|---:|---:|")
    for name, ts in times.items():
        best = min(ts)
        print(f"| {name} | {best * 1e3:.1f} | {statistics.median(ts) * 1e3:.1f} | {n_videos / best:,.0f} |"
              f" {base_best / best:.1f}× |")
    print()
    print(f"- full LP: {base_infeasible} infeasible problems (NaN columns in the released code);"
          f" tadfuse: {stats.infeasible_problems} infeasible problems solved elastically, NaN entries: {nan_ours}")
    print(f"- tadfuse components: {stats.components} ({stats.closed_form} closed form, {stats.native} native,"
          f" {stats.lp_components} by HiGHS in {stats.lp_solves} HiGHS calls; {stats.native_fallbacks} given back);"
          f" native=False: {highs_stats.lp_components} by HiGHS in {highs_stats.lp_solves} calls")
    print(f"- objective vs full LP on the {len(objective)} feasible problems, all three paths: max relative difference"
          f" {worst['rel']:.2e}, max |W g − q| {worst['res']:.2e}; g uniform within every equivalence class;"
          f" infeasible problems, native vs HiGHS elastic optimum: L1 residual at most {worst['inf_l1']:+.2e}"
          f" relative (native smaller or equal), Σg within {worst['inf_mass']:.2e} relative"
          f" (total minimum L1 residual {stats.residual_l1:.4g})")
    from importlib.metadata import version

    import highspy  # noqa: F401  (version below)

    print(f"- {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
          f" numpy {np.__version__}, scipy {scipy.__version__}, highspy {version('highspy')},"
          f" RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS', 'unset')}, rounds {args.rounds}")


if __name__ == "__main__":
    main()
