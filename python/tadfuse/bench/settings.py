"""How big and how often ``tadfuse bench`` measures: `Size` (the workloads and the per-round
budget; `FULL` is the size recorded in benches/RESULTS.md, `QUICK` a laptop's few seconds) and
`Settings` (a size with the rounds, threads and seed of one run)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FULL", "QUICK", "SIZES", "Settings", "Size"]


@dataclass(frozen=True)
class Size:
    """``test_videos`` / ``train_videos``: how many of the 212 test / 200 training videos (None:
    all); ``kernel_segments``: the segment counts of the one-class kernel rows; ``budget_s``:
    seconds of calls per contender and round (at least one call, at most ``max_calls``);
    ``repeat``: the default number of rounds."""

    name: str
    test_videos: int | None
    train_videos: int | None
    kernel_segments: tuple[int, ...]
    budget_s: float
    max_calls: int
    repeat: int


FULL = Size("full", None, None, (2_000, 20_000), budget_s=0.3, max_calls=50, repeat=5)
QUICK = Size("quick", 24, 24, (500, 2_000), budget_s=0.02, max_calls=20, repeat=3)
SIZES = {s.name: s for s in (FULL, QUICK)}


@dataclass(frozen=True)
class Settings:
    """One run: ``size``, ``repeat`` interleaved rounds, ``threads`` for the multi-threaded rows
    (1: none), ``seed`` of the generated workloads."""

    size: Size
    repeat: int
    threads: int
    seed: int
