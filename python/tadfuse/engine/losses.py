"""The training losses of the RSKP backbone and of the pseudo-label method (torch).

Every loss takes a padded batch — ``B`` videos, ``T`` snippets (the longest), ``K`` = C + 1
columns (the classes, background last) — plus optional ``lengths`` ``(B,)`` or a ``mask``
``(B, T)`` (True = a real snippet; none: every snippet is real), and returns the **sum** of the
per-video losses (``reduction="sum"``, what the released loop optimises: one ``backward()`` per
video, gradients accumulated over a step) or the ``(B,)`` per-video values (``"none"``). Padded
entries may hold any value: they change neither the value nor the gradient of the real ones.

Per video (GauFuse model/losses.py, method.py:273-305; identical in RSKP model/losses.py,
processor.py:135-154):

* :func:`normalized_cross_entropy` — ``−Σ_k ŷ_k log p_k`` with ``ŷ = y / (Σ y + 1e-8)``, ``p``
  the video-level softmax probabilities the model outputs;
* :func:`foreground_nce` — that with ``y = [labels, 0]`` (the class-agnostic attention-pooled
  head: the attended snippets are the actions); :func:`background_nce` — with ``y = [labels,
  1]`` (the class-wise attention-pooled head, which also pools background);
* :func:`attention_loss` — mean of the ``k`` lowest minus mean of the ``k`` highest foreground
  attentions, ``k = max(l // 8, 1)``;
* :func:`self_label_ce` — ``mean_t −Σ_k softmax(z'/τ)_k log_softmax(z/τ)_k``, τ = 0.2, target
  ``z'`` detached;
* :func:`distillation` — the Δ-label soft CE of :func:`tadfuse.delta.distillation_loss`, batched.

:func:`training_losses` composes them as the released loop does. docs/engine.md,
"Training: losses, schedules and the refresh".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tadfuse.errors import InvalidArgumentError, InvalidTypeError, MissingExtraError

try:
    import torch
    import torch.nn.functional as F
except ImportError as exc:  # pragma: no cover - exercised without the train extra only
    raise MissingExtraError("tadfuse.engine.losses needs torch: pip install 'tadfuse[train]'") from exc

from tadfuse.config.train import TrainConfig
from tadfuse.engine.schedule import LossWeights
from tadfuse.models.rskp import BranchOutput

#: The attributes a prediction head's output needs (those of :class:`tadfuse.models.BranchOutput`,
#: in the released order ``[ca_pred, cw_pred, att, frm_scr]``, RSKP model/main_branch.py:108).
BRANCH_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(BranchOutput))

__all__ = [
    "BRANCH_FIELDS",
    "NCE_EPS",
    "BranchOutput",
    "attention_loss",
    "background_nce",
    "distillation",
    "foreground_nce",
    "normalized_cross_entropy",
    "self_label_ce",
    "self_label_target",
    "training_losses",
    "valid_mask",
]

#: Added to the label sum before normalising (GauFuse / RSKP model/losses.py:13).
NCE_EPS = 1e-8


def _tensor(name: str, x: Any, ndim: int) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise InvalidTypeError(f"`{name}` must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != ndim:
        raise InvalidArgumentError(f"`{name}` must be {ndim}-D, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise InvalidTypeError(f"`{name}` must be a floating-point tensor, got dtype {x.dtype}")
    return x


def valid_mask(batch: int, length: int, lengths: Any = None, mask: Any = None,
               device: torch.device | str | None = None) -> torch.Tensor:
    """The ``(batch, length)`` bool mask of real snippets from ``lengths`` or ``mask`` (at most
    one; neither: all True). Every video must have at least one real snippet."""
    if lengths is not None and mask is not None:
        raise InvalidArgumentError("give `lengths` or `mask`, not both")
    if mask is not None:
        m = torch.as_tensor(mask, device=device)
        if m.dtype != torch.bool:
            raise InvalidTypeError(f"`mask` must be a bool tensor, got dtype {m.dtype}")
        if tuple(m.shape) != (batch, length):
            raise InvalidArgumentError(f"`mask` must have shape {(batch, length)}, got {tuple(m.shape)}")
    elif lengths is not None:
        lens = torch.as_tensor(lengths, device=device)
        if lens.dtype.is_floating_point or lens.dtype == torch.bool or lens.is_complex():
            raise InvalidTypeError(f"`lengths` must hold integers, got dtype {lens.dtype}")
        if tuple(lens.shape) != (batch,):
            raise InvalidArgumentError(f"`lengths` must have shape {(batch,)}, got {tuple(lens.shape)}")
        if batch and (int(lens.min()) < 1 or int(lens.max()) > length):
            raise InvalidArgumentError(f"`lengths` must be in [1, {length}] (the padded length), got "
                                       f"{lens.tolist()}")
        m = torch.arange(length, device=lens.device)[None, :] < lens[:, None]
    else:
        return torch.ones(batch, length, dtype=torch.bool, device=device)
    empty = ~m.any(dim=1)
    if bool(empty.any()):
        raise InvalidArgumentError(f"`mask`: video {int(torch.nonzero(empty)[0])} has no real snippet")
    return m


def _reduce(per_video: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "sum":
        return per_video.sum()
    if reduction == "none":
        return per_video
    raise InvalidArgumentError(f"`reduction` must be 'sum' or 'none', got {reduction!r}")


def normalized_cross_entropy(probs: torch.Tensor, target: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """``−Σ_k ŷ_k · log p_k`` per video, ``ŷ = target / (Σ_k target_k + 1e-8)``.

    Args:
        probs: ``(B, K)`` video-level probabilities (> 0 where ``target`` is; a zero probability
            under a zero target contributes 0, not NaN).
        target: ``(B, K)`` non-negative weights, e.g. multi-hot labels.
    """
    probs = _tensor("probs", probs, 2)
    target = _tensor("target", target, 2)
    if target.shape != probs.shape:
        raise InvalidArgumentError(f"`target` must have the shape of `probs` {tuple(probs.shape)}, "
                                   f"got {tuple(target.shape)}")
    norm = target / (target.sum(dim=1, keepdim=True) + NCE_EPS)
    return _reduce(-torch.special.xlogy(norm, probs).sum(dim=1), reduction)


def _with_background(name: str, probs: torch.Tensor, labels: torch.Tensor, value: float) -> torch.Tensor:
    probs = _tensor(name, probs, 2)
    labels = _tensor("labels", labels, 2)
    if labels.shape[0] != probs.shape[0] or labels.shape[1] + 1 != probs.shape[1]:
        raise InvalidArgumentError(f"`labels` must have shape (B, K - 1) = {(probs.shape[0], probs.shape[1] - 1)} "
                                   f"for `{name}` of shape {tuple(probs.shape)}, got {tuple(labels.shape)}")
    return torch.cat([labels, torch.full_like(labels[:, :1], value)], dim=1)


def foreground_nce(probs: torch.Tensor, labels: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """:func:`normalized_cross_entropy` of ``probs`` ``(B, C + 1)`` against ``[labels, 0]``:
    the action classes only. ``labels``: ``(B, C)`` multi-hot video labels."""
    target = _with_background("probs", probs, labels, 0.0)
    return normalized_cross_entropy(probs, target, reduction)


def background_nce(probs: torch.Tensor, labels: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """:func:`normalized_cross_entropy` of ``probs`` ``(B, C + 1)`` against ``[labels, 1]``:
    the action classes and the background column."""
    target = _with_background("probs", probs, labels, 1.0)
    return normalized_cross_entropy(probs, target, reduction)


def attention_loss(attention: torch.Tensor, lengths: Any = None, mask: Any = None, *, divisor: int = 8,
                   reduction: str = "sum") -> torch.Tensor:
    """Mean of the ``k`` lowest minus mean of the ``k`` highest attentions of each video,
    ``k = max(l // divisor, 1)`` with ``l`` its number of real snippets (in ``[−1, 1]`` for
    attentions in ``[0, 1]``; ties do not change the value).

    Args:
        attention: ``(B, T)`` foreground attention.
    """
    att = _tensor("attention", attention, 2)
    if isinstance(divisor, bool) or not isinstance(divisor, int) or divisor < 1:
        raise InvalidArgumentError(f"`divisor` must be an integer >= 1, got {divisor!r}")
    m = valid_mask(att.shape[0], att.shape[1], lengths, mask, att.device)
    k = torch.clamp(m.sum(dim=1) // divisor, min=1)
    take = torch.arange(att.shape[1], device=att.device)[None, :] < k[:, None]
    inf = torch.tensor(float("inf"), dtype=att.dtype, device=att.device)
    zero = torch.zeros((), dtype=att.dtype, device=att.device)
    high = torch.sort(torch.where(m, att, -inf), dim=1, descending=True).values
    low = torch.sort(torch.where(m, att, inf), dim=1).values
    kf = k.to(att.dtype)
    top = torch.where(take, high, zero).sum(dim=1) / kf
    bottom = torch.where(take, low, zero).sum(dim=1) / kf
    return _reduce(bottom - top, reduction)


def _logits_pair(name_a: str, a: Any, name_b: str, b: Any) -> tuple[torch.Tensor, torch.Tensor]:
    a = _tensor(name_a, a, 3)
    b = _tensor(name_b, b, 3)
    if a.shape != b.shape:
        raise InvalidArgumentError(f"`{name_b}` must have the shape of `{name_a}` {tuple(a.shape)}, got {tuple(b.shape)}")
    return a, b


def _snippet_mean(per_snippet: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` → ``(B,)`` mean over the real snippets (padded entries are never read)."""
    zero = torch.zeros((), dtype=per_snippet.dtype, device=per_snippet.device)
    return torch.where(m, per_snippet, zero).sum(dim=1) / m.sum(dim=1).to(per_snippet.dtype)


