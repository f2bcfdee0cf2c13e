"""Side-by-side timings, one process, same inputs: tadfuse's Rust core vs numpy.

    python benches/compare.py            # prints the table recorded in benches/RESULTS.md

1. THUMOS14-like detection (212 test videos, real durations and GT layout, 21-column TCAMs,
   20 thresholds, official preset): `tadfuse.reference.numpy_official.numpy_detect` per video vs
   `tadfuse.detect_batch` with 1 and 2 threads.
2. Exact mode (`PostprocessConfig.official(exact=True)`) against the fast official path on the same
   212 videos, float64 and float32 TCAMs, fusion and NMS, one thread: the cost of bit-exactness;
   and on the 200 training videos of `thumos_like.py` (LinPro's workload) at T = 0.02.
3. One class, 2,000 and 20,000 segments: fusion, hard NMS and soft-NMS, numpy loop vs tadfuse.
Each row reports the best of several runs (min wall time), and outputs are checked to agree
before anything is timed.
"""

from __future__ import annotations

import argparse
import functools
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tadfuse
from tadfuse.reference.numpy_official import numpy_detect, numpy_fuse, numpy_nms, numpy_soft_nms
from thumos_like import FUSE_TEMPERATURE
from thumos_like import load as thumos_like_training
from workloads import one_class_segments, thumos14_like


def best_time(fn: Callable[[], object], min_total: float = 0.5, max_runs: int = 50) -> float:
    """Minimum wall time of ``fn`` over repeated runs (at least 3, until ``min_total`` s)."""
    times: list[float] = []
    while len(times) < 3 or (sum(times) < min_total and len(times) < max_runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def check_detect(videos, fused: list[tadfuse.Proposals]) -> None:
    for v, det in zip(videos, fused):
        ref = numpy_detect(v.cas, v.video_scores)
        got = {c: det[det.label == c] for c in np.unique(det.label)}
        assert sorted(ref) == sorted(got), "class sets differ"
        for c, r in ref.items():
            for col in ("start", "end", "score", "inner"):
                np.testing.assert_allclose(getattr(got[c], col), r[col], rtol=1e-12, atol=1e-12)


def row(name: str, t_ref: float, t_new: float, ref_label: str = "numpy") -> str:
    return f"| {name} | {ref_label} {t_ref * 1e3:10.3f} ms | tadfuse {t_new * 1e3:9.3f} ms | {t_ref / t_new:8.1f}x |"


def pair(name: str, n: int, baseline: Callable, args: tuple, call: Callable, p: tadfuse.Proposals, **kw) -> None:
    """Print one row: the numpy loop ``baseline(*args)`` vs ``call(p, **kw)``."""
    t_ref = best_time(functools.partial(baseline, *args), min_total=1.0, max_runs=5)
    t_new = best_time(functools.partial(call, p, **kw))
    print(row(f"{name}, {n:,} segments", t_ref, t_new))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    videos = thumos14_like(args.seed)
    cas = [v.cas for v in videos]
    scores = [v.video_scores for v in videos]
    snippets = sum(c.shape[0] for c in cas)
    classes = sum(int((s >= 0.16).sum()) for s in scores)
    cfg = tadfuse.PostprocessConfig.official()

    fused = tadfuse.detect_batch(cas, scores, cfg, num_threads=1)
    check_detect(videos, fused)
    assert fused == tadfuse.detect_batch(cas, scores, cfg, num_threads=2)

    t_np = best_time(lambda: [numpy_detect(c, s) for c, s in zip(cas, scores)], min_total=2.0, max_runs=5)
    # Interleaved rounds, so a burst of noise from the VM's neighbours hits both thread counts.
    t_1 = t_2 = float("inf")
    for _ in range(5):
        t_1 = min(t_1, best_time(lambda: tadfuse.detect_batch(cas, scores, cfg, num_threads=1), min_total=0.3))
        t_2 = min(t_2, best_time(lambda: tadfuse.detect_batch(cas, scores, cfg, num_threads=2), min_total=0.3))

    print(f"python {platform.python_version()}, numpy {np.__version__}, tadfuse {tadfuse.__version__}, "
          f"{platform.machine()}")
    print()
    print(f"THUMOS14-like detection: {len(videos)} videos, {snippets} snippets, 21 classes, "
          f"{len(cfg.thresholds)} thresholds, {classes} (video, class) pairs processed, "
          f"{sum(map(len, fused))} fused detections")
    print()
    print("| workload | baseline | tadfuse | speed-up |")
    print("|---|---|---|---|")
    print(row("detect, 212 videos, 1 thread", t_np, t_1))
    print(row("detect, 212 videos, 2 threads", t_np, t_2))
    print(f"| 2 threads vs 1 thread | | | {t_1 / t_2:8.2f}x |")
    print(f"| videos / s (1 thread) | {len(videos) / t_np:10.0f} | {len(videos) / t_1:10.0f} | |")

    # Exact mode vs the fast path: interleaved rounds, as above.
    print()
    print("| exact mode vs fast path (1 thread) | fast | exact | exact / fast |")
    print("|---|---|---|---|")
    training = thumos_like_training(args.seed)
    cases = [(f"{name} TCAMs", tcams, scores, cfg.replace(method=method))
             for name, tcams in (("float64", cas), ("float32", [c.astype(np.float32) for c in cas]))
             for method in ("fusion", "nms")]
    cases.append(("200 training videos (thumos_like.py), T = 0.02", training.cas, training.video_scores,
                  cfg.replace(temperature=FUSE_TEMPERATURE)))
    for name, tcams, vs, base in cases:
        fast = functools.partial(tadfuse.detect_batch, tcams, vs, base, num_threads=1)
        exact = functools.partial(tadfuse.detect_batch, tcams, vs, base.replace(exact=True), num_threads=1)
        t_fast = t_exact = float("inf")
        for _ in range(5):
            t_fast = min(t_fast, best_time(fast, min_total=0.3))
            t_exact = min(t_exact, best_time(exact, min_total=0.3))
        print(f"| detect {base.method}, {name} | {t_fast * 1e3:9.3f} ms | {t_exact * 1e3:9.3f} ms | "
              f"{t_exact / t_fast:6.2f}x |")
    print()

    for n in (2_000, 20_000):
        seg = one_class_segments(n, args.seed)
        p = tadfuse.Proposals(**seg)
        s, e, sc, inn = seg["start"], seg["end"], seg["score"], seg["inner"]

        ref_f = numpy_fuse(s, e, sc, inn, 0.2, 0.25)
        got_f = tadfuse.fuse(p, temperature=0.2)
        np.testing.assert_allclose(got_f.start, ref_f[0], rtol=1e-12)
        np.testing.assert_allclose(got_f.score, ref_f[2], rtol=1e-12)
        assert np.array_equal(tadfuse.nms(p).start, s[numpy_nms(s, e, sc)])
        idx, dec = numpy_soft_nms(s, e, sc)
        got_s = tadfuse.soft_nms(p)
        assert np.array_equal(got_s.start, s[idx])
        np.testing.assert_allclose(got_s.score, dec, rtol=1e-12)

        pair("fusion", n, numpy_fuse, (s, e, sc, inn, 0.2, 0.25), tadfuse.fuse, p, temperature=0.2)
        pair("NMS", n, numpy_nms, (s, e, sc), tadfuse.nms, p)
        pair("soft-NMS", n, numpy_soft_nms, (s, e, sc), tadfuse.soft_nms, p)


if __name__ == "__main__":
    main()
