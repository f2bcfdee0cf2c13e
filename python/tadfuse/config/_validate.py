"""Field checks shared by the configuration sections: each returns the value in its canonical
type or raises :class:`~tadfuse.errors.ConfigError` naming ``owner`` (the section class) and the
field, e.g. ``TrainConfig: `epochs` must be >= 1, got 0``."""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any

from tadfuse.errors import ConfigError

__all__ = ["boolean", "integer", "piecewise", "real", "sequence"]


def _bounds(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo}"
    return f"{'<' if hi_open else '<='} {hi}"


def real(owner: str, name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False, hi_open: bool = False) -> float:
    """``value`` as a finite float within the bounds (open ends with ``lo_open``/``hi_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{owner}: `{name}` must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ConfigError(f"{owner}: `{name}` must be finite, got {value!r}")
    bad = lo is not None and (out <= lo if lo_open else out < lo)
    bad = bad or (hi is not None and (out >= hi if hi_open else out > hi))
    if bad:
        raise ConfigError(f"{owner}: `{name}` must be {_bounds(lo, hi, lo_open, hi_open)}, got {value!r}")
    return out


def integer(owner: str, name: str, value: Any, *, lo: int = 0) -> int:
    """``value`` as an int ``>= lo``; floats and bools are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{owner}: `{name}` must be an integer, got {value!r}")
    if int(value) < lo:
        raise ConfigError(f"{owner}: `{name}` must be >= {lo}, got {value!r}")
    return int(value)


def boolean(owner: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{owner}: `{name}` must be true or false, got {value!r}")
    return value


def sequence(owner: str, name: str, value: Any) -> tuple[Any, ...]:
    """A list or tuple as a tuple (a string is not a sequence of settings)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ConfigError(f"{owner}: `{name}` must be a list, got {value!r}")
    return tuple(value)


def piecewise(owner: str, milestones_name: str, values_name: str, milestones: Any, values: Any,
              *, value_lo: float, value_lo_open: bool) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Validated ``(milestones, values)`` of a piecewise-constant schedule over epochs: strictly
    increasing milestones ``>= 1`` and one value more than milestones."""
    ms = tuple(integer(owner, f"{milestones_name}[{i}]", m, lo=1)
               for i, m in enumerate(sequence(owner, milestones_name, milestones)))
    if any(b <= a for a, b in itertools.pairwise(ms)):
        raise ConfigError(f"{owner}: `{milestones_name}` must be strictly increasing, got {list(ms)}")
    vs = tuple(real(owner, f"{values_name}[{i}]", v, lo=value_lo, lo_open=value_lo_open)
               for i, v in enumerate(sequence(owner, values_name, values)))
    if len(vs) != len(ms) + 1:
        raise ConfigError(f"{owner}: `{values_name}` must have one value more than `{milestones_name}` "
                          f"({len(ms)} milestones), got {len(vs)} values")
    return ms, vs
