"""Atomic file writes: a reader (or a run resumed after a kill) sees the old file or the new one,
never half of one. Imports nothing from tadfuse, so every module may use it."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Union

__all__ = ["atomic_write", "atomic_write_json", "atomic_write_text"]

PathLike = Union[str, "os.PathLike[str]"]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: The process's umask, read once (reading it means setting it, which is not thread-safe).
_UMASK = _current_umask()


def atomic_write(path: PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(fh)`` on a temporary binary file beside ``path`` (parent folders created),
    flush it to disk and rename it over ``path``; on any error the temporary file is removed and
    the old file stays. The temporary name is unique (two writers never share it) and in the same
    folder (so the rename is atomic); the file gets the permissions a plain ``open`` would give
    (mkstemp's 0600 would hide results from other users). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~_UMASK)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: PathLike, text: str) -> Path:
    """`atomic_write` of ``text`` as UTF-8."""
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def atomic_write_json(path: PathLike, data: Any) -> Path:
    """`atomic_write` of ``data`` as JSON (UTF-8). ``data`` is serialised before the file is
    touched, so data that is not JSON leaves no trace."""
    return atomic_write_text(path, json.dumps(data))