def self_label_ce(logits: torch.Tensor, target_logits: torch.Tensor, lengths: Any = None, mask: Any = None, *,
                  temperature: float = 0.2, reduction: str = "sum") -> torch.Tensor:
    """``mean_t −Σ_k softmax(target_logits/τ)_k · log_softmax(logits/τ)_k`` per video; the target
    is detached (no gradient through it).

    Args:
        logits: ``(B, T, K)`` the main branch's snippet logits.
        target_logits: ``(B, T, K)`` the target's logits (:func:`self_label_target`).
        temperature: τ > 0.
    """
    logits, target_logits = _logits_pair("logits", logits, "target_logits", target_logits)
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not temperature > 0:
        raise InvalidArgumentError(f"`temperature` must be > 0, got {temperature!r}")
    m = valid_mask(logits.shape[0], logits.shape[1], lengths, mask, logits.device)
    zero = torch.zeros((), dtype=logits.dtype, device=logits.device)
    # Padded rows are replaced before the softmaxes: garbage there cannot reach the gradient.
    z = torch.where(m[..., None], logits, zero)
    target = F.softmax(torch.where(m[..., None], target_logits.detach(), zero) / temperature, dim=-1)
    per_snippet = -(target * F.log_softmax(z / temperature, dim=-1)).sum(dim=-1)
    return _reduce(_snippet_mean(per_snippet, m), reduction)


