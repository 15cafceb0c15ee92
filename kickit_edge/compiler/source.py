"""Reading the config folder: every YAML file, safely, with line and column kept.

PyYAML's safe composer gives a node tree with marks; we build plain Python
data from it ourselves so that every value keeps the place it came from, a
duplicate key is an error instead of a silent overwrite, and dates stay the
strings the author wrote (JSON Schema checks their form). A file that the
faster yaml-rs provably reads the same way is read by it (:mod:`.quickyaml`);
every other file, and every file with a problem, is read as described here.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, TypeVar

import yaml

from ..errors import Diagnostic
from .quickyaml import quick_load

__all__ = [
    "SourceFile", "DataPath", "Progress", "PROGRESS_FILES", "CONFIG_SUFFIXES", "is_config_path", "config_files",
    "load_config_dir", "load_yaml_text", "render_path", "load_file", "per_file", "config_jobs",
]

DataPath = tuple[str | int, ...]

_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_PLAIN_TAGS = {
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
MAX_FILE_BYTES = 16 * 1024 * 1024
# LibYAML when PyYAML was built with it (the PyPI wheels are): about 10x faster.
# Its error texts differ, so a file that fails is parsed again by the pure
# Python loader, whose messages are the ones we document and test.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class SourceFile:
    """One YAML file: its data, and where each value was written.

    Positions are found only when asked for (a diagnostic, an explanation):
    the file is composed again then. Most compiles never ask, and keeping a
    position for every value of 10,000 files would cost more than parsing them.
    """

    path: str  # as shown in diagnostics: the config folder as given, joined with the file
    data: Any
    text: str = field(repr=False, default="")
    _positions: dict[DataPath, tuple[int, int]] | None = field(repr=False, default=None)

    @property
    def positions(self) -> dict[DataPath, tuple[int, int]]:
        if self._positions is None:
            positions: dict[DataPath, tuple[int, int]] = {}
            node = yaml.compose(self.text, Loader=_FAST_LOADER) if self.text else None
            if node is not None:
                _build(node, (), positions, [], _Expansion(self.text))  # it loaded: within the bound
            self._positions = positions
        return self._positions

    def where(self, path: DataPath) -> tuple[int, int]:
        """Line and column of the value at ``path``, or of its nearest located parent."""
        positions = self.positions
        while path not in positions and path:
            path = path[:-1]
        return positions.get(path, (1, 1))

    def diagnostic(self, path: DataPath, message: str) -> Diagnostic:
        line, column = self.where(path)
        return Diagnostic(self.path, line, column, render_path(path), message)


def render_path(path: DataPath) -> str:
    """``('rules', 2, 'platform')`` -> ``rules[2].platform``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_MAP, _SEQ, _STR = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_BOOLS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}


class _Irregular(Exception):
    """A duplicate or non-scalar key: the slow builder locates and reports it."""


# YAML aliases let a short file stand for a huge tree ("billion laughs"):
# building data visits a node once per alias that reaches it. A file without
# aliases has fewer values than bytes, so a file may build at most its size in
# bytes plus this many values: reusing an anchor a few times stays far below,
# and an attack is stopped within milliseconds and a bounded amount of memory.
MAX_ALIAS_VALUES = 10_000


class _Expansion:
    """Counts the values built from a file; raises :class:`_AliasBomb` past its size + :data:`MAX_ALIAS_VALUES`."""

    __slots__ = ("left", "limit")

    def __init__(self, text: str) -> None:
        self.limit = len(text) + MAX_ALIAS_VALUES
        self.left = self.limit

    def visit(self, node: yaml.Node) -> None:
        self.left -= 1
        if self.left < 0:
            raise _AliasBomb(node, self.limit)


class _AliasBomb(Exception):
    def __init__(self, node: yaml.Node, limit: int) -> None:
        super().__init__(node)
        self.node = node
        self.limit = limit

    def diagnostic(self, shown_path: str) -> Diagnostic:
        mark = self.node.start_mark  # where the bound was crossed, inside an anchored value
        return Diagnostic(shown_path, mark.line + 1, mark.column + 1, "",
                          f"YAML aliases expand this file to more than {self.limit} values (its size in bytes "
                          f"+ {MAX_ALIAS_VALUES}); expected anchors reused a bounded number of times")


