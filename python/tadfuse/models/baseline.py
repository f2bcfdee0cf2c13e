"""A second, simpler TCAM model: a BaS-Net-like background-suppression baseline (after Lee et al.,
AAAI 2020), so the pseudo-label methods can be tried on something other than RSKP
(docs/models.md, "Plug-in interface").

Two branches share one snippet classifier. The *base* branch classifies every snippet; a
class-agnostic *filtering* module predicts a foreground attention ``a_t ∈ (0, 1)`` and the
*suppression* branch classifies the attention-weighted features ``a_t · f_t``. Video scores are
the softmax over ``C+1`` of each class's top-k mean snippet score (``k = max(1, ⌊l/r⌋)``). The
base branch is trained towards "classes + background", the suppression branch towards "classes,
no background", which pushes ``a_t`` down on background snippets. The suppression branch and the
attention are what :meth:`BasNetBaseline.snippet_outputs` returns.

This is a restatement from the paper's description, not a port of its code: the layer sizes and
constants below are the usual ones, not verified against a release.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from tadfuse.errors import ConfigError, DataFormatError, InvalidArgumentError, InvalidTypeError
from tadfuse.models.interface import SnippetOutputs, resolve_mask

__all__ = ["BasNetBaseline", "BasNetConfig", "BasNetOutput", "masked_topk_mean"]


@dataclass(frozen=True)
class BasNetConfig:
    """Constants of :class:`BasNetBaseline`."""

    feature_dim: int = 2048
    num_classes: int = 20
    #: Width of the temporal-conv embedding (kernel 3) shared by both branches.
    hidden_dim: int = 2048
    #: Width of the filtering module's hidden layer.
    filter_dim: int = 512
    dropout: float = 0.7
    #: Top-k pooling ratio r: ``k = max(1, ⌊l / r⌋)``.
    topk_ratio: int = 8
    #: Weight of the L1 norm of the attention in :meth:`BasNetBaseline.loss`.
    attention_l1: float = 1e-4

    def __post_init__(self) -> None:
        for name in ("feature_dim", "num_classes", "hidden_dim", "filter_dim", "topk_ratio"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"BasNetConfig: `{name}` must be a positive integer, got {v!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"BasNetConfig: `dropout` must be in [0, 1), got {self.dropout!r}")
        a = self.attention_l1
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not 0.0 <= a < float("inf"):
            raise ConfigError(f"BasNetConfig: `attention_l1` must be a finite number >= 0, got {a!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BasNetConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in d if k not in known)
        if unknown:
            raise ConfigError(f"BasNetConfig: unknown setting(s) {unknown}")
        return cls(**d)


@dataclass
class BasNetOutput:
    """``base_logits`` / ``supp_logits`` ``(B, T, C+1)``, ``attention`` ``(B, T)``,
    ``base_scores`` / ``supp_scores`` ``(B, C+1)`` (softmax of the top-k means), ``mask``
    ``(B, T)``. Zero at padded snippets."""

    base_logits: torch.Tensor
    supp_logits: torch.Tensor
    attention: torch.Tensor
    base_scores: torch.Tensor
    supp_scores: torch.Tensor
    mask: torch.Tensor


def masked_topk_mean(values: torch.Tensor, mask: torch.Tensor, ratio: int) -> torch.Tensor:
    """Per video and column, the mean of the ``max(1, ⌊l/ratio⌋)`` largest of ``values``
    ``(B, T, C)`` over its ``l`` real snippets. Returns ``(B, C)``."""
    lengths = mask.sum(dim=1)
    k = torch.clamp(lengths // ratio, min=1)
    top = torch.topk(values.masked_fill(~mask[..., None], float("-inf")), int(k.max()), dim=1).values
    keep = torch.arange(top.shape[1], device=values.device)[None, :, None] < k[:, None, None]
    return top.masked_fill(~keep, 0.0).sum(dim=1) / k[:, None].to(values.dtype)


class BasNetBaseline(nn.Module):
    """The BaS-Net-like baseline; implements :class:`~tadfuse.models.TCAMModel`."""

    model_type: ClassVar[str] = "basnet"

    def __init__(self, config: BasNetConfig | None = None) -> None:
        super().__init__()
        cfg = BasNetConfig() if config is None else config
        if not isinstance(cfg, BasNetConfig):
            raise InvalidTypeError(f"BasNetBaseline: `config` must be a BasNetConfig, got {type(cfg).__name__}")
        self.config = cfg
        self.num_classes = cfg.num_classes
        self.embedding = nn.Sequential(nn.Conv1d(cfg.feature_dim, cfg.hidden_dim, 3, padding=1), nn.LeakyReLU(0.2))
        self.classifier = nn.Sequential(nn.Dropout(cfg.dropout), nn.Conv1d(cfg.hidden_dim, cfg.num_classes + 1, 1))
        self.filter = nn.Sequential(
            nn.Conv1d(cfg.feature_dim, cfg.filter_dim, 1), nn.LeakyReLU(0.2), nn.Conv1d(cfg.filter_dim, 1, 1), nn.Sigmoid()
        )

    def config_dict(self) -> dict[str, Any]:
        return self.config.to_dict()

    @classmethod
    def from_config_dict(cls, d: Mapping[str, Any]) -> BasNetBaseline:
        return cls(BasNetConfig.from_dict(d))

    def _classify(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """``(B, T, D)`` → ``(B, T, C+1)``. Zeroing the padding before the kernel-3 convolution
        makes the last real snippet see the same zero neighbour as an unpadded video."""
        h = self.embedding((x * m[..., None]).transpose(1, 2))
        return self.classifier(h).transpose(1, 2) * m[..., None]

    def forward(
        self, features: torch.Tensor, mask: torch.Tensor | None = None, *, lengths: torch.Tensor | Sequence[int] | None = None
    ) -> BasNetOutput:
        """``features`` ``(B, T, feature_dim)``; padding given by ``mask`` or ``lengths``."""
        if not isinstance(features, torch.Tensor):
            raise InvalidTypeError(f"`features` must be a torch tensor, got {type(features).__name__}")
        if features.dim() != 3 or features.shape[2] != self.config.feature_dim:
            raise DataFormatError(f"`features` must have shape (B, T, {self.config.feature_dim}), got {tuple(features.shape)}")
        x = features.to(self.classifier[1].weight.dtype)
        if not bool(torch.isfinite(x).all()):
            raise DataFormatError("`features` holds NaN or infinite values")
        m = resolve_mask(x, mask, lengths)
        if m is None:
            m = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        mf = m.to(x.dtype)
        attention = self.filter((x * mf[..., None]).transpose(1, 2)).squeeze(1) * mf
        base = self._classify(x, mf)
        supp = self._classify(x * attention[..., None], mf)
        r = self.config.topk_ratio
        base_scores = F.softmax(masked_topk_mean(base, m, r), dim=-1)
        supp_scores = F.softmax(masked_topk_mean(supp, m, r), dim=-1)
        return BasNetOutput(base, supp, attention, base_scores, supp_scores, m)

    def snippet_outputs(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> SnippetOutputs:
        """The suppression branch's logits and scores, and the filtering attention."""
        out = self.forward(features, mask)
        return SnippetOutputs(out.supp_logits, out.attention, out.mask, out.supp_scores)

    def loss(self, output: BasNetOutput, labels: torch.Tensor) -> torch.Tensor:
        """``BCE(base_scores, [y, 1]) + BCE(supp_scores, [y, 0]) + attention_l1 · mean |a|``:
        targets normalised to sum 1, ``labels`` ``(B, C)`` multi-hot, the L1 mean over the real
        snippets."""
        y = torch.as_tensor(labels, dtype=output.base_scores.dtype, device=output.base_scores.device)
        if tuple(y.shape) != (output.base_scores.shape[0], self.num_classes):
            raise InvalidArgumentError(
                f"`labels` must have shape {(output.base_scores.shape[0], self.num_classes)}, got {tuple(y.shape)}"
            )
        ones, zeros = torch.ones_like(y[:, :1]), torch.zeros_like(y[:, :1])
        base_t = torch.cat([y, ones], dim=1)
        supp_t = torch.cat([y, zeros], dim=1)
        base_t = base_t / base_t.sum(dim=1, keepdim=True)
        supp_t = supp_t / supp_t.sum(dim=1, keepdim=True).clamp_min(1e-8)
        eps = 1e-7
        bce = F.binary_cross_entropy(output.base_scores.clamp(eps, 1 - eps), base_t) + F.binary_cross_entropy(
            output.supp_scores.clamp(eps, 1 - eps), supp_t
        )
        mf = output.mask.to(output.attention.dtype)
        l1 = (output.attention.abs() * mf).sum() / mf.sum()
        return bce + self.config.attention_l1 * l1
