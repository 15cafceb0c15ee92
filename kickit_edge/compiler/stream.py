"""Compiling a config folder one file at a time: what ``kickit-edge compile`` runs.

Each app file is read, validated, modelled, checked and rendered on its own
(in worker processes when there are many), and only its snapshot line and
what the checks across files need (ids, uuids, public keys, key prefixes,
version ids) come back. So a big config never holds every app's model at
once, and the work of every app is spread over the cores. Each line is also
built there into the app the edge's loader would build from it, so the
snapshot is verified as a whole load would verify it, without one process
building every app again.

The bytes out are those of :func:`~.compile.compile_config` (a test compares
them). A config with any problem is compiled again by
:func:`~.compile.compile_config`, which reports every problem, in its order
and with its positions; config tests run on the apps that have any, modelled
again from their files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..appline import MALFORMED, app_index
from ..errors import ConfigTestFailure, SnapshotError
from ..loader import read_head
from ..snapshot import AppIndex, Snapshot, canonical_json, encode_lines
from .builder import build_file
from .checks import check_app
from .compile import Seal, compile_config, manifest, no_gc, stamp
from .configtests import CaseResult, run_config_tests
from .model import AppConfig, Config
from .render import key_records, render_app, render_header
from .source import PROGRESS_FILES, Progress, config_jobs, load_file, per_file

__all__ = ["Published", "compile_folder"]


@dataclass(frozen=True)
class Published:
    """A compiled folder: its app count, snapshot bytes, the snapshot loaded back, config test results."""

    apps: int
    data: bytes
    snapshot: Snapshot
    results: list[CaseResult]


@dataclass(slots=True)
class _App:
    """What is kept of one app file: its line, and what the checks across files compare."""

    id: str
    uuid: str
    public_key: str
    keys: list[tuple[str, dict[str, Any]]]  # (prefix, header record)
    version_ids: list[str]
    tested: bool  # has config tests
    line: bytes  # emptied once in the snapshot


@dataclass(frozen=True, slots=True)
class _Tokens:
    names: list[str]
    prefixes: list[str]


_Done = _App | _Tokens | None | bool  # None: a file of neither kind; False: a file with a problem


def _one(file: Path, shown: str) -> _Done:
    source, problems = load_file(file, shown)
    if source is None or problems:
        return False
    built, problems = build_file(source)
    if problems:
        return False
    if built is None or isinstance(built, list):
        return None if built is None else _Tokens([t.name for t in built], [t.prefix for t in built])
    app: AppConfig = built
    if next(check_app(app), None) is not None:
        return False
    versions = app.raw.get("versions", [])
    line = canonical_json(render_app(app))
    _built(app.id, line)
    return _App(app.id, app.uuid, app.public_key, key_records(app), [str(v["id"]) for v in versions if "id" in v],
                bool(app.tests), line)


def _built(app_id: str, line: bytes) -> AppIndex:
    """The app the edge's loader builds from this line; a line it would reject stops the compile, with its reason."""
    try:
        return app_index(app_id, json.loads(line))
    except MALFORMED as exc:
        raise SnapshotError(f"snapshot app {app_id!r} is not valid: {type(exc).__name__}: {exc}") from None


class _Apps(Mapping[str, AppIndex]):
    """The apps of snapshot bytes this compile wrote, each built again from its line when asked for (and kept).

    Every line was built once already, where it was rendered (:func:`_built`,
    in the worker processes), so the whole snapshot is verified without one
    process building, and holding, every app: the config tests ask for a few.
    """

    def __init__(self, data: bytes, ids: list[str]) -> None:
        self._data = data
        self._spans: dict[str, tuple[int, int]] = {}
        end = data.index(b"\n", data.index(b"\n") + 1)  # after the manifest and the header
        for app_id in ids:
            start, end = end + 1, data.index(b"\n", end + 1)
            self._spans[app_id] = (start, end)
        self._apps: dict[str, AppIndex] = {}

    def __getitem__(self, app_id: str) -> AppIndex:
        if app_id not in self._apps:
            start, end = self._spans[app_id]
            self._apps[app_id] = _built(app_id, self._data[start:end])
        return self._apps[app_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)


