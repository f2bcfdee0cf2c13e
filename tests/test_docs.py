"""Every reference from the code to the design docs resolves: `docs/<file>.md, "<heading>"` names a
file in docs/ and a heading that exists in it; no code cites a design document outside the
repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SOURCES = [p for d in ("python", "rust", "benches") for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".rs", ".pyi")]

# A citation may wrap over comment or docstring lines: "docs/x.md, \"Heading\"" or "docs/x.md \"Heading\"".
_CITE = re.compile(r"docs/([\w-]+\.md)(?:,\s*|\s+)[\"“]([^\"”]+)[\"”]")
_FILE = re.compile(r"docs/([\w-]+\.md)")
_COMMENT = re.compile(r"^\s*(?:///?!?|#:?|\*)?\s?")


def _flat(text: str) -> str:
    """Lines joined with single spaces, comment markers removed, so wrapped citations read whole."""
    return " ".join(_COMMENT.sub("", line).strip() for line in text.splitlines())


def _headings(path: Path) -> set[str]:
    return {m.group(1).strip() for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", path.read_text(), re.M)}


def citations(text: str) -> list[tuple[str, str]]:
    return [(f, " ".join(h.split())) for f, h in _CITE.findall(_flat(text))]


def test_citation_parser_reads_wrapped_citations():
    text = 'see (docs/algorithms.md, "Training: losses,\n    schedules and the refresh") and\n/// docs/models.md "Presets"'
    assert citations(text) == [("algorithms.md", "Training: losses, schedules and the refresh"),
                               ("models.md", "Presets")]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_doc_references_resolve(path: Path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"DESIGN(\.md)?\s*§", text), f"{path}: cites DESIGN §, a document outside the repository"
    for name in _FILE.findall(text):
        assert (DOCS / name).is_file(), f"{path}: cites docs/{name}, which does not exist"
    for name, heading in citations(text):
        assert heading in _headings(DOCS / name), f"{path}: docs/{name} has no section {heading!r}"
