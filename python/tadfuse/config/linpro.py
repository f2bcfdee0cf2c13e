"""The ``linpro`` section: fused instances → LinPro labels (docs/algorithms.md, "LinPro pseudo labels")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tadfuse._checks import real
from tadfuse.config._values import _plain
from tadfuse.errors import ConfigError

__all__ = ["LinproConfig"]

@dataclass(frozen=True)
class LinproConfig:
    """Fused instances → LinPro snippet labels (docs/algorithms.md, "LinPro pseudo labels")."""

    #: W rows: "official" (pad ``0.0785·n^0.9``, sums) or "paper" (outer width ``alpha·n``).
    preset: str = "official"
    #: Outer width factor of the "paper" rows (``int(alpha·n)`` snippets per side).
    alpha: float = 0.25
    #: LP back end: "auto" (highspy when installed), "highspy" or "scipy".
    solver: str = "auto"
    #: A component whose minimum L1 residual exceeds this (score units) is infeasible.
    feasibility_tol: float = 1e-9
    #: HiGHS primal and dual feasibility tolerance of the stacked LP (HiGHS's default: 1e-7).
    highs_tol: float = 1e-10

    def __post_init__(self) -> None:
        for name, choices in (("preset", ("official", "paper")), ("solver", ("auto", "highspy", "scipy"))):
            if getattr(self, name) not in choices:
                raise ConfigError(f"LinproConfig: `{name}` must be one of {choices}, got {getattr(self, name)!r}")
        object.__setattr__(self, "alpha", real("alpha", self.alpha, lo=0.0))
        for name in ("feasibility_tol", "highs_tol"):
            object.__setattr__(self, name, real(name, getattr(self, name), lo=0.0, lo_open=True, hi=1e-3))

    @classmethod
    def official(cls, **overrides: Any) -> LinproConfig:
        """The released W rows (and the released LP's role played exactly, see docs)."""
        return cls(**overrides)

    @classmethod
    def paper(cls, **overrides: Any) -> LinproConfig:
        """The paper's W rows: inner sum minus the outer sums of width ``0.25·n``."""
        return cls(**{"preset": "paper", **overrides})

    def inactive_fields(self) -> dict[str, str]:
        return {} if self.preset == "paper" else {"alpha": "preset 'paper' only"}

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)
