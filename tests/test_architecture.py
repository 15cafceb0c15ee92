"""The boundaries of DESIGN.md, proven by reading every import of the package with ``ast``.

Every import counts, at the top of a module or inside a function (a lazy
import is still a dependency). An import under ``if TYPE_CHECKING:`` never
runs, so it is no dependency between layers at run time (review names
analytics' ``Reach`` that way); it still counts for the libraries a layer
must never touch (YAML in the edge, sockets in a root module).

The sizes of STYLE.md are checked the same way: no module over 400 lines, no
function over 60.

Each checker is itself tested: planted violations in a package written into
``tmp_path`` must each be reported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kickit_edge"

LAYERS = ("compiler", "editing", "review", "runtime", "admin", "analytics")
YAML = ("yaml", "ruamel")
# What a root module must not import: its job is pure vocabulary, formats and
# rules that every part shares, so no network, processes, servers, YAML or databases.
IO_BOUND = (*YAML, "socket", "ssl", "selectors", "asyncio", "subprocess", "multiprocessing", "concurrent",
            "http", "urllib", "email", "sqlite3", "duckdb", "starlette", "uvicorn", "httpx", "anyio", "h11",
            "watchfiles", "jsonschema", "jsonschema_rs", "requests")
# The CLI is the one place where the parts are composed; every other module at the root is shared.
COMPOSITION = ("__init__", "cli")


def _layers(*names: str) -> tuple[str, ...]:
    return tuple(f"kickit_edge.{name}" for name in names)


@dataclass(frozen=True)
class Rule:
    scope: str  # "runtime/" for a folder, "/" for the modules at the package root
    forbidden: tuple[str, ...]  # module names, matched with their submodules
    why: str


RULES = (
    Rule("runtime/", (*YAML, *_layers("compiler", "editing", "review", "admin", "analytics")),
         "the edge reads snapshots and serves HTTP: it never parses YAML nor imports the tools around it"),
    Rule("compiler/", _layers("runtime", "admin", "analytics", "editing", "review"),
         "the compiler turns YAML into snapshots and knows nothing of what reads them"),
    Rule("review/", (*YAML, *_layers("runtime", "admin", "analytics", "editing")),
         "review compares and explains snapshots; it never reads YAML itself"),
    Rule("editing/", _layers("runtime", "admin", "analytics", "review"),
         "editing changes YAML through the compiler's checks and nothing else"),
    Rule("analytics/", _layers("runtime", "admin", "compiler", "editing"),
         "analytics reads event files and snapshots; for `diff --events` it uses review, not the compiler"),
    Rule("/", (*IO_BOUND, *_layers(*LAYERS)),
         "a root module is shared by every part: pure, no I/O-bound library, no layer above it"),
)


@dataclass(frozen=True)
class Import:
    module: str  # absolute, relative imports resolved
    line: int
    typing_only: bool  # under `if TYPE_CHECKING:`


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
            or isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _resolve(node: ast.ImportFrom, package: str) -> list[str]:
    if node.level:
        parts = package.split(".")
        base = ".".join(parts[: len(parts) - node.level + 1])
        module = f"{base}.{node.module}" if node.module else base
    else:
        module = node.module or ""
    # `from . import compiler` imports a module by the name of what it imports.
    return [module, *(f"{module}.{alias.name}" for alias in node.names)]


def imports_of(path: Path, root: Path = PACKAGE) -> list[Import]:
    """Every import in ``path`` (a module of the package at ``root``), lazy ones included."""
    package = ".".join(path.relative_to(root.parent).with_suffix("").parts[:-1])
    found: list[Import] = []

    def visit(node: ast.AST, typing_only: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(alias.name, node.lineno, typing_only) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.extend(Import(name, node.lineno, typing_only) for name in _resolve(node, package))
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, typing_only)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, typing_only)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), False)
    return found


def _matches(module: str, names: tuple[str, ...]) -> str | None:
    return next((name for name in names if module == name or module.startswith(name + ".")), None)


def _in_scope(relative: Path, scope: str) -> bool:
    if scope == "/":
        return len(relative.parts) == 1 and relative.stem not in COMPOSITION
    return relative.parts[0] == scope.rstrip("/")


def violations(root: Path = PACKAGE, rules: tuple[Rule, ...] = RULES) -> list[str]:
    """``runtime/state.py:12 imports yaml: the edge ...`` for each import a rule forbids."""
    out: dict[tuple[str, int, str], str] = {}  # one report per import statement and rule
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        for rule in (r for r in rules if _in_scope(path.relative_to(root), r.scope)):
            for found in imports_of(path, root):
                name = _matches(found.module, rule.forbidden)
                if name is None or (found.typing_only and name.startswith("kickit_edge.")):
                    continue
                out.setdefault((relative, found.line, rule.why),
                               f"{relative}:{found.line} imports {found.module}: {rule.why}")
    return sorted(out.values())


def test_the_package_keeps_its_boundaries() -> None:
    assert violations() == []


def test_every_layer_and_the_root_have_a_rule() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders <= set(LAYERS) | set(COMPOSITION), "a new package needs its rule here"
    assert {r.scope for r in RULES} == {f"{name}/" for name in LAYERS if name != "admin"} | {"/"}


# --- the checker bites --------------------------------------------------------


def _plant(root: Path, relative: str, source: str) -> None:
    path = root / "kickit_edge" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    for folder in path.relative_to(root).parents:
        if folder != Path("."):
            (root / folder / "__init__.py").touch()
    path.write_text(source, encoding="utf-8")


PLANTED = [
    ("runtime/state.py", "def swap():\n    import yaml\n", "runtime/state.py:2 imports yaml"),
    ("runtime/sources.py", "from ruamel.yaml import YAML\n", "runtime/sources.py:1 imports ruamel.yaml"),
    ("runtime/app.py", "from ..compiler import compile\n", "runtime/app.py:1 imports kickit_edge.compiler"),
    ("runtime/app.py", "from ..editing.edit import write_edits\n", "runtime/app.py:1 imports kickit_edge.editing.edit"),
    ("runtime/app.py", "from .. import review\n", "runtime/app.py:1 imports kickit_edge.review"),
    ("runtime/app.py", "import kickit_edge.admin.app\n", "runtime/app.py:1 imports kickit_edge.admin.app"),
    ("compiler/render.py", "def f():\n    from ..runtime.state import Runtime\n",
     "compiler/render.py:2 imports kickit_edge.runtime.state"),
    ("review/explain.py", "import yaml\n", "review/explain.py:1 imports yaml"),
    ("review/side.py", "def f():\n    from ruamel.yaml import YAML\n", "review/side.py:2 imports ruamel.yaml"),
    ("analytics/reach.py", "from ..compiler.model import Config\n",
     "analytics/reach.py:1 imports kickit_edge.compiler.model"),
    ("analytics/scan.py", "from ..runtime.eventlog import EventLog\n",
     "analytics/scan.py:1 imports kickit_edge.runtime.eventlog"),
    ("events.py", "def send():\n    import socket\n", "events.py:2 imports socket"),
    ("settings.py", "import subprocess\n", "settings.py:1 imports subprocess"),
    ("vocabulary.py", "from starlette.responses import Response\n", "vocabulary.py:1 imports starlette.responses"),
    ("snapshot.py", "import httpx\n", "snapshot.py:1 imports httpx"),
    ("evaluation.py", "from uvicorn import run\n", "evaluation.py:1 imports uvicorn"),
    ("keys.py", "import watchfiles\n", "keys.py:1 imports watchfiles"),
    ("versions.py", "from .runtime import state\n", "versions.py:1 imports kickit_edge.runtime"),
    ("errors.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import yaml\n", "errors.py:3 imports yaml"),
]


@pytest.mark.parametrize(("relative", "source", "expected"), PLANTED, ids=[p[2] for p in PLANTED])
def test_the_checker_reports_a_planted_violation(tmp_path: Path, relative: str, source: str, expected: str) -> None:
    _plant(tmp_path, relative, source)
    found = violations(tmp_path / "kickit_edge")
    assert len(found) == 1 and found[0].startswith(expected + ": "), found


def test_the_checker_allows_what_the_layers_may_do(tmp_path: Path) -> None:
    _plant(tmp_path, "review/report.py",
           "from typing import TYPE_CHECKING\nfrom ..snapshot import Snapshot\n"
           "if TYPE_CHECKING:\n    from ..analytics.reach import Reach\n")
    _plant(tmp_path, "analytics/reach.py", "from ..review.diff import Diff\n")
    _plant(tmp_path, "editing/edit.py", "from ruamel.yaml import YAML\nfrom ..compiler.builder import build_config\n")
    _plant(tmp_path, "cli.py", "def serve():\n    from .runtime.server import serve\n    import subprocess\n")
    _plant(tmp_path, "admin/app.py", "from starlette.applications import Starlette\n")
    _plant(tmp_path, "runtime/app.py", "from ..snapshot import load_snapshot\nfrom ..vocabulary import PLATFORMS\n")
    assert violations(tmp_path / "kickit_edge") == []


def test_imports_are_read_wherever_they_are(tmp_path: Path) -> None:
    _plant(tmp_path, "runtime/state.py", (
        "import os, json as j\n"
        "from . import wire\n"
        "class A:\n"
        "    def f(self):\n"
        "        try:\n"
        "            from ..errors import SnapshotError\n"
        "        except ImportError:\n"
        "            pass\n"
    ))
    found = imports_of(tmp_path / "kickit_edge" / "runtime" / "state.py", tmp_path / "kickit_edge")
    assert [(i.module, i.line) for i in found] == [
        ("os", 1), ("json", 1), ("kickit_edge.runtime", 2), ("kickit_edge.runtime.wire", 2),
        ("kickit_edge.errors", 6), ("kickit_edge.errors.SnapshotError", 6),
    ]


# --- sizes ----------------------------------------------------------------------

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def oversized(root: Path = PACKAGE) -> list[str]:
    """``cli/main.py: 412 lines`` or ``cli/main.py:30 build_parser: 75 lines`` for each module or function too long."""
    out: list[str] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        source = path.read_text(encoding="utf-8")
        if (lines := len(source.splitlines())) > MAX_MODULE_LINES:
            out.append(f"{relative}: {lines} lines")
        for node in ast.walk(ast.parse(source, relative)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    out.append(f"{relative}:{node.lineno} {node.name}: {length} lines")
    return out


def test_no_module_or_function_is_too_long() -> None:
    assert oversized() == []


def test_the_size_check_reports_what_is_too_long(tmp_path: Path) -> None:
    def body(lines: int, indent: str) -> str:
        return "".join(f"{indent}x{i} = {i}\n" for i in range(lines))

    _plant(tmp_path, "review/fits.py", "def fits():\n" + body(MAX_FUNCTION_LINES - 1, "    "))
    _plant(tmp_path, "review/long.py", "class A:\n    async def long(self):\n" + body(MAX_FUNCTION_LINES, "        "))
    _plant(tmp_path, "big.py", "x = 1\n" * (MAX_MODULE_LINES + 1))
    assert oversized(tmp_path / "kickit_edge") == [
        f"big.py: {MAX_MODULE_LINES + 1} lines", f"review/long.py:2 long: {MAX_FUNCTION_LINES + 1} lines"]


# --- what a root module may do beyond its imports ------------------------------

PURE = ["versions", "keys", "snapshot", "evaluation", "errors", "vocabulary", "events", "eventnames", "settings"]


@pytest.mark.parametrize("name", PURE)
def test_shared_modules_are_pure(name: str) -> None:
    source = (PACKAGE / f"{name}.py").read_text()
    for io_word in ("open(", "starlette", "uvicorn", "yaml", "os.write", "requests", "socket"):
        assert io_word not in source, f"{name}.py mentions {io_word!r}"
