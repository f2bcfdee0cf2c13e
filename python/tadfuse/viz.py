"""Timeline figures: TCAM curves, raw proposals, fused and NMS detections, and ground truth of
one video on a shared time axis (seconds).

Needs matplotlib (``pip install "tadfuse[plot]"``); it is imported only when a figure is made,
and a clear `tadfuse.errors.MissingExtraError` (an ``ImportError``) says how to install it. Figures are built with
``matplotlib.figure.Figure`` directly (no pyplot, no GUI backend), so this works headless.

Rows, top to bottom (each only when its input is given):

1. ``TCAM`` — one curve per shown class over the snippets (x = snippet centre in seconds);
2. ``proposals`` — raw proposals, drawn translucent (duplicates across thresholds pile up into
   darker bars, which is how fusion sees them);
3. ``fused``, ``NMS`` — detections, opacity growing with the score;
4. ``ground truth`` — solid bars; ambiguous intervals hatched grey.

Within a bar row each shown class has its own lane and colour (the same colour as its curve).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import numpy.typing as npt

from tadfuse.errors import InvalidArgumentError, InvalidTypeError, MissingExtraError
from tadfuse.proposals import SNIPPET_SECONDS, Proposals

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from tadfuse.config import PostprocessConfig

__all__ = ["plot_timeline", "save_timeline", "timeline_rows_from_cas"]

PathLike = Union[str, "os.PathLike[str]"]


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError(
            "plotting (tadfuse.viz, tadfuse plot) needs matplotlib, an optional extra: "
            "pip install \"tadfuse[plot]\" (or pip install matplotlib)"
        ) from None
    return matplotlib, Figure


def timeline_rows_from_cas(
    cas: npt.ArrayLike,
    video_scores: npt.ArrayLike,
    config: PostprocessConfig | None = None,
) -> dict[str, Proposals]:
    """Raw proposals, fused and NMS detections of one video from its TCAM, for `plot_timeline`.

    ``cas`` (T, K), ``video_scores`` (K,); ``config`` defaults to
    ``PostprocessConfig.official()``. Classes with ``video_scores >= config.class_threshold``
    are processed; fusion uses the config's temperature/overlap/weight/template, NMS the same
    overlap and threshold. Returns ``{"proposals", "fused", "nms"}`` (time in snippets).
    """
    from tadfuse.config import PostprocessConfig
    from tadfuse.postprocess import extract_proposals, fuse, nms

    cfg = PostprocessConfig.official() if config is None else config
    scores = np.asarray(video_scores, np.float64).ravel()
    classes = np.flatnonzero(scores >= cfg.class_threshold)
    raw = extract_proposals(cas, cfg.thresholds, classes=classes.tolist(), min_length=cfg.min_length,
                            preset=cfg.preset, alpha=cfg.alpha)
    fused = fuse(raw, temperature=cfg.temperature, threshold=cfg.threshold, overlap=cfg.overlap,
                 weight=cfg.weight, template=cfg.template, dof=cfg.dof)
    kept = nms(raw, threshold=cfg.threshold, overlap=cfg.overlap)
    return {"proposals": raw, "fused": fused, "nms": kept}


def _check_proposals(p: Any, name: str) -> Proposals | None:
    if p is None:
        return None
    if not isinstance(p, Proposals):
        raise InvalidTypeError(f"plot_timeline: `{name}` must be Proposals (time in snippets), got {type(p).__name__}")
    return p


def plot_timeline(
    *,
    cas: npt.ArrayLike | None = None,
    proposals: Proposals | None = None,
    fused: Proposals | None = None,
    nms: Proposals | None = None,
    ground_truth: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    ambiguous: npt.ArrayLike | None = None,
    class_names: Sequence[str] | None = None,
    classes: Sequence[int] | None = None,
    snippet_seconds: float = SNIPPET_SECONDS,
    offset_seconds: float = 0.0,
    duration: float | None = None,
    title: str | None = None,
    width: float = 12.0,
) -> Figure:
    """A timeline figure of one video (see the module docstring for the rows).

    Parameters
    ----------
    cas
        TCAM, shape (T, K): activations per snippet and class.
    proposals, fused, nms
        `Proposals` in snippets (``[start, end)``).
    ground_truth
        ``(labels (n,) int, segments (n, 2) seconds)`` — e.g. ``GroundTruth.segments(video)``.
    ambiguous
        Ambiguous intervals, shape (a, 2), seconds.
    class_names
        Names for the legend (default ``class k``).
    classes
        Class indices to show. Default: classes in the ground truth or any detection; if none,
        the 3 classes with the highest TCAM peak.
    snippet_seconds, offset_seconds
        Timebase: ``seconds = snippets * snippet_seconds + offset_seconds``.
    duration
        x-axis end in seconds (default: the TCAM length or the last segment).
    title
        Figure title (e.g. the video name).
    width
        Figure width in inches.

    Returns a ``matplotlib.figure.Figure``; nothing is shown or written (see `save_timeline`).
    """
    _, Figure = _matplotlib()
    if not (np.isfinite(snippet_seconds) and snippet_seconds > 0):
        raise InvalidArgumentError(f"plot_timeline: snippet_seconds must be positive, got {snippet_seconds}")
    rows_p = {"proposals": _check_proposals(proposals, "proposals"), "fused": _check_proposals(fused, "fused"),
              "NMS": _check_proposals(nms, "nms")}
    cas_arr = None
    if cas is not None:
        cas_arr = np.asarray(cas, np.float64)
        if cas_arr.ndim != 2:
            raise InvalidArgumentError(f"plot_timeline: `cas` must have shape (T, K), got {cas_arr.shape}")
    gt_lab = gt_seg = None
    if ground_truth is not None:
        gt_lab = np.asarray(ground_truth[0], np.int64).ravel()
        gt_seg = np.asarray(ground_truth[1], np.float64).reshape(-1, 2)
        if gt_lab.shape[0] != gt_seg.shape[0]:
            raise InvalidArgumentError(f"plot_timeline: {gt_lab.shape[0]} ground-truth labels for {gt_seg.shape[0]} segments")
    amb = None if ambiguous is None else np.asarray(ambiguous, np.float64).reshape(-1, 2)

    if classes is None:
        found: set[int] = set()
        if gt_lab is not None:
            found |= set(gt_lab.tolist())
        for p in rows_p.values():
            if p is not None:
                found |= set(p.label.tolist())
        if not found and cas_arr is not None:
            found = set(np.argsort(-cas_arr.max(axis=0), kind="stable")[:3].tolist())
        classes = sorted(found)
    classes = [int(c) for c in classes]
    n_k = cas_arr.shape[1] if cas_arr is not None else None
    if n_k is not None and any(c >= n_k or c < 0 for c in classes):
        raise InvalidArgumentError(f"plot_timeline: classes {classes} out of range for a TCAM with {n_k} columns")
    names = [class_names[c] if class_names is not None and c < len(class_names) else f"class {c}" for c in classes]

    import matplotlib as mpl

    cmap = mpl.colormaps["tab10" if len(classes) <= 10 else "tab20"]
    colour = {c: cmap(k % cmap.N) for k, c in enumerate(classes)}
    lane = {c: k for k, c in enumerate(classes)}

    bar_rows: list[tuple[str, Proposals | None]] = [(k, p) for k, p in rows_p.items() if p is not None]
    if gt_lab is not None:
        bar_rows.append(("ground truth", None))
    n_rows = (1 if cas_arr is not None else 0) + len(bar_rows)
    if n_rows == 0:
        raise InvalidArgumentError("plot_timeline: nothing to draw (give cas, proposals, fused, nms or ground_truth)")

    end_s = duration
    if end_s is None:
        ends = [0.0]
        if cas_arr is not None:
            ends.append(cas_arr.shape[0] * snippet_seconds + offset_seconds)
        for _, p in bar_rows:
            if p is not None and len(p):
                ends.append(float(p.end.max()) * snippet_seconds + offset_seconds)
        if gt_seg is not None and gt_seg.size:
            ends.append(float(gt_seg[:, 1].max()))
        end_s = max(ends) or 1.0

    lane_h = 0.8
    heights = ([2.5] if cas_arr is not None else []) + [0.35 + 0.3 * max(1, len(classes))] * len(bar_rows)
    fig = Figure(figsize=(width, sum(heights) + 0.8), layout="constrained")
    axes = fig.subplots(n_rows, 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    ai = 0
    if cas_arr is not None:
        ax = axes[ai]
        ai += 1
        t = np.arange(cas_arr.shape[0]) * snippet_seconds + offset_seconds + snippet_seconds / 2
        for c, name in zip(classes, names):
            ax.plot(t, cas_arr[:, c], color=colour[c], lw=1.2, label=name)
        ax.set_ylabel("TCAM")
        if classes:
            ax.legend(loc="upper right", fontsize="small", ncol=min(4, len(classes)))
    for row_name, p in bar_rows:
        ax = axes[ai]
        ai += 1
        if p is not None:
            show = np.isin(p.label, classes)
            s = p.start[show] * snippet_seconds + offset_seconds
            e = p.end[show] * snippet_seconds + offset_seconds
            lab = p.label[show]
            sc = p.score[show]
            if row_name == "proposals":
                alpha = np.full(sc.shape, 0.08 if sc.size > 50 else 0.25)
            else:
                lo, hi = (float(sc.min()), float(sc.max())) if sc.size else (0.0, 1.0)
                alpha = 0.25 + 0.75 * ((sc - lo) / (hi - lo) if hi > lo else np.ones_like(sc))
            edge = {"edgecolor": "none"} if row_name == "proposals" else {"edgecolor": "white", "linewidth": 0.8}
            for c in np.unique(lab):
                m = lab == c
                ax.broken_barh(list(zip(s[m], e[m] - s[m])), (lane[int(c)] - lane_h / 2, lane_h),
                               facecolors=[(*colour[int(c)][:3], a) for a in alpha[m]], **edge)
        else:
            assert gt_lab is not None and gt_seg is not None
            for c in classes:
                m = gt_lab == c
                if m.any():
                    ax.broken_barh(list(zip(gt_seg[m, 0], gt_seg[m, 1] - gt_seg[m, 0])),
                                   (lane[c] - lane_h / 2, lane_h), facecolors=colour[c], edgecolor="black", lw=0.5)
            if amb is not None and amb.size:
                ax.broken_barh(list(zip(amb[:, 0], amb[:, 1] - amb[:, 0])), (-0.5, max(1, len(classes))),
                               facecolors="none", edgecolor="grey", hatch="//", lw=0.5)
        ax.set_ylim(-0.6, max(1, len(classes)) - 0.4)
        ax.set_yticks(range(len(classes)), names, fontsize="small")
        ax.invert_yaxis()
        ax.set_ylabel(row_name, rotation=0, ha="right", va="center")
    axes[-1].set_xlim(min(0.0, offset_seconds), end_s)
    axes[-1].set_xlabel("time (s)")
    if title:
        fig.suptitle(title)
    return fig


def save_timeline(path: PathLike, *, dpi: int = 120, **kwargs: Any) -> Path:
    """`plot_timeline(**kwargs)` written to ``path`` (format from the suffix, e.g. ``.png``).
    Parent folders are created. Returns the path."""
    fig = plot_timeline(**kwargs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
