"""Lazy attributes for the torch-backed packages (``tadfuse.models``, ``tadfuse.engine``): their
names import the submodule (and torch) on first use, and raise `MissingExtraError` naming the
extra when torch is not installed, so ``import tadfuse.models`` itself needs no torch."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from tadfuse.errors import MissingExtraError

__all__ = ["torch_attributes"]


def torch_attributes(
    package: str, lazy: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose name ``n`` lives in submodule
    ``lazy[n]``; a loaded name is cached in ``namespace`` (the package's globals)."""

    def __getattr__(name: str) -> Any:
        module = lazy.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            import torch  # noqa: F401
        except ImportError:
            raise MissingExtraError(f'{package}.{name} needs torch, an optional extra: pip install "tadfuse[train]"') from None
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(lazy))

    return __getattr__, __dir__
