"""Editing config files in place, keeping their comments, key order and layout.

Writes go through ruamel.yaml's round-trip mode and are checked before they
land: the edited text of every touched file is validated together with the
untouched files, and only a config that compiles is written (atomically).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from ..atomicfile import write_atomic
from ..errors import ConfigError, Diagnostic, OperatorError
from ..compiler.builder import build_config, read_config
from ..compiler.model import AppConfig, Config
from ..compiler.source import load_config_dir, load_yaml_text

__all__ = ["round_trip", "load_document", "dump_document", "check_edits", "write_edits", "apply_edits", "edit_lock",
           "app_to_edit"]

_LOCK = threading.Lock()


def round_trip() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines the author wrote
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load_document(path: Path) -> Any:
    return round_trip().load(path.read_text(encoding="utf-8"))


def dump_document(document: Any) -> str:
    buffer = io.StringIO()
    round_trip().dump(document, buffer)
    return buffer.getvalue()


def app_to_edit(config_dir: str, app_id: str) -> AppConfig:
    """The app ``app_id`` of the (valid) config, or an OperatorError naming the apps there are."""
    config = read_config(config_dir)
    app = config.app(app_id)
    if app is None:
        known = ", ".join(sorted(a.id for a in config.apps)) or "none"
        raise OperatorError(f"no app {app_id!r} in {config_dir} (apps: {known})")
    return app


@contextmanager
def edit_lock(config_dir: str) -> Iterator[None]:
    """Serialize writers: a thread lock in this process plus an flock across processes."""
    import fcntl

    with _LOCK:
        lock_path = Path(config_dir) / ".kickit-edit.lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            if not Path(config_dir).is_dir():
                raise OperatorError(f"config folder {config_dir!r} not found: expected a folder of YAML files"
                                    ) from None
            raise OperatorError(f"cannot lock {config_dir!r} for editing ({lock_path.name}): {exc.strerror}"
                                ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def check_edits(config_dir: str, changes: dict[Path, str | None],
                check: Callable[[Config], list[Diagnostic]] | None = None) -> tuple[Config, list[Diagnostic]]:
    """The config as it would be with ``changes`` (path -> new text, None = delete), and its problems.

    Nothing is written. ``check`` runs only when the config is otherwise valid.
    """
    files, diagnostics = load_config_dir(config_dir, skip={path.resolve() for path in changes})
    by_path = {Path(f.path).resolve(): f for f in files}
    for path, text in changes.items():
        resolved = path.resolve()
        by_path.pop(resolved, None)
        if text is not None:
            shown = str(Path(config_dir) / resolved.relative_to(Path(config_dir).resolve()))
            source, problems = load_yaml_text(text, shown)
            diagnostics.extend(problems)
            if source is not None:
                by_path[resolved] = source
    ordered = [by_path[p] for p in sorted(by_path)]
    config, more = build_config(str(config_dir), ordered)
    diagnostics.extend(more)
    if check is not None and not diagnostics:
        diagnostics.extend(check(config))
    return config, diagnostics


def write_edits(changes: dict[Path, str | None]) -> None:
    """Write each changed file atomically (None = delete). Check them first with :func:`check_edits`."""
    for path, text in changes.items():
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, text.encode("utf-8"))


def apply_edits(config_dir: str, changes: dict[Path, str | None],
                check: Callable[[Config], list[Diagnostic]] | None = None) -> Config:
    """Validate the config as it would be with ``changes`` (path -> new text, None = delete), then write.

    Raise ConfigError, writing nothing, if the resulting config is invalid.
    """
    config, diagnostics = check_edits(config_dir, changes, check)
    if diagnostics:
        raise ConfigError(diagnostics)
    write_edits(changes)
    return config
