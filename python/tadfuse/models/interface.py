"""The plug-in interface every TCAM model implements, and what is derived from it.

A model takes padded features ``(B, T, D)`` and a mask ``(B, T)`` (True on real snippets, all of
them before the padding) and returns :class:`SnippetOutputs`: snippet logits ``(B, T, C+1)``
(background last) and a foreground attention ``(B, T)`` in [0, 1], optionally its own video
scores. :func:`tcam_from_outputs` turns those into the TCAM and video scores that the
post-processing and the pseudo-label methods consume, the same way for every model
(docs/models.md, "Plug-in interface"). The pseudo-label method is therefore a plug-in on top of
any model: :class:`~tadfuse.models.RSKP` and :class:`~tadfuse.models.BasNetBaseline` both
implement it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from tadfuse.errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "SnippetOutputs",
    "TCAMModel",
    "check_mask",
    "pad_features",
    "predict",
    "resolve_mask",
    "tcam_from_outputs",
]


@dataclass
class SnippetOutputs:
    """What a TCAM model returns for a padded batch.

    ``logits``: ``(B, T, C+1)``, background last; any additive constant per snippet is
    irrelevant (only ``softmax(logits)`` is used). ``attention``: ``(B, T)`` foreground
    attention in [0, 1]. ``mask``: ``(B, T)`` bool. ``video_scores``: ``(B, C+1)`` from the
    model's own video head, or ``None`` to derive them from the TCAM. Values at padded
    snippets are zero.
    """

    logits: torch.Tensor
    attention: torch.Tensor
    mask: torch.Tensor
    video_scores: torch.Tensor | None = None


@runtime_checkable
class TCAMModel(Protocol):
    """A weakly supervised localisation model the pseudo-label methods can plug into."""

    #: Action classes, background excluded (the logits have ``num_classes + 1`` columns).
    num_classes: int

    def snippet_outputs(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> SnippetOutputs:
        """``features`` ``(B, T, D)`` (zeros at padding) and ``mask`` ``(B, T)`` → outputs."""
        ...


def check_mask(mask: torch.Tensor, batch: int, length: int, name: str = "mask") -> torch.Tensor:
    """``mask`` as a ``(batch, length)`` bool tensor whose real snippets (True) precede the
    padding and that has at least one real snippet per video."""
    if not isinstance(mask, torch.Tensor):
        raise InvalidTypeError(f"`{name}` must be a torch tensor, got {type(mask).__name__}")
    if tuple(mask.shape) != (batch, length):
        raise InvalidArgumentError(f"`{name}` must have shape {(batch, length)}, got {tuple(mask.shape)}")
    if mask.dtype != torch.bool:
        raise InvalidTypeError(f"`{name}` must be a bool tensor, got {mask.dtype}")
    if length == 0 or not bool(mask[:, 0].all()):
        raise InvalidArgumentError(f"`{name}`: every video needs at least one snippet")
    if bool((mask[:, 1:] & ~mask[:, :-1]).any()):
        raise InvalidArgumentError(f"`{name}`: real snippets (True) must come before the padding in every row")
    return mask


def resolve_mask(
    features: torch.Tensor, mask: torch.Tensor | None = None, lengths: torch.Tensor | Sequence[int] | None = None
) -> torch.Tensor | None:
    """The checked mask of ``features`` ``(B, T, D)`` from ``mask`` or ``lengths`` (not both);
    ``None`` when neither is given (every snippet real)."""
    if mask is not None and lengths is not None:
        raise InvalidArgumentError("give `mask` or `lengths`, not both")
    batch, length = features.shape[0], features.shape[1]
    if lengths is not None:
        n = torch.as_tensor(lengths, device=features.device)
        if n.dim() != 1 or n.shape[0] != batch or n.dtype.is_floating_point or n.dtype == torch.bool:
            raise InvalidArgumentError(f"`lengths` must be {batch} integers, got {n.tolist()}")
        if bool(((n < 1) | (n > length)).any()):
            raise InvalidArgumentError(f"`lengths` must be in [1, {length}], got {n.tolist()}")
        return torch.arange(length, device=features.device)[None, :] < n[:, None]
    if mask is None:
        if length == 0:
            raise InvalidArgumentError("`features`: every video needs at least one snippet")
        return None
    return check_mask(mask, batch, length).to(features.device)


def pad_features(
    features: Sequence[np.ndarray | torch.Tensor], *, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stacks ``(l_i, D)`` feature arrays into ``(B, max l_i, D)`` with zeros after each video,
    and the ``(B, T)`` mask."""
    if len(features) == 0:
        raise InvalidArgumentError("`features`: need at least one video")
    arrays = [torch.as_tensor(np.asarray(f) if not isinstance(f, torch.Tensor) else f) for f in features]
    dims = {a.shape[1] if a.dim() == 2 else None for a in arrays}
    if None in dims or len(dims) != 1:
        shapes = [tuple(a.shape) for a in arrays]
        raise InvalidArgumentError(f"`features`: need (length, D) arrays of one D, got shapes {shapes}")
    lengths = torch.tensor([a.shape[0] for a in arrays])
    if bool((lengths < 1).any()):
        i = int(torch.nonzero(lengths < 1)[0])
        raise InvalidArgumentError(f"`features`: video {i} has no snippets")
    out = torch.zeros(len(arrays), int(lengths.max()), dims.pop(), dtype=dtype, device=device)
    for i, a in enumerate(arrays):
        out[i, : a.shape[0]] = a.to(device=device, dtype=dtype)
    mask = torch.arange(out.shape[1], device=device)[None, :] < lengths.to(device)[:, None]
    return out, mask


def tcam_from_outputs(outputs: SnippetOutputs) -> tuple[torch.Tensor, torch.Tensor]:
    """``(tcam (B, T, C+1), video_scores (B, C+1))`` from a model's outputs.

    ``tcam = softmax(logits) · attention`` (the attention multiplies every column, background
    included, as in the released test code), zero at padding. ``video_scores`` are the model's
    own when it gives them, else the attention-weighted mean of ``softmax(logits)`` over the real
    snippets: ``Σ_t a_t p_t / (Σ_t a_t + 1e-5)``.
    """
    m = outputs.mask.to(outputs.logits.dtype)
    probs = torch.softmax(outputs.logits, dim=-1)
    att = outputs.attention * m
    tcam = probs * att[..., None]
    if outputs.video_scores is not None:
        return tcam, outputs.video_scores
    scores = tcam.sum(dim=1) / (att.sum(dim=1, keepdim=True) + 1e-5)
    return tcam, scores


@torch.no_grad()
def predict(
    model: TCAMModel,
    features: Sequence[np.ndarray | torch.Tensor],
    *,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Test-time TCAMs of many videos, ``batch_size`` per forward, in eval mode: one
    ``(tcam (l_i, C+1), video_scores (C+1,))`` float32 pair per video, in input order."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidArgumentError(f"`batch_size` must be a positive integer, got {batch_size!r}")
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()  # type: ignore[attr-defined]
    try:
        out: list[tuple[np.ndarray, np.ndarray]] = []
        for i in range(0, len(features), batch_size):
            x, mask = pad_features(features[i : i + batch_size], device=device)
            tcam, scores = tcam_from_outputs(model.snippet_outputs(x, mask))
            lengths = mask.sum(dim=1).tolist()
            for j, n in enumerate(lengths):
                out.append((tcam[j, :n].cpu().numpy(), scores[j].cpu().numpy()))
        return out
    finally:
        if was_training and hasattr(model, "train"):
            model.train()  # type: ignore[attr-defined]
