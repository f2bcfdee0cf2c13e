"""Post-processing: class activations -> proposals -> fused (or NMS'd) detections.

Thin wrappers over the Rust core (`tadfuse._core`): they normalise inputs (any numeric dtype,
any memory layout, converted to contiguous float64; `detect_batch` keeps float32 TCAMs as
float32), check names, and build `Proposals`. Time is in snippets throughout; docs/algorithms.md
gives the exact semantics ("Proposal extraction" to "Exact mode of the official preset").
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np
import numpy.typing as npt

from tadfuse import _core
from tadfuse._checks import float_array, int_array, integer, real
from tadfuse.config import OFFICIAL_THRESHOLDS, PostprocessConfig
from tadfuse.errors import InvalidArgumentError, InvalidTypeError, TadfuseWarning
from tadfuse.proposals import Proposals

__all__ = ["MAX_THREADS", "DetectStats", "detect", "detect_batch", "extract_proposals", "fuse", "nms", "soft_nms"]

#: Upper bound of every ``num_threads`` (the Rust core's; pools are cached per size).
MAX_THREADS: int = _core.MAX_THREADS


def _threads(num_threads: int | None) -> int | None:
    return None if num_threads is None else integer("num_threads", num_threads, lo=1, hi=MAX_THREADS)


def _float_array(name: str, values: npt.ArrayLike, ndim: int, index: int = 0, batch: int = 1) -> np.ndarray:
    """``values`` as a contiguous float64 array; errors name ``name[index]`` inside a batch."""
    return float_array(f"{name}[{index}]" if batch > 1 else name, values, ndim)


def _cas(cas: npt.ArrayLike, name: str = "cas", index: int = 0, batch: int = 1, *, float32: bool = False,
         exact: bool = False) -> np.ndarray:
    """A contiguous (l, K) TCAM as float64, or with ``float32`` (`detect_batch`) a float32 one as
    float32 (the core reads it as float64, except exact mode, which computes in float32). Exact
    mode reproduces float32 and float64 TCAMs only: other dtypes raise."""
    where = f"{name}[{index}]" if batch > 1 else name
    if exact:
        try:
            dtype = np.asarray(cas).dtype
        except Exception:  # ragged lists and the like: reported by float_array below
            dtype = None
        if dtype is not None and dtype not in (np.float32, np.float64):
            raise InvalidTypeError(f"`{where}`: exact mode reproduces float32 and float64 TCAMs, got dtype {dtype}; "
                                   "convert it to the dtype the released code would have seen")
    if float32 and isinstance(cas, np.ndarray) and cas.dtype == np.float32 and cas.ndim == 2:
        arr = np.ascontiguousarray(cas)
    else:
        arr = _float_array(name, cas, 2, index, batch)
    if arr.shape[1] == 0:
        raise InvalidArgumentError(f"`{where}` must have at least one class column, got shape {arr.shape}")
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
    """Multi-threshold proposals with outer-inner contrast scores (docs/algorithms.md, "Proposal extraction").

    Args:
        cas: class activation sequence, shape (l, K), l snippets by K classes.
        thresholds: activation thresholds θ (runs of ``cas[:, c] > θ``); default the 20 official
            values ``np.arange(0.001, 0.04, 0.002)``. Output follows their order.
        classes: column indices to process (default all K), processed in ascending order;
            repeated indices are processed once.
        min_length: shortest run kept, in snippets.
        preset: "official" (inner mean one snippet past the run, pad ``0.0785·n^0.9``, stored
            end ``e+1``), "paper" (inner mean over the run, outer width ``alpha·n``, end ``e``)
            or "rskp" (RSKP's released test path: official with the pad ``0.25·n``).
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
    num_threads: int | None = None,
) -> Proposals:
    """Weighted instance fusion, independently per label (and per video when set) (docs/algorithms.md, "Weighted instance fusion").

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
    The (video, label) groups run in parallel on ``num_threads`` workers (None: all cores); the
    result is the same for any count.

    Returns:
        One row per group; groups ordered by (video, label), then fused score descending.
    """
    cols = _columns(proposals)
    return _wrap(_core.fuse(cols, real("temperature", temperature, lo=0.0, lo_open=True),
                            real("threshold", threshold, lo=0.0, hi=1.0), overlap, weight, template,
                            real("dof", dof, lo=0.0, lo_open=True), _threads(num_threads)))


def nms(
    proposals: Proposals, *, threshold: float = 0.25, overlap: str = "coverage", num_threads: int | None = None
) -> Proposals:
    """Hard NMS: the fusion loop keeping only each group's pivot (docs/algorithms.md, "NMS and soft-NMS"). Groups run in
    parallel on ``num_threads`` workers (None: all cores).

    Returns:
        The kept rows unchanged; per (video, label) in score order (ties: lowest index).
    """
    return _wrap(_core.nms(_columns(proposals), real("threshold", threshold, lo=0.0, hi=1.0), overlap,
                           _threads(num_threads)))


