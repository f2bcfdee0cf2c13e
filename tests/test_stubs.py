"""`_core.pyi` must describe the compiled extension: same functions, same parameter names
and kinds (PyO3 exports text signatures that `inspect` reads)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
import tadfuse
from tadfuse import _core

STUB = Path(tadfuse.__file__).with_name("_core.pyi")


def _stub_functions() -> dict[str, ast.FunctionDef]:
    tree = ast.parse(STUB.read_text())
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _stub_classes() -> dict[str, set[str]]:
    """Stub class name -> its annotated attributes."""
    tree = ast.parse(STUB.read_text())
    return {
        n.name: {a.target.id for a in n.body if isinstance(a, ast.AnnAssign) and isinstance(a.target, ast.Name)}
        for n in tree.body if isinstance(n, ast.ClassDef)
    }


def _stub_params(fn: ast.FunctionDef) -> list[tuple[str, str]]:
    a = fn.args
    out = [(p.arg, "POSITIONAL_OR_KEYWORD") for p in a.posonlyargs + a.args]
    out += [(p.arg, "KEYWORD_ONLY") for p in a.kwonlyargs]
    return out


def test_every_public_extension_function_has_a_stub():
    compiled = {n for n in dir(_core) if not n.startswith("_") and inspect.isbuiltin(getattr(_core, n))}
    assert compiled == set(_stub_functions())


def test_every_extension_class_has_a_stub_with_its_attributes():
    compiled = {n: getattr(_core, n) for n in dir(_core) if not n.startswith("_") and inspect.isclass(getattr(_core, n))}
    stubs = _stub_classes()
    assert set(compiled) == set(stubs)
    for name, cls in compiled.items():
        assert {a for a in dir(cls) if not a.startswith("_")} == stubs[name], name


def test_constants():
    assert isinstance(_core.MAX_THREADS, int) and _core.MAX_THREADS >= 1
    assert tadfuse.postprocess.MAX_THREADS == _core.MAX_THREADS


@pytest.mark.parametrize("name", sorted(_stub_functions()))
def test_stub_signature_matches_extension(name):
    sig = inspect.signature(getattr(_core, name))
    got = [(p.name, p.kind.name) for p in sig.parameters.values()]
    assert got == _stub_params(_stub_functions()[name])
