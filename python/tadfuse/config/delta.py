"""The ``delta`` section: Δ-label refreshes, targets and loss weights (docs/algorithms.md,
"Δ pseudo labels")."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tadfuse._checks import integer, real
from tadfuse.errors import ConfigError

__all__ = ["DeltaPhase", "DeltaSchedule"]

@dataclass(frozen=True)
class DeltaPhase:
    """Epochs ``first..last`` (inclusive; ``last=None``: open-ended) use the target
    ``coef · G_latest`` (``delta=False``) or ``coef · (G_latest − G_previous)`` (``delta=True``)."""

    first: int
    last: int | None
    coef: float
    delta: bool

    def contains(self, epoch: int) -> bool:
        return self.first <= epoch and (self.last is None or epoch <= self.last)


@dataclass(frozen=True)
class DeltaSchedule:
    """When generations are refreshed, which target each epoch uses, and the loss weights."""

    name: str
    #: Epochs at whose start all training videos get a new generation.
    refresh_epochs: tuple[int, ...]
    #: Disjoint, in increasing order; epochs in no phase have no distillation.
    phases: tuple[DeltaPhase, ...]
    #: ``weight(epoch) = min(weight_base · weight_growth^(epoch − weight_start), weight_max)``.
    weight_base: float = 10.0
    weight_growth: float = 1.035
    weight_start: int = 200
    weight_max: float = 50.0
    #: Share of the main branch's soft CE; the memory branch gets ``1 − o_coef``.
    o_coef: float = 0.8

    def __post_init__(self) -> None:
        epochs = [integer("refresh_epochs", e) for e in self.refresh_epochs]
        if any(b <= a for a, b in itertools.pairwise(epochs)):
            raise ConfigError(f"DeltaSchedule: `refresh_epochs` must be strictly increasing, got {epochs}")
        object.__setattr__(self, "refresh_epochs", tuple(epochs))
        prev_last: int | None = -1
        for i, p in enumerate(self.phases):
            if not isinstance(p, DeltaPhase):
                raise ConfigError(f"DeltaSchedule: `phases[{i}]` must be a DeltaPhase, got {p!r}")
            if prev_last is None or p.first <= prev_last or (p.last is not None and p.last < p.first):
                raise ConfigError(f"DeltaSchedule: `phases` must be disjoint, in increasing order, each first <= last; "
                                  f"phases[{i}] = {p}")
            prev_last = p.last
        for name in ("weight_base", "weight_growth", "weight_max"):
            object.__setattr__(self, name, real(name, getattr(self, name), lo=0.0, lo_open=True))
        object.__setattr__(self, "o_coef", real("o_coef", self.o_coef, lo=0.0, hi=1.0))

    @classmethod
    def official(cls) -> DeltaSchedule:
        return cls(
            name="official",
            refresh_epochs=(200, 230, 245, 260, 275, 300),
            phases=(
                DeltaPhase(201, 250, 1.0, delta=False),
                DeltaPhase(251, 300, 2.0, delta=True),
                DeltaPhase(301, None, 2.15, delta=True),
            ),
        )

    @classmethod
    def paper(cls) -> DeltaSchedule:
        return cls(
            name="paper",
            refresh_epochs=(200, 215, 230, 245, 270, 290),
            phases=(DeltaPhase(200, None, 1.0, delta=True),),
        )

    @classmethod
    def named(cls, name: str) -> DeltaSchedule:
        """``"official"`` or ``"paper"``."""
        if name == "official":
            return cls.official()
        if name == "paper":
            return cls.paper()
        raise ConfigError(f"schedule: must be 'official' or 'paper', got {name!r}")

    def is_refresh(self, epoch: int) -> bool:
        """Whether new generations are computed at the start of ``epoch``."""
        return epoch in self.refresh_epochs

    def phase(self, epoch: int) -> DeltaPhase | None:
        """The phase of ``epoch``, or ``None`` when no distillation happens."""
        for p in self.phases:
            if p.contains(epoch):
                return p
        return None

    def loss_weight(self, epoch: int) -> float:
        """``min(weight_base · weight_growth^(epoch − weight_start), weight_max)``."""
        return float(min(self.weight_base * self.weight_growth ** (epoch - self.weight_start), self.weight_max))

    def to_dict(self) -> dict[str, Any]:
        """Plain ints, floats, bools, strings and lists (checkpoint-safe)."""
        d = dataclasses.asdict(self)
        d["refresh_epochs"] = list(self.refresh_epochs)
        d["phases"] = [dataclasses.asdict(p) for p in self.phases]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DeltaSchedule:
        d = dict(d)
        d["refresh_epochs"] = tuple(int(e) for e in d["refresh_epochs"])
        d["phases"] = tuple(DeltaPhase(**p) for p in d["phases"])
        return cls(**d)
