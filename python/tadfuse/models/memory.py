"""The per-class memory bank of RSKP: for each action class, the ``slots`` video-adapted centres
that scored highest for that class so far (docs/models.md, "Memory bank").

The released training loop (LeonHLJ/RSKP ``processor.py``, zhou745/GauFuse_WSTAL ``method.py``)
fills the bank once after the warm-up epoch from every training video in loader order
(:meth:`MemoryBank.initialise`); from then on, for each training video it first *reads* the
queues of the video's classes (the centres the memory branch propagates) and then *writes* the
video's centres into those queues. :meth:`MemoryBank.read_write` does the same for a batch,
video by video in batch order, so a batch of B videos leaves the bank exactly as B single-video
steps would.

``class0_defect`` reproduces zhou745/GauFuse_WSTAL: ``np.where(labels == 1)[0]`` on the
``(1, C)`` label array yields row indices, all 0, once per positive class — so every video reads
class 0's queue repeated once per positive class, and writes into class 0's queue (scored by
class 0) that many times. The bank's initialisation indexes a 1-D label vector and is correct in
both released codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from tadfuse.config.model import ModelConfig
from tadfuse.errors import InvalidArgumentError

__all__ = ["MemoryBank"]


class MemoryBank(nn.Module):
    """Buffers ``centres`` ``(C, slots, D)`` and ``scores`` ``(C, slots)``, zeros when empty;
    each class's queue is sorted by score, highest first. Saved and restored by
    ``state_dict`` / ``load_state_dict`` like any module."""

    centres: torch.Tensor
    scores: torch.Tensor

    def __init__(self, num_classes: int, slots: int, dim: int, *, class0_defect: bool = False) -> None:
        super().__init__()
        for name, v in (("num_classes", num_classes), ("slots", slots), ("dim", dim)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InvalidArgumentError(f"MemoryBank: `{name}` must be a positive integer, got {v!r}")
        self.num_classes = num_classes
        self.slots = slots
        self.dim = dim
        self.class0_defect = bool(class0_defect)
        self.register_buffer("centres", torch.zeros(num_classes, slots, dim))
        self.register_buffer("scores", torch.zeros(num_classes, slots))

    @classmethod
    def from_config(cls, config: ModelConfig) -> MemoryBank:
        return cls(config.num_classes, config.memory_slots, config.embed_dim, class0_defect=config.memory_class0_defect)

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, slots={self.slots}, dim={self.dim}, class0_defect={self.class0_defect}"

    # -- indexing -------------------------------------------------------------------------------

    def positive_classes(self, labels: Any, name: str = "labels", *, allow_none: bool = False) -> list[int]:
        """The classes with label 1 in a ``(C,)`` 0/1 vector, in increasing order (a video
        without any raises unless ``allow_none``)."""
        lab = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
        if lab.shape != (self.num_classes,):
            raise InvalidArgumentError(f"`{name}` must have shape ({self.num_classes},), got {lab.shape}")
        if lab.dtype.kind not in "biuf" or not np.isin(lab, (0, 1)).all():
            raise InvalidArgumentError(f"`{name}` must hold only 0 and 1 (video-level multi-hot labels)")
        pos = np.flatnonzero(lab == 1).tolist()
        if not pos and not allow_none:
            raise InvalidArgumentError(f"`{name}`: a video without any positive class has no memory-bank centres")
        return pos

    def _queues(self, labels: Any, name: str = "labels") -> list[int]:
        """The queues a training step touches: the positive classes, or (defect) 0 once per class."""
        pos = self.positive_classes(labels, name)
        return [0] * len(pos) if self.class0_defect else pos

    # -- operations -----------------------------------------------------------------------------

    @torch.no_grad()
    def read(self, labels: Any) -> torch.Tensor:
        """The centres the memory branch propagates for a video: its queues concatenated,
        ``(n_queues · slots, D)`` (a copy)."""
        return torch.cat([self.centres[c] for c in self._queues(labels)], dim=0).clone()

    @torch.no_grad()
    def write(self, centres: torch.Tensor, scores: torch.Tensor, labels: Any) -> None:
        """Merges a video's ``centres`` ``(K, D)`` into its queues: queue ``c`` keeps the
        ``slots`` highest of its entries and the new centres scored by ``scores[:, c]``
        (``scores`` ``(K, C+1)`` or ``(K, C)``, the centres' class probabilities). Ties keep the
        queue's entries first, then the new centres in order."""
        self._merge(centres, scores, self._queues(labels))

    def _check(self, centres: torch.Tensor, scores: torch.Tensor) -> None:
        if centres.dim() != 2 or centres.shape[1] != self.dim:
            raise InvalidArgumentError(f"`centres` must have shape (K, {self.dim}), got {tuple(centres.shape)}")
        if scores.dim() != 2 or scores.shape[0] != centres.shape[0] or scores.shape[1] < self.num_classes:
            raise InvalidArgumentError(
                f"`scores` must have shape ({centres.shape[0]}, >= {self.num_classes}), got {tuple(scores.shape)}"
            )

    def _merge(self, centres: torch.Tensor, scores: torch.Tensor, queues: list[int]) -> None:
        self._check(centres, scores)
        mu = centres.detach().to(self.centres)
        sc = scores.detach().to(self.scores)
        for c in queues:
            all_sc = torch.cat([self.scores[c], sc[:, c]], dim=0)
            all_mu = torch.cat([self.centres[c], mu], dim=0)
            order = torch.sort(all_sc, descending=True, stable=True).indices[: self.slots]
            self.centres[c] = all_mu[order]
            self.scores[c] = all_sc[order]

    @torch.no_grad()
    def read_write(self, centres: torch.Tensor, scores: torch.Tensor, labels: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """One training step for a batch, video by video in order: read video b's centres,
        then write video b's ``centres[b]`` ``(K, D)`` / ``scores[b]`` ``(K, C+1)``.
        ``labels``: ``(B, C)``. Returns the read centres padded to ``(B, N, D)`` and their mask
        ``(B, N)`` (videos have different numbers of classes)."""
        lab = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
        bad = centres.dim() != 3 or scores.dim() != 3 or lab.ndim != 2 or lab.shape[0] == 0
        if bad or not centres.shape[0] == scores.shape[0] == lab.shape[0]:
            raise InvalidArgumentError(
                f"`centres` (B, K, D), `scores` (B, K, C+1) and `labels` (B, C) must agree, got "
                f"{tuple(centres.shape)}, {tuple(scores.shape)} and {lab.shape}"
            )
        # Check every video before the first write, so that a bad batch leaves the bank untouched.
        queues = [self._queues(lab[b], name=f"labels[{b}]") for b in range(lab.shape[0])]
        self._check(centres[0], scores[0])
        read = []
        for b, qs in enumerate(queues):
            read.append(torch.cat([self.centres[c] for c in qs], dim=0).clone())
            self._merge(centres[b], scores[b], qs)
        n = max(r.shape[0] for r in read)
        out = self.centres.new_zeros(len(read), n, self.dim)
        mask = torch.zeros(len(read), n, dtype=torch.bool, device=self.centres.device)
        for b, r in enumerate(read):
            out[b, : r.shape[0]] = r
            mask[b, : r.shape[0]] = True
        return out, mask

    @torch.no_grad()
    def initialise(self, videos: Iterable[tuple[torch.Tensor, torch.Tensor, Any]]) -> None:
        """Fills the bank after the warm-up epoch: for each ``(centres (K, D), scores (K, C+1),
        labels (C,))`` in order (the released code: every training video, loader order, model in
        eval mode), writes into each positive class's queue. Always indexes the right classes;
        a video without a positive class writes nothing."""
        for i, (mu, sc, lab) in enumerate(videos):
            self._merge(mu, sc, self.positive_classes(lab, name=f"labels of video {i}", allow_none=True))

    @torch.no_grad()
    def clear(self) -> None:
        """Empties every queue (zeros), as the released GauFuse code does at each refresh epoch."""
        self.centres.zero_()
        self.scores.zero_()