def self_label_target(propagated_logits: torch.Tensor, memory_logits: torch.Tensor | None = None,
                      memory_coef: float = 0.2) -> torch.Tensor:
    """The self pseudo-label target logits: the intra-video propagated branch's logits, or after
    the memory warm-up ``memory_coef · memory + (1 − memory_coef) · propagated`` (logits, not
    probabilities, are mixed; GauFuse method.py:296)."""
    if memory_logits is None:
        return propagated_logits
    propagated_logits, memory_logits = _logits_pair("propagated_logits", propagated_logits, "memory_logits",
                                                    memory_logits)
    return memory_logits * memory_coef + propagated_logits * (1 - memory_coef)


def _targets_tensor(targets: Any, like: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``targets`` as a padded ``(B, T, K)`` tensor on ``like``'s device and the mask of the
    videos that have one (a sequence may hold None: that video has no target)."""
    b, t, k = like.shape
    if isinstance(targets, torch.Tensor):
        if tuple(targets.shape) != (b, t, k):
            raise InvalidArgumentError(f"`targets` must have shape {(b, t, k)}, got {tuple(targets.shape)}")
        return targets.to(like.device), torch.ones(b, dtype=torch.bool, device=like.device)
    if not isinstance(targets, Sequence) or isinstance(targets, (str, bytes)) or len(targets) != b:
        raise InvalidArgumentError(f"`targets` must be a (B, T, K) tensor or a sequence of {b} (l, K) arrays "
                                   f"(None: no target)")
    lens = m.sum(dim=1).tolist()
    rows, present = [], []
    for i, g in enumerate(targets):
        if g is None:
            rows.append(None)
            present.append(False)
            continue
        g = torch.as_tensor(g if isinstance(g, torch.Tensor) else np.asarray(g), device=like.device)
        if not (g.is_floating_point() and bool(torch.isfinite(g).all())):
            raise InvalidArgumentError(f"`targets[{i}]` must hold finite floating-point values")
        if g.ndim != 2 or g.shape[0] != lens[i] or g.shape[1] != k:
            raise InvalidArgumentError(f"`targets[{i}]` must have shape {(lens[i], k)} (the video's length, K), "
                                       f"got {tuple(g.shape)}")
        rows.append(g)
        present.append(True)
    dtypes = [g.dtype for g in rows if g is not None]
    dtype = torch.promote_types(like.dtype, dtypes[0]) if dtypes else like.dtype
    for d in dtypes[1:]:
        dtype = torch.promote_types(dtype, d)
    out = torch.zeros(b, t, k, dtype=dtype, device=like.device)
    for i, g in enumerate(rows):
        if g is not None:
            out[i][m[i]] = g.to(dtype)
    return out, torch.tensor(present, dtype=torch.bool, device=like.device)


def distillation(original_logits: torch.Tensor, propagated_logits: torch.Tensor, targets: Any, lengths: Any = None,
                 mask: Any = None, *, o_coef: float = 0.8, reduction: str = "sum") -> torch.Tensor:
    """The unweighted Δ-label distillation loss of each video (as
    :func:`tadfuse.delta.distillation_loss`):
    ``o_coef · mean_t softCE(o, G) + (1 − o_coef) · mean_t softCE(m, G)``,
    ``softCE(z, G) = −Σ_k G_k log_softmax(z)_k``; targets are not normalised and may be negative.

    Args:
        original_logits, propagated_logits: ``(B, T, K)`` snippet logits of the two branches.
        targets: ``(B, T, K)`` (padded rows ignored), or a sequence of ``B`` ``(l_b, K)``
            arrays/tensors, each the length of its video, or None (that video contributes 0).
            Computed in the promoted dtype (float64 for float64 targets, as released).
    """
    o, mlog = _logits_pair("original_logits", original_logits, "propagated_logits", propagated_logits)
    m = valid_mask(o.shape[0], o.shape[1], lengths, mask, o.device)
    g, present = _targets_tensor(targets, o, m)
    zero = torch.zeros((), dtype=o.dtype, device=o.device)
    gz = torch.where(m[..., None], g, torch.zeros((), dtype=g.dtype, device=g.device))

    def soft_ce(z: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(torch.where(m[..., None], z, zero), dim=-1)
        return _snippet_mean(-(logp * gz).sum(dim=-1), m)

    per_video = o_coef * soft_ce(o) + (1.0 - o_coef) * soft_ce(mlog)
    per_video = torch.where(present, per_video, torch.zeros((), dtype=per_video.dtype, device=o.device))
    return _reduce(per_video, reduction)


def training_losses(
    original: BranchOutput,
    propagated: BranchOutput,
    labels: torch.Tensor,
    weights: LossWeights,
    *,
    memory: BranchOutput | None = None,
    lengths: Any = None,
    mask: Any = None,
    distillation_targets: Any = None,
    distillation_o_coef: float = 0.8,
    train: TrainConfig | None = None,
) -> dict[str, torch.Tensor]:
    """The loss terms of a batch, summed over its videos, composed as the released loop does
    (GauFuse method.py:264-305):

    * ``foreground`` = fgNCE(o) + fgNCE(m) [+ ``memory_coef`` · fgNCE(r)], on ``video_agnostic``;
    * ``background`` = bgNCE(o) + bgNCE(m) [+ ``memory_coef`` · bgNCE(r)], on ``video_classwise``;
    * ``attention`` = :func:`attention_loss` of the main branch's attention only;
    * ``self_label`` = :func:`self_label_ce` of o's logits against m's [mixed with r's];
    * ``distillation`` = :func:`distillation` of o's and m's logits (0 without targets);
    * ``total`` = ``Σ weights.<term> · term``.

    Args:
        original: ``o``, the head on the embedded features.
        propagated: ``m``, the head on the intra-video propagated features.
        labels: ``(B, C)`` multi-hot video labels.
        weights: this epoch's weights (:func:`tadfuse.engine.schedule.loss_weights`).
        memory: ``r``, the head on the memory-bank propagated features (after the warm-up,
            :func:`tadfuse.engine.schedule.memory_active`), or None.
        lengths, mask: the real snippets (module docstring).
        distillation_targets: per-video Δ targets (see :func:`distillation`); required when
            ``weights.distillation > 0``.
        distillation_o_coef: the main branch's share (``delta.o_coef``).
        train: the constants (``memory_coef``, ``memory_target_coef``, ``self_label_temperature``,
            ``attention_divisor``); default ``TrainConfig.official()``.

    Returns:
        The five terms unweighted (what the released loop logs) and ``total`` (what it
        back-propagates), each a 0-d tensor.
    """
    cfg = TrainConfig.official() if train is None else train
    if not isinstance(weights, LossWeights):
        raise InvalidTypeError(f"`weights` must be a LossWeights, got {type(weights).__name__}")
    heads = {"original": original, "propagated": propagated, **({"memory": memory} if memory is not None else {})}
    for name, head in heads.items():
        for field in BRANCH_FIELDS:
            if not hasattr(head, field):
                raise InvalidTypeError(f"`{name}` must have the attributes {BRANCH_FIELDS}, lacks {field!r}")
    o, mb, r = original, propagated, memory
    fore = foreground_nce(o.video_agnostic, labels) + foreground_nce(mb.video_agnostic, labels)
    back = background_nce(o.video_classwise, labels) + background_nce(mb.video_classwise, labels)
    if r is not None:
        fore = fore + cfg.memory_coef * foreground_nce(r.video_agnostic, labels)
        back = back + cfg.memory_coef * background_nce(r.video_classwise, labels)
    att = attention_loss(o.attention, lengths, mask, divisor=cfg.attention_divisor)
    target = self_label_target(mb.logits, None if r is None else r.logits, cfg.memory_target_coef)
    spl = self_label_ce(o.logits, target, lengths, mask, temperature=cfg.self_label_temperature)
    if distillation_targets is None:
        if weights.distillation > 0:
            raise InvalidArgumentError("`distillation_targets` are required when `weights.distillation` > 0")
        kd = torch.zeros((), dtype=o.logits.dtype, device=o.logits.device)
    else:
        kd = distillation(o.logits, mb.logits, distillation_targets, lengths, mask, o_coef=distillation_o_coef)
    terms = {"foreground": fore, "background": back, "attention": att, "self_label": spl, "distillation": kd}
    w: Mapping[str, float] = weights.as_dict()
    total = sum((w[name] * value for name, value in terms.items() if w[name] != 0.0),
                torch.zeros((), dtype=o.logits.dtype, device=o.logits.device))
    return {**terms, "total": total}
