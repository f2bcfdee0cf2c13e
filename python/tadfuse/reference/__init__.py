"""Restatements of the code tadfuse reproduces, shipped for benchmarks and parity checks.

* `tadfuse.reference.released`: the released GauFuse test path (``getActLoc`` →
  ``NonMaximumSuppression`` → ``getLocMAP``) with its arithmetic, the yardstick of exact mode
  (``PostprocessConfig.official(exact=True)``).
* `tadfuse.reference.numpy_official`: the official post-processing vectorised with numpy, the
  baseline of the speed benchmarks.

Plain numpy, slow on purpose: the library never calls it; `tadfuse.bench` and the tests compare
against it.
"""
