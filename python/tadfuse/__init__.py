"""tadfuse: weakly supervised temporal action localization with fused pseudo labels.

Post-processing (Rust core): `extract_proposals`, `fuse`, `nms`, `soft_nms`, `detect`,
`detect_batch`, configured by `PostprocessConfig.official()` (``exact=True``: the released code's
arithmetic bit for bit) / `.paper()`. Pseudo labels:
`linpro_labels` / `linpro_labels_batch` (exact reduced LPs), `DeltaLabelStore` (Δ labels and
the distillation loss; needs torch). Evaluation: `evaluate` (protocols `anet`, `wtalc`;
`tadfuse.evaluation`). Ground truth and result files: `GroundTruth`, `read_activitynet_results`,
`write_activitynet_results` (`tadfuse.annotations`). TCAMs saved for post-processing later:
`write_tcam_meta`, `write_tcam`, `read_tcam_folder` (`tadfuse.tcam_io`). Datasets:
`tadfuse.data`. Time is in snippets.
"""

from tadfuse import _core, data
from tadfuse.annotations import GroundTruth, read_activitynet_results, write_activitynet_results
from tadfuse.config import OFFICIAL_THRESHOLDS, PostprocessConfig
from tadfuse.delta import DeltaLabelStore, DeltaSchedule, distillation_loss
from tadfuse.evaluation import EvalResult, evaluate
from tadfuse.linpro import LinproStats, linpro_labels, linpro_labels_batch
from tadfuse.postprocess import DetectStats, detect, detect_batch, extract_proposals, fuse, nms, soft_nms
from tadfuse.proposals import SNIPPET_SECONDS, Proposals
from tadfuse.tcam_io import read_tcam_folder, write_tcam, write_tcam_meta

__version__: str = _core.__version__

__all__ = [
    "OFFICIAL_THRESHOLDS",
    "SNIPPET_SECONDS",
    "DeltaLabelStore",
    "DeltaSchedule",
    "DetectStats",
    "EvalResult",
    "GroundTruth",
    "LinproStats",
    "PostprocessConfig",
    "Proposals",
    "__version__",
    "data",
    "detect",
    "detect_batch",
    "distillation_loss",
    "evaluate",
    "extract_proposals",
    "fuse",
    "linpro_labels",
    "linpro_labels_batch",
    "nms",
    "read_activitynet_results",
    "read_tcam_folder",
    "soft_nms",
    "write_activitynet_results",
    "write_tcam",
    "write_tcam_meta",
]
