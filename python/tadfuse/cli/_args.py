"""Argument types and options shared by the sub-commands.

Number types reject what the command cannot use at parse time, so that argparse reports
``argument --videos: must be an integer >= 1, got '0'`` (naming the flag) instead of a failure
deep inside. The configuration options (``--preset``, ``--config``, ``--set``, ``--postprocess``)
mean the same in every command that takes them; `resolve_config` turns them into a
``tadfuse.config.Config``.
"""

from __future__ import annotations

import argparse
import math
import typing
from collections.abc import Callable
from typing import Any

from tadfuse.config import Method
from tadfuse.errors import ConfigError

__all__ = [
    "POSTPROCESS_METHODS",
    "add_command",
    "add_config_options",
    "common_options",
    "config_overrides",
    "integer",
    "real",
    "resolve_config",
]

#: The values of ``--postprocess``: those of ``postprocess.method``.
POSTPROCESS_METHODS: tuple[str, ...] = typing.get_args(Method)


def integer(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in ``[lo, hi]``."""
    want = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}")
        return value

    parse.__name__ = want
    return parse


def real(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    low = "" if lo is None else f"{'>' if lo_open else '>='} {lo:g}"
    high = "" if hi is None else f"<= {hi:g}"
    want = " and ".join(x for x in (low, high) if x)
    want = f"a number {want}" if want else "a finite number"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}") from None
        if (not math.isfinite(value) or (lo is not None and (value <= lo if lo_open else value < lo))
                or (hi is not None and value > hi)):
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}")
        return value

    parse.__name__ = want
    return parse


def common_options() -> argparse.ArgumentParser:
    """The options every (sub-)command accepts, as an argparse parent: ``--traceback``. Its
    default is SUPPRESS so that a sub-command does not reset a ``--traceback`` given before it."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS,
                   help="on an error in the input, show the Python traceback instead of one line")
    return p


def add_command(subparsers: Any, name: str, *, help: str, description: str | None = None,
                parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add one sub-command with the common options."""
    return subparsers.add_parser(name, help=help, description=description or help[:1].upper() + help[1:] + ".",
                                 parents=parents)


def _preset(text: str) -> str:
    from tadfuse.config import PRESETS

    if text not in PRESETS:
        raise argparse.ArgumentTypeError(f"unknown preset {text!r}; choose one of {', '.join(sorted(PRESETS))}")
    return text


def _override(text: str) -> str:
    key, eq, value = text.partition("=")
    if not eq or "." not in key.strip() or not key.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected SECTION.FIELD=VALUE (e.g. postprocess.temperature=0.1), got {text!r}")
    return f"{key.strip()}={value.strip()}"


def add_config_options(p: argparse.ArgumentParser, *, method: bool) -> None:
    """``--preset``, ``--config``, ``--set`` and (with ``method``) ``--postprocess``."""
    g = p.add_argument_group("configuration (see tadfuse.config)")
    g.add_argument("--preset", type=_preset, metavar="NAME",
                   help="named configuration, e.g. official (the released code) or paper; default: the --config "
                   "file's preset, else official")
    g.add_argument("--config", metavar="FILE", help="TOML file whose settings override the preset's")
    g.add_argument("--set", action="append", type=_override, default=[], metavar="SECTION.FIELD=VALUE",
                   help="override one setting, after --config (repeatable), e.g. --set postprocess.temperature=0.1")
    if method:
        g.add_argument("--postprocess", choices=POSTPROCESS_METHODS,
                       help="what replaces the raw proposals: fusion, nms or soft_nms (default: the preset's); "
                       "short for --set postprocess.method=...")


def config_overrides(args: argparse.Namespace) -> list[str]:
    """The ``section.field=value`` overrides of ``--set`` and ``--postprocess`` (which must not
    contradict each other)."""
    overrides = list(args.set)
    method = getattr(args, "postprocess", None)
    if method is not None:
        same_key = [o for o in overrides if o.partition("=")[0] == "postprocess.method"]
        for o in same_key:
            if o.partition("=")[2].strip("'\"") != method:
                raise ConfigError(f"--postprocess {method} and --set {o} disagree; give one of them")
        if not same_key:
            overrides.append(f"postprocess.method={method}")
    return overrides


def resolve_config(args: argparse.Namespace) -> Any:
    """The ``tadfuse.config.Config`` that the configuration options of ``args`` select."""
    from tadfuse.config import load_config

    # no --preset: the --config file's preset, else official
    return load_config(args.preset, args.config, config_overrides(args))
