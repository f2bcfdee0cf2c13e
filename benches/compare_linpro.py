"""Side-by-side: tadfuse LinPro labels vs the full LP per class (the released code's approach).

Workload: benches/thumos_like.py — 200 THUMOS14 training videos with real durations, 1–3 classes
each, fused instances from tadfuse.detect_batch (official preset, T = 0.02; see that module).

Baseline ("full LP"): per (video, class) the dense ``W`` exactly as the released code builds it
(``compute_score_matrix``) and ``scipy.optimize.linprog(ones(l), A_eq=W, b_eq=q, bounds=(0, 1),
method="highs")`` with default options, written into a ``(l, 21)`` label matrix (an infeasible
problem has no ``x``: the released code writes NaN there — counted here).

tadfuse: ``linpro_labels_batch`` over all 200 videos (one call), with the highspy and the scipy
HiGHS back end, and ``linpro_labels`` called once per video. Every timing covers fused instances
in, ``(l, 21)`` label matrices out. Rounds alternate baseline and tadfuse; the table shows the best
round of each (machines are noisy) and the median.

Run:  RAYON_NUM_THREADS=1 python benches/compare_linpro.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy
from scipy.optimize import linprog

sys.path.insert(0, str(Path(__file__).resolve().parent))
import thumos_like
from tadfuse.linpro import LinproStats, linpro_labels, linpro_labels_batch, w_matrix


def released_w(segments: np.ndarray, l: int) -> tuple[np.ndarray, np.ndarray]:
    """The released code's ``compute_score_matrix``, transcribed (rows [start, end, score])."""
    w = np.zeros((segments.shape[0], l), dtype=float)
    for k, (a, b, _) in enumerate(segments):
        s, e = int(a), int(b)
        n = e - s
        outer_s = max(0, int(s - 0.0785 * (n**0.9)))
        outer_e = min(int(l - 1), int(e + 0.0785 * (n**0.9) + 1))
        w[k, s:e] = 1.0
        w[k, outer_s:s] = -1.0
        w[k, e:outer_e] = -1.0
    return w, segments[:, 2].copy()


def full_lp_labels(work: thumos_like.Workload) -> tuple[list[np.ndarray], dict[tuple[int, int], float], int]:
    """Baseline: one dense LP per (video, class). Returns labels, objectives and #infeasible."""
    out, objective, infeasible = [], {}, 0
    for v, (fused, l) in enumerate(zip(work.fused, work.lengths.tolist())):
        pred = np.zeros((l, thumos_like.NUM_CLASSES))
        for c in np.unique(fused.label).tolist():
            sel = fused.label == c
            seg = np.column_stack([fused.start[sel], fused.end[sel], fused.score[sel]])
            w, q = released_w(seg, l)
            res = linprog(np.ones(l), A_eq=w, b_eq=q, bounds=(0.0, 1.0), method="highs")
            if res.status == 0:
                pred[:, c] = res.x
                objective[(v, c)] = float(res.fun)
            else:
                pred[:, c] = np.nan  # what the released code ends up with
                infeasible += 1
        out.append(pred)
    return out, objective, infeasible


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    work = thumos_like.load(args.seed)
    n_videos = len(work.fused)
    n_problems = sum(len(np.unique(f.label)) for f in work.fused)
    n_inst = sum(len(f) for f in work.fused)
    C = thumos_like.NUM_CLASSES

    methods = {
        "tadfuse linpro_labels_batch (highspy)": lambda: linpro_labels_batch(work.fused, work.lengths, C, solver="highspy"),
        "tadfuse linpro_labels_batch (scipy)": lambda: linpro_labels_batch(work.fused, work.lengths, C, solver="scipy"),
        "tadfuse linpro_labels per video (highspy)": lambda: [
            linpro_labels(f, int(l), C, solver="highspy") for f, l in zip(work.fused, work.lengths)
        ],
    }
    for fn in methods.values():  # warm-up (imports, HiGHS instance)
        fn()
    times: dict[str, list[float]] = {"full LP per class, scipy linprog(method='highs')": []}
    times.update({k: [] for k in methods})
    base_out = None
    for _ in range(args.rounds):
        dt, base = timed(lambda: full_lp_labels(work))
        times["full LP per class, scipy linprog(method='highs')"].append(dt)
        base_out = base
        for name, fn in methods.items():
            times[name].append(timed_mean(fn, reps=10))

    # Agreement with the baseline (same optimum where the full LP is feasible).
    assert base_out is not None
    _, objective, base_infeasible = base_out
    stats = LinproStats()
    ours = linpro_labels_batch(work.fused, work.lengths, C, stats=stats)
    rel = []
    max_res = 0.0
    for v, (fused, l, g) in enumerate(zip(work.fused, work.lengths.tolist(), ours)):
        for c in np.unique(fused.label).tolist():
            sel = fused.label == c
            if (v, c) in objective:
                w = w_matrix(fused.start[sel], fused.end[sel], l)
                max_res = max(max_res, float(np.abs(w @ g[:, c] - fused.score[sel]).max()))
                ref = objective[(v, c)]
                rel.append(abs(g[:, c].sum() - ref) / max(abs(ref), 1e-12))
    nan_ours = sum(int(np.isnan(g).sum()) for g in ours)

    base_name = "full LP per class, scipy linprog(method='highs')"
    base_best = min(times[base_name])
    print(f"# LinPro labels, THUMOS14-like training set ({n_videos} videos, {int(work.lengths.sum())} snippets,"
          f" {n_problems} (video, class) problems, {n_inst} fused instances)\n")
    print("| method | best ms / 200 videos | median ms | videos/s | speed-up vs full LP |")
    print("|---|---:|---:|---:|---:|")
    for name, ts in times.items():
        best = min(ts)
        print(f"| {name} | {best * 1e3:.1f} | {statistics.median(ts) * 1e3:.1f} | {n_videos / best:,.0f} |"
              f" {base_best / best:.1f}× |")
    print()
    print(f"- full LP: {base_infeasible} infeasible problems (NaN columns in the released code);"
          f" tadfuse: {stats.infeasible_problems} infeasible problems solved elastically, NaN entries: {nan_ours}")
    print(f"- tadfuse components: {stats.components} ({stats.closed_form} closed form, {stats.lp_components} by"
          f" HiGHS in {stats.lp_solves} HiGHS calls for the whole batch)")
    print(f"- objective vs full LP on the {len(rel)} feasible problems: max relative difference {max(rel):.2e};"
          f" max |W g − q| there (tadfuse) {max_res:.2e}; on the infeasible ones the minimum L1"
          f" residual, total {stats.residual_l1:.3g}")
    from importlib.metadata import version

    import highspy  # noqa: F401  (version below)

    print(f"- {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
          f" numpy {np.__version__}, scipy {scipy.__version__}, highspy {version('highspy')},"
          f" RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS', 'unset')}, rounds {args.rounds}")


if __name__ == "__main__":
    main()
