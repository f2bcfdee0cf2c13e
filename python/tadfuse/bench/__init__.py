"""Side-by-side benchmarks shipped with the package: what ``tadfuse bench`` runs and prints.

tadfuse against the numpy restatement of the released post-processing
(`tadfuse.reference.numpy_official`), fusion vs NMS vs soft-NMS kernels, exact vs fast official
mode, and LinPro's reduced LPs against the released code's dense LP per class
(`tadfuse.bench.full_lp`), on workloads generated over the THUMOS14 annotations shipped with
tadfuse (`tadfuse.bench.workloads`). Every number is measured in one process, the contenders of
a table interleaved round by round, medians of the rounds and ratios of medians
(`tadfuse.bench.timing`). benches/compare.py and benches/compare_linpro.py of the repository
are thin wrappers over this package; benches/RESULTS.md records their runs.

`run` measures the named tables and returns them (`tadfuse.bench.report.Table`); `render`
prints them with their provenance; `to_json` is what ``--json`` writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tadfuse.bench.report import Ratio, Table, provenance
from tadfuse.bench.settings import FULL, QUICK, SIZES, Settings, Size
from tadfuse.bench.tables import TABLES, Context, timed_sets
from tadfuse.errors import InvalidArgumentError

__all__ = [
    "FULL",
    "QUICK",
    "SIZES",
    "TABLE_NAMES",
    "Ratio",
    "Settings",
    "Size",
    "Table",
    "provenance",
    "render",
    "render_header",
    "run",
    "to_json",
]

#: The tables, in the order they are measured and printed.
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)

#: The ``format`` field of the JSON file.
JSON_FORMAT = "tadfuse-bench/1"


def run(settings: Settings, names: Sequence[str] = TABLE_NAMES, *, progress: bool | None = None,
        after_table: Callable[[Table], None] | None = None) -> list[Table]:
    """Measure the tables ``names`` (in `TABLE_NAMES` order) under ``settings``.

    ``progress``: a tqdm bar over the timed rounds on stderr (None: only on a terminal).
    ``after_table`` is called with each table as soon as it is measured.
    """
    from tqdm import tqdm

    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise InvalidArgumentError(f"names: unknown table {unknown[0]!r}; choose from {', '.join(TABLE_NAMES)}")
    chosen = [n for n in TABLE_NAMES if n in names]
    bar = tqdm(total=timed_sets(chosen, settings), desc="bench", unit="round", leave=False,
               disable=None if progress is None else not progress)
    ctx = Context(settings, after_round=bar.update)
    tables = []
    try:
        for name in chosen:
            bar.set_postfix_str(name)
            tables.append(TABLES[name][0](ctx))
            if after_table is not None:
                bar.clear()  # the bar is redrawn below what the callback prints
                after_table(tables[-1])
                bar.refresh()
    finally:
        bar.close()
    return tables


def render_header(settings: Settings, prov: dict[str, Any]) -> str:
    """The lines above the tables: versions, machine, method."""
    m = prov["machine"]
    s = settings
    return "\n".join([
        f"tadfuse bench ({s.size.name}): tadfuse {prov['tadfuse_version']}, Python {prov['python']}, "
        f"numpy {prov['numpy']}, scipy {prov['scipy']}, highspy {prov['highspy']}",
        f"machine: {m['cpu_model']}, {m['cpu_count']} CPUs ({m['usable_cpus']} usable), {m['platform']}",
        f"method: {s.repeat} interleaved round{'s' if s.repeat > 1 else ''} (each the best of up to "
        f"{s.size.max_calls} calls in "
        f"{s.size.budget_s:g} s), median per contender, ratios of medians; seed {s.seed}; "
        f"{s.threads} thread{'s' if s.threads > 1 else ''} for the multi-threaded rows",
        f"command: {prov['command']}",
    ])


def render(tables: Sequence[Table], settings: Settings, prov: dict[str, Any]) -> str:
    """The header and every table, as printed by ``tadfuse bench``."""
    return "\n\n".join([render_header(settings, prov), *(t.markdown() for t in tables)])


def to_json(tables: Sequence[Table], settings: Settings, prov: dict[str, Any]) -> dict[str, Any]:
    """The measured numbers with their provenance (seconds; ratios as plain numbers)."""
    s = settings
    return {
        "format": JSON_FORMAT,
        "provenance": prov,
        "settings": {"size": s.size.name, "repeat": s.repeat, "threads": s.threads, "seed": s.seed,
                     "budget_s": s.size.budget_s, "max_calls": s.size.max_calls},
        "tables": [t.to_dict() for t in tables],
    }
