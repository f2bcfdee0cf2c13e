"""Slow, deliberately simple references for tadfuse's post-processing contract.

Everything here is written straight from the definitions in ``docs``/``notes/API.md`` with plain
Python loops: explicit lists of snippet indices for every mean, an explicit ``remaining`` list in
the fusion/NMS loops, a max-shifted softmax. Nothing is vectorised and nothing is clever, so that
the code can be checked by reading it. Tests compare the Rust implementation against these
functions; the references themselves are pinned by hand-computed cases in ``test_reference.py``.

Proposal sets are passed around as *column dicts*: ``{"label", "start", "end", "score", "inner",
"video"}`` with numpy arrays (``video`` may be ``None``). Every function also accepts a
``tadfuse.Proposals`` (anything with those attributes) as input. ``to_proposals`` converts a column
dict into a ``tadfuse.Proposals``.

Template choices (the fused value of each column ``start``, ``end``, ``score``, ``inner``, taken
independently per column, with the softmax weights ``g`` of the group):

* ``gaussian``: weighted mean ``sum(g * x)`` (exactly rounded sum, clamped to the group's
  ``[min, max]`` so that identical values fuse to exactly themselves).
* ``laplace``: weighted lower median: sort the values ascending (ties keep group order), take the
  first value whose running sum of ``g`` is ``>= 0.5``.
* ``uniform``: midrange ``(min + max) / 2`` of the group's values (weights are not used).
* ``student_t``: weighted joint location/scale maximum likelihood for a Student-t with ``dof``
  degrees of freedom, by EM: start at the weighted mean and weighted variance; if the variance is
  0 return the mean; otherwise iterate ``u_i = (dof + 1) / (dof + (x_i - mu)^2 / s2)``,
  ``mu = sum(g u x) / sum(g u)``, ``s2 = sum(g u (x - mu)^2)`` (new ``mu``) until
  ``|mu_new - mu| <= 1e-12 * (1 + |mu_new|)``, ``s2 == 0``, or 500 iterations (result clamped
  to ``[min, max]`` like the mean).

Group order inside the fusion loop: ``[pivot]`` followed by the other members in input order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_THRESHOLDS",
    "as_columns",
    "concat_columns",
    "empty_columns",
    "official_transcription",
    "ref_config",
    "ref_detect",
    "ref_extract",
    "ref_fuse",
    "ref_nms",
    "ref_overlap",
    "ref_soft_nms",
    "softmax_weights",
    "student_t_location",
    "to_proposals",
    "weighted_lower_median",
]

#: The official thresholds: ``np.arange(0.001, 0.04, 0.002)`` (20 values, ascending).
DEFAULT_THRESHOLDS = np.arange(0.001, 0.04, 0.002)

_COLUMNS = ("label", "start", "end", "score", "inner")


# --------------------------------------------------------------------------------------------
# column dicts
# --------------------------------------------------------------------------------------------


def empty_columns(with_video: bool = False) -> dict[str, Any]:
    return {
        "label": np.zeros(0, np.int64),
        "start": np.zeros(0),
        "end": np.zeros(0),
        "score": np.zeros(0),
        "inner": np.zeros(0),
        "video": np.zeros(0, np.int64) if with_video else None,
    }


def _rows_to_columns(rows: list[tuple], with_video: bool) -> dict[str, Any]:
    """Rows ``(label, start, end, score, inner, video)`` -> column dict."""
    if not rows:
        return empty_columns(with_video)
    return {
        "label": np.array([r[0] for r in rows], dtype=np.int64),
        "start": np.array([r[1] for r in rows], dtype=np.float64),
        "end": np.array([r[2] for r in rows], dtype=np.float64),
        "score": np.array([r[3] for r in rows], dtype=np.float64),
        "inner": np.array([r[4] for r in rows], dtype=np.float64),
        "video": np.array([r[5] for r in rows], dtype=np.int64) if with_video else None,
    }


def as_columns(p: Any) -> dict[str, Any]:
    """A column dict (float64/int64 copies) from a column dict or a ``Proposals``-like object."""
    if isinstance(p, Mapping):
        get = p.get
    else:
        def get(name: str, default: Any = None) -> Any:
            return getattr(p, name, default)
    label = np.asarray(get("label"), dtype=np.int64).copy()
    score = np.asarray(get("score"), dtype=np.float64).copy()
    inner = get("inner", None)
    video = get("video", None)
    return {
        "label": label,
        "start": np.asarray(get("start"), dtype=np.float64).copy(),
        "end": np.asarray(get("end"), dtype=np.float64).copy(),
        "score": score,
        "inner": score.copy() if inner is None else np.asarray(inner, dtype=np.float64).copy(),
        "video": None if video is None else np.asarray(video, dtype=np.int64).copy(),
    }


def concat_columns(parts: list[dict[str, Any]], with_video: bool = False) -> dict[str, Any]:
    parts = [as_columns(p) for p in parts]
    if not parts:
        return empty_columns(with_video)
    out = {n: np.concatenate([p[n] for p in parts]) for n in _COLUMNS}
    if with_video and all(p["video"] is not None for p in parts):
        out["video"] = np.concatenate([p["video"] for p in parts])
    else:
        out["video"] = None
    return out


def to_proposals(cols: Mapping[str, Any]) -> Any:
    """A ``tadfuse.Proposals`` holding the columns of ``cols``."""
    from tadfuse import Proposals

    return Proposals(
        cols["label"], cols["start"], cols["end"], cols["score"],
        inner=cols.get("inner"), video=cols.get("video"),
    )


def _row(cols: Mapping[str, Any], i: int) -> tuple:
    video = cols["video"]
    return (
        int(cols["label"][i]),
        float(cols["start"][i]),
        float(cols["end"][i]),
        float(cols["score"][i]),
        float(cols["inner"][i]),
        None if video is None else int(video[i]),
    )


# --------------------------------------------------------------------------------------------
# extraction
# --------------------------------------------------------------------------------------------


def _mean(values: list[float]) -> float:
    """Mean of a list, 0.0 for an empty list (exactly rounded sum, then one division)."""
    if not values:
        return 0.0
    return math.fsum(values) / len(values)


def _runs_above(x: list[float], theta: float) -> list[tuple[int, int]]:
    """Maximal runs of ``x[i] > theta`` as ``(s, e)``, ``e`` exclusive, left to right."""
    runs = []
    i = 0
    n = len(x)
    while i < n:
        if x[i] > theta:
            s = i
            while i < n and x[i] > theta:
                i += 1
            runs.append((s, i))
        else:
            i += 1
    return runs


def ref_extract(
    cas: Any,
    thresholds: Any = None,
    classes: Iterable[int] | None = None,
    min_length: int = 2,
    preset: str = "official",
    alpha: float = 0.25,
) -> dict[str, Any]:
    """Multi-threshold proposals with the outer-inner contrast score (column dict, no video)."""
    cas = np.asarray(cas, dtype=np.float64)
    if cas.ndim != 2:
        raise ValueError("cas must be 2-D")
    length, num_classes = cas.shape
    ths = DEFAULT_THRESHOLDS if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    cls = list(range(num_classes)) if classes is None else sorted(int(c) for c in classes)
    rows = []
    for c in cls:
        x = [float(v) for v in cas[:, c]]
        for theta in ths:
            for s, e in _runs_above(x, float(theta)):
                n = e - s
                if n < min_length:
                    continue
                if preset in ("official", "rskp"):
                    # inner: the run plus one snippet past it when that snippet exists; rskp
                    # differs from official in the outer pad only
                    inner_idx = list(range(s, min(e + 1, length)))
                    pad = 0.0785 * n**0.9 if preset == "official" else 0.25 * n
                    left = list(range(max(0, int(s - pad)), s))
                    right = list(range(e + 1, min(length - 1, int(e + pad + 1))))
                    stored_end = e + 1
                elif preset == "paper":
                    inner_idx = list(range(s, e))
                    w = int(alpha * n)
                    left = list(range(max(0, s - w), s))
                    right = list(range(e, min(length, e + w)))
                    stored_end = e
                else:
                    raise ValueError(f"unknown preset {preset!r}")
                inner = _mean([x[i] for i in inner_idx])
                outer = _mean([x[i] for i in left + right])
                rows.append((c, float(s), float(stored_end), inner - outer, inner, None))
    return _rows_to_columns(rows, with_video=False)


# --------------------------------------------------------------------------------------------
# overlap, templates
# --------------------------------------------------------------------------------------------


def ref_overlap(sp: float, ep: float, sj: float, ej: float, overlap: str) -> float:
    """Overlap of candidate ``j`` with pivot ``p``."""
    if overlap == "coverage":
        inter = max(0.0, min(ep, ej) - max(sp, sj) + 1.0)
        return inter / (ej - sj + 1.0)
    if overlap == "iou":
        inter = max(0.0, min(ep, ej) - max(sp, sj))
        union = (ep - sp) + (ej - sj) - inter
        return 0.0 if union == 0 else inter / union
    raise ValueError(f"unknown overlap {overlap!r}")


def _iou(sp: float, ep: float, sj: float, ej: float) -> float:
    return ref_overlap(sp, ep, sj, ej, "iou")


def softmax_weights(w: list[float], temperature: float) -> list[float]:
    """softmax(w / T), computed as exp((w_i - max w) / T) / sum: the largest term is exactly 1,
    nothing overflows, and even a subnormal T (where w / T itself would be inf) stays finite."""
    m = max(w)
    ex = [math.exp((wi - m) / temperature) for wi in w]
    total = math.fsum(ex)
    return [e / total for e in ex]


def weighted_lower_median(values: list[float], g: list[float]) -> float:
    order = sorted(range(len(values)), key=lambda i: values[i])  # stable: ties by position
    cum = 0.0
    for i in order:
        cum += g[i]
        if cum >= 0.5:
            return values[i]
    return values[order[-1]]


def student_t_location(values: list[float], g: list[float], dof: float) -> float:
    mu = math.fsum(gi * xi for gi, xi in zip(g, values))
    s2 = math.fsum(gi * (xi - mu) ** 2 for gi, xi in zip(g, values))
    if s2 == 0:
        return mu
    for _ in range(500):
        u = [(dof + 1.0) / (dof + (xi - mu) ** 2 / s2) for xi in values]
        su = math.fsum(gi * ui for gi, ui in zip(g, u))
        mu_new = math.fsum(gi * ui * xi for gi, ui, xi in zip(g, u, values)) / su
        s2 = math.fsum(gi * ui * (xi - mu_new) ** 2 for gi, ui, xi in zip(g, u, values))
        done = abs(mu_new - mu) <= 1e-12 * (1.0 + abs(mu_new))
        mu = mu_new
        if done or s2 == 0:
            break
    return mu


def _clamp(v: float, values: list[float]) -> float:
    """Clamp to the group's range: a no-op in exact arithmetic, but it makes a group of identical
    values come out as exactly that value (``sum(g) == 1`` only up to rounding)."""
    return min(max(v, min(values)), max(values))


def _template_value(values: list[float], g: list[float], template: str, dof: float) -> float:
    if template == "gaussian":
        return _clamp(math.fsum(gi * xi for gi, xi in zip(g, values)), values)
    if template == "laplace":
        return weighted_lower_median(values, g)
    if template == "uniform":
        return (min(values) + max(values)) / 2.0
    if template == "student_t":
        return _clamp(student_t_location(values, g, dof), values)
    raise ValueError(f"unknown template {template!r}")


# --------------------------------------------------------------------------------------------
# fusion / NMS / soft-NMS
# --------------------------------------------------------------------------------------------


def _groups(cols: Mapping[str, Any]) -> list[list[int]]:
    """Row indices per (video, label) group, groups ascending, rows in input order."""
    video = cols["video"]
    groups: dict[tuple, list[int]] = {}
    for i in range(len(cols["label"])):
        key = (int(cols["label"][i]),) if video is None else (int(video[i]), int(cols["label"][i]))
        groups.setdefault(key, []).append(i)
    return [groups[k] for k in sorted(groups)]


def _pick_highest(remaining: list[int], score: Any) -> int:
    """Highest score among ``remaining`` (which is in ascending index order); ties lowest index."""
    best = remaining[0]
    for j in remaining[1:]:
        if score[j] > score[best]:
            best = j
    return best


def ref_fuse(
    p: Any,
    temperature: float,
    threshold: float = 0.25,
    overlap: str = "coverage",
    weight: str = "inner",
    template: str = "gaussian",
    dof: float = 3.0,
) -> dict[str, Any]:
    cols = as_columns(p)
    if weight not in ("inner", "score"):
        raise ValueError(f"unknown weight {weight!r}")
    start, end, score = cols["start"], cols["end"], cols["score"]
    wcol = cols[weight]
    rows = []
    for members in _groups(cols):
        fused = []
        remaining = list(members)
        while remaining:
            pivot = _pick_highest(remaining, score)
            group = [pivot] + [
                j for j in remaining
                if j != pivot
                and ref_overlap(start[pivot], end[pivot], start[j], end[j], overlap) > threshold
            ]
            g = softmax_weights([float(wcol[j]) for j in group], temperature)
            label, _, _, _, _, video = _row(cols, pivot)
            values = {
                name: _template_value([float(cols[name][j]) for j in group], g, template, dof)
                for name in ("start", "end", "score", "inner")
            }
            fused.append(
                (label, values["start"], values["end"], values["score"], values["inner"], video)
            )
            in_group = set(group)
            remaining = [j for j in remaining if j not in in_group]
        # fused score descending; Python's sort is stable, so ties keep pick order
        fused.sort(key=lambda r: -r[3])
        rows.extend(fused)
    return _rows_to_columns(rows, with_video=cols["video"] is not None)


def ref_nms(p: Any, threshold: float = 0.25, overlap: str = "coverage") -> dict[str, Any]:
    cols = as_columns(p)
    start, end, score = cols["start"], cols["end"], cols["score"]
    rows = []
    for members in _groups(cols):
        remaining = list(members)
        while remaining:
            pivot = _pick_highest(remaining, score)
            rows.append(_row(cols, pivot))
            remaining = [
                j for j in remaining
                if j != pivot
                and not ref_overlap(start[pivot], end[pivot], start[j], end[j], overlap) > threshold
            ]
    return _rows_to_columns(rows, with_video=cols["video"] is not None)


def ref_soft_nms(
    p: Any,
    sigma: float = 0.5,
    min_score: float = 0.001,
    method: str = "gaussian",
    threshold: float = 0.25,
    max_out: int | None = None,
) -> dict[str, Any]:
    if method not in ("gaussian", "linear"):
        raise ValueError(f"unknown method {method!r}")
    cols = as_columns(p)
    start, end = cols["start"], cols["end"]
    rows = []
    for members in _groups(cols):
        current = {j: float(cols["score"][j]) for j in members}
        remaining = [j for j in members if current[j] >= min_score]
        taken = 0
        while remaining and (max_out is None or taken < max_out):
            pick = _pick_highest(remaining, current)
            label, s, e, _, inner, video = _row(cols, pick)
            rows.append((label, s, e, current[pick], inner, video))
            taken += 1
            survivors = []
            for j in remaining:
                if j == pick:
                    continue
                iou = _iou(start[pick], end[pick], start[j], end[j])
                if method == "gaussian":
                    current[j] = current[j] * math.exp(-(iou * iou) / sigma)
                elif iou > threshold:
                    current[j] = current[j] * (1.0 - iou)
                if current[j] >= min_score:
                    survivors.append(j)
            remaining = survivors
    return _rows_to_columns(rows, with_video=cols["video"] is not None)


# --------------------------------------------------------------------------------------------
# detection
# --------------------------------------------------------------------------------------------

_OFFICIAL = {
    "thresholds": DEFAULT_THRESHOLDS,
    "class_threshold": 0.16,
    "min_length": 2,
    "preset": "official",
    "alpha": 0.25,
    "method": "fusion",
    "temperature": 0.2,
    "overlap": "coverage",
    "weight": "inner",
    "template": "gaussian",
    "dof": 3.0,
    "threshold": 0.25,
    "sigma": 0.5,
    "min_score": 0.001,
    "soft_method": "gaussian",
    "max_out": None,
}
_PAPER = dict(_OFFICIAL, preset="paper", temperature=0.03, overlap="iou", weight="score")
_RSKP = dict(_OFFICIAL, preset="rskp", class_threshold=0.1, method="nms", threshold=0.5)


def ref_config(name: str = "official", **overrides: Any) -> dict[str, Any]:
    """The contract's preset values as a plain dict (``official``, ``paper`` or ``rskp``) plus
    overrides."""
    base = {"official": _OFFICIAL, "paper": _PAPER, "rskp": _RSKP}[name]
    unknown = set(overrides) - set(base)
    if unknown:
        raise ValueError(f"unknown config fields {sorted(unknown)}")
    return dict(base, **overrides)


def _config_get(config: Any, name: str) -> Any:
    if config is None:
        return _OFFICIAL[name]
    if isinstance(config, Mapping):
        return config[name]
    return getattr(config, name)


def ref_detect(cas: Any, video_scores: Any, config: Any = None) -> dict[str, Any]:
    """Classes with ``video_scores[c] >= class_threshold`` ascending: extract -> method."""
    cfg = {k: _config_get(config, k) for k in _OFFICIAL}
    cas = np.asarray(cas, dtype=np.float64)
    vs = np.asarray(video_scores, dtype=np.float64)
    parts = []
    for c in range(cas.shape[1]):
        if not vs[c] >= cfg["class_threshold"]:
            continue
        props = ref_extract(
            cas, cfg["thresholds"], classes=[c], min_length=cfg["min_length"],
            preset=cfg["preset"], alpha=cfg["alpha"],
        )
        if cfg["method"] == "fusion":
            out = ref_fuse(
                props, cfg["temperature"], threshold=cfg["threshold"], overlap=cfg["overlap"],
                weight=cfg["weight"], template=cfg["template"], dof=cfg["dof"],
            )
        elif cfg["method"] == "nms":
            out = ref_nms(props, threshold=cfg["threshold"], overlap=cfg["overlap"])
        elif cfg["method"] == "soft_nms":
            out = ref_soft_nms(
                props, sigma=cfg["sigma"], min_score=cfg["min_score"], method=cfg["soft_method"],
                threshold=cfg["threshold"], max_out=cfg["max_out"],
            )
        else:
            raise ValueError(f"unknown method {cfg['method']!r}")
        parts.append(out)
    return concat_columns(parts)


# --------------------------------------------------------------------------------------------
# the authors' pipeline, restated
# --------------------------------------------------------------------------------------------


def official_transcription(
    cas: Any,
    video_scores: Any,
    thresholds: Any = None,
    class_threshold: float = 0.16,
    temperature: float = 0.2,
    overlap_threshold: float = 0.25,
) -> list[np.ndarray]:
    """An independent restatement of the released GauFuse evaluation post-processing.

    Returns one entry per class column: an ``(n, 3)`` array of fused ``[start, end, score]``
    rows sorted by score descending (an empty list for classes below ``class_threshold``,
    an empty ``(0, 3)`` array for a processed class without proposals).

    What it reproduces, per class ``c`` with ``video_scores[c] >= class_threshold``:

    * for each threshold, each run of ``cas[:, c] > threshold`` ``[s, e)`` with ``e - s >= 2``:
      inner = mean of ``cas[s : e + 1]`` (numpy slicing, so the extra snippet is simply absent at
      the end of the video); ``pad = 0.0785 * n ** 0.9``; outer snippets
      ``range(max(0, int(s - pad)), s)`` followed by ``range(e + 1, min(l - 1, int(e + pad + 1)))``
      (mean, or 0 for no snippets); the proposal is ``[s, e + 1, inner - outer, inner]``;
    * fusion: repeatedly take the proposal with the highest score among the remaining ones.
      The released code orders them with ``np.argsort`` (quicksort, so tied scores come out in an
      unspecified order); here the pivot is the highest score with ties going to the lowest
      index. Every other remaining proposal whose overlap length ``max(0, min(e_p, e_j) -
      max(s_p, s_j) + 1)`` divided by ``e_j - s_j + 1`` exceeds the threshold joins the pivot.
      With ``w`` the inner means, the fused start, end and score are
      ``sum(exp(w / T) * x) / sum(sign(w) * exp(w / T))``.
      NOTE: because of the ``sign(w)`` factor in the denominator only, this equals the softmax
      weighted mean that tadfuse implements exactly when every weight is positive (``w > 0``).
      A zero weight adds to the numerators but not to the denominator, a negative one subtracts
      from the denominator. There is also no max shift, so ``exp(w / T)`` overflows for
      ``w / T > ~709``. Use positive CAS values and moderate temperatures when comparing;
    * the fused rows are sorted by score descending (stable here; quicksort in the original).
    """
    cas = np.asarray(cas, dtype=np.float64)
    length, num_classes = cas.shape
    ths = DEFAULT_THRESHOLDS if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    result: list[Any] = []
    for c in range(num_classes):
        if video_scores[c] < class_threshold:
            result.append([])
            continue
        x = cas[:, c]
        props = []  # [s, e, score, inner]
        for theta in ths:
            above = [bool(v > theta) for v in x]
            # starts: False -> True transitions, ends: True -> False (with False on both sides)
            padded = [False] + above + [False]
            starts = [i for i in range(length) if padded[i + 1] and not padded[i]]
            ends = [i for i in range(length) if padded[i + 1] and not padded[i + 2]]
            ends = [i + 1 for i in ends]
            for s, e in zip(starts, ends):
                n = e - s
                if n < 2:
                    continue
                inner = float(np.mean(x[s : e + 1]))
                pad = 0.0785 * (n**0.9)
                lo = max(0, int(s - pad))
                hi = min(int(length - 1), int(e + pad + 1))
                idx = list(range(lo, s)) + list(range(e + 1, hi))
                outer = float(np.mean(x[idx])) if idx else 0.0
                props.append([float(s), float(e + 1), inner - outer, inner])
        fused = []
        alive = list(range(len(props)))
        while alive:
            p = alive[0]
            for j in alive:
                if props[j][2] > props[p][2]:
                    p = j
            sp, ep = props[p][0], props[p][1]
            joined = [p]
            for j in alive:
                if j == p:
                    continue
                sj, ej = props[j][0], props[j][1]
                cover = max(0.0, min(ep, ej) - max(sp, sj) + 1.0) / (ej - sj + 1.0)
                if cover > overlap_threshold:
                    joined.append(j)
            num_s = num_e = num_score = den = 0.0
            for j in joined:
                w = props[j][3]
                k = math.exp(w / temperature)
                num_s += props[j][0] * k
                num_e += props[j][1] * k
                num_score += props[j][2] * k
                den += float(np.sign(w)) * k
            fused.append([num_s / den, num_e / den, num_score / den])
            alive = [j for j in alive if j not in joined]
        fused.sort(key=lambda r: -r[2])
        result.append(np.array(fused, dtype=np.float64).reshape(-1, 3))
    return result
