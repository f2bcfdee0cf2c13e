"""Plain values of configuration sections: dicts for JSON/checkpoints, TOML text, and the type
coercion of values read from TOML files and ``section.field=value`` overrides."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Union

from tadfuse.errors import ConfigError


def _coerce(tp: Any, value: Any, where: str) -> Any:
    """``value`` as type ``tp`` (from a dataclass annotation); TOML gives lists, ints for floats."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if type(None) in args and (value is None or (isinstance(value, str) and value.lower() == "none")):
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(inner, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        return tuple(_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a table of {[f.name for f in dataclasses.fields(tp)]}, got {value!r}")
        hints = typing.get_type_hints(tp)
        unknown = set(value) - set(hints)
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; expected {list(hints)}")
        try:
            return tp(**{k: _coerce(hints[k], v, f"{where}.{k}") for k, v in value.items()})
        except TypeError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    raise TypeError(f"config field type {tp!r} is not supported")  # a bug in a section class


def _plain(obj: Any) -> Any:
    """A section (or value) as plain dicts, lists, str, int, float, bool and None."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _toml_value(value: Any) -> str:
    if value is None:
        return '"none"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # shortest round-trip repr; finite by validation
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")
