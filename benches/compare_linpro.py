"""Side-by-side: tadfuse LinPro labels vs the full LP per class (the released code's approach).

    python benches/compare_linpro.py [--repeat N] [--threads N] [--seed S] [--json OUT]
    RAYON_NUM_THREADS=1 python benches/compare_linpro.py --rounds 5   # as recorded; --rounds = --repeat

A thin wrapper over the package: the same as ``tadfuse bench --only linpro`` (`tadfuse.bench`;
the workload is `tadfuse.bench.workloads.thumos14_train_like`, the baseline
`tadfuse.bench.full_lp`; any other ``tadfuse bench`` option passes through). Prints the table
recorded in benches/RESULTS.md.
"""

from __future__ import annotations

import sys

from tadfuse.cli import main

if __name__ == "__main__":
    argv = ["--repeat" if a == "--rounds" else a for a in sys.argv[1:]]  # the recorded command's flag
    sys.exit(main(["bench", "--only", "linpro", *argv]))
