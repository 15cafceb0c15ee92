"""The boundaries of DESIGN.md, proven: compiler and runtime never import each other; shared modules are pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kickit_edge"
SHARED = ["versions", "keys", "snapshot", "evaluation", "errors"]


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the kickit_edge modules a file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
    return {m for m in found if m.startswith("kickit_edge")}


def modules_under(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize(("folder", "forbidden"), [
    ("compiler", ("kickit_edge.runtime", "kickit_edge.admin", "kickit_edge.analytics")),
    ("review", ("kickit_edge.runtime", "kickit_edge.admin", "kickit_edge.analytics", "kickit_edge.editing")),
    ("editing", ("kickit_edge.runtime", "kickit_edge.admin", "kickit_edge.analytics", "kickit_edge.review")),
    ("runtime", ("kickit_edge.compiler", "kickit_edge.editing", "kickit_edge.review", "kickit_edge.admin", "kickit_edge.analytics")),
    # Analytics reads event files and snapshots; it may use the compiler's diff for `diff --events`.
    ("analytics", ("kickit_edge.runtime", "kickit_edge.admin")),
])
def test_compiler_and_runtime_never_import_each_other(folder: str, forbidden: tuple[str, ...]) -> None:
    for path in modules_under(folder):
        bad = {m for m in imported_modules(path) if m.startswith(forbidden)}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


@pytest.mark.parametrize("name", SHARED)
def test_shared_modules_are_pure(name: str) -> None:
    path = PACKAGE / f"{name}.py"
    bad = {m for m in imported_modules(path)
           if m.startswith(("kickit_edge.compiler", "kickit_edge.runtime", "kickit_edge.admin"))}
    assert not bad
    source = path.read_text()
    for io_word in ("open(", "starlette", "uvicorn", "yaml", "os.write", "requests", "socket"):
        assert io_word not in source, f"{name}.py mentions {io_word!r}"
