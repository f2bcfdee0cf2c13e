"""The pseudo-label refresh: model outputs → TCAMs → fused instances → LinPro labels.

At a refresh epoch the released loop (GauFuse method.py:172-196, utils/utils.py:374-395) runs a
copy of the model over every training video and, per video:

1. forms the **label TCAM** ``(0.8·softmax(o) + 0.2·softmax(m)) · a`` — ``o``, ``m`` the snippet
   logits of the main and the propagated branch, ``a`` the main branch's foreground attention —
   and the **video scores** ``0.6·p_o + 0.4·p_m`` of the class-agnostic heads
   (:func:`label_tcam`, :func:`label_video_scores`);
2. detects instances in *every* column whose video score is ``>= 0.16`` — the background column
   included, and by the predicted scores, not the video's labels — with the test-time extraction
   and fusion at that refresh's training temperature (:func:`tadfuse.detect_batch`);
3. turns each processed column's fused instances into snippet labels by LinPro; columns without
   instances are 0 (:func:`tadfuse.linpro_labels_batch`).

:func:`refresh_labels` does steps 2–3 for a batch of videos; :class:`RefreshTimings` records
where the time goes. Step 1 accepts numpy arrays or torch tensors (torch is imported only for
tensors). docs/engine.md, "Training: losses, schedules and the refresh".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tadfuse._checks import float_array, real
from tadfuse.config import LinproConfig, PostprocessConfig
from tadfuse.errors import InvalidArgumentError, InvalidTypeError
from tadfuse.linpro import LinproStats, linpro_labels_batch
from tadfuse.postprocess import detect_batch

__all__ = ["RefreshTimings", "label_tcam", "label_video_scores", "refresh_labels"]


def _is_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def _softmax(x: Any) -> Any:
    if _is_tensor(x):
        import torch

        return torch.softmax(x, dim=-1)
    z = np.asarray(x, dtype=np.float64)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def label_tcam(o_logits: Any, m_logits: Any, attention: Any, o_coef: float = 0.8) -> Any:
    """``(o_coef·softmax(o_logits) + (1 − o_coef)·softmax(m_logits)) · attention[..., None]``.

    Args:
        o_logits, m_logits: ``(..., l, K)`` snippet logits of the main and the propagated branch.
        attention: ``(..., l)`` the main branch's foreground attention.
        o_coef: the main branch's share; 0.8 for refresh labels (GauFuse utils/utils.py:377),
            0.85 for evaluation (evaluation/eval.py:71).

    Returns:
        ``(..., l, K)``: a torch tensor for tensor inputs (same device, no gradient tracking
        change), else a float64 numpy array.
    """
    c = real("o_coef", o_coef, lo=0.0, hi=1.0)
    so, sm, sa = _shape(o_logits), _shape(m_logits), _shape(attention)
    if len(so) < 2 or so != sm or sa != so[:-1]:
        raise InvalidArgumentError(f"`o_logits` and `m_logits` must be (..., l, K) of one shape and `attention` "
                                   f"(..., l), got {so}, {sm}, {sa}")
    kinds = {_is_tensor(o_logits), _is_tensor(m_logits), _is_tensor(attention)}
    if len(kinds) != 1:
        raise InvalidTypeError("`o_logits`, `m_logits` and `attention` must be all torch tensors or all arrays")
    att = attention if _is_tensor(attention) else np.asarray(attention, dtype=np.float64)
    # The released expression, factor for factor: ``softmax(o)·c + softmax(m)·(1 − c)``.
    return (_softmax(o_logits) * c + _softmax(m_logits) * (1 - c)) * att[..., None]


def label_video_scores(o_video: Any, m_video: Any, o_coef: float = 0.6) -> Any:
    """``o_coef·o_video + (1 − o_coef)·m_video``: video scores ``(..., K)`` from the two
    branches' class-agnostic video probabilities (GauFuse utils/utils.py:379, eval.py:69)."""
    c = real("o_coef", o_coef, lo=0.0, hi=1.0)
    if _shape(o_video) != _shape(m_video):
        raise InvalidArgumentError(f"`o_video` and `m_video` must have one shape, got {_shape(o_video)}, "
                                   f"{_shape(m_video)}")
    if _is_tensor(o_video) != _is_tensor(m_video):
        raise InvalidTypeError("`o_video` and `m_video` must be both torch tensors or both arrays")
    if not _is_tensor(o_video):
        o_video, m_video = np.asarray(o_video, dtype=np.float64), np.asarray(m_video, dtype=np.float64)
    return o_video * c + m_video * (1 - c)


