"""The `Proposals` container: temporal segments as equal-length numpy columns.

Time is in snippets (one feature row; W-TALC I3D: 16 frames at 25 fps = 0.64 s); `end` is
exclusive. Conversion to seconds happens only at I/O edges (`segments_seconds`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tadfuse._checks import float_array, int_array

__all__ = ["SNIPPET_SECONDS", "Proposals"]

#: Seconds per snippet of the W-TALC I3D features: 16 frames at 25 fps.
SNIPPET_SECONDS = 16.0 / 25.0

_FLOAT_COLUMNS = ("start", "end", "score", "inner")


def _column(name: str, values: Any, dtype: type, length: int | None) -> np.ndarray:
    if dtype is np.int64:
        out = int_array(name, values)
        if out.size and out.min() < 0:
            raise ValueError(f"`{name}` must be non-negative")
    else:
        out = float_array(name, values, 1)
        if out.size and not np.all(np.isfinite(out)):
            bad = int(np.flatnonzero(~np.isfinite(out))[0])
            raise ValueError(f"`{name}` contains a non-finite value at index {bad}")
    if length is not None and out.shape[0] != length:
        raise ValueError(f"`{name}` has length {out.shape[0]}, expected {length} (the length of `label`)")
    return out.copy() if out is values else out  # Proposals owns its columns


class Proposals:
    """Temporal proposals or detections, one row per segment, stored as columns.

    Columns (all 1-D numpy arrays of the same length M):
      * ``label`` (int64): class index.
      * ``start``, ``end`` (float64, snippets): the segment ``[start, end)``; ``end >= start``.
      * ``score`` (float64): the confidence used for ranking.
      * ``inner`` (float64): mean activation inside the segment (the official fusion weight);
        defaults to ``score`` when not given.
      * ``video`` (int64 or None): video index, for batches; ``None`` for a single video.

    Inputs are converted to contiguous int64/float64 copies; non-numeric columns raise
    ``TypeError``, and non-finite values, non-integer labels, mismatched lengths and
    ``end < start`` raise ``ValueError``, each naming the column.
    """

    __slots__ = ("end", "inner", "label", "score", "start", "video")

    label: np.ndarray
    start: np.ndarray
    end: np.ndarray
    score: np.ndarray
    inner: np.ndarray
    video: np.ndarray | None

    def __init__(
        self,
        label: npt.ArrayLike,
        start: npt.ArrayLike,
        end: npt.ArrayLike,
        score: npt.ArrayLike,
        inner: npt.ArrayLike | None = None,
        video: npt.ArrayLike | None = None,
    ) -> None:
        self.label = _column("label", label, np.int64, None)
        m = self.label.shape[0]
        self.start = _column("start", start, np.float64, m)
        self.end = _column("end", end, np.float64, m)
        self.score = _column("score", score, np.float64, m)
        self.inner = self.score.copy() if inner is None else _column("inner", inner, np.float64, m)
        self.video = None if video is None else _column("video", video, np.int64, m)
        bad = np.flatnonzero(self.end < self.start)
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"Proposals: `end` < `start` at index {i} ({self.end[i]} < {self.start[i]})"
            )

    @classmethod
    def _trusted(
        cls,
        label: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        score: np.ndarray,
        inner: np.ndarray,
        video: np.ndarray | None,
    ) -> Proposals:
        """Wrap arrays that the Rust core produced (already valid) without copying."""
        self = cls.__new__(cls)
        self.label, self.start, self.end = label, start, end
        self.score, self.inner, self.video = score, inner, video
        return self

    @classmethod
    def empty(cls, with_video: bool = False) -> Proposals:
        """A container with no rows."""
        z = np.zeros(0)
        return cls._trusted(
            np.zeros(0, np.int64), z, z.copy(), z.copy(), z.copy(),
            np.zeros(0, np.int64) if with_video else None,
        )

    @classmethod
    def concat(cls, parts: Sequence[Proposals]) -> Proposals:
        """Rows of all ``parts`` in order. ``video`` is kept only if every part has it."""
        parts = list(parts)
        if not parts:
            return cls.empty()
        has_video = all(p.video is not None for p in parts)
        cat = lambda name: np.concatenate([getattr(p, name) for p in parts])
        return cls._trusted(
            cat("label"), cat("start"), cat("end"), cat("score"), cat("inner"),
            cat("video") if has_video else None,
        )

    def __len__(self) -> int:
        return int(self.label.shape[0])

    def __getitem__(self, index: Any) -> Proposals:
        """Rows selected by a boolean mask, an index array or a slice (a copy)."""
        if isinstance(index, (int, np.integer)):
            index = [index]
        sel = lambda a: np.ascontiguousarray(a[index])
        return Proposals._trusted(
            sel(self.label), sel(self.start), sel(self.end), sel(self.score), sel(self.inner),
            None if self.video is None else sel(self.video),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Proposals):
            return NotImplemented
        if (self.video is None) != (other.video is None):
            return False
        names = ("label",) + _FLOAT_COLUMNS + (("video",) if self.video is not None else ())
        return all(np.array_equal(getattr(self, n), getattr(other, n)) for n in names)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        extra = "" if self.video is None else f", videos={len(np.unique(self.video))}"
        return f"Proposals(n={len(self)}, labels={len(np.unique(self.label))}{extra})"

    @property
    def length(self) -> np.ndarray:
        """``end - start`` in snippets, shape (M,)."""
        return self.end - self.start

    def with_video(self, video: int) -> Proposals:
        """A copy whose ``video`` column is ``video`` on every row."""
        return Proposals._trusted(
            self.label.copy(), self.start.copy(), self.end.copy(), self.score.copy(),
            self.inner.copy(), np.full(len(self), int(video), np.int64),
        )

    def for_video(self, video: int) -> Proposals:
        """The rows of one video (``video`` column required), without the ``video`` column."""
        if self.video is None:
            raise ValueError("for_video: these proposals have no `video` column")
        sub = self[self.video == video]
        sub.video = None
        return sub

    def segments_seconds(self, snippet_seconds: float = SNIPPET_SECONDS) -> np.ndarray:
        """``[start, end]`` converted to seconds, shape (M, 2)."""
        if not np.isfinite(snippet_seconds) or snippet_seconds <= 0:
            raise ValueError(f"snippet_seconds must be a positive number, got {snippet_seconds}")
        return np.stack([self.start, self.end], axis=1) * float(snippet_seconds)

    def to_records(self) -> list[dict[str, Any]]:
        """One plain dict per row (JSON-ready Python scalars)."""
        cols: Iterable[str] = ("label",) + _FLOAT_COLUMNS + (("video",) if self.video is not None else ())
        lists = {n: getattr(self, n).tolist() for n in cols}
        return [{n: lists[n][i] for n in lists} for i in range(len(self))]
