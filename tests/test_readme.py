"""The README's Python example runs as written (up to the evaluation lines, which need files)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_api_example_runs():
    if not README.exists():
        pytest.skip("README.md not found beside tests/")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "no python example in the README"
    code = blocks[0].split("# Evaluation")[0]
    ns: dict = {}
    exec(compile(code, str(README), "exec"), ns)
    det, labels = ns["det"], ns["labels"]
    assert len(det) > 0 and labels.shape == (300, 21)
    assert ns["stats"].problems >= 1
