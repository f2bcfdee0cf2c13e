"""The ``evaluation`` section: protocol and tIoU thresholds (docs/algorithms.md, "Evaluation protocols")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tadfuse._checks import float_array
from tadfuse.config._values import _plain
from tadfuse.errors import ConfigError

__all__ = ["EvaluationConfig"]

@dataclass(frozen=True)
class EvaluationConfig:
    """How detections are scored (docs/algorithms.md, "Evaluation protocols")."""

    #: "wtalc" (the W-TALC/RSKP/GauFuse evaluator) or "anet" (ActivityNet's eval_detection).
    protocol: str = "wtalc"
    #: tIoU thresholds; the table prints their mean as "avg".
    tiou_thresholds: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
    #: Split evaluated (None: the protocol's default, "test" for wtalc, every video for anet).
    subset: str | None = None
    #: wtalc only: reproduce the original evaluator's mAP 0 when any class has no prediction.
    #: Off in every preset: it is a bug of the original, not a setting its numbers depend on.
    zero_map_bug: bool = False

    def __post_init__(self) -> None:
        if self.protocol not in ("wtalc", "anet"):
            raise ConfigError(f"EvaluationConfig: `protocol` must be 'wtalc' or 'anet', got {self.protocol!r}")
        thr = tuple(float_array("tiou_thresholds", np.ravel(self.tiou_thresholds), 1).tolist())
        if not thr or not all(0.0 < t <= 1.0 for t in thr):
            raise ConfigError(f"EvaluationConfig: `tiou_thresholds` must be a non-empty list in (0, 1], got {thr}")
        object.__setattr__(self, "tiou_thresholds", thr)

    @classmethod
    def official(cls, **overrides: Any) -> EvaluationConfig:
        """THUMOS14 as the released code reports it: wtalc, tIoU 0.1:0.7."""
        return cls(**overrides)

    @classmethod
    def paper(cls, **overrides: Any) -> EvaluationConfig:
        """The paper's THUMOS14 table: the same protocol and thresholds."""
        return cls(**overrides)

    @classmethod
    def activitynet(cls, **overrides: Any) -> EvaluationConfig:
        """ActivityNet 1.3: anet, tIoU 0.5:0.05:0.95 (``np.linspace(0.5, 0.95, 10)``)."""
        thr = tuple(float(t) for t in np.linspace(0.5, 0.95, 10))
        return cls(**{"protocol": "anet", "tiou_thresholds": thr, **overrides})

    def inactive_fields(self) -> dict[str, str]:
        return {} if self.protocol == "wtalc" else {"zero_map_bug": "protocol 'wtalc' only"}

    def evaluate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`tadfuse.evaluate` for this section."""
        return dict(protocol=self.protocol, tiou_thresholds=list(self.tiou_thresholds), subset=self.subset,
                    zero_map_bug=self.zero_map_bug)

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)
