"""Without Ray installed, tadfuse.engine.ray_infer says which extra to install (this test runs
whether or not Ray is installed: it hides it)."""

from __future__ import annotations

import sys

import pytest
from tadfuse.errors import MissingExtraError


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from tadfuse.engine.ray_infer import infer_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    monkeypatch.setitem(sys.modules, "ray.data", None)
    with pytest.raises(MissingExtraError, match=r"tadfuse\[ray\]"):
        infer_ray(tmp_path / "run", tmp_path / "data")
