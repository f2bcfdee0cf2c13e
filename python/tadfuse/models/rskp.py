"""The RSKP backbone (Huang et al., CVPR 2022), batched and masked (docs/models.md, "Architecture").

Per video (``T`` snippets of ``feature_dim`` features):

1. embedding ``x = dropout(relu(W f + b))``, ``(T, D)``;
2. intra-video EM: the learned centres ``μ`` ``(K, D)`` adapted to the video by
   ``em_iterations`` rounds of ``μ ← Ẑx``, ``Z = softmax_k(assign_scale · cos(μ_k, x_t))``;
3. random walk ``x̃ = (1−w)(I − w²ZᵀẐ)⁻¹(w·Zᵀμ + x)`` (Woodbury, no T×T matrix);
4. the same prediction heads on ``x`` (the *main* branch, ``o``) and on ``x̃`` (the *walk*
   branch, ``m``): cosine classifier ``scale_factor · cos(x_t, c)`` over ``C+1`` class centres
   (background last), foreground attention ``sigmoid(scale_factor · cos(x_t, fg))``, and two
   attention-pooled video heads — class-agnostic (pooled by the foreground attention) and
   class-wise (pooled by ``sigmoid`` of each class's snippet score) — each a softmax over
   ``C+1`` of the cosine scores of the pooled, normalised feature;
5. the centres' class probabilities ``softmax(scale_factor · cos(μ_k, c))`` (the memory bank's
   scores).

Parameter names and shapes are the released ones (``mu``, ``ac_center``, ``fg_center``,
``feature_embedding.0.weight``/``.bias``), so a released ``state_dict`` loads unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from tadfuse.config.model import ModelConfig
from tadfuse.errors import DataFormatError, InvalidTypeError
from tadfuse.models.interface import SnippetOutputs, resolve_mask
from tadfuse.models.memory import MemoryBank
from tadfuse.models.propagation import WalkMethod, em_centres, l2_normalize, random_walk

__all__ = ["RSKP", "BranchOutput", "RSKPOutput", "pseudo_label_mode"]


@dataclass
class BranchOutput:
    """One branch's predictions (the released code's 4-element lists, in the same order).

    ``video_agnostic`` ``(B, C+1)``: softmax video scores of the class-agnostic head (released
    ``*_vid_ca_pred``). ``video_classwise`` ``(B, C+1)``: of the class-wise head
    (``*_vid_cw_pred``). ``attention`` ``(B, T)``: sigmoid foreground attention. ``logits``
    ``(B, T, C+1)``: snippet class scores (``scale_factor · cos``). Zero at padded snippets.
    """

    video_agnostic: torch.Tensor
    video_classwise: torch.Tensor
    attention: torch.Tensor
    logits: torch.Tensor


@dataclass
class RSKPOutput:
    """A forward pass: ``main`` (``o``, on the embedding) and ``walk`` (``m``, on the
    random-walk features) branches; ``embedded`` ``(B, T, D)`` (after dropout, zero at padding);
    ``centres`` ``(B, K, D)`` the video-adapted centres; ``centre_scores`` ``(B, K, C+1)`` their
    class probabilities; ``mask`` ``(B, T)``."""

    main: BranchOutput
    walk: BranchOutput
    embedded: torch.Tensor
    centres: torch.Tensor
    centre_scores: torch.Tensor
    mask: torch.Tensor


class RSKP(nn.Module):
    """The RSKP backbone; implements :class:`~tadfuse.models.TCAMModel`.

    ``config`` holds every constant (default: ``ModelConfig.paper()``). ``source`` names the
    checkpoint file the weights came from (for error messages), or is ``None``.
    """

    model_type: ClassVar[str] = "rskp"

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        cfg = ModelConfig.paper() if config is None else config
        if not isinstance(cfg, ModelConfig):
            raise InvalidTypeError(f"RSKP: `config` must be a ModelConfig, got {type(cfg).__name__}")
        self.config = cfg
        self.num_classes = cfg.num_classes
        self.source: str | None = None
        self.mu = nn.Parameter(torch.empty(cfg.num_centres, cfg.embed_dim))
        self.ac_center = nn.Parameter(torch.empty(cfg.num_classes + 1, cfg.embed_dim))
        self.fg_center = nn.Parameter(torch.empty(1, cfg.embed_dim))
        self.feature_embedding = nn.Sequential(nn.Linear(cfg.feature_dim, cfg.embed_dim), nn.ReLU())
        self.dropout = nn.Dropout(cfg.dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The released initialisation: Xavier-uniform centres and weights, zero bias, and the
        foreground centre the negated background class centre."""
        nn.init.xavier_uniform_(self.mu)
        nn.init.xavier_uniform_(self.ac_center)
        with torch.no_grad():
            self.fg_center.copy_(-self.ac_center[-1:])
        linear = self.feature_embedding[0]
        nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)

    # -- checkpoint plumbing --------------------------------------------------------------------

    def config_dict(self) -> dict[str, Any]:
        return self.config.to_dict()

    @classmethod
    def from_config_dict(cls, d: Mapping[str, Any]) -> RSKP:
        return cls(ModelConfig.from_dict(d))

    # -- forward --------------------------------------------------------------------------------

    def _features(self, features: torch.Tensor) -> torch.Tensor:
        if not isinstance(features, torch.Tensor):
            raise InvalidTypeError(f"`features` must be a torch tensor, got {type(features).__name__}")
        where = f" (weights from {self.source!r}, key feature_embedding.0.weight)" if self.source else ""
        if features.dim() != 3 or features.shape[2] != self.config.feature_dim:
            raise DataFormatError(
                f"`features` must have shape (B, T, {self.config.feature_dim}){where}, got {tuple(features.shape)}"
            )
        if not features.dtype.is_floating_point:
            raise InvalidTypeError(f"`features` must be floating point, got {features.dtype}")
        x = features.to(self.mu.dtype)
        if not bool(torch.isfinite(x).all()):
            raise DataFormatError("`features` holds NaN or infinite values")
        return x

    def heads(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> BranchOutput:
        """The prediction heads on ``x`` ``(B, T, D)`` (released ``PredictionModule``)."""
        cfg = self.config
        s = cfg.scale_factor
        norms_x = l2_normalize(x, cfg.eps_norm)
        norms_ac = l2_normalize(self.ac_center, cfg.eps_norm)
        norms_fg = l2_normalize(self.fg_center, cfg.eps_norm)
        logits = torch.einsum("ntd,cd->ntc", [norms_x, norms_ac]) * s
        fg = torch.einsum("ntd,kd->ntk", [norms_x, norms_fg]).squeeze(-1) * s
        attention = torch.sigmoid(fg)
        class_att = torch.sigmoid(logits)
        if mask is not None:
            m = mask.to(x.dtype)
            attention = attention * m
            class_att = class_att * m[..., None]
            logits = logits * m[..., None]
        class_att = class_att / (torch.sum(class_att, dim=1, keepdim=True) + cfg.eps_attention)
        agnostic_att = attention / (torch.sum(attention, dim=1, keepdim=True) + cfg.eps_attention)
        agnostic_feat = torch.einsum("ntd,nt->nd", [x, agnostic_att])
        classwise_feat = torch.einsum("ntd,ntc->ncd", [x, class_att])
        agnostic_scr = torch.einsum("nd,cd->nc", [l2_normalize(agnostic_feat, cfg.eps_norm), norms_ac]) * s
        classwise_scr = torch.einsum("ncd,cd->nc", [l2_normalize(classwise_feat, cfg.eps_norm), norms_ac]) * s
        return BranchOutput(F.softmax(agnostic_scr, -1), F.softmax(classwise_scr, -1), attention, logits)

    def _walk(
        self, x: torch.Tensor, centres: torch.Tensor, mask: torch.Tensor | None, centre_mask: torch.Tensor | None, walk: WalkMethod
    ) -> torch.Tensor:
        cfg = self.config
        return random_walk(
            x, centres, cfg.walk_weight, scale=cfg.assign_scale, eps_norm=cfg.eps_norm, eps_assign=cfg.eps_assign,
            mask=mask, centre_mask=centre_mask, method=walk,
        )  # fmt: skip

    def forward(
        self,
        features: torch.Tensor,
        mask: torch.Tensor | None = None,
        *,
        lengths: torch.Tensor | Sequence[int] | None = None,
        walk: WalkMethod = "woodbury",
    ) -> RSKPOutput:
        """``features`` ``(B, T, feature_dim)``, padded videos described by ``mask`` ``(B, T)``
        or ``lengths`` ``(B,)`` (neither: all real). ``walk="inverse"``/``"solve"`` uses the
        released dense T×T inverse instead of the Woodbury form."""
        cfg = self.config
        x = self._features(features)
        m = resolve_mask(x, mask, lengths)
        h = self.dropout(self.feature_embedding(x))
        if m is not None:
            h = h * m[..., None].to(h.dtype)
        mu = em_centres(
            self.mu, h, iterations=cfg.em_iterations, scale=cfg.assign_scale, eps_norm=cfg.eps_norm,
            eps_assign=cfg.eps_assign, mask=m,
        )  # fmt: skip
        h_walk = self._walk(h, mu, m, None, walk)
        main = self.heads(h, m)
        walked = self.heads(h_walk, m)
        centre_logits = torch.einsum("nkd,cd->nkc", [l2_normalize(mu, cfg.eps_norm), l2_normalize(self.ac_center, cfg.eps_norm)])
        centre_scores = F.softmax(centre_logits * cfg.scale_factor, -1)
        full = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device) if m is None else m
        return RSKPOutput(main, walked, h, mu, centre_scores, full)

    # -- memory bank branch ---------------------------------------------------------------------

    def memory_branch(
        self,
        embedded: torch.Tensor,
        centres: torch.Tensor,
        mask: torch.Tensor | None = None,
        centre_mask: torch.Tensor | None = None,
        *,
        walk: WalkMethod = "woodbury",
    ) -> BranchOutput:
        """The inter-video branch: the random walk of ``embedded`` ``(B, T, D)`` over memory-bank
        ``centres`` ``(B, N, D)`` (``centre_mask`` ``(B, N)``), then the heads."""
        return self.heads(self._walk(embedded, centres.detach(), mask, centre_mask, walk), mask)

    def memory_step(self, output: RSKPOutput, bank: MemoryBank, labels: Any) -> BranchOutput:
        """One training step's memory branch for a batch: reads then writes ``bank`` video by
        video (:meth:`MemoryBank.read_write`) with ``output``'s centres and ``labels`` ``(B, C)``,
        and returns the branch on the centres read."""
        centres, centre_mask = bank.read_write(output.centres, output.centre_scores, labels)
        return self.memory_branch(output.embedded, centres, output.mask, centre_mask)

    # -- plug-in interface ----------------------------------------------------------------------

    def snippet_outputs(
        self, features: torch.Tensor, mask: torch.Tensor | None = None, *, for_labels: bool = False
    ) -> SnippetOutputs:
        """:class:`SnippetOutputs` whose softmax is the released TCAM mix
        ``a·softmax(o) + (1−a)·softmax(m)`` (``a = tcam_o_weight``, or ``label_tcam_o_weight``
        with ``for_labels``), the main branch's attention, and video scores
        ``v·o + (1−v)·m`` of the class-agnostic heads (``v = video_o_weight``)."""
        cfg = self.config
        out = self.forward(features, mask)
        a = cfg.label_tcam_o_weight if for_labels else cfg.tcam_o_weight
        mix = F.softmax(out.main.logits, -1) * a + F.softmax(out.walk.logits, -1) * (1 - a)
        logits = torch.log(mix.clamp_min(torch.finfo(mix.dtype).tiny)) * out.mask[..., None].to(mix.dtype)
        v = cfg.video_o_weight
        scores = out.main.video_agnostic * v + out.walk.video_agnostic * (1 - v)
        return SnippetOutputs(logits, out.main.attention, out.mask, scores)


@contextlib.contextmanager
def pseudo_label_mode(model: nn.Module) -> Iterator[nn.Module]:
    """The mode pseudo labels are computed in: eval, or train (dropout active) when the model's
    ``config.pseudo_label_dropout`` is set (released GauFuse: its distillation copy is never put
    in eval mode). Restores the previous mode; gradients are off inside."""
    config = getattr(model, "config", None)
    dropout = bool(getattr(config, "pseudo_label_dropout", False))
    was_training = model.training
    model.train(dropout)
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)