def _data(node: yaml.Node, budget: _Expansion) -> Any:
    """Plain data from a node, fast: no positions. Raises _Irregular on a key problem."""
    budget.visit(node)
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag == _MAP:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag != _STR:
                raise _Irregular
            key = key_node.value
            if key in out:
                raise _Irregular
            out[key] = _data(value_node, budget)
        return out
    if tag == _SEQ:
        return [_data(item, budget) for item in node.value]
    if tag == _BOOL:
        return _BOOLS[node.value.lower()]
    if tag in _PLAIN_TAGS:
        return _CONSTRUCTOR.construct_object(node, deep=True)
    # Timestamps and anything else: the text as written.
    return node.value


def _build(node: yaml.Node, path: DataPath, positions: dict[DataPath, tuple[int, int]],
           problems: list[tuple[DataPath, tuple[int, int], str]], budget: _Expansion) -> Any:
    budget.visit(node)
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _build(key_node, path + ("<key>",), {}, problems, budget)
            if not isinstance(key, (str, int, bool)) or key is None:
                problems.append((path, (key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                                 "a mapping key must be a plain scalar"))
                continue
            key = str(key) if not isinstance(key, str) else key
            if key in out:
                line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                problems.append((path + (key,), (line, column), f"duplicate key {key!r}"))
                continue
            out[key] = _build(value_node, path + (key,), positions, problems, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), positions, problems, budget) for i, item in enumerate(node.value)]
    if node.tag in _PLAIN_TAGS:
        return _CONSTRUCTOR.construct_object(node, deep=True)
    return node.value


def _too_large(shown_path: str) -> Diagnostic:
    return Diagnostic(shown_path, 1, 1, "", f"file is larger than {MAX_FILE_BYTES} bytes; expected a config file "
                                            "of at most that size (split a big app into several files?)")


def load_yaml_text(text: str, shown_path: str) -> tuple[SourceFile | None, list[Diagnostic]]:
    """Parse one YAML document; return the file or the diagnostics that stop it.

    Bounded: a text over :data:`MAX_FILE_BYTES` is not parsed, aliases may
    not expand it beyond its size plus :data:`MAX_ALIAS_VALUES` values, and
    collections nested deeper than the readers can recurse are refused.
    """
    if len(text) > MAX_FILE_BYTES:
        return None, [_too_large(shown_path)]
    try:
        return _load_bounded(text, shown_path)
    except RecursionError:
        return None, [Diagnostic(shown_path, 1, 1, "", "YAML error: collections nested too deeply to read; "
                                                        "a config file needs only a few levels")]
    except ValueError as exc:  # a plain scalar PyYAML's constructor cannot make: an integer too long for Python
        if "integer string conversion" not in str(exc):
            raise
        return None, [Diagnostic(shown_path, 1, 1, "", f"YAML error: a number with more than "
                                                        f"{sys.get_int_max_str_digits()} digits; quote it if it "
                                                        "is meant as text")]


def _load_bounded(text: str, shown_path: str) -> tuple[SourceFile | None, list[Diagnostic]]:
    quick, data = quick_load(text)
    if quick:
        return SourceFile(shown_path, data, text), []
    try:
        node = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        return _load_slowly(text, shown_path)
    if node is None:
        return None, [Diagnostic(shown_path, 1, 1, "", "the file is empty: expected a mapping with 'app' or 'admin_tokens'")]
    try:
        return SourceFile(shown_path, _data(node, _Expansion(text)), text), []
    except _AliasBomb as bomb:
        return None, [bomb.diagnostic(shown_path)]
    except _Irregular:
        pass
    positions: dict[DataPath, tuple[int, int]] = {}
    problems: list[tuple[DataPath, tuple[int, int], str]] = []
    try:
        data = _build(node, (), positions, problems, _Expansion(text))
    except _AliasBomb as bomb:
        return None, [bomb.diagnostic(shown_path)]
    diagnostics = [Diagnostic(shown_path, ln, col, render_path(p), msg) for p, (ln, col), msg in problems]
    return SourceFile(shown_path, data, text, positions), diagnostics


