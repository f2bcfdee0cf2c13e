"""Named configurations. `official` = the authors' released code; `paper` = the paper's text.

Every constant lives in one place, here; low-level functions take explicit arguments whose
defaults are the `official` values.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["PostprocessConfig", "OFFICIAL_THRESHOLDS"]

#: `np.arange(0.001, 0.04, 0.002)`: the 20 activation thresholds of the released code.
OFFICIAL_THRESHOLDS: tuple[float, ...] = tuple(np.arange(0.001, 0.04, 0.002).tolist())

Method = Literal["fusion", "nms", "soft_nms"]

_CHOICES: dict[str, tuple[str, ...]] = {
    "preset": ("official", "paper"),
    "method": ("fusion", "nms", "soft_nms"),
    "overlap": ("coverage", "iou"),
    "weight": ("inner", "score"),
    "template": ("gaussian", "laplace", "uniform", "student_t"),
    "soft_method": ("gaussian", "linear"),
}


@dataclass(frozen=True)
class PostprocessConfig:
    """Everything `detect` / `detect_batch` need, from a class activation sequence to detections.

    Units: thresholds and scores are activations; lengths are snippets.
    """

    #: Activation thresholds θ (runs of ``x > θ``), used in this order.
    thresholds: tuple[float, ...] = OFFICIAL_THRESHOLDS
    #: A class is processed when its video-level score is ``>=`` this.
    class_threshold: float = 0.16
    #: Shortest run kept, in snippets (``e - s``).
    min_length: int = 2
    #: Extraction semantics: "official" (released code) or "paper" (outer width ``alpha·n``).
    preset: str = "official"
    #: Outer-region width as a fraction of the run length (``paper`` extraction only).
    alpha: float = 0.25
    #: What replaces the raw proposals: "fusion", "nms" or "soft_nms".
    method: str = "fusion"
    #: Softmax temperature of the fusion weights (official test 0.2; paper test 0.03).
    temperature: float = 0.2
    #: Overlap above which a candidate joins a group / is suppressed.
    threshold: float = 0.25
    #: "coverage" (official, inclusive lengths) or "iou" (paper).
    overlap: str = "coverage"
    #: Fusion weight column: "inner" (official) or "score" (paper).
    weight: str = "inner"
    #: Fusion template: "gaussian", "laplace", "uniform" or "student_t".
    template: str = "gaussian"
    #: Degrees of freedom of the "student_t" template.
    dof: float = 3.0
    #: Soft-NMS Gaussian decay parameter (``exp(-iou²/sigma)``).
    sigma: float = 0.5
    #: Soft-NMS drops rows whose decayed score is below this.
    min_score: float = 0.001
    #: Soft-NMS decay: "gaussian" or "linear" (``1 - iou`` above ``threshold``).
    soft_method: str = "gaussian"
    #: Soft-NMS: at most this many detections per class (None = all).
    max_out: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "thresholds", tuple(float(t) for t in np.ravel(self.thresholds)))
        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if value not in choices:
                raise ValueError(f"PostprocessConfig: `{name}` must be one of {choices}, got {value!r}")
        if not self.thresholds or not all(np.isfinite(self.thresholds)):
            raise ValueError("PostprocessConfig: `thresholds` must be a non-empty list of finite numbers")
        if isinstance(self.min_length, bool) or int(self.min_length) != self.min_length or self.min_length < 0:
            raise ValueError(f"PostprocessConfig: `min_length` must be an integer >= 0, got {self.min_length!r}")
        if not (np.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"PostprocessConfig: `temperature` must be > 0, got {self.temperature!r}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"PostprocessConfig: `threshold` must be in [0, 1], got {self.threshold!r}")
        if self.max_out is not None and self.max_out < 0:
            raise ValueError(f"PostprocessConfig: `max_out` must be >= 0 or None, got {self.max_out!r}")

    @classmethod
    def official(cls, **overrides: Any) -> PostprocessConfig:
        """The released code's test-time post-processing (T = 0.2, coverage overlap, inner weights)."""
        return cls(**overrides)

    @classmethod
    def paper(cls, **overrides: Any) -> PostprocessConfig:
        """The paper's text: outer width 0.25·n, IoU overlap, score weights, T = 0.03 at test time."""
        base: dict[str, Any] = dict(preset="paper", overlap="iou", weight="score", temperature=0.03)
        base.update(overrides)
        return cls(**base)

    def replace(self, **changes: Any) -> PostprocessConfig:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["thresholds"] = list(self.thresholds)
        return d