def _snapshot(data: bytes) -> Snapshot:
    """The snapshot of bytes just encoded from verified lines: its manifest and header read back and checked."""
    manifest, ids, keys, off = read_head(data)
    known = set(ids)
    for prefix, record in keys.items():
        if record.app not in known:
            raise SnapshotError(f"snapshot key {prefix} names unknown app {record.app!r}")
    return Snapshot(manifest, _Apps(data, ids), keys, off, len(data))


def _many(jobs: list[tuple[Path, str]]) -> list[_Done]:
    with no_gc():
        return [_one(file, shown) for file, shown in jobs]


def _unique(apps: list[_App], tokens: list[_Tokens]) -> bool:
    """Whether ids, uuids, public keys, key prefixes, admin token names and version ids are each used once."""
    columns = [
        [a.id for a in apps], [a.uuid for a in apps], [a.public_key for a in apps],
        [p for a in apps for p, _ in a.keys] + [p for t in tokens for p in t.prefixes],
        [n for t in tokens for n in t.names], [v for a in apps for v in a.version_ids],
    ]
    return all(len(set(column)) == len(column) for column in columns)


def _tests(config_dir: str, jobs: list[tuple[Path, str]], done: list[_Done], snapshot: Snapshot) -> list[CaseResult]:
    tested = []
    for (file, shown), result in zip(jobs, done):
        if isinstance(result, _App) and result.tested:
            source, _ = load_file(file, shown)
            assert source is not None  # it was read a moment ago
            app, _ = build_file(source)
            assert isinstance(app, AppConfig)
            tested.append(app)
    return run_config_tests(Config(config_dir, tested, []), snapshot) if tested else []


def _lines(apps: list[_App]) -> list[tuple[str, bytes]]:
    """Every app's line sorted by id, each taken from its app (so it is held once)."""
    lines = []
    for app in sorted(apps, key=lambda a: a.id):
        lines.append((app.id, app.line))
        app.line = b""
    return lines


def compile_folder(config_dir: str, revision: str | None = None, progress: Progress | None = None,
                   seal: Seal | None = None) -> Published:
    """Read, check, render and verify a config folder; raise ConfigError or ConfigTestFailure."""
    jobs = config_jobs(config_dir) if os.path.isdir(config_dir) else []
    report = progress if progress is not None and len(jobs) >= PROGRESS_FILES else None
    done: list[_Done] = []
    for number, result in enumerate(per_file(jobs, _many), 1):
        if report is not None and (number % 1000 == 0 or number == len(jobs)):
            report(f"read {number}/{len(jobs)} files")
        done.append(result)
    apps = [r for r in done if isinstance(r, _App)]
    tokens = [r for r in done if isinstance(r, _Tokens)]
    if not jobs or any(r is False for r in done) or not _unique(apps, tokens):
        compiled = compile_config(config_dir, revision, progress=progress, seal=seal)  # says what is wrong
        return Published(len(compiled.config.apps), compiled.data, compiled.snapshot, compiled.results)
    if report is not None:
        report(f"checked {len(apps)} apps")
    header = render_header(dict(record for app in apps for record in app.keys))
    revision, created = stamp(config_dir, revision)
    with no_gc():
        data = encode_lines(header, _lines(apps), manifest(len(apps), revision, created), seal)
        snapshot = _snapshot(data)
    if report is not None:
        report(f"rendered {snapshot.size} bytes")
    results = _tests(config_dir, jobs, done, snapshot)
    failures = [str(r) for r in results if not r.passed]
    if failures:
        raise ConfigTestFailure(failures)
    return Published(len(apps), data, snapshot, results)
