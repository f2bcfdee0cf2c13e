"""What ``tadfuse bench`` measures and writes: `Ratio` (two contenders timed side by side),
`Table` (a markdown table with its ratios and workload), and `provenance` (versions, machine).
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from tadfuse.bench.timing import Timing

__all__ = ["Ratio", "Table", "cpu_model", "provenance"]


@dataclass(frozen=True)
class Ratio:
    """``numerator.median / denominator.median``: a speed-up when the numerator is the
    baseline, a cost when it is the slower variant (exact / fast). The names say what ran."""

    row: str
    numerator: str
    denominator: str
    numerator_timing: Timing
    denominator_timing: Timing

    @property
    def value(self) -> float:
        return self.numerator_timing.median / self.denominator_timing.median

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "ratio": self.value,
            "numerator": {"name": self.numerator, **self.numerator_timing.to_dict()},
            "denominator": {"name": self.denominator, **self.denominator_timing.to_dict()},
        }


@dataclass
class Table:
    """One comparison: ``title`` (the workload in a line), a markdown table of ``header`` and
    ``rows`` (cells as printed), the ``ratios`` behind its ratio cells, notes printed below it,
    and ``workload``: the workload's sizes for the JSON file."""

    name: str
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    workload: dict[str, Any] = field(default_factory=dict)

    def markdown(self) -> str:
        lines = [self.title, "", "| " + " | ".join(self.header) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.header))) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        if self.notes:
            lines += ["", *(f"- {n}" for n in self.notes)]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "workload": self.workload,
                "ratios": [r.to_dict() for r in self.ratios], "notes": list(self.notes),
                "header": list(self.header), "rows": [list(r) for r in self.rows]}


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, ``sysctl`` on macOS), else what
    `platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                    return value.strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                 timeout=5, check=False).stdout.strip()
            if out:
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def provenance(command: str) -> dict[str, Any]:
    """Where and with what the numbers were measured: ``command`` (the ``tadfuse bench`` line
    that repeats the run), versions, the machine, the time (UTC)."""
    import numpy as np

    from tadfuse import __version__

    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "command": command,
        "tadfuse_version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": _version("scipy"),
        "highspy": _version("highspy"),
        "machine": {
            "cpu_model": cpu_model(),
            "cpu_count": os.cpu_count(),
            "usable_cpus": usable,
            "architecture": platform.machine(),
            "platform": platform.platform(),
        },
        "environment": {k: os.environ[k] for k in ("RAYON_NUM_THREADS", "OMP_NUM_THREADS") if k in os.environ},
        "time_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
