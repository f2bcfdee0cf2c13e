"""The ``postprocess`` section: TCAM → detections (docs/algorithms.md, "Detection pipeline")."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tadfuse._checks import float_array, integer, real
from tadfuse.config._values import _plain
from tadfuse.errors import ConfigError, InvalidTypeError

__all__ = ["OFFICIAL_THRESHOLDS", "Method", "PostprocessConfig"]

#: `np.arange(0.001, 0.04, 0.002)`: the 20 activation thresholds of the released code.
OFFICIAL_THRESHOLDS: tuple[float, ...] = tuple(np.arange(0.001, 0.04, 0.002).tolist())

Method = Literal["fusion", "nms", "soft_nms"]

_CHOICES: dict[str, tuple[str, ...]] = {
    "preset": ("official", "paper", "rskp"),
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
    #: Extraction semantics: "official" (released code, outer pad ``0.0785·n^0.9``), "paper"
    #: (outer width ``alpha·n``) or "rskp" (LeonHLJ/RSKP's released test path: the official
    #: extraction with the outer pad ``0.25·n``); docs/algorithms.md, "Proposal extraction".
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
    #: Reproduce the released code's arithmetic bit for bit (preset "official" only; slower):
    #: docs/algorithms.md, "Exact mode of the official preset".
    exact: bool = False

    def __post_init__(self) -> None:
        def check(name: str, fn: Any) -> None:
            try:
                object.__setattr__(self, name, fn(getattr(self, name)))
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"PostprocessConfig: {exc}") from None

        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if value not in choices:
                raise ConfigError(f"PostprocessConfig: `{name}` must be one of {choices}, got {value!r}")
        check("thresholds", lambda v: tuple(float_array("thresholds", np.ravel(v), 1).tolist()))
        if not self.thresholds or not all(np.isfinite(self.thresholds)):
            raise ConfigError("PostprocessConfig: `thresholds` must be a non-empty list of finite numbers")
        check("class_threshold", lambda v: real("class_threshold", v))
        check("min_length", lambda v: integer("min_length", v, hi=2**32))
        check("alpha", lambda v: real("alpha", v, lo=0.0))
        check("temperature", lambda v: real("temperature", v, lo=0.0, lo_open=True))
        check("threshold", lambda v: real("threshold", v, lo=0.0, hi=1.0))
        check("dof", lambda v: real("dof", v, lo=0.0, lo_open=True))
        check("sigma", lambda v: real("sigma", v, lo=0.0, lo_open=True))
        check("min_score", lambda v: real("min_score", v))
        if self.max_out is not None:
            check("max_out", lambda v: integer("max_out", v, hi=2**62))
            if self.method != "soft_nms":
                raise ConfigError(f"PostprocessConfig: `max_out` applies to method 'soft_nms' only, "
                                  f"got method {self.method!r}")
        if not 0.0 <= self.class_threshold <= 1.0:
            raise ConfigError(f"PostprocessConfig: `class_threshold` must be in [0, 1] (video scores are "
                              f"probabilities), got {self.class_threshold!r}")
        if min(self.thresholds) < 0.0:
            raise ConfigError(f"PostprocessConfig: `thresholds` must be >= 0 (TCAM values are non-negative), "
                              f"got {min(self.thresholds)!r}")
        if not isinstance(self.exact, (bool, np.bool_)):
            raise InvalidTypeError(f"PostprocessConfig: `exact` must be True or False, got {self.exact!r}")
        object.__setattr__(self, "exact", bool(self.exact))
        if self.exact:
            # What the released code does (fusion or NMS, one way each); exact mode reproduces
            # nothing else.
            released = {"preset": ("official",), "method": ("fusion", "nms"), "overlap": ("coverage",)}
            if self.method == "fusion":
                released.update(weight=("inner",), template=("gaussian",))
            for key, allowed in released.items():
                if getattr(self, key) not in allowed:
                    raise ConfigError(f"PostprocessConfig: `exact` reproduces the released code, which needs "
                                      f"`{key}` in {allowed}, got {key}={getattr(self, key)!r}")

    def inactive_fields(self) -> dict[str, str]:
        """Fields that have no effect under this configuration, each with the reason."""
        out: dict[str, str] = {}
        if self.preset != "paper":
            out["alpha"] = "preset 'paper' only"
        if self.method != "fusion":
            for name in ("temperature", "weight", "template", "dof"):
                out[name] = "method 'fusion' only"
        elif self.template != "student_t":
            out["dof"] = "template 'student_t' only"
        if self.method != "soft_nms":
            for name in ("sigma", "min_score", "soft_method", "max_out"):
                out[name] = "method 'soft_nms' only"
        else:
            out["overlap"] = "methods 'fusion' and 'nms' only (soft-NMS decays by IoU)"
            if self.soft_method == "gaussian":
                out["threshold"] = "soft_method 'linear' only"
            else:
                out["sigma"] = "soft_method 'gaussian' only"
        return out

    @classmethod
    def official(cls, **overrides: Any) -> PostprocessConfig:
        """The released code's test-time post-processing (T = 0.2, coverage overlap, inner weights).

        ``official(exact=True)`` reproduces its arithmetic bit for bit (see `exact`)."""
        return cls(**overrides)

    @classmethod
    def paper(cls, **overrides: Any) -> PostprocessConfig:
        """The paper's text: outer width 0.25·n, IoU overlap, score weights, T = 0.03 at test time."""
        base: dict[str, Any] = dict(preset="paper", overlap="iou", weight="score", temperature=0.03)
        base.update(overrides)
        return cls(**base)

    @classmethod
    def rskp(cls, **overrides: Any) -> PostprocessConfig:
        """LeonHLJ/RSKP's test path (evaluation/detectionMAP.py ``getActLoc``, options.py:51-54):
        the official thresholds ``np.arange(0.001, 0.04, 0.002)``, classes with video score
        ``>= 0.1``, runs of length ``>= 2``, then plain NMS at 0.5 with the inclusive
        ``+1`` coverage overlap (``NonMaximumSuppression``). Its extraction (``preset="rskp"``)
        is the official one except the outer pad, ``0.25·n`` where GauFuse has
        ``0.0785·n^0.9`` (docs/algorithms.md, "Proposal extraction")."""
        base: dict[str, Any] = dict(preset="rskp", class_threshold=0.1, method="nms", threshold=0.5)
        base.update(overrides)
        return cls(**base)

    def replace(self, **changes: Any) -> PostprocessConfig:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)
