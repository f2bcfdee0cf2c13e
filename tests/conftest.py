"""Test-wide settings: hypothesis runs derandomized (the same examples on every run and machine,
so CI is reproducible) with no deadline (2-core CI machines are noisy). Set
``HYPOTHESIS_PROFILE=explore`` to draw fresh random examples instead."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, database=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
