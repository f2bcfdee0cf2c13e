"""How far tadfuse's official preset is from the released GauFuse test path, fast and exact.

    python benches/exact_vs_released.py     # prints the tables recorded in benches/RESULTS.md

Workload: `tadfuse.reference.workload.thumos14_test_tcams` (the 212 THUMOS14 test videos, real
lengths and ground truth planted in generated 21-column TCAMs), float64 and its float32 rounding.
Released path: `tadfuse.reference.released` (``getActLoc`` → ``NonMaximumSuppression`` →
``getLocMAP`` restated). tadfuse: ``detect_batch`` with ``PostprocessConfig.official()`` (fast)
or ``official(exact=True)``, then ``evaluate(protocol="wtalc")`` of the detections in memory.
mAP in percentage points at tIoU 0.1:0.1:0.7.
"""

from __future__ import annotations

import argparse
import math
import platform

import numpy as np
import tadfuse
from tadfuse.reference.workload import TIOUS, released_path, thumos14_test_tcams


def tadfuse_map(w, dets) -> np.ndarray:
    preds = dict(zip(w.annotations.video_names, dets))
    res = tadfuse.evaluate(w.folder, preds, protocol="wtalc", tiou_thresholds=TIOUS, zero_map_bug=True)
    return 100 * res.mAP


def detection_gaps(dets, rows) -> tuple[int, int, int]:
    """(rows compared, rows not bit-identical, rows whose int(start) or int(end) differ), over the
    videos where the two have the same number of rows; plus how many videos differ in count."""
    same = differ = trunc = 0
    for d, r in zip(dets, rows):
        if len(d) != len(r):
            continue
        same += len(d)
        exact = (d.start == r[:, 2]) & (d.end == r[:, 3]) & (d.score == r[:, 4])
        differ += int((~exact).sum())
        trunc += int(((np.trunc(d.start) != np.trunc(r[:, 2])) | (np.trunc(d.end) != np.trunc(r[:, 3]))).sum())
    return same, differ, trunc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=2023)
    args = ap.parse_args()
    base = thumos14_test_tcams(args.seed)
    print(f"python {platform.python_version()}, numpy {np.__version__}, tadfuse {tadfuse.__version__}, "
          f"{platform.machine()}; workload seed {args.seed}, {len(base.cas)} videos")
    print()
    print("| TCAM | method | released mAP@0.1:0.7 (avg) | exact − released, max | fast − released per tIoU | "
          "fast − released, avg | fast rows not bit-equal | fast rows with another int() boundary | "
          "videos with another row count |")
    print("|---|---|---|---|---|---|---|---|---|")
    for dtype in (np.float64, np.float32):
        w = base.astype(dtype)
        for method in ("fusion", "nms"):
            rows, ref = released_path(w, fusion=method == "fusion")
            exact = tadfuse.detect_batch(w.cas, w.video_scores, tadfuse.PostprocessConfig.official(method=method, exact=True))
            fast = tadfuse.detect_batch(w.cas, w.video_scores, tadfuse.PostprocessConfig.official(method=method))
            m_exact, m_fast = tadfuse_map(w, exact), tadfuse_map(w, fast)
            n, differ, trunc = detection_gaps(fast, rows)
            counts = sum(len(d) != len(r) for d, r in zip(fast, rows))
            assert detection_gaps(exact, rows)[1:] == (0, 0)
            d = m_fast - ref
            print(f"| {np.dtype(dtype).name} | {method} | {ref.mean():.4f} | {np.abs(m_exact - ref).max():.1e} | "
                  f"{' '.join(f'{x:+.3f}' for x in d)} | {d.mean():+.4f} | {differ} of {n} | {trunc} | {counts} |")
    # Why exact mode takes exp from NumPy: on this CPU, NumPy's exp vs the C library's.
    inner = np.concatenate([p.inner for p in tadfuse.detect_batch(base.cas, base.video_scores,
                                                                     tadfuse.PostprocessConfig.official(method="nms"))])
    z = inner / 0.2
    libm = np.array([math.exp(v) for v in z])
    print()
    print(f"np.exp(inner / 0.2) != math.exp(inner / 0.2) for {int((np.exp(z) != libm).sum())} of {z.size} "
          "NMS-kept proposals' weights on this machine")


if __name__ == "__main__":
    main()
