"""The TCAM folder: class activation sequences saved for post-processing later.

One format shared by ``tadfuse plot --cas``, ``tadfuse detect --cas`` and any producer of TCAMs
(a model's inference with raw outputs saved, or someone's own model): a folder of

* ``meta.json``, written once for the folder by `write_tcam_meta`::

      {"format": "tadfuse-tcam", "format_version": 1,
       "class_names": ["BaseballPitch", ...],   # the C foreground classes, in column order
       "background": true,                     # one more column, the last, is background
       "snippet_seconds": 0.64,                 # timebase: seconds = snippets * snippet_seconds
       "offset_seconds": 0.0,                   #           + offset_seconds
       "provenance": {"tadfuse_version": "0.1.0", "producer": "...", ...}}

* ``<video>.npz``, one per video, written by `write_tcam`, holding exactly two arrays:
  ``tcam`` of shape (l, K) and ``video_scores`` of shape (K,), where ``K = C + 1`` with a
  background column and ``K = C`` without; float32 or float64 (kept as written), finite,
  ``l >= 1``. The video name is the file name without ``.npz``.

Files are written atomically (a temporary file in the folder, then ``os.replace``), so a reader
never sees half a file and an interrupted producer leaves no truncated ``.npz``. `read_tcam_folder`
reads ``meta.json`` at once and the arrays lazily, one video at a time; every problem raises a
`DataFormatError` naming the file.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from tadfuse import _core
from tadfuse._atomic import atomic_write
from tadfuse.errors import DataFormatError, InvalidArgumentError, InvalidTypeError

__all__ = ["FORMAT", "FORMAT_VERSION", "META_FILE", "Tcam", "TcamFolder", "TcamMeta", "read_tcam_folder",
           "write_tcam", "write_tcam_meta"]

PathLike = Union[str, "os.PathLike[str]"]

#: The ``format`` value of ``meta.json``.
FORMAT = "tadfuse-tcam"
#: The ``format_version`` this module reads and writes.
FORMAT_VERSION = 1
#: The metadata file of a TCAM folder.
META_FILE = "meta.json"

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_ARRAYS = ("tcam", "video_scores")


@dataclass(frozen=True)
class TcamMeta:
    """The contents of a TCAM folder's ``meta.json`` (see the module docstring)."""

    #: The C foreground class names, in column order.
    class_names: tuple[str, ...]
    #: Whether the TCAMs have one more column, the last, for background.
    background: bool
    #: Seconds per snippet (one TCAM row).
    snippet_seconds: float
    #: Seconds at the start of snippet 0.
    offset_seconds: float = 0.0
    #: Who wrote the folder: at least ``tadfuse_version`` and ``producer``.
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        """C, the foreground classes: the TCAM columns that are detected and plotted."""
        return len(self.class_names)

    @property
    def num_columns(self) -> int:
        """K, the columns of every ``tcam`` and ``video_scores`` (C, plus one with background)."""
        return len(self.class_names) + int(self.background)

    def to_dict(self) -> dict[str, Any]:
        """The ``meta.json`` object."""
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "class_names": list(self.class_names),
                "background": self.background, "snippet_seconds": self.snippet_seconds,
                "offset_seconds": self.offset_seconds, "provenance": dict(self.provenance)}


