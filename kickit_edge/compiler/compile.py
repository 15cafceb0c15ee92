"""The compiler's entry point: config folder in, verified snapshot bytes out."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .. import __version__
from ..errors import ConfigTestFailure, OperatorError
from ..loader import load_snapshot
from ..snapshot import Snapshot, encode_snapshot
from .configtests import CaseResult, run_config_tests
from .builder import read_config
from .model import Config
from .render import render_content
from .repository import run_git
from .source import PROGRESS_FILES, Progress

__all__ = ["Compiled", "compile_config", "build_snapshot", "git_revision", "manifest", "stamp", "no_gc"]


@dataclass(frozen=True)
class Compiled:
    config: Config
    data: bytes
    snapshot: Snapshot
    results: list[CaseResult]


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic GC: a big config allocates millions of acyclic objects,
    and the collector would rescan them again and again (half the compile time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _git(config_dir: str, *args: str) -> str | None:
    """The output of a git command in the config folder; None where git is missing, fails or is not there."""
    try:
        done = run_git(list(args), config_dir)
    except OperatorError:
        return None
    return done.stdout.decode(errors="replace").strip() if done.returncode == 0 else None


def git_revision(config_dir: str) -> tuple[str | None, str | None]:
    """The commit the config folder is at (``-dirty`` when it has local changes) and its time."""
    head = _git(config_dir, "rev-parse", "HEAD")
    if not head:
        return None, None
    if _git(config_dir, "status", "--porcelain", "--", "."):
        head += "-dirty"
    epoch = _git(config_dir, "log", "-1", "--format=%ct")
    return head, epoch


Seal = Callable[[dict[str, Any]], dict[str, Any]]


def build_snapshot(config: Config, revision: str | None = None, created: str | None = None,
                   seal: Seal | None = None) -> tuple[bytes, Snapshot]:
    """Render and encode a checked config, then load the bytes back as the runtime would.

    ``seal`` adds to the finished manifest (a signature: see :mod:`kickit_edge.signing`).
    """
    header, apps = render_content(config)
    data = encode_snapshot(header, apps, manifest(len(config.apps), revision, created), seal)
    return data, load_snapshot(data)


def manifest(apps: int, revision: str | None, created: str | None) -> dict[str, Any]:
    """The snapshot's manifest before the digest."""
    return {"generator": f"kickit-edge/{__version__}", "revision": revision, "created": created, "apps": apps}


def stamp(config_dir: str, revision: str | None) -> tuple[str | None, str | None]:
    """The revision and ``created`` time of a compile of ``config_dir``.

    ``created`` comes from ``SOURCE_DATE_EPOCH`` or the git commit time, never
    the wall clock, so compiling twice gives the same bytes.
    """
    git_rev, git_epoch = git_revision(config_dir)
    revision = revision or os.environ.get("KICKIT_REVISION") or git_rev
    epoch = os.environ.get("SOURCE_DATE_EPOCH") or git_epoch
    created = None
    if epoch and epoch.isdigit():
        created = datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return revision, created


def compile_config(config_dir: str, revision: str | None = None, run_tests: bool = True,
                   progress: Progress | None = None, config: Config | None = None,
                   seal: Seal | None = None) -> Compiled:
    """Read, check, render and verify; raise ConfigError or ConfigTestFailure.

    ``config`` is a checked read of ``config_dir`` the caller already has (the
    admin API just wrote it), so the folder is not read again.
    """
    if config is None:
        with no_gc():
            config = read_config(config_dir, progress)
    revision, created = stamp(config_dir, revision)
    with no_gc():
        data, snapshot = build_snapshot(config, revision, created, seal)
    if progress is not None and len(config.apps) >= PROGRESS_FILES:
        progress(f"rendered {snapshot.size} bytes")
    results = run_config_tests(config, snapshot) if run_tests else []
    failures = [str(r) for r in results if not r.passed]
    if failures:
        raise ConfigTestFailure(failures)
    return Compiled(config, data, snapshot, results)
