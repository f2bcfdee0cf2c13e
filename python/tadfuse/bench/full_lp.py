"""The released code's LinPro: one dense LP per (video, class), the baseline of ``tadfuse bench``.

Per (video, class) the dense ``W`` exactly as the released code builds it
(``compute_score_matrix``) and ``scipy.optimize.linprog(ones(l), A_eq=W, b_eq=q, bounds=(0, 1),
method="highs")`` with default options, written into an ``(l, 21)`` label matrix. An infeasible
problem has no ``x``: the released code writes NaN there, and so does this restatement (the
problems are counted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tadfuse.proposals import Proposals

__all__ = ["FullLP", "full_lp_labels", "released_w"]


def released_w(segments: np.ndarray, l: int) -> tuple[np.ndarray, np.ndarray]:
    """The released ``compute_score_matrix``, restated: rows ``[start, end, score]`` (snippets)
    in, ``(W of shape (n, l), q of shape (n,))`` out. Inner snippets ``[s, e)`` get +1, the outer
    margin of ``int(0.0785 · n^0.9)`` snippets each side (the right one cut at ``l − 1``) −1."""
    w = np.zeros((segments.shape[0], l), dtype=float)
    for k, (a, b, _) in enumerate(segments):
        s, e = int(a), int(b)
        n = e - s
        outer_s = max(0, int(s - 0.0785 * (n**0.9)))
        outer_e = min(int(l - 1), int(e + 0.0785 * (n**0.9) + 1))
        w[k, s:e] = 1.0
        w[k, outer_s:s] = -1.0
        w[k, e:outer_e] = -1.0
    return w, segments[:, 2].copy()


@dataclass(frozen=True)
class FullLP:
    """`full_lp_labels`' result: per video an ``(l, num_classes)`` label matrix (NaN columns
    where infeasible), the optimum ``Σ x`` of each feasible ``(video, class)``, and the number of
    infeasible problems."""

    labels: list[np.ndarray]
    objective: dict[tuple[int, int], float]
    infeasible: int


def full_lp_labels(fused: Sequence[Proposals], lengths: Sequence[int], num_classes: int) -> FullLP:
    """The baseline on every video: ``fused[v]`` (label = class column, start/end in snippets,
    score = q) of a video of ``lengths[v]`` snippets."""
    from scipy.optimize import linprog

    out, objective, infeasible = [], {}, 0
    for v, (f, l) in enumerate(zip(fused, [int(x) for x in lengths])):
        pred = np.zeros((l, num_classes))
        for c in np.unique(f.label).tolist():
            sel = f.label == c
            w, q = released_w(np.column_stack([f.start[sel], f.end[sel], f.score[sel]]), l)
            res = linprog(np.ones(l), A_eq=w, b_eq=q, bounds=(0.0, 1.0), method="highs")
            if res.status == 0:
                pred[:, c] = res.x
                objective[(v, c)] = float(res.fun)
            else:
                pred[:, c] = np.nan  # what the released code ends up with
                infeasible += 1
        out.append(pred)
    return FullLP(out, objective, infeasible)
