"""benches/sweep.py on the demo preset with toy data: results lines, resuming, the report."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("torch")

_SPEC = importlib.util.spec_from_file_location("sweep", Path(__file__).resolve().parents[1] / "benches" / "sweep.py")
assert _SPEC is not None and _SPEC.loader is not None
sweep = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(sweep)


def test_sweep_records_skips_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--out", str(tmp_path), "--seeds", "0", "1", "--preset", "demo", "--epochs", "6", "--data", "toy"]
    assert sweep.main(args) == 0
    capsys.readouterr()
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    recs = [json.loads(line) for line in lines]
    keys = [(r["seed"], r["variant"], r["post"]) for r in recs]
    posts = {"nms", *(f"fusion:{t}" for t in sweep.TEMPLATES)}
    expected = {(s, v, "nms") for s in (0, 1) for v in sweep.TABLE4} | {(s, "+delta", p) for s in (0, 1) for p in posts}
    assert len(keys) == len(set(keys)) and set(keys) == expected
    for r in recs:
        assert r["epochs"] == 6 and r["tadfuse_version"] and len(r["mAP"]) == len(r["tiou"])
        assert r["config"]["train"]["seed"] == r["seed"]
        assert r["config"]["postprocess"]["method"] == r["post"].split(":")[0]
        assert r["train_config"]["train"]["refresh"] is (r["variant"] != "baseline")
        if r["variant"] != "baseline":
            assert r["train_config"]["postprocess"]["method"] == ("nms" if r["variant"] == "+linpro" else "fusion")
            assert any(p["delta"] for p in r["train_config"]["delta"]["phases"]) is (r["variant"] == "+delta")
    # The variants really differ where their configurations do: +fusion's targets are the latest
    # generation (G >= 0, distillation >= 0 up to rounding), +delta's are differences.
    def losses(v: str) -> list[float]:
        rows = [json.loads(x) for x in (tmp_path / "seed0" / v.lstrip("+") / "metrics.jsonl").read_text().splitlines()]
        return [r["loss"]["total"] for r in rows]

    assert losses("+fusion") != losses("+delta") and losses("+linpro") != losses("+fusion")
    assert losses("baseline") != losses("+linpro")
    mtime = (tmp_path / "results.jsonl").stat().st_mtime_ns
    # A second invocation trains and scores nothing: the file is unchanged and the runs are reused.
    assert sweep.main(args) == 0
    assert (tmp_path / "results.jsonl").read_text().splitlines() == lines
    assert (tmp_path / "results.jsonl").stat().st_mtime_ns == mtime
    capsys.readouterr()
    assert sweep.main(["--out", str(tmp_path), "--report"]) == 0
    text = capsys.readouterr().out
    for row in ("baseline", "+linpro", "+fusion", "+delta", "+fusion_test", "nms", "fusion:student_t"):
        m = re.search(rf"^\| {re.escape(row)} \| 2 \|(.*)\|$", text, re.M)
        assert m, row
        cells = [c.strip() for c in m.group(1).split("|")]
        assert all(re.fullmatch(r"\d+\.\d\d ± \d+\.\d\d", c) for c in cells), (row, cells)
    avg = [r["average_mAP"] for r in recs if r["variant"] == "baseline"]
    mean = 100 * sum(avg) / 2
    assert f"{mean:.2f} ±" in text.split("\n| +linpro")[0]


def test_scale_schedule_keeps_order() -> None:
    from tadfuse.config import get_preset

    cfg = sweep.scale_schedule(get_preset("official"), 35)
    assert cfg.train.epochs == 35 and cfg.delta.refresh_epochs == (20, 23, 24, 26, 28, 30)
    assert [(p.first, p.last) for p in cfg.delta.phases] == [(20, 24), (25, 29), (30, None)]
    with pytest.raises(ValueError, match="--epochs"):
        sweep.scale_schedule(get_preset("official"), 3)


def test_report_without_results_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sweep.main(["--out", str(tmp_path), "--report"]) == 1
    assert "--out" in capsys.readouterr().err