def _load_slowly(text: str, shown_path: str) -> tuple[SourceFile | None, list[Diagnostic]]:
    """Parse a file LibYAML rejected with the pure Python loader, for its clearer messages."""
    try:
        yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        return None, [Diagnostic(shown_path, line, column, "", f"YAML syntax error: {what}")]
    except yaml.YAMLError as exc:
        return None, [Diagnostic(shown_path, 1, 1, "", f"YAML error: {exc}")]
    return None, [Diagnostic(shown_path, 1, 1, "", "YAML error: LibYAML rejected this file; check its encoding")]


CONFIG_SUFFIXES = (".yaml", ".yml")


def is_config_path(relative: str | os.PathLike[str]) -> bool:
    """Whether the compiler reads the file at ``relative`` (to the config folder, or a bare name).

    A config file is a ``*.yaml`` or ``*.yml`` with no hidden file or folder
    on its way (editors' and git's own files stay out).
    """
    parts = PurePath(relative).parts
    return bool(parts) and parts[-1].endswith(CONFIG_SUFFIXES) and not any(p.startswith(".") for p in parts)


def config_files(root: str | os.PathLike[str]) -> list[Path]:
    """Every config file under ``root``, folders and files in name order."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / name for name in sorted(filenames) if is_config_path(name))
    return found


Progress = Callable[[str], None]
Done = TypeVar("Done")  # what per-file work gives for one file
# Below this many files a compile takes about a second and reports nothing.
PROGRESS_FILES = 1000
# From this many files on, parsing is spread over worker processes.
PARALLEL_FILES = 400


def load_file(file: Path, shown: str) -> tuple[SourceFile | None, list[Diagnostic]]:
    """One config file, read as the folder's files are (size-bounded, UTF-8, alias-bounded)."""
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            return None, [_too_large(shown)]  # not even read
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Diagnostic(shown, 1, 1, "", f"not UTF-8 text: {exc.reason} at byte {exc.start}")]
    except OSError as exc:
        return None, [Diagnostic(shown, 1, 1, "", f"cannot read: {exc.strerror}")]
    return load_yaml_text(text, shown)


def _load_many(jobs: list[tuple[Path, str]]) -> list[tuple[SourceFile | None, list[Diagnostic]]]:
    return [load_file(file, shown) for file, shown in jobs]


def per_file(jobs: list[tuple[Path, str]], work: Callable[[list[tuple[Path, str]]], list[Done]]) -> Iterator[Done]:
    """``work`` over the files, in order; in worker processes when there are many (it is per file).

    ``work`` takes and returns a list (a chunk of files), and is a module-level
    function, so that worker processes can be sent it.
    """
    if len(jobs) < PARALLEL_FILES or (os.cpu_count() or 1) == 1:
        yield from work(jobs)
        return
    chunks = [jobs[i:i + 250] for i in range(0, len(jobs), 250)]
    workers = min(len(chunks), os.cpu_count() or 1, 8)
    try:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    except (OSError, NotImplementedError):
        yield from work(jobs)  # no processes here (some sandboxes): work in this one
        return
    with pool:
        for results in pool.map(work, chunks):
            yield from results


def config_jobs(config_dir: str | os.PathLike[str], skip: Collection[Path] = ()) -> list[tuple[Path, str]]:
    """Every config file of the folder with the path diagnostics show for it."""
    root = Path(config_dir)
    return [(file, str(Path(config_dir) / file.relative_to(root))) for file in config_files(root)
            if not skip or file.resolve() not in skip]


def load_config_dir(config_dir: str | os.PathLike[str], progress: Progress | None = None,
                    skip: Collection[Path] = ()) -> tuple[list[SourceFile], list[Diagnostic]]:
    """Load every ``*.yaml``/``*.yml`` file under ``config_dir`` (hidden ones skipped).

    A big folder (``PARALLEL_FILES`` or more) is parsed by one worker process
    per core; with ``progress`` it reports every 1,000 files. Files whose
    resolved path is in ``skip`` are not read (an editor is replacing them).
    """
    files: list[SourceFile] = []
    diagnostics: list[Diagnostic] = []
    jobs = config_jobs(config_dir, skip)
    report = progress if progress is not None and len(jobs) >= PROGRESS_FILES else None
    for number, (source, problems) in enumerate(per_file(jobs, _load_many), 1):
        if report is not None and (number % 1000 == 0 or number == len(jobs)):
            report(f"read {number}/{len(jobs)} files")
        diagnostics.extend(problems)
        if source is not None:
            files.append(source)
    return files, diagnostics
