"""Side-by-side: tadfuse LinPro labels vs the full LP per class (the released code's approach).

    python benches/compare_linpro.py [--repeat N] [--threads N] [--seed S] [--json OUT]

A thin wrapper over the package: the same as ``tadfuse bench --only linpro`` (`tadfuse.bench`;
the workload is `tadfuse.bench.workloads.thumos14_train_like`, the baseline
`tadfuse.bench.full_lp`; any other ``tadfuse bench`` option passes through). Prints the table
recorded in benches/RESULTS.md.
"""

from __future__ import annotations

import sys

from tadfuse.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--only", "linpro", *sys.argv[1:]]))
