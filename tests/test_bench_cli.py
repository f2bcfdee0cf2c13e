"""``tadfuse bench``: ``--quick`` from a copy of the installed package (no repository, no benches/
on sys.path) prints every table with finite positive ratios and writes valid JSON with the
provenance; bad flags are one-line usage errors naming the flag; the recorded command repeats
the run's settings."""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tadfuse
from tadfuse.cli import build_parser, main
from tadfuse.postprocess import MAX_THREADS

PACKAGE = Path(tadfuse.__file__).resolve().parent

#: Table titles' first words and headers, in print order.
TABLES = [
    ("THUMOS14-like detection:", ["workload", "baseline", "tadfuse", "speed-up"]),
    ("One class, n random segments", ["kernel", "baseline", "tadfuse", "speed-up"]),
    ("Exact mode (official(exact=True)) vs the fast official path", ["workload", "fast", "exact", "exact / fast"]),
    ("LinPro labels, THUMOS14-like training set", ["method", "median ms / 24 videos", "best ms", "videos/s",
                                                   "speed-up vs full LP"]),
]
#: Rows per table with --threads 2: detect 1 and 2 threads, 2 vs 1, videos/s; 3 kernels x 2
#: sizes; 5 exact cases; the full LP, 3 single-thread tadfuse methods and the 2-thread batch.
ROWS = [4, 6, 5, 5]
_RATIO = re.compile(r"^(\d+(?:\.\d+)?)x$")


