"""Masked building blocks of the RSKP backbone: normalisation, soft assignments to centres, the
intra-video EM and the random-walk propagation (docs/models.md, "Random walk without a T×T matrix").

Shapes: ``B`` videos, ``T`` snippets (padded to the longest), ``K`` centres, ``D`` features.
``mask`` is ``(B, T)`` bool, True on real snippets; ``centre_mask`` is ``(B, K)`` bool, True on
real centres (the memory bank gives videos different numbers of centres). ``None`` means "all
real"; then no masking operation runs at all, which keeps the released operation order exactly.
Every reduction over snippets or centres ignores padding, so a video's values do not depend on
what else is in its batch (beyond float rounding).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from tadfuse.errors import InvalidArgumentError

__all__ = ["WalkMethod", "assignments", "em_centres", "l2_normalize", "random_walk"]

#: ``"woodbury"``: O(T·K·D) through a K×K solve; ``"inverse"`` / ``"solve"``: the released dense
#: T×T inverse (zhou745/GauFuse_WSTAL uses ``torch.inverse``, LeonHLJ/RSKP ``torch.solve``).
WalkMethod = Literal["woodbury", "inverse", "solve"]


def l2_normalize(x: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """``x / (‖x‖₂ + eps)`` over the last axis (a zero row stays zero)."""
    return x / (torch.linalg.vector_norm(x, ord=2, dim=-1, keepdim=True) + eps)


def assignments(
    centres: torch.Tensor,
    x: torch.Tensor,
    *,
    scale: float = 5.0,
    eps_norm: float = 1e-9,
    mask: torch.Tensor | None = None,
    centre_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """``Z[b, k, t] = softmax_k(scale · cos(centres[b, k], x[b, t]))``, shape ``(B, K, T)``.

    Padded snippets get a zero column and padded centres a zero row (their logits are −∞)."""
    logits = torch.einsum("nkd,ntd->nkt", [l2_normalize(centres, eps_norm), l2_normalize(x, eps_norm)]) * scale
    if centre_mask is not None:
        logits = logits.masked_fill(~centre_mask[:, :, None], float("-inf"))
    z = F.softmax(logits, 1)
    if mask is not None:
        z = z * mask[:, None, :].to(z.dtype)
    return z


def _normalise_over_snippets(z: torch.Tensor, eps: float) -> torch.Tensor:
    """``Ẑ = Z / (Σ_t Z + eps)``: each centre's assignment as weights over the video's snippets."""
    return z / (z.sum(dim=-1, keepdim=True) + eps)


def em_centres(
    mu: torch.Tensor,
    x: torch.Tensor,
    *,
    iterations: int = 2,
    scale: float = 5.0,
    eps_norm: float = 1e-9,
    eps_assign: float = 1e-9,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Adapts the learned centres to each video: ``iterations`` rounds of
    ``μ ← Ẑ x`` with ``Z = assignments(μ, x)``. ``mu``: ``(K, D)`` or ``(B, K, D)``; ``x``:
    ``(B, T, D)`` with zeros at padding. Returns ``(B, K, D)``."""
    if mu.dim() == 2:
        mu = mu[None].repeat(x.shape[0], 1, 1)
    for _ in range(iterations):
        z = assignments(mu, x, scale=scale, eps_norm=eps_norm, mask=mask)
        mu = torch.einsum("nkt,ntd->nkd", [_normalise_over_snippets(z, eps_assign), x])
    return mu


def random_walk(
    x: torch.Tensor,
    centres: torch.Tensor,
    w: float = 0.5,
    *,
    scale: float = 5.0,
    eps_norm: float = 1e-9,
    eps_assign: float = 1e-9,
    mask: torch.Tensor | None = None,
    centre_mask: torch.Tensor | None = None,
    method: WalkMethod = "woodbury",
) -> torch.Tensor:
    """Propagates the centres into the snippets: ``x̃ = (1−w)(I − w²A)⁻¹(w·Zᵀμ + x)``.

    ``Z = assignments(centres, x)`` ``(B, K, T)``, ``Ẑ`` its rows normalised over snippets, and
    ``A = ZᵀẐ`` ``(T, T)``, of rank ≤ K. ``"woodbury"`` never forms A: with ``G = ẐZᵀ`` (K×K),
    ``(I − w²ZᵀẐ)⁻¹y = y + w²Zᵀ(I_K − w²G)⁻¹Ẑy``. ``G`` is row-stochastic up to ``eps_assign``,
    so for ``0 ≤ w < 1`` the K×K system is non-singular (condition number ≤ (1+w²)/(1−w²) in
    the ∞-norm). ``"inverse"`` / ``"solve"`` build and invert the T×T matrix as the released code.

    ``x``: ``(B, T, D)``; ``centres``: ``(B, K, D)``. Returns ``(B, T, D)``, zero at padded snippets.
    """
    if x.dim() != 3 or centres.dim() != 3 or centres.shape[0] != x.shape[0] or centres.shape[2] != x.shape[2]:
        raise InvalidArgumentError(
            f"random_walk: `x` (B, T, D) and `centres` (B, K, D) must agree, got {tuple(x.shape)} and {tuple(centres.shape)}"
        )
    if centre_mask is not None and not bool(centre_mask.any(dim=1).all()):
        raise InvalidArgumentError("random_walk: every video needs at least one real centre (`centre_mask`)")
    z = assignments(centres, x, scale=scale, eps_norm=eps_norm, mask=mask, centre_mask=centre_mask)
    z_hat = _normalise_over_snippets(z, eps_assign)
    if method == "woodbury":
        zt = z.transpose(1, 2)
        y = torch.baddbmm(x, zt, centres, alpha=w)  # w·Zᵀμ + x in one T×D allocation
        gram = torch.bmm(z_hat, zt)  # G = Ẑ Zᵀ, (B, K, K)
        system = torch.eye(z.shape[1], dtype=x.dtype, device=x.device) - (w**2) * gram
        q = torch.linalg.solve(system, torch.bmm(z_hat, y))  # (I_K − w²G)⁻¹ Ẑ y, (B, K, D)
        refined = torch.baddbmm(y, zt, q, beta=1 - w, alpha=(1 - w) * w**2)  # (1−w)(y + w²Zᵀq)
    elif method in ("inverse", "solve"):
        y = w * torch.einsum("nkt,nkd->ntd", [z, centres]) + x  # the released operation order
        eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
        affinity = torch.einsum("nkt,nkd->ntd", [z, z_hat])  # A = Zᵀ Ẑ, (B, T, T)
        system = eye - (w**2) * affinity
        inv = torch.inverse(system) if method == "inverse" else torch.linalg.solve(system, eye.expand_as(system))
        refined = (1 - w) * torch.einsum("ntk,nkd->ntd", [inv, y])
    else:
        raise InvalidArgumentError(f"random_walk: `method` must be 'woodbury', 'inverse' or 'solve', got {method!r}")
    if mask is not None:
        refined = refined.masked_fill(~mask[:, :, None], 0.0)
    return refined
