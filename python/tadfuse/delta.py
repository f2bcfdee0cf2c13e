"""Δ pseudo labels (docs/algorithms.md, "Δ pseudo labels"): a per-video store of pseudo-label generations, the schedule
that turns them into distillation targets, and the distillation loss.

A *generation* ``G^t`` of a training video is its ``(length, C)`` LinPro label matrix computed at
a refresh epoch ``t`` (C = 21 on THUMOS14: 20 classes + background). The target for a training
epoch is either the latest generation or a scaled difference of the last two, ``ΔG^t = G^t −
G^{t−1}`` (unnormalised, may be negative), depending on the schedule. A video with only one stored
generation has ``G^{t−1} = 0``, so its first Δ target is ``G^1`` itself.

Epochs are the 0-based loop index of the released training loop (``for epoch in range(...)``);
a refresh happens at the *start* of its epoch, before that epoch's first step.

``official`` (the released code, zhou745/GauFuse_WSTAL ``method.py``):
  refreshes at epochs 200, 230, 245, 260, 275, 300; no distillation up to epoch 200 inclusive
  (the code tests ``epoch <= 200``, so the generation made at the start of epoch 200 is first used
  at 201); epochs 201–250: target ``G_latest``; 251–300: ``2·(G^t − G^{t−1})``; from 301 on
  (the code's last branch covers 301–350 and training stops at 349): ``2.15·(G^t − G^{t−1})``.
``paper`` (the paper's text):
  refreshes at epochs 200, 215, 230, 245, 270, 290; target ``ΔG^t = G^t − G^{t−1}`` from the first
  refresh epoch on (inclusive), i.e. ``G^1`` until the second generation exists.

Loss, both schedules (``compute_distloss`` and its caller in the released code)::

    loss = weight(epoch) · [0.8 · softCE(o_logits, target) + 0.2 · softCE(m_logits, target)]
    softCE(z, y) = mean over snippets of  −Σ_c y_c · log_softmax(z)_c
    weight(epoch) = min(10 · 1.035^(epoch − 200), 50)

The released code applies the weight *outside* ``compute_distloss`` (``total_loss += weight ·
loss_dist``) — it multiplies both branch terms — and logs the unweighted value;
:func:`distillation_loss` is that unweighted value and :meth:`DeltaLabelStore.loss` the weighted
one. Targets are not normalised. torch is imported lazily: the store works without it; the loss
functions and :meth:`DeltaLabelStore.state_dict` need it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tadfuse.config import DeltaPhase, DeltaSchedule
from tadfuse.errors import InvalidArgumentError

if TYPE_CHECKING:
    import torch

__all__ = [
    "DeltaLabelStore",
    "DeltaPhase",
    "DeltaSchedule",
    "distillation_loss",
    "soft_cross_entropy",
]


class DeltaLabelStore:
    """Per training video, the last ``keep`` pseudo-label generations, and the targets they give.

    Videos are keyed by any hashable (an int index or a video name). Arrays are stored as
    float64 copies, shape ``(length, C)``; all generations of one video must share a shape.

    Typical loop::

        store = DeltaLabelStore("official")
        for epoch in range(start, end):
            if store.schedule.is_refresh(epoch):
                store.add_generation(epoch, {v: labels_v for v, labels_v in ...})  # LinPro
            for video, ... in loader:
                loss_kd = store.loss(video, epoch, o_logits, m_logits)  # None: no distillation
    """

    def __init__(self, schedule: str | DeltaSchedule = "official", keep: int = 2) -> None:
        self.schedule = DeltaSchedule.named(schedule) if isinstance(schedule, str) else schedule
        if keep < 2:
            raise InvalidArgumentError(f"keep: must be >= 2 (Δ needs two generations), got {keep}")
        self.keep = int(keep)
        self._gens: dict[Hashable, list[tuple[int, np.ndarray]]] = {}

    # -- contents ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._gens)

    def __contains__(self, video: object) -> bool:
        return video in self._gens

    def videos(self) -> list[Hashable]:
        return list(self._gens)

    def generations(self, video: Hashable) -> list[tuple[int, np.ndarray]]:
        """``(epoch, G)`` pairs of ``video``, oldest first (at most ``keep``)."""
        return list(self._gens.get(video, []))

    def add(self, video: Hashable, epoch: int, labels: npt.ArrayLike) -> None:
        """Adds generation ``labels`` (shape ``(length, C)``) of ``video`` made at ``epoch``.

        An ``epoch`` equal to that of the video's latest generation *replaces* that generation
        (e.g. a run resumed from a checkpoint saved after the refresh recomputes it): the
        previous generation is kept, so the Δ target stays ``G^t − G^{t−1}`` instead of
        collapsing to zero. An older ``epoch`` raises ``ValueError``.
        """
        g = np.array(labels, dtype=np.float64, copy=True)
        if g.ndim != 2:
            raise InvalidArgumentError(f"labels: must have shape (length, C), got {g.shape}")
        if not np.all(np.isfinite(g)):
            raise InvalidArgumentError(f"labels: non-finite values for video {video!r}")
        epoch = int(epoch)
        gens = self._gens.get(video, [])
        if gens:
            if gens[-1][1].shape != g.shape:
                raise InvalidArgumentError(
                    f"labels: video {video!r} has shape {g.shape}, its previous generation {gens[-1][1].shape}"
                )
            if epoch < gens[-1][0]:
                raise InvalidArgumentError(f"epoch: {epoch} is older than the latest generation ({gens[-1][0]})")
        gens = self._gens.setdefault(video, [])
        if gens and gens[-1][0] == epoch:
            gens[-1] = (epoch, g)  # same refresh again: replace, do not append
            return
        gens.append((epoch, g))
        del gens[: -self.keep]

    def add_generation(
        self, epoch: int, labels: Mapping[Hashable, npt.ArrayLike] | Iterable[npt.ArrayLike]
    ) -> None:
        """Adds one generation for many videos: a mapping ``video -> labels`` or a sequence
        indexed by video number. Calling it again with the same ``epoch`` replaces that
        generation (see :meth:`add`)."""
        items = labels.items() if isinstance(labels, Mapping) else enumerate(labels)
        for video, g in items:
            self.add(video, epoch, g)

    # -- targets and loss -------------------------------------------------------------------

    def target(self, video: Hashable, epoch: int) -> np.ndarray | None:
        """The distillation target of ``video`` at ``epoch``, shape ``(length, C)`` float64, or
        ``None`` when the schedule has no distillation at ``epoch`` or the video has no
        generation yet."""
        phase = self.schedule.phase(epoch)
        gens = self._gens.get(video)
        if phase is None or not gens:
            return None
        latest = gens[-1][1]
        if not phase.delta:
            return phase.coef * latest
        if len(gens) < 2:
            return phase.coef * latest  # G^{t-1} = 0
        return phase.coef * (latest - gens[-2][1])

    def loss(
        self,
        video: Hashable,
        epoch: int,
        o_logits: torch.Tensor,
        m_logits: torch.Tensor,
    ) -> torch.Tensor | None:
        """``weight(epoch) · distillation_loss(o_logits, m_logits, target)``, or ``None`` when
        :meth:`target` is ``None``. Logits: ``(..., length, C)`` (e.g. ``(1, length, 21)``)."""
        target = self.target(video, epoch)
        if target is None:
            return None
        loss = distillation_loss(o_logits, m_logits, target, o_coef=self.schedule.o_coef)
        return loss * self.schedule.loss_weight(epoch)

    # -- checkpoints ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The store as plain Python values and CPU torch tensors, loadable by
        ``torch.load(..., weights_only=True)``. Needs torch."""
        import torch

        return {
            "schedule": self.schedule.to_dict(),
            "keep": self.keep,
            "videos": list(self._gens),
            "epochs": [[e for e, _ in gens] for gens in self._gens.values()],
            "labels": [[torch.from_numpy(g.copy()) for _, g in gens] for gens in self._gens.values()],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restores a :meth:`state_dict` (tensors or numpy arrays), replacing the contents."""
        self.schedule = DeltaSchedule.from_dict(state["schedule"])
        self.keep = int(state["keep"])
        gens: dict[Hashable, list[tuple[int, np.ndarray]]] = {}
        for video, epochs, labels in zip(state["videos"], state["epochs"], state["labels"], strict=True):
            gens[video] = [
                (int(e), np.array(g.numpy() if hasattr(g, "numpy") else g, dtype=np.float64, copy=True))
                for e, g in zip(epochs, labels, strict=True)
            ]
        self._gens = gens


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``mean over all but the last axis of −Σ_c target_c · log_softmax(logits)_c``.

    ``target`` broadcasts against ``logits`` (``(length, C)`` against ``(B, length, C)``); it is
    not normalised and may be negative. The product is computed in the promoted dtype (float64
    for float64 targets, as in the released code).
    """
    import torch.nn.functional as F

    return -(F.log_softmax(logits, dim=-1) * target).sum(dim=-1).mean()


def distillation_loss(
    o_logits: torch.Tensor,
    m_logits: torch.Tensor,
    target: torch.Tensor | npt.ArrayLike,
    *,
    o_coef: float = 0.8,
) -> torch.Tensor:
    """``o_coef · softCE(o_logits, target) + (1 − o_coef) · softCE(m_logits, target)``, unweighted.

    ``o_logits``, ``m_logits``: snippet logits ``(..., length, C)`` of the main and memory
    branches (CPU or CUDA). ``target``: ``(length, C)`` (numpy or torch), moved to the logits'
    device. Returns a 0-d tensor.
    """
    import torch

    t = torch.as_tensor(target, device=o_logits.device)
    if t.shape[-2:] != o_logits.shape[-2:] or t.shape[-2:] != m_logits.shape[-2:]:
        raise InvalidArgumentError(
            f"target: shape {tuple(t.shape)} does not match the logits' (length, C) "
            f"{tuple(o_logits.shape[-2:])} / {tuple(m_logits.shape[-2:])}"
        )
    return o_coef * soft_cross_entropy(o_logits, t) + (1.0 - o_coef) * soft_cross_entropy(m_logits, t)