@dataclass
class RefreshTimings:
    """Wall-clock seconds of refreshes, by stage (accumulated over calls). :func:`refresh_labels`
    adds ``postprocess_s`` and ``linpro_s``; the trainer adds ``inference_s`` (the model's
    forward passes and the TCAMs)."""

    inference_s: float = 0.0
    postprocess_s: float = 0.0
    linpro_s: float = 0.0
    videos: int = 0
    #: :func:`refresh_labels` calls (a refresh may label its videos in several calls).
    calls: int = 0

    @property
    def total_s(self) -> float:
        return self.inference_s + self.postprocess_s + self.linpro_s

    def add(self, other: RefreshTimings) -> None:
        self.inference_s += other.inference_s
        self.postprocess_s += other.postprocess_s
        self.linpro_s += other.linpro_s
        self.videos += other.videos
        self.calls += other.calls

    def to_dict(self) -> dict[str, float]:
        return {"inference_s": self.inference_s, "postprocess_s": self.postprocess_s, "linpro_s": self.linpro_s,
                "total_s": self.total_s, "videos": self.videos, "calls": self.calls}


def refresh_labels(
    tcams: Sequence[npt.ArrayLike],
    video_scores: Sequence[npt.ArrayLike],
    temperature: float,
    postprocess_cfg: PostprocessConfig | None = None,
    linpro_cfg: LinproConfig | None = None,
    *,
    timings: RefreshTimings | None = None,
    stats: LinproStats | None = None,
    num_threads: int | None = None,
) -> list[np.ndarray]:
    """Pseudo labels of a batch of videos from their label TCAMs.

    Args:
        tcams: per video an ``(l_v, K)`` label TCAM (:func:`label_tcam`; ``K`` = classes +
            background, the same for all videos).
        video_scores: per video its ``(K,)`` video scores (:func:`label_video_scores`); column
            ``k`` is processed when ``video_scores[k] >= postprocess_cfg.class_threshold``.
        temperature: this refresh's fusion temperature (replaces ``postprocess_cfg.temperature``;
            unused when the method is not fusion).
        postprocess_cfg: extraction and fusion; default ``PostprocessConfig.official()``.
        linpro_cfg: the W rows and the LP back end; default ``LinproConfig.official()``.
        timings: seconds in post-processing and in the LP are added here.
        stats: LinPro's counts (components, LP solves, infeasible blocks) are added here.
        num_threads: threads of the post-processing (None: all cores; same result for any).

    Returns:
        Per video a float64 ``(l_v, K)`` label array in ``[0, 1]``, 0 in unprocessed columns.
    """
    pp = PostprocessConfig.official() if postprocess_cfg is None else postprocess_cfg
    lp = LinproConfig.official() if linpro_cfg is None else linpro_cfg
    if not isinstance(pp, PostprocessConfig):
        raise InvalidTypeError(f"`postprocess_cfg` must be a PostprocessConfig, got {type(pp).__name__}")
    if not isinstance(lp, LinproConfig):
        raise InvalidTypeError(f"`linpro_cfg` must be a LinproConfig, got {type(lp).__name__}")
    if len(tcams) != len(video_scores):
        raise InvalidArgumentError(f"`video_scores` has {len(video_scores)} entries but `tcams` has {len(tcams)}")
    t = real("temperature", temperature, lo=0.0, lo_open=True)
    cas = [float_array(f"tcams[{i}]", x, 2) for i, x in enumerate(tcams)]
    scores = [float_array(f"video_scores[{i}]", s, 1) for i, s in enumerate(video_scores)]
    if not cas:
        return []
    k = cas[0].shape[1]
    for i, (x, s) in enumerate(zip(cas, scores, strict=True)):
        if x.shape[1] != k or s.shape[0] != k:
            raise InvalidArgumentError(f"`tcams[{i}]` {x.shape} and `video_scores[{i}]` {s.shape} must have "
                                       f"K = {k} columns like `tcams[0]`")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(s))):
            raise InvalidArgumentError(f"`tcams[{i}]` / `video_scores[{i}]` must be finite")
    cfg = pp.replace(temperature=t) if pp.method == "fusion" else pp
    start = time.perf_counter()
    fused = detect_batch(cas, scores, cfg, num_threads=num_threads)
    mid = time.perf_counter()
    labels = linpro_labels_batch(fused, [x.shape[0] for x in cas], k, preset=lp.preset,
                                 alpha=lp.alpha if lp.preset == "paper" else None, solver=lp.solver, stats=stats)
    end = time.perf_counter()
    if timings is not None:
        timings.postprocess_s += mid - start
        timings.linpro_s += end - mid
        timings.videos += len(cas)
        timings.calls += 1
    # Own copies: the batch's labels are views into one buffer.
    return [np.array(g, dtype=np.float64, copy=True) for g in labels]