def markdown_tables(text: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """``(title, header, rows)`` of each markdown table in ``text``; the title is the last
    non-empty line above the table."""
    lines = text.splitlines()
    out, i = [], 0
    while i < len(lines):
        if lines[i].startswith("| ") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            title = next(ln for ln in reversed(lines[:i]) if ln.strip())
            cells = lambda ln: [c.strip() for c in ln.strip()[1:-1].split("|")]
            header, j = cells(lines[i]), i + 2
            rows = []
            while j < len(lines) and lines[j].startswith("|"):
                rows.append(cells(lines[j]))
                j += 1
            out.append((title, header, rows))
            i = j
        else:
            i += 1
    return out


def _check_ratio_cell(cell: str) -> None:
    m = _RATIO.match(cell)
    assert m, cell
    assert math.isfinite(float(m.group(1))) and float(m.group(1)) > 0, cell


def test_quick_from_an_installed_copy_prints_every_table_and_writes_json(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "tadfuse", ignore=shutil.ignore_patterns("__pycache__"))
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TADFUSE_SHARED")}
    env["PYTHONPATH"] = str(site)
    # The copy is what runs, and nothing of the repository (benches/, ../shared) is reachable.
    probe = ("import sys, tadfuse; assert tadfuse.__file__.startswith(sys.argv[1]), tadfuse.__file__; "
             "assert not any(p.rstrip('/').endswith('benches') for p in sys.path), sys.path; "
             "from tadfuse.cli import main; raise SystemExit(main(sys.argv[2:]))")
    out_json = work / "out" / "bench.json"
    r = subprocess.run([sys.executable, "-c", probe, str(site), "bench", "--quick", "--threads", "2",
                        "--json", str(out_json)], cwd=work, env=env, capture_output=True, text=True, timeout=300,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr

    header = r.stdout.splitlines()[:4]
    assert header[0].startswith(f"tadfuse bench (quick): tadfuse {tadfuse.__version__}")
    assert header[1].startswith("machine: ") and header[2].startswith("method: 3 interleaved rounds")
    assert header[3].startswith("command: tadfuse bench --quick --repeat 3 --threads 2 --seed 0 --only ")
    tables = markdown_tables(r.stdout)
    assert len(tables) == len(TABLES)
    for (title, head, rows), (want_title, want_head), n_rows in zip(tables, TABLES, ROWS):
        assert title.startswith(want_title) and head == want_head, (title, head)
        assert len(rows) == n_rows and all(len(row) == len(head) for row in rows), rows
        for row in rows:
            if row[0] == "videos / s (1 thread)":
                assert row[-1] == ""
            else:
                _check_ratio_cell(row[-1])
    assert f"wrote {out_json}" in r.stdout

    data = json.loads(out_json.read_text())
    assert data["format"] == "tadfuse-bench/1"
    p = data["provenance"]
    assert p["tadfuse_version"] == tadfuse.__version__ and p["command"] == header[3].removeprefix("command: ")
    for key in ("numpy", "scipy", "highspy", "python", "time_utc"):
        assert p[key], key
    assert p["machine"]["cpu_model"] and p["machine"]["cpu_count"] >= 1
    assert data["settings"] == {"size": "quick", "repeat": 3, "threads": 2, "seed": 0, "budget_s": 0.02,
                                "max_calls": 20}
    assert [t["name"] for t in data["tables"]] == ["postprocess", "kernels", "exact", "linpro"]
    for t, n_rows in zip(data["tables"], ROWS):
        assert len(t["rows"]) == n_rows and t["workload"]
        for ratio in t["ratios"]:
            assert math.isfinite(ratio["ratio"]) and ratio["ratio"] > 0
            for side in ("numerator", "denominator"):
                timing = ratio[side]
                assert len(timing["rounds_s"]) == 3 and all(x > 0 for x in timing["rounds_s"])
                assert timing["calls"] >= 3 and 0 < timing["best_s"] <= timing["median_s"]
            assert ratio["ratio"] == pytest.approx(ratio["numerator"]["median_s"] / ratio["denominator"]["median_s"])


def test_help_lists_bench(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert re.search(r"^\s+bench\s", capsys.readouterr().out, re.M)
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    out = capsys.readouterr().out
    for flag in ("--quick", "--repeat", "--threads", "--seed", "--only", "--json"):
        assert flag in out, flag


@pytest.mark.parametrize(
    ("flag", "value", "needle"),
    [
        ("--repeat", "0", "must be an integer in [1, 1000]"),
        ("--repeat", "2.5", "must be an integer"),
        ("--threads", "0", "must be an integer in [1,"),
        ("--threads", str(MAX_THREADS + 1), "must be an integer in [1,"),
        ("--seed", "-1", "must be an integer >= 0"),
        ("--only", "nope", "unknown table 'nope'; choose from postprocess, kernels, exact, linpro"),
        ("--only", "linpro,nope", "unknown table 'nope'"),
        ("--only", "", "unknown table ''"),
    ],
)
def test_bad_flags_are_one_line_usage_errors(capsys: pytest.CaptureFixture[str], flag: str, value: str,
                                             needle: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["bench", flag, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith(f"tadfuse bench: error: argument {flag}: ") and needle in err[-1], err
    assert all(line.startswith("usage:") or line.startswith(" ") for line in err[:-1]), err


def test_json_into_a_directory_fails_before_measuring(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--quick", "--json", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"tadfuse: error: --json {tmp_path}: is a directory; give a file name\n"
    assert "|" not in captured.out


def test_only_repeats_and_the_recorded_command_repeats_the_run(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["bench", "--only", "linpro", "--only", "exact,kernels"])
    assert args.only == ["linpro", "exact", "kernels"]
    out = tmp_path / "b.json"
    assert main(["bench", "--quick", "--only", "exact", "--repeat", "1", "--threads", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    tables = markdown_tables(printed)
    assert len(tables) == 1 and tables[0][0].startswith(TABLES[2][0])
    data = json.loads(out.read_text())
    argv = shlex.split(data["provenance"]["command"])
    assert argv[:2] == ["tadfuse", "bench"]
    again = build_parser().parse_args(argv[1:])
    assert (again.quick, again.repeat, again.threads, again.seed, again.only, again.json) == \
        (True, 1, 1, 0, ["exact"], str(out))
    assert all(len(r["numerator"]["rounds_s"]) == 1 for r in data["tables"][0]["ratios"])
