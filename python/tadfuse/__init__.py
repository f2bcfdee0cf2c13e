"""tadfuse: weakly supervised temporal action localization with fused pseudo labels."""

from tadfuse import _core
from tadfuse.delta import DeltaLabelStore, DeltaSchedule, distillation_loss
from tadfuse.linpro import LinproStats, linpro_labels, linpro_labels_batch
from tadfuse.proposals import SNIPPET_SECONDS, Proposals

__version__: str = _core.__version__

__all__ = [
    "DeltaLabelStore",
    "DeltaSchedule",
    "LinproStats",
    "Proposals",
    "SNIPPET_SECONDS",
    "__version__",
    "distillation_loss",
    "linpro_labels",
    "linpro_labels_batch",
]