@dataclass(frozen=True, eq=False)
class Tcam:
    """One video of a TCAM folder: ``tcam`` (l, K) and ``video_scores`` (K,), dtype as written."""

    video: str
    tcam: np.ndarray
    video_scores: np.ndarray


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _check_meta(class_names: Any, background: Any, snippet_seconds: Any, offset_seconds: Any,
                provenance: Any, where: str, error: type[Exception]) -> TcamMeta:
    """A validated `TcamMeta`; problems raise ``error`` prefixed by ``where``."""
    if isinstance(class_names, str) or not isinstance(class_names, Sequence):
        raise error(f"{where}: `class_names` must be a list of class names, got {class_names!r}")
    names = tuple(class_names)
    if not names:
        raise error(f"{where}: `class_names` is empty")
    bad = [c for c in names if not isinstance(c, str) or not c]
    if bad:
        raise error(f"{where}: `class_names` must be non-empty strings, got {bad[0]!r}")
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise error(f"{where}: `class_names` repeats {dup[:3]}")
    if not isinstance(background, bool):
        raise error(f"{where}: `background` must be true or false, got {background!r}")
    for name, value, positive in (("snippet_seconds", snippet_seconds, True), ("offset_seconds", offset_seconds, False)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or (positive and value <= 0):
            raise error(f"{where}: `{name}` must be a {'positive' if positive else 'finite'} number, got {value!r}")
    if not isinstance(provenance, Mapping):
        raise error(f"{where}: `provenance` must be an object, got {provenance!r}")
    return TcamMeta(names, background, float(snippet_seconds), float(offset_seconds), dict(provenance))


def write_tcam_meta(
    folder: PathLike,
    *,
    class_names: Sequence[str],
    background: bool,
    snippet_seconds: float,
    producer: str,
    offset_seconds: float = 0.0,
    provenance: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Start a TCAM folder: write its ``meta.json`` (creating the folder). Returns the folder.

    ``class_names`` are the C foreground classes in column order; ``background`` says whether
    the TCAMs have one more, last, background column; the timebase is ``seconds = snippets *
    snippet_seconds + offset_seconds``. ``producer`` (e.g. the command or model that computed the
    TCAMs) and the tadfuse version are recorded under ``provenance``, with any ``provenance``
    items given. A folder that already holds ``meta.json`` or ``.npz`` files raises
    `FileExistsError` unless ``overwrite``, which removes those files first, so that a folder
    never mixes TCAMs of two producers.
    """
    if not isinstance(producer, str) or not producer:
        raise InvalidArgumentError(f"write_tcam_meta: `producer` must be a non-empty string, got {producer!r}")
    prov = {"tadfuse_version": _core.__version__, "producer": producer, **dict(provenance or {})}
    meta = _check_meta(class_names, background, snippet_seconds, offset_seconds, prov, "write_tcam_meta",
                       InvalidArgumentError)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    old = ([out / META_FILE] if (out / META_FILE).exists() else []) + sorted(out.glob("*.npz"))
    if old and not overwrite:
        raise FileExistsError(f"{old[0]}: exists; {out} already holds TCAMs (pass overwrite=True "
                              "(CLI: --overwrite) to replace them)")
    for p in old:
        p.unlink()
    text = json.dumps(meta.to_dict(), indent=1).encode("utf-8")
    atomic_write(out / META_FILE, lambda fh: fh.write(text))
    return out


def _check_video_name(video: Any) -> str:
    if not isinstance(video, str) or not video or video.startswith(".") or any(c in video for c in "/\\\0"):
        raise InvalidArgumentError(f"write_tcam: `video` must be a file name (no '/', '\\', leading '.'), got {video!r}")
    return video


def _check_array(arr: Any, name: str, ndim: int, columns: int, where: str, error: type[Exception]) -> np.ndarray:
    """A (l, K) or (K,) float32/float64 finite array; other input raises ``error``."""
    try:
        arr = np.asarray(arr)
    except Exception as exc:  # ragged lists and the like
        raise InvalidTypeError(f"{where}: `{name}` is not array-like: {exc}") from None
    if arr.dtype not in _DTYPES:
        raise (InvalidTypeError if error is InvalidArgumentError else error)(
            f"{where}: `{name}` must be float32 or float64, got {arr.dtype}")
    shape = "(l, K)" if ndim == 2 else "(K,)"
    if arr.ndim != ndim or arr.shape[-1] != columns or (ndim == 2 and arr.shape[0] == 0):
        raise error(f"{where}: `{name}` must have shape {shape} with K = {columns} columns"
                    f"{' and l >= 1 rows' if ndim == 2 else ''}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise error(f"{where}: `{name}` has non-finite values")
    return arr


def write_tcam(folder: PathLike, video: str, tcam: npt.ArrayLike, video_scores: npt.ArrayLike) -> Path:
    """Write one video's ``<folder>/<video>.npz`` (atomically; an existing file is replaced).

    ``tcam`` (l, K) and ``video_scores`` (K,) must be float32 or float64 arrays (stored in that
    dtype; a list becomes float64), finite, with the K columns that the folder's ``meta.json`` (`write_tcam_meta`,
    written first) declares. Returns the path written.
    """
    out = Path(folder)
    meta = _read_meta(out)
    name = _check_video_name(video)
    k = meta.num_columns
    t = _check_array(tcam, "tcam", 2, k, f"write_tcam({name!r})", InvalidArgumentError)
    s = _check_array(video_scores, "video_scores", 1, k, f"write_tcam({name!r})", InvalidArgumentError)
    return atomic_write(out / f"{name}.npz", lambda fh: np.savez(fh, tcam=t, video_scores=s))


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _read_meta(folder: Path) -> TcamMeta:
    path = folder / META_FILE
    if not folder.is_dir():
        hint = " (a TCAM folder holds <video>.npz files and meta.json)"
        raise DataFormatError(f"{folder}: {'not a folder' if folder.exists() else 'TCAM folder not found'}{hint}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataFormatError(f"{path}: not found; every TCAM folder has one (see tadfuse.tcam_io)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DataFormatError(f"{path}: expected a JSON object")
    if data.get("format") != FORMAT:
        raise DataFormatError(f"{path}: 'format' must be {FORMAT!r}, got {data.get('format')!r}")
    if data.get("format_version") != FORMAT_VERSION:
        raise DataFormatError(f"{path}: 'format_version' {data.get('format_version')!r} is not supported "
                              f"(this tadfuse reads version {FORMAT_VERSION})")
    missing = [k for k in ("class_names", "background", "snippet_seconds") if k not in data]
    if missing:
        raise DataFormatError(f"{path}: missing key {missing[0]!r}")
    return _check_meta(data["class_names"], data["background"], data["snippet_seconds"],
                       data.get("offset_seconds", 0.0), data.get("provenance", {}), str(path), DataFormatError)


class TcamFolder:
    """A TCAM folder opened by `read_tcam_folder`: ``meta`` (`TcamMeta`), ``videos`` (names,
    sorted), `read` one video, or iterate over all (`Tcam` records, read one at a time)."""

    def __init__(self, path: Path, meta: TcamMeta, videos: Sequence[str]) -> None:
        self.path = path
        self.meta = meta
        self.videos: tuple[str, ...] = tuple(videos)
        self._known = frozenset(self.videos)

    def __len__(self) -> int:
        return len(self.videos)

    def __contains__(self, video: object) -> bool:
        return video in self._known

    def __iter__(self) -> Iterator[Tcam]:
        for video in self.videos:
            yield self.read(video)

    def __repr__(self) -> str:
        return f"TcamFolder({str(self.path)!r}, videos={len(self)}, columns={self.meta.num_columns})"

    def read(self, video: str) -> Tcam:
        """The arrays of one video, checked against ``meta`` (`DataFormatError` naming the file)."""
        if video not in self._known:
            raise InvalidArgumentError(f"{self.path}: no TCAM for video {video!r}")
        path = self.path / f"{video}.npz"
        try:
            with np.load(path, allow_pickle=False) as npz:
                keys = sorted(npz.files)
                if keys != sorted(_ARRAYS):
                    raise DataFormatError(f"{path}: must hold exactly the arrays {list(_ARRAYS)}, got {keys}")
                arrays = {k: npz[k] for k in _ARRAYS}
        except FileNotFoundError:
            raise DataFormatError(f"{path}: TCAM file not found (removed since the folder was read?)") from None
        except DataFormatError:
            raise
        except Exception as exc:  # not a zip, truncated, pickled object arrays, ...
            raise DataFormatError(f"{path}: not a readable .npz of numeric arrays ({exc})") from None
        k = self.meta.num_columns
        tcam = _check_array(arrays["tcam"], "tcam", 2, k, str(path), DataFormatError)
        scores = _check_array(arrays["video_scores"], "video_scores", 1, k, str(path), DataFormatError)
        return Tcam(video, tcam, scores)


def read_tcam_folder(folder: PathLike) -> TcamFolder:
    """Open a TCAM folder (see the module docstring): ``meta.json`` is read and checked now, the
    ``<video>.npz`` files when `TcamFolder.read` or iteration reaches them. Raises
    `DataFormatError` naming the file for a missing folder or ``meta.json`` and malformed
    metadata."""
    path = Path(folder)
    meta = _read_meta(path)
    videos = sorted(p.name[: -len(".npz")] for p in path.glob("*.npz") if not p.name.startswith("."))
    return TcamFolder(path, meta, videos)
