"""`EvalResult`: the numbers of one evaluation and what produced them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tadfuse.annotations import provenance_record
from tadfuse.evaluation import anet, wtalc

__all__ = ["EvalResult"]

# Named averages printed with a result when all of their thresholds were evaluated.
_NAMED_AVERAGES: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("0.1:0.5", (0.1, 0.2, 0.3, 0.4, 0.5)),
    ("0.3:0.7", (0.3, 0.4, 0.5, 0.6, 0.7)),
    ("0.1:0.7", wtalc.THUMOS14_TIOU_THRESHOLDS),
    ("0.5:0.95", anet.ANET_TIOU_THRESHOLDS),
)

_PROTOCOL_TITLES = {"anet": anet.TITLE, "wtalc": wtalc.TITLE}


@dataclass(frozen=True, eq=False)
class EvalResult:
    """Detection mAP of one evaluation, with what produced it.

    * ``protocol``: ``"anet"`` or ``"wtalc"``.
    * ``tiou_thresholds`` (K,) and ``mAP`` (K,): fractions in [0, 1] (multiply by 100 for the
      papers' percentages).
    * ``ap_per_class``: class name → AP array (K,), for every evaluated class (the classes with
      ground truth in the evaluated videos), in class order.
    * ``videos``: the evaluated video list; ``subset``: the split it came from (or None);
      ``video_list_digest``: first 12 hex digits of the SHA-1 of the sorted names, so two
      numbers can be checked to come from the same list.
    * ``num_ground_truth``: segments scored against; ``num_predictions``: predictions scored.
    * ``notes``: what was filtered or dropped, in words.
    * ``provenance``: what produced the numbers (`tadfuse.annotations.provenance_record`): the
      tadfuse version, ``inputs`` (``ground_truth`` and ``predictions``: a file path, or
      ``"in-memory"``), the ``predictions_provenance`` a result file recorded, and what the
      caller of `tadfuse.evaluation.evaluate` passed as ``provenance`` (e.g. preset and
      configuration).
    """

    protocol: str
    tiou_thresholds: np.ndarray
    mAP: np.ndarray
    ap_per_class: dict[str, np.ndarray]
    videos: tuple[str, ...]
    subset: str | None
    num_ground_truth: int
    num_predictions: int
    notes: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=provenance_record)

    @property
    def average_mAP(self) -> float:
        """Mean of ``mAP`` over all evaluated thresholds (a fraction)."""
        return float(np.mean(self.mAP))

    @property
    def averages(self) -> dict[str, float]:
        """The usual averages whose thresholds were all evaluated: ``"0.1:0.5"``, ``"0.3:0.7"``,
        ``"0.1:0.7"`` (THUMOS14), ``"0.5:0.95"`` (ActivityNet); fractions."""
        out: dict[str, float] = {}
        for name, ts in _NAMED_AVERAGES:
            pos = [np.flatnonzero(np.isclose(self.tiou_thresholds, t, rtol=0, atol=1e-9)) for t in ts]
            if all(p.size for p in pos):
                out[name] = float(np.mean([self.mAP[p[0]] for p in pos]))
        return out

    @property
    def video_list_digest(self) -> str:
        return hashlib.sha1("\n".join(sorted(self.videos)).encode()).hexdigest()[:12]

    def table(self) -> str:
        """The papers' table: mAP (%) per tIoU threshold and the usual averages, with a header
        saying which protocol and which video list produced the numbers."""
        subset = f"subset {self.subset!r}" if self.subset is not None else "all subsets"
        lines = [
            f"protocol: {_PROTOCOL_TITLES.get(self.protocol, self.protocol)}",
            f"videos: {len(self.videos)} ({subset}, list sha1 {self.video_list_digest}); "
            f"ground-truth segments: {self.num_ground_truth}; classes: {len(self.ap_per_class)}; "
            f"predictions scored: {self.num_predictions}",
        ]
        lines += [f"note: {n}" for n in self.notes]
        heads = [f"{t:g}" for t in self.tiou_thresholds]
        vals = [f"{100 * m:.2f}" for m in self.mAP]
        avgs = self.averages or {"all": self.average_mAP}
        heads += [f"avg {k}" for k in avgs]
        vals += [f"{100 * v:.2f}" for v in avgs.values()]
        widths = [max(len(h), len(v)) for h, v in zip(heads, vals)]
        lines.append("tIoU      " + "  ".join(h.rjust(w) for h, w in zip(heads, widths)))
        lines.append("mAP (%)   " + "  ".join(v.rjust(w) for v, w in zip(vals, widths)))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (fractions, not percentages): the protocol, thresholds, evaluated
        video list and its digest, the numbers, the notes and ``provenance`` (with the tadfuse
        version and the inputs). Holds no timestamp: equal evaluations give equal dicts."""
        return {
            "protocol": self.protocol,
            "subset": self.subset,
            "num_videos": len(self.videos),
            "video_list_sha1": self.video_list_digest,
            "videos": list(self.videos),
            "num_ground_truth": self.num_ground_truth,
            "num_predictions": self.num_predictions,
            "tiou_thresholds": self.tiou_thresholds.tolist(),
            "mAP": self.mAP.tolist(),
            "average_mAP": self.average_mAP,
            "averages": self.averages,
            "ap_per_class": {k: v.tolist() for k, v in self.ap_per_class.items()},
            "notes": list(self.notes),
            "provenance": self.provenance,
        }

