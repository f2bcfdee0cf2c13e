"""Side-by-side timings, one process, same inputs: tadfuse's Rust core vs numpy, and exact vs fast.

    python benches/compare.py [--repeat N] [--threads N] [--seed S] [--json OUT]

A thin wrapper over the package: the same as ``tadfuse bench --only postprocess,kernels,exact``
(`tadfuse.bench`; any other ``tadfuse bench`` option passes through). Prints the tables recorded
in benches/RESULTS.md: THUMOS14-like detection (212 test videos, numpy restatement of the
official pipeline vs ``detect_batch`` with 1 and N threads), the one-class fusion / NMS /
soft-NMS kernels (2,000 and 20,000 segments), and exact mode vs the fast official path.
"""

from __future__ import annotations

import sys

from tadfuse.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--only", "postprocess,kernels,exact", *sys.argv[1:]]))
