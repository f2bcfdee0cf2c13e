"""Reading torch files without unpickling classes."""

from __future__ import annotations

import os
import pickle
import zipfile
from typing import Any

import torch

from tadfuse.errors import DataFormatError


def load_plain(path: str | os.PathLike[str], what: str) -> Any:
    """``torch.load(path, weights_only=True)`` with errors that name the file."""
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise DataFormatError(f"{what} {p!r}: no such file")
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, RuntimeError, ValueError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFormatError(f"{what} {p!r}: not a torch file of plain tensors ({first})") from None
