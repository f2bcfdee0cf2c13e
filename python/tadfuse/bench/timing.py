"""The timing harness of ``tadfuse bench``: contenders timed side by side in one process.

A *round* times every contender of a comparison once, back to back, in an order rotated by one
each round (so no contender always runs first, on a cold cache, or last, after the slowest);
within a round a contender's time is the best of as many calls as fit in a small budget (at
least one), which drops the interrupts and page faults of single calls. Over the rounds each
contender's time is the median, and a speed-up is the ratio of two medians: a burst of noise
from a neighbour on a shared machine hits every contender of the round it falls in, and the
median discards the rounds it spoils.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tadfuse.errors import InvalidArgumentError

__all__ = ["Timing", "best_of", "interleaved"]


@dataclass(frozen=True)
class Timing:
    """Seconds per call of one contender: ``rounds[r]`` is the best call of round ``r``;
    ``calls`` counts every timed call over all rounds."""

    rounds: tuple[float, ...]
    calls: int

    @property
    def median(self) -> float:
        """The median over the rounds, seconds."""
        return statistics.median(self.rounds)

    @property
    def best(self) -> float:
        """The fastest round, seconds."""
        return min(self.rounds)

    def to_dict(self) -> dict[str, object]:
        return {"median_s": self.median, "best_s": self.best, "rounds_s": list(self.rounds), "calls": self.calls}


def best_of(fn: Callable[[], object], budget: float, max_calls: int,
            clock: Callable[[], float] = time.perf_counter) -> tuple[float, int]:
    """``(fastest call in seconds, calls made)``: ``fn()`` called until ``budget`` seconds of
    calls are spent, at least once and at most ``max_calls`` times."""
    if budget < 0 or max_calls < 1:
        raise InvalidArgumentError(f"budget must be >= 0 and max_calls >= 1, got {budget}, {max_calls}")
    best, spent, calls = float("inf"), 0.0, 0
    while calls == 0 or (spent < budget and calls < max_calls):
        t0 = clock()
        fn()
        dt = clock() - t0
        best, spent, calls = min(best, dt), spent + dt, calls + 1
    return best, calls


def interleaved(
    contenders: Mapping[str, Callable[[], object]],
    rounds: int,
    budget: float,
    max_calls: int = 50,
    *,
    clock: Callable[[], float] = time.perf_counter,
    after_round: Callable[[], None] | None = None,
) -> dict[str, Timing]:
    """Time ``contenders`` (name → a call with no arguments) over ``rounds`` interleaved rounds.

    Round ``r`` runs the contenders in their given order rotated left by ``r``; each gets
    `best_of` with ``budget`` seconds and ``max_calls``. ``after_round`` is called after each
    round (a progress bar). Returns name → `Timing`, in the given order.
    """
    if rounds < 1:
        raise InvalidArgumentError(f"rounds must be >= 1, got {rounds}")
    names = list(contenders)
    times: dict[str, list[float]] = {n: [] for n in names}
    calls = dict.fromkeys(names, 0)
    for r in range(rounds):
        k = r % len(names) if names else 0
        for name in names[k:] + names[:k]:
            t, c = best_of(contenders[name], budget, max_calls, clock)
            times[name].append(t)
            calls[name] += c
        if after_round is not None:
            after_round()
    return {n: Timing(tuple(times[n]), calls[n]) for n in names}
