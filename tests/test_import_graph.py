"""The import graph of python/tadfuse: `tadfuse.data*` never imports `tadfuse.evaluation*`, and no
module imports itself through a cycle (docs/architecture.md, "Annotations, evaluation and data").

Every ``import`` statement counts, wherever it is (module level, inside functions, under
``if TYPE_CHECKING:``). ``from P import x`` is an edge to ``P.x`` when ``P.x`` is a module of the
package (a file, a package folder, or a compiled extension such as ``_core``), else to ``P``.
Importing ``a.b.c`` also runs ``a`` and ``a.b``, but those parent packages are already being
initialised when a submodule runs, so parent edges are not cycles and are not added. Modules are
found from the files, so new packages (e.g. ``tadfuse/cli/``) are covered without naming them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "python" / "tadfuse"


def _module_files(root: Path, package: str) -> dict[str, Path]:
    """Module name → source file for every ``.py`` under ``root`` (``__init__.py`` names the
    package itself)."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([package, *parts])] = path
    return out


def _extension_modules(root: Path, package: str) -> set[str]:
    """Modules without Python source: compiled extensions and their ``.pyi`` stubs."""
    names = set()
    for path in root.rglob("*"):
        if path.suffix in (".so", ".pyd", ".pyi"):
            parts = list(path.relative_to(root).parts)
            parts[-1] = parts[-1].split(".")[0]
            names.add(".".join([package, *parts]))
    return names


def _imports(path: Path, module: str, is_package: bool) -> list[str]:
    """Every module name imported by the source file (absolute, relative imports resolved),
    with ``from P import x`` kept as the pair ``P:x`` for the caller to resolve."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out += [f"{target}:{alias.name}" for alias in node.names]
    return out


def module_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module → the package's modules it imports directly (see the module docstring)."""
    files = _module_files(root, package)
    known = set(files) | _extension_modules(root, package)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        edges = set()
        for name in _imports(path, module, path.name == "__init__.py"):
            target, _, attr = name.partition(":")
            if attr and f"{target}.{attr}" in known:
                target = f"{target}.{attr}"
            if target in known and target != module:
                edges.add(target)
        graph[module] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module imported, directly or not, by ``start``."""
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo += graph.get(node, ())
    return seen


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


# --------------------------------------------------------------------------------------------
# The real package
# --------------------------------------------------------------------------------------------


def test_graph_covers_the_package() -> None:
    graph = module_graph(PACKAGE_ROOT, "tadfuse")
    for name in ("tadfuse", "tadfuse.annotations", "tadfuse.data", "tadfuse.data.wtalc",
                 "tadfuse.evaluation", "tadfuse.evaluation.api", "tadfuse.evaluation.metrics"):
        assert name in graph
    assert "tadfuse.annotations" in graph["tadfuse.data._base"]
    assert "tadfuse.data" in graph["tadfuse.evaluation.api"]
    assert "tadfuse._core" in graph["tadfuse.linpro"]  # `from tadfuse import _core`: a submodule


def test_data_never_imports_evaluation() -> None:
    graph = module_graph(PACKAGE_ROOT, "tadfuse")
    for module in graph:
        if _in(module, "tadfuse.data"):
            bad = sorted(m for m in reachable(graph, module) if _in(m, "tadfuse.evaluation"))
            assert not bad, f"{module} imports {bad} (directly or through other modules)"


def test_annotations_import_neither_data_nor_evaluation() -> None:
    graph = module_graph(PACKAGE_ROOT, "tadfuse")
    bad = sorted(m for m in reachable(graph, "tadfuse.annotations")
                 if _in(m, "tadfuse.data") or _in(m, "tadfuse.evaluation"))
    assert not bad


def test_no_import_cycles() -> None:
    cycle = find_cycle(module_graph(PACKAGE_ROOT, "tadfuse"))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


# --------------------------------------------------------------------------------------------
# The graph builder on made-up packages (so that the checks above can fail)
# --------------------------------------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_builder_resolves_every_import_form(tmp_path: Path) -> None:
    root = _write(tmp_path, {
        "__init__.py": "from pkg import a\n",
        "a.py": "import os\nimport pkg.b\nfrom pkg import c, VALUE\n",
        "b.py": "def f():\n    from pkg.sub import deep\n",
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .sub import deep\n",
        "sub/__init__.py": "from . import deep\nfrom .deep import g\n",
        "sub/deep.py": "from .. import b\nfrom ..c import x\nfrom pkg import _ext\n",
        "_ext.pyi": "",
    })
    graph = module_graph(root, "pkg")
    assert graph["pkg"] == {"pkg.a"}
    assert graph["pkg.a"] == {"pkg.b", "pkg.c", "pkg"}  # VALUE is not a module: the package
    assert graph["pkg.b"] == {"pkg.sub.deep"}  # a function-level import
    assert graph["pkg.c"] == {"pkg.sub.deep"}  # a TYPE_CHECKING import
    assert graph["pkg.sub"] == {"pkg.sub.deep"}
    assert graph["pkg.sub.deep"] == {"pkg.b", "pkg.c", "pkg._ext"}


def test_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    root = _write(tmp_path, {
        "__init__.py": "",
        "a.py": "from pkg.b import x\n",
        "b.py": "x = 1\ndef f():\n    from pkg import a\n",
    })
    cycle = find_cycle(module_graph(root, "pkg"))
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"pkg.a", "pkg.b"}


def test_cycle_through_a_package_init_is_found(tmp_path: Path) -> None:
    root = _write(tmp_path, {
        "__init__.py": "",
        "data/__init__.py": "from pkg.data.loader import load\n",
        "data/loader.py": "from pkg.ev import score\nload = 1\n",
        "ev.py": "from pkg.data import load\nscore = 1\n",
    })
    graph = module_graph(root, "pkg")
    assert find_cycle(graph) is not None
    assert "pkg.ev" in reachable(graph, "pkg.data.loader")


@pytest.mark.parametrize("files", [
    {"__init__.py": "", "a.py": "import pkg.b\n", "b.py": "import os\n"},
    # a package's __init__ importing its submodules, which import each other: no parent edges
    {"__init__.py": "", "sub/__init__.py": "from pkg.sub.x import X\n", "sub/x.py": "from pkg.sub.y import Y\nX = 1\n",
     "sub/y.py": "Y = 1\n"},
])
def test_acyclic_packages_pass(tmp_path: Path, files: dict[str, str]) -> None:
    assert find_cycle(module_graph(_write(tmp_path, files), "pkg")) is None
