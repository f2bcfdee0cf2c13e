"""The README's Python examples run as written, in order, in one namespace (in a scratch folder:
they write gt.json, pred.json and config.toml). The training example needs a dataset and hours of
CPU; it is checked for names only (every name it imports exists)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[str]:
    if not README.exists():
        pytest.skip("README.md not found beside tests/ (tests copied without it)")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 4, "the README lost its Python examples"
    return blocks


def test_readme_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    runnable = [b for b in _blocks() if "from tadfuse.engine import" not in b]
    for code in runnable:
        exec(compile(code, str(README), "exec"), ns)
    det, labels, result = ns["det"], ns["labels"], ns["result"]
    assert len(det) > 0 and labels.shape == (300, 21) and ns["stats"].problems >= 1
    assert result.mAP.tolist() == [1.0, 1.0, 1.0]  # the planted action is found
    assert ns["cfg"].postprocess.temperature == 0.1
    assert len(ns["store"]) == 2


def test_readme_training_example_names_exist():
    import tadfuse.engine

    (code,) = [b for b in _blocks() if "from tadfuse.engine import" in b]
    names = re.search(r"from tadfuse\.engine import ([\w, ]+)", code).group(1)
    for name in (n.strip() for n in names.split(",")):
        assert hasattr(tadfuse.engine, name), name
