"""Post-processing: class activations -> proposals -> fused (or NMS'd) detections.

Thin wrappers over the Rust core (`tadfuse._core`): they normalise inputs (any numeric dtype,
any memory layout, converted to contiguous float64), check names, and build `Proposals`.
Time is in snippets throughout; DESIGN §3.1–3.4 gives the exact semantics.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from tadfuse import _core
from tadfuse._checks import float_array, int_array, integer, real
from tadfuse.config import OFFICIAL_THRESHOLDS, PostprocessConfig
from tadfuse.proposals import Proposals

__all__ = ["MAX_THREADS", "detect", "detect_batch", "extract_proposals", "fuse", "nms", "soft_nms"]

#: Upper bound of `detect_batch`'s ``num_threads`` (pools are cached per size).
MAX_THREADS = 256


def _float_array(name: str, values: npt.ArrayLike, ndim: int, index: int = 0, batch: int = 1) -> np.ndarray:
    """``values`` as a contiguous float64 array; errors name ``name[index]`` inside a batch."""
    return float_array(f"{name}[{index}]" if batch > 1 else name, values, ndim)


def _cas(cas: npt.ArrayLike, name: str = "cas", index: int = 0, batch: int = 1) -> np.ndarray:
    arr = _float_array(name, cas, 2, index, batch)
    if arr.shape[1] == 0:
        where = f"{name}[{index}]" if batch > 1 else name
        raise ValueError(f"`{where}` must have at least one class column, got shape {arr.shape}")
    return arr


def _columns(p: Proposals) -> tuple[np.ndarray | None, ...]:
    """The columns as the core wants them (contiguous int64/float64), whatever was assigned."""
    if not isinstance(p, Proposals):
        raise TypeError(f"`proposals` must be a tadfuse.Proposals, got {type(p).__name__}")
    return (
        int_array("label", p.label), float_array("start", p.start, 1), float_array("end", p.end, 1),
        float_array("score", p.score, 1), float_array("inner", p.inner, 1),
        None if p.video is None else int_array("video", p.video),
    )


def _wrap(cols: tuple[np.ndarray, ...]) -> Proposals:
    return Proposals._trusted(*cols) if len(cols) == 6 else Proposals._trusted(*cols, None)


def extract_proposals(
    cas: npt.ArrayLike,
    thresholds: npt.ArrayLike | None = None,
    *,
    classes: Iterable[int] | None = None,
    min_length: int = 2,
    preset: str = "official",
    alpha: float = 0.25,
) -> Proposals:
    """Multi-threshold proposals with outer-inner contrast scores (DESIGN §3.1).

    Args:
        cas: class activation sequence, shape (l, K), l snippets by K classes.
        thresholds: activation thresholds θ (runs of ``cas[:, c] > θ``); default the 20 official
            values ``np.arange(0.001, 0.04, 0.002)``. Output follows their order.
        classes: column indices to process (default all K), processed in ascending order;
            repeated indices are processed once.
        min_length: shortest run kept, in snippets.
        preset: "official" (inner mean one snippet past the run, pad ``0.0785·n^0.9``, stored
            end ``e+1``) or "paper" (inner mean over the run, outer width ``alpha·n``, end ``e``).
        alpha: outer width fraction for the "paper" preset.

    Returns:
        Proposals ordered by class, then threshold, then start; duplicates across thresholds
        are kept. ``score`` = inner − outer mean, ``inner`` = inner mean.
    """
    arr = _cas(cas)
    th = float_array("thresholds", OFFICIAL_THRESHOLDS if thresholds is None else np.ravel(thresholds), 1)
    cls = None if classes is None else int_array("classes", list(classes))
    length = integer("min_length", min_length, hi=2**32)
    return _wrap(_core.extract_proposals(arr, th, cls, length, preset, real("alpha", alpha, lo=0.0)))


def fuse(
    proposals: Proposals,
    *,
    temperature: float,
    threshold: float = 0.25,
    overlap: str = "coverage",
    weight: str = "inner",
    template: str = "gaussian",
    dof: float = 3.0,
) -> Proposals:
    """Weighted instance fusion, independently per label (and per video when set) (DESIGN §3.2).

    Greedy: the highest-scoring remaining proposal (ties: lowest index) and every remaining
    one whose ``overlap`` with it is above ``threshold`` form a group; members are weighted by
    ``g = softmax(weight / temperature)`` (maximum subtracted: no overflow at T = 0.0016) and
    each of start, end, score and inner is merged by ``template`` — the weighted
    maximum-likelihood location of that distribution:

    * ``"gaussian"``: the weighted mean ``Σ g·x`` (the method's default);
    * ``"laplace"``: the weighted lower median, the smallest value whose cumulative weight
      reaches 1/2;
    * ``"uniform"``: the midrange ``(min + max) / 2`` (weights only choose the group);
    * ``"student_t"``: location of a Student-t with ``dof`` degrees of freedom, location and
      scale estimated jointly by EM from the weighted mean and variance (to 1e-12 relative).

    Fused values never leave the group's ``[min, max]``; a group of one is returned unchanged.

    Returns:
        One row per group; groups ordered by (video, label), then fused score descending.
    """
    cols = _columns(proposals)
    return _wrap(_core.fuse(cols, real("temperature", temperature, lo=0.0, lo_open=True),
                            real("threshold", threshold, lo=0.0, hi=1.0), overlap, weight, template,
                            real("dof", dof, lo=0.0, lo_open=True)))


def nms(proposals: Proposals, *, threshold: float = 0.25, overlap: str = "coverage") -> Proposals:
    """Hard NMS: the fusion loop keeping only each group's pivot (DESIGN §3.3).

    Returns:
        The kept rows unchanged; per (video, label) in score order (ties: lowest index).
    """
    return _wrap(_core.nms(_columns(proposals), real("threshold", threshold, lo=0.0, hi=1.0), overlap))


def soft_nms(
    proposals: Proposals,
    *,
    sigma: float = 0.5,
    min_score: float = 0.001,
    method: str = "gaussian",
    threshold: float = 0.25,
    max_out: int | None = None,
) -> Proposals:
    """Soft-NMS per label (and video): decay overlapping scores instead of removing rows.

    ``method="gaussian"``: ``score *= exp(-iou² / sigma)``; ``"linear"``: ``score *= 1 - iou``
    when ``iou > threshold``. Rows under ``min_score`` (initially or after decay) are dropped;
    at most ``max_out`` picks per group.

    Returns:
        Picks in pick order per (video, label), with their decayed scores.
    """
    cap = None if max_out is None else integer("max_out", max_out, hi=2**62)
    return _wrap(_core.soft_nms(_columns(proposals), real("sigma", sigma, lo=0.0, lo_open=True),
                                real("min_score", min_score), method, real("threshold", threshold, lo=0.0, hi=1.0), cap))


def detect(cas: npt.ArrayLike, video_scores: npt.ArrayLike, config: PostprocessConfig | None = None) -> Proposals:
    """Detections of one video (DESIGN §3.4).

    Args:
        cas: class activation sequence, shape (l, K).
        video_scores: video-level class scores, shape (K,); class c is processed when
            ``video_scores[c] >= config.class_threshold``.
        config: the pipeline; default ``PostprocessConfig.official()``.

    Returns:
        Detections, classes ascending, each in its method's order.
    """
    return detect_batch([cas], [video_scores], config, num_threads=1)[0]


def detect_batch(
    cas_list: Sequence[npt.ArrayLike],
    video_scores_list: Sequence[npt.ArrayLike],
    config: PostprocessConfig | None = None,
    num_threads: int | None = None,
) -> list[Proposals]:
    """`detect` over many videos in one call, parallel over (video, class), GIL released.

    The result is identical for any ``num_threads`` (None: all cores).
    """
    cfg = PostprocessConfig.official() if config is None else config
    if not isinstance(cfg, PostprocessConfig):
        raise TypeError(f"`config` must be a PostprocessConfig, got {type(cfg).__name__}")
    if len(cas_list) != len(video_scores_list):
        raise ValueError(
            f"`video_scores_list` has {len(video_scores_list)} entries but `cas_list` has {len(cas_list)}"
        )
    cases = [_cas(c, "cas", i, len(cas_list)) for i, c in enumerate(cas_list)]
    scores = [_float_array("video_scores", s, 1, i, len(cas_list)) for i, s in enumerate(video_scores_list)]
    threads = None if num_threads is None else integer("num_threads", num_threads, lo=1, hi=MAX_THREADS)
    out = _core.detect_batch(
        cases, scores,
        thresholds=np.asarray(cfg.thresholds, np.float64), class_threshold=cfg.class_threshold,
        min_length=int(cfg.min_length), preset=cfg.preset, alpha=cfg.alpha, method=cfg.method,
        temperature=cfg.temperature, threshold=cfg.threshold, overlap=cfg.overlap, weight=cfg.weight,
        template=cfg.template, dof=cfg.dof, sigma=cfg.sigma, min_score=cfg.min_score,
        soft_method=cfg.soft_method, max_out=cfg.max_out,
        num_threads=threads,
    )
    return [_wrap(cols) for cols in out]
