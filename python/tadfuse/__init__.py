"""tadfuse: weakly supervised temporal action localization with fused pseudo labels.

Post-processing (Rust core): `extract_proposals`, `fuse`, `nms`, `soft_nms`, `detect`,
`detect_batch`, configured by `PostprocessConfig.official()` / `.paper()`. Pseudo labels:
`linpro_labels` / `linpro_labels_batch` (exact reduced LPs), `DeltaLabelStore` (Δ labels and
the distillation loss; needs torch). Time is in snippets.
"""

from tadfuse import _core
from tadfuse.config import OFFICIAL_THRESHOLDS, PostprocessConfig
from tadfuse.delta import DeltaLabelStore, DeltaSchedule, distillation_loss
from tadfuse.linpro import LinproStats, linpro_labels, linpro_labels_batch
from tadfuse.postprocess import detect, detect_batch, extract_proposals, fuse, nms, soft_nms
from tadfuse.proposals import SNIPPET_SECONDS, Proposals

__version__: str = _core.__version__

__all__ = [
    "OFFICIAL_THRESHOLDS",
    "DeltaLabelStore",
    "DeltaSchedule",
    "LinproStats",
    "PostprocessConfig",
    "Proposals",
    "SNIPPET_SECONDS",
    "__version__",
    "detect",
    "detect_batch",
    "distillation_loss",
    "extract_proposals",
    "fuse",
    "linpro_labels",
    "linpro_labels_batch",
    "nms",
    "soft_nms",
]
