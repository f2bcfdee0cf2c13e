"""tadfuse: weakly supervised temporal action localization with fused pseudo labels."""

from tadfuse import _core
from tadfuse.proposals import SNIPPET_SECONDS, Proposals

__version__: str = _core.__version__

__all__ = ["Proposals", "SNIPPET_SECONDS", "__version__"]
