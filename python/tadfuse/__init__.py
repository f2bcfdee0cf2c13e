"""tadfuse: weakly supervised temporal action localization with fused pseudo labels.

Post-processing (Rust core): `extract_proposals`, `fuse`, `nms`, `soft_nms`, `detect`,
`detect_batch`, configured by `PostprocessConfig.official()` / `.paper()`. Time is in snippets.
"""

from tadfuse import _core
from tadfuse.config import OFFICIAL_THRESHOLDS, PostprocessConfig
from tadfuse.postprocess import detect, detect_batch, extract_proposals, fuse, nms, soft_nms
from tadfuse.proposals import SNIPPET_SECONDS, Proposals

__version__: str = _core.__version__

__all__ = [
    "OFFICIAL_THRESHOLDS",
    "PostprocessConfig",
    "Proposals",
    "SNIPPET_SECONDS",
    "detect",
    "detect_batch",
    "extract_proposals",
    "fuse",
    "nms",
    "soft_nms",
    "__version__",
]
