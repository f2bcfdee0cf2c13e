"""Released checkpoints and the released test path (docs/models.md, "Released checkpoints").

Both zhou745/GauFuse_WSTAL and LeonHLJ/RSKP save ``torch.save(WSTAL.state_dict(), '<epoch>.pkl')``
(GauFuse ``method.py``; RSKP ``processor.py``). The ``WSTAL`` module of either repository
(``model/main_branch.py``) has exactly five tensors — the dropout layers, the sigmoid and
GauFuse's ``noise_centers`` (a plain attribute) hold none:

================================  ===========================  =====================
key                               shape                        what
================================  ===========================  =====================
``mu``                            ``(K, D)``                   learned centres
``ac_center``                     ``(C+1, D)``                 class centres, bg last
``fg_center``                     ``(1, D)``                   foreground centre
``feature_embedding.0.weight``    ``(D, D_in)``                embedding weight
``feature_embedding.0.bias``      ``(D,)``                     embedding bias
================================  ===========================  =====================

The test path (GauFuse ``evaluation/eval.py::ss_eval``, RSKP ``evaluation/eval.py::ss_eval``),
one video per forward with the model in eval mode::

    tcam  = (a · softmax(o_logits) + (1 − a) · softmax(m_logits)) · o_attention[:, None]
    video = 0.6 · o_video_agnostic + 0.4 · m_video_agnostic

with ``a = 0.85`` (GauFuse, ``args.frm_coef``) or ``0.6`` (RSKP, a literal). The attention is the
main branch's and multiplies every column, background included.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tadfuse.config.model import ModelConfig
from tadfuse.errors import DataFormatError, InvalidArgumentError, InvalidTypeError
from tadfuse.models._io import load_plain
from tadfuse.models.propagation import WalkMethod
from tadfuse.models.rskp import RSKP

__all__ = ["RELEASED_KEYS", "load_released_checkpoint", "read_released_state_dict", "released_test_outputs"]

#: The keys of a released ``WSTAL.state_dict()``, in the order the module registers them.
RELEASED_KEYS: tuple[str, ...] = (
    "mu",
    "ac_center",
    "fg_center",
    "feature_embedding.0.weight",
    "feature_embedding.0.bias",
)


def read_released_state_dict(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """The five tensors of a released checkpoint and the dimensions they imply:
    ``{"feature_dim", "embed_dim", "num_classes", "num_centres"}``. Anything else — another
    key set, a non-tensor, a wrong rank, sizes that disagree — raises ``DataFormatError``
    naming the file and the key."""
    p = os.fspath(path)
    state = load_plain(p, "released checkpoint")
    if not isinstance(state, dict):
        raise DataFormatError(f"released checkpoint {p!r}: expected a state_dict (a dict of tensors), got {type(state).__name__}")
    if "format" in state and "format_version" in state:
        raise DataFormatError(f"released checkpoint {p!r}: this is a tadfuse checkpoint; use load_checkpoint")
    missing = [k for k in RELEASED_KEYS if k not in state]
    extra = sorted(str(k) for k in state if k not in RELEASED_KEYS)
    if missing or extra:
        hint = (
            " (saved from nn.DataParallel? strip the 'module.' prefix)" if any(str(k).startswith("module.") for k in state) else ""
        )
        raise DataFormatError(
            f"released checkpoint {p!r}: expected exactly the keys {list(RELEASED_KEYS)}; "
            f"missing {missing}, unexpected {extra}{hint}"
        )
    for k in RELEASED_KEYS:
        v = state[k]
        if not isinstance(v, torch.Tensor):
            raise DataFormatError(f"released checkpoint {p!r}: key {k!r} is a {type(v).__name__}, not a tensor")
        if not v.dtype.is_floating_point:
            raise DataFormatError(f"released checkpoint {p!r}: key {k!r} has dtype {v.dtype}, expected floating point")
        if not bool(torch.isfinite(v).all()):
            raise DataFormatError(f"released checkpoint {p!r}: key {k!r} holds NaN or infinite values")
    ranks = {"mu": 2, "ac_center": 2, "fg_center": 2, "feature_embedding.0.weight": 2, "feature_embedding.0.bias": 1}
    for k, r in ranks.items():
        if state[k].dim() != r:
            raise DataFormatError(f"released checkpoint {p!r}: key {k!r} must be {r}-D, got shape {tuple(state[k].shape)}")
    embed_dim, feature_dim = state["feature_embedding.0.weight"].shape
    expected = {
        "mu": (None, embed_dim),
        "ac_center": (None, embed_dim),
        "fg_center": (1, embed_dim),
        "feature_embedding.0.bias": (embed_dim,),
    }
    for k, shape in expected.items():
        got = tuple(state[k].shape)
        if any(e is not None and e != g for e, g in zip(shape, got)):
            want = tuple("*" if e is None else e for e in shape)
            raise DataFormatError(
                f"released checkpoint {p!r}: key {k!r} has shape {got}, expected {want} "
                f"(D = {embed_dim} from feature_embedding.0.weight {(embed_dim, feature_dim)})"
            )
    num_classes = state["ac_center"].shape[0] - 1
    num_centres = state["mu"].shape[0]
    if num_classes < 1 or num_centres < 1 or embed_dim < 1 or feature_dim < 1:
        raise DataFormatError(
            f"released checkpoint {p!r}: empty dimension (ac_center {tuple(state['ac_center'].shape)}, "
            f"mu {tuple(state['mu'].shape)}, feature_embedding.0.weight {(embed_dim, feature_dim)})"
        )
    dims = dict(feature_dim=int(feature_dim), embed_dim=int(embed_dim), num_classes=int(num_classes), num_centres=int(num_centres))
    return {k: state[k] for k in RELEASED_KEYS}, dims


def load_released_checkpoint(path: str | os.PathLike[str], preset: str = "official", **overrides: Any) -> RSKP:
    """An :class:`RSKP` in eval mode with the weights of a released ``<epoch>.pkl``.

    Dimensions and the class count come from the tensors' shapes; the other constants from
    ``ModelConfig.named(preset, **overrides)``. Overriding a dimension to a value the file
    contradicts raises ``DataFormatError``."""
    state, dims = read_released_state_dict(path)
    p = os.fspath(path)
    for k, v in dims.items():
        if k in overrides and overrides[k] != v:
            raise DataFormatError(f"released checkpoint {p!r}: `{k}` = {overrides[k]!r} was asked for, the file has {v}")
    config = ModelConfig.named(preset, **{**overrides, **dims})
    model = RSKP(config)
    model.load_state_dict({k: v.to(torch.float32) for k, v in state.items()}, strict=True)
    model.source = p
    model.eval()
    return model


def _test_constants(preset: str | ModelConfig) -> tuple[ModelConfig, WalkMethod]:
    if isinstance(preset, ModelConfig):
        return preset, "inverse"
    if not isinstance(preset, str):
        raise InvalidTypeError(f"`preset` must be a preset name or a ModelConfig, got {type(preset).__name__}")
    # GauFuse inverts with torch.inverse; RSKP solved with torch.solve(I, M) (now linalg.solve).
    return ModelConfig.named(preset), ("solve" if preset.startswith("rskp") else "inverse")


@torch.no_grad()
def released_test_outputs(
    model: RSKP,
    features: np.ndarray | torch.Tensor,
    preset: str | ModelConfig = "official",
    *,
    released_compatible: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """The released test path for one video: ``(tcam (l, C+1), video_scores (C+1,))`` float32.

    ``features``: ``(l, feature_dim)``. ``preset`` picks the TCAM and video-score weights
    (``tcam_o_weight``, ``video_o_weight`` of ``ModelConfig.named(preset)``, or of a given
    config). With ``released_compatible`` (default) the forward is the released one — one
    video, no padding, the dense T×T inverse in the released operation order (``torch.inverse``
    for GauFuse presets, ``linalg.solve(M, I)`` for the ``rskp`` presets) — so a released
    checkpoint gives the released TCAM to float32 rounding. Otherwise the Woodbury forward.
    The model is evaluated in eval mode (its mode is restored afterwards).
    """
    if not isinstance(model, RSKP):
        raise InvalidTypeError(f"`model` must be an RSKP, got {type(model).__name__}")
    cfg, solver = _test_constants(preset)
    x = torch.as_tensor(features).to(dtype=model.mu.dtype, device=model.mu.device)
    if x.dim() != 2:
        raise InvalidArgumentError(f"`features` must have shape (l, {model.config.feature_dim}), got {tuple(x.shape)}")
    was_training = model.training
    model.eval()
    try:
        out = model(x[None], walk=solver if released_compatible else "woodbury")
    finally:
        model.train(was_training)
    a, v = cfg.tcam_o_weight, cfg.video_o_weight
    video = out.main.video_agnostic * v + out.walk.video_agnostic * (1 - v)
    tcam = F.softmax(out.main.logits, -1) * a + F.softmax(out.walk.logits, -1) * (1 - a)
    tcam = tcam * out.main.attention[..., None]
    return tcam[0].cpu().numpy(), video[0].cpu().numpy()