def soft_nms(
    proposals: Proposals,
    *,
    sigma: float = 0.5,
    min_score: float = 0.001,
    method: str = "gaussian",
    threshold: float = 0.25,
    max_out: int | None = None,
    num_threads: int | None = None,
) -> Proposals:
    """Soft-NMS per label (and video): decay overlapping scores instead of removing rows.

    ``method="gaussian"``: ``score *= exp(-iou² / sigma)``; ``"linear"``: ``score *= 1 - iou``
    when ``iou > threshold``. Rows under ``min_score`` (initially or after decay) are dropped;
    at most ``max_out`` picks per group. Groups run in parallel on ``num_threads`` workers.

    Returns:
        Picks in pick order per (video, label), with their decayed scores.
    """
    cap = None if max_out is None else integer("max_out", max_out, hi=2**62)
    return _wrap(_core.soft_nms(_columns(proposals), real("sigma", sigma, lo=0.0, lo_open=True),
                                real("min_score", min_score), method, real("threshold", threshold, lo=0.0, hi=1.0), cap,
                                _threads(num_threads)))


@dataclass(frozen=True)
class DetectStats:
    """What `detect_batch` reports besides the detections (``return_stats=True``).

    ``shifted_groups``: shape (V,) int64, per video, how many fused groups exact mode computed
    with the max-shifted softmax mean instead of the released sums, because the released
    arithmetic has no finite result there (``exp(inner / T)`` beyond float64, i.e. ``inner / T >
    709.78``, or a zero denominator). Always 0 outside exact mode. A `TadfuseWarning` gives the
    total whenever it is not 0.
    """

    shifted_groups: np.ndarray

    @property
    def total_shifted(self) -> int:
        """Shifted groups over the whole batch."""
        return int(self.shifted_groups.sum())


def detect(cas: npt.ArrayLike, video_scores: npt.ArrayLike, config: PostprocessConfig | None = None) -> Proposals:
    """Detections of one video (docs/algorithms.md, "Detection pipeline").

    Args:
        cas: class activation sequence, shape (l, K).
        video_scores: video-level class scores, shape (K,); class c is processed when
            ``video_scores[c] >= config.class_threshold``.
        config: the pipeline; default ``PostprocessConfig.official()``.

    Returns:
        Detections, classes ascending, each in its method's order.
    """
    return detect_batch([cas], [video_scores], config, num_threads=1)[0]


@overload
def detect_batch(
    cas_list: Sequence[npt.ArrayLike],
    video_scores_list: Sequence[npt.ArrayLike],
    config: PostprocessConfig | None = ...,
    num_threads: int | None = ...,
    *,
    return_stats: Literal[False] = ...,
) -> list[Proposals]: ...
@overload
def detect_batch(
    cas_list: Sequence[npt.ArrayLike],
    video_scores_list: Sequence[npt.ArrayLike],
    config: PostprocessConfig | None = ...,
    num_threads: int | None = ...,
    *,
    return_stats: Literal[True],
) -> tuple[list[Proposals], DetectStats]: ...
def detect_batch(
    cas_list: Sequence[npt.ArrayLike],
    video_scores_list: Sequence[npt.ArrayLike],
    config: PostprocessConfig | None = None,
    num_threads: int | None = None,
    *,
    return_stats: bool = False,
) -> list[Proposals] | tuple[list[Proposals], DetectStats]:
    """`detect` over many videos in one call, parallel over (video, class), GIL released.

    The result is identical for any ``num_threads`` (None: all cores). With
    ``config.exact`` (``PostprocessConfig.official(exact=True)``) the released code's arithmetic
    is reproduced bit for bit for float32 and float64 TCAMs (each computed in its own dtype; other
    dtypes raise `InvalidTypeError`); the fusion weights ``exp(inner / T)`` come from NumPy's
    ``exp``, as in the released code (docs/algorithms.md, "Exact mode of the official preset").
    With ``return_stats=True`` the result is ``(detections, DetectStats)``.
    """
    cfg = PostprocessConfig.official() if config is None else config
    if not isinstance(cfg, PostprocessConfig):
        raise TypeError(f"`config` must be a PostprocessConfig, got {type(cfg).__name__}")
    if len(cas_list) != len(video_scores_list):
        raise ValueError(
            f"`video_scores_list` has {len(video_scores_list)} entries but `cas_list` has {len(cas_list)}"
        )
    cases = [_cas(c, "cas", i, len(cas_list), float32=True, exact=cfg.exact) for i, c in enumerate(cas_list)]
    scores = [_float_array("video_scores", s, 1, i, len(cas_list)) for i, s in enumerate(video_scores_list)]
    threads = _threads(num_threads)
    # Exact mode: exp(inner / T) may overflow; those groups are fused another way (counted).
    with np.errstate(over="ignore", under="ignore"):
        out, shifted = _core.detect_batch(cases, scores, cfg, threads)
    stats = DetectStats(np.asarray(shifted, np.int64).reshape(len(cases)))
    if stats.total_shifted:
        warnings.warn(
            f"exact mode: {stats.total_shifted} fused group(s) in {int(np.count_nonzero(stats.shifted_groups))} "
            "video(s) have no finite result under the released arithmetic (exp(inner / T) beyond float64, or a "
            "zero denominator) and were fused with the max-shifted softmax mean instead; "
            "detect_batch(..., return_stats=True) gives the count per video",
            TadfuseWarning, stacklevel=2,
        )
    detections = [_wrap(cols) for cols in out]
    return (detections, stats) if return_stats else detections
