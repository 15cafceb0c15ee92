"""One side of a comparison: a config folder, a published snapshot, or a git revision of the config.

``kickit-edge diff BASE HEAD`` and ``kickit-edge matrix`` accept any of the
three and turn it into the same thing, a loaded snapshot, so that both compare
what clients would be answered rather than the YAML text. An argument is read
as a path when one exists by that name, else as a git revision::

    config                  a config folder: compiled (without its config tests)
    snapshots               a folder holding snapshot.json, as `compile --out` writes it
    snapshots/snapshot.json a snapshot file
    main, HEAD~1, a1b2c3d   the config folder at that commit: `git archive` into a temp dir
                            (a branch only the remote has, such as main in a CI checkout,
                            is read from origin/main)
"""

from __future__ import annotations

import dataclasses
import io
from bisect import bisect_right
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError, OperatorError, SnapshotError
from ..loader import load_snapshot
from ..snapshot import SNAPSHOT_FILE, Snapshot
from ..compiler.compile import build_snapshot, compile_config
from ..compiler.model import Config
from ..compiler.source import config_files
from .explain import rule_sources
from ..compiler.repository import Repository, run_git

__all__ = ["SideKind", "Side", "open_side", "config_side", "revision_side", "raw_at", "reasons_at"]

SideKind = Literal["config", "snapshot", "revision"]


@dataclass(frozen=True)
class Side:
    """What one side of a comparison answers, and where it came from."""

    label: str  # the argument as the user gave it
    kind: SideKind
    snapshot: Snapshot
    raw: dict[str, dict[str, Any]]  # app id -> its snapshot line, for what the indexes do not keep
    sources: dict[tuple[str, str], str]  # (app id, rule) -> apps/demo.yaml:14; empty for a snapshot
    revision: str | None  # the commit, when known

    @property
    def title(self) -> str:
        """``main (a1b2c3d)``: the label, with the commit when it says more than the label."""
        if self.revision and not self.revision.startswith(self.label):
            return f"{self.label} ({self.revision[:7]}{'-dirty' if self.revision.endswith('-dirty') else ''})"
        return self.label


def _raw_apps(data: bytes) -> dict[str, dict[str, Any]]:
    """App id -> its line: the manifest and header lines come first, then one line per app in header order."""
    lines = data.split(b"\n")
    ids = json.loads(lines[1])["apps"]
    return {app_id: json.loads(line) for app_id, line in zip(ids, lines[2:])}


def raw_at(raw: dict[str, Any], changes: tuple[float, ...], at: float) -> dict[str, Any]:
    """An app's line as it reads at the instant ``at``: the minimum and targets of that interval."""
    index = bisect_right(changes, at)
    if index == 0:
        return raw
    return dict(raw, **raw["timeline"]["views"][index - 1])


def reasons_at(raw: dict[str, Any], at: float) -> tuple[str, ...]:
    """What happens at the instant ``at`` of an app's timeline (a release, a deadline), as the compiler noted it."""
    timeline = raw.get("timeline") or {}
    changes = timeline.get("changes", [])
    return tuple(timeline["why"][changes.index(at)]) if at in changes and "why" in timeline else ()


def _from_snapshot(label: str, path: Path) -> Side:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OperatorError(f"cannot read snapshot {path}: {exc.strerror}") from None
    try:
        snapshot = load_snapshot(data)
    except SnapshotError as exc:
        raise SnapshotError(f"{path}: {exc}") from None
    return Side(label, "snapshot", snapshot, _raw_apps(data), {}, snapshot.revision)


def config_side(label: str, config: Config, built: tuple[bytes, Snapshot] | None = None) -> Side:
    """A side for a config already read and checked (the management API's before and after of a write).

    ``built`` is ``build_snapshot(config)`` when the caller has it already.
    """
    data, snapshot = built or build_snapshot(config)
    return Side(label, "config", snapshot, _raw_apps(data), rule_sources(config), snapshot.revision)


def _from_config(label: str, config_dir: str, revision: str | None = None) -> Side:
    compiled = compile_config(config_dir, revision=revision, run_tests=False)
    snapshot = compiled.snapshot
    return Side(label, "revision" if revision else "config", snapshot, _raw_apps(compiled.data),
                rule_sources(compiled.config), snapshot.revision)


def _from_revision(spec: str, config_path: str) -> Side:
    cwd = os.getcwd()
    top = run_git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise OperatorError(
            f"{spec!r} is neither a config folder, a snapshot, nor a git revision (not inside a git repository)")
    root = os.path.realpath(top.stdout.decode().strip())
    inside = os.path.relpath(os.path.abspath(config_path), root)
    if inside.startswith(".."):
        raise OperatorError(f"--config-path {config_path!r} is outside the git repository at {root}")
    repo = Repository(Path(root), Path(inside).as_posix())
    # A CI checkout has origin/main but no local main: accept the branch name alone.
    commit = repo.commit_of(spec) or repo.commit_of(f"origin/{spec}")
    if commit is None:
        raise OperatorError(
            f"{spec!r} is neither a config folder, a snapshot, nor a git revision: "
            "expected a path, or a revision such as main, HEAD~1 or a commit id")
    return revision_side(repo, commit, spec)


def revision_side(repo: Repository, commit: str, label: str) -> Side:
    """The config folder of ``repo`` as it is at ``commit``: `git archive` into a temp dir, compiled there."""
    inside = repo.inside
    archive = repo.git("archive", "--format=tar", commit, "--", inside)
    if archive.returncode != 0:
        raise OperatorError(f"no config folder {inside!r} at revision {label} ({commit[:7]}): "
                            "give its path with --config-path")
    with tempfile.TemporaryDirectory(prefix="kickit-diff-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        folder = os.path.join(tmp, inside)
        try:
            return _from_config(label, folder, revision=commit)
        except ConfigError as error:
            # Name the file as `main:config/apps/demo.yaml`, not by the temp dir it was read from.
            shown = [dataclasses.replace(d, path=f"{label}:{inside}{d.path[len(folder):]}")
                     if d.path.startswith(folder) else d for d in error.diagnostics]
            raise ConfigError(shown) from None


def open_side(spec: str, config_path: str = "config") -> Side:
    """Load one side: a path if one exists by that name, else a git revision of ``config_path``."""
    path = Path(spec)
    if path.is_file():
        return _from_snapshot(spec, path)
    if path.is_dir():
        if (path / SNAPSHOT_FILE).is_file() and not config_files(path):
            return _from_snapshot(spec, path / SNAPSHOT_FILE)
        return _from_config(spec, spec)
    return _from_revision(spec, config_path)
