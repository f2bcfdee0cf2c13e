"""Argument checks shared by the public wrappers: every error names the argument.

Scalars must be real numbers (not strings, not bools where a count is meant); arrays must be
numeric and are converted to contiguous float64/int64 copies only when needed.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from tadfuse.errors import InvalidArgumentError, InvalidTypeError

_INT64_MAX = np.iinfo(np.int64).max


def real(name: str, value: Any, *, lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> float:
    """``value`` as a finite float within ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"`{name}` must be a real number, got {value!r}")
    out = float(value)
    if not np.isfinite(out):
        raise InvalidArgumentError(f"`{name}` must be finite, got {value!r}")
    if lo is not None and (out <= lo if lo_open else out < lo):
        raise InvalidArgumentError(f"`{name}` must be {'>' if lo_open else '>='} {lo}, got {value!r}")
    if hi is not None and out > hi:
        raise InvalidArgumentError(f"`{name}` must be <= {hi}, got {value!r}")
    return out


def integer(name: str, value: Any, *, lo: int = 0, hi: int = _INT64_MAX) -> int:
    """``value`` as an int in ``[lo, hi]``; floats and bools are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise InvalidTypeError(f"`{name}` must be an integer, got {value!r}")
    out = int(value)
    if not lo <= out <= hi:
        raise InvalidArgumentError(f"`{name}` must be in [{lo}, {hi}], got {out}")
    return out


def float_array(name: str, values: Any, ndim: int) -> np.ndarray:
    """A contiguous float64 array of ``ndim`` dimensions (no copy when it already is one)."""
    if type(values) is np.ndarray and values.dtype == np.float64 and values.ndim == ndim and values.flags.c_contiguous:
        return values  # the common case, checked cheaply: batches pass hundreds of arrays
    try:
        arr = np.asarray(values)
    except Exception as exc:  # ragged lists and the like
        raise InvalidTypeError(f"`{name}` is not array-like: {exc}") from None
    if arr.dtype.kind not in "fiub":
        raise InvalidTypeError(f"`{name}` must be numeric, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise InvalidArgumentError(f"`{name}` must be {ndim}-D, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def int_array(name: str, values: Any) -> np.ndarray:
    """A contiguous 1-D int64 array; floats are accepted only when they hold exact integers."""
    try:
        arr = np.asarray(values)
    except Exception as exc:
        raise InvalidTypeError(f"`{name}` is not array-like: {exc}") from None
    if arr.ndim != 1:
        raise InvalidArgumentError(f"`{name}` must be 1-D, got shape {arr.shape}")
    if arr.size and arr.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(arr) & (arr == np.round(arr)) & (np.abs(arr) <= 2.0**62)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise InvalidArgumentError(f"`{name}` must hold integers, got {arr[i]!r} at index {i}")
    elif arr.size and arr.dtype.kind not in "iu":
        raise InvalidTypeError(f"`{name}` must be integer, got dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.size and arr.max() > _INT64_MAX:
        raise InvalidArgumentError(f"`{name}` has values beyond int64")
    return np.ascontiguousarray(arr, dtype=np.int64)
