"""The config as the management API reads it: apps and versions indexed by their Kickfolio ids.

Reads never take the edit lock. The store re-reads the folder when a YAML file
in it changed (path, inode, size or mtime), so hand edits and tokens minted
with the CLI are seen at once. If the folder on disk stops being valid, reads
and authentication keep using the last good config (the edge does the same
with snapshots) and writes answer 409 ``config_invalid`` until it is fixed.

Authentication reads only the files that hold admin tokens (:meth:`ConfigStore.tokens`),
so a request is authenticated before any app file is read: a caller without a
token cannot make the process parse the apps.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from ..compiler.builder import read_admin_tokens, read_config
from ..compiler.model import AdminToken, AppConfig, Config
from ..compiler.source import config_files
from ..errors import ConfigError
from .errors import ConfigInvalid, NotFound
from .mapping import VersionRef, app_resource, version_id
from .provenance import Provenance, Stamp

__all__ = ["Catalog", "ConfigStore"]

log = logging.getLogger("kickit_edge.admin")

Fingerprint = tuple[tuple[str, int, int, int], ...]
# The keys a record written by the API always has; one written by hand without them is dated from git.
_APP_STAMPED = ("owner", "created_at", "updated_at")
_VERSION_STAMPED = ("created_at", "updated_at")


class Catalog:
    """One read of the config, indexed. Immutable once built."""

    def __init__(self, config: Config, provenance: Provenance | None = None) -> None:
        self.config = config
        self.apps = config.apps
        self._apps: dict[str, AppConfig] = {}
        for app in self.apps:
            self._apps.setdefault(app.uuid.lower(), app)
            self._apps.setdefault(app.public_key, app)
        history = provenance.history() if provenance is not None else None
        self._stamps: dict[str, Stamp | None] = {}  # app uuid -> what git says of an app the YAML does not date
        self._by_app: dict[str, list[VersionRef]] = {}
        self._versions: dict[str, VersionRef] = {}
        for app in self.apps:
            if history is not None and not all(app.raw["app"].get(k) for k in _APP_STAMPED):
                self._stamps[app.uuid] = history.stamp(app.where)
            refs = self._by_app.setdefault(app.uuid, [])
            for position, record in enumerate(app.versions):
                raw = app.raw["versions"][position]
                ident = str(raw.get("id") or version_id(app.uuid, record.platform, record.environment, record.version))
                undated = not all(raw.get(k) for k in _VERSION_STAMPED)
                stamp = history.stamp(record.where) if history is not None and undated else None
                ref = VersionRef(ident, app, position, record, raw, stamp)
                refs.append(ref)
                self._versions.setdefault(ident, ref)

    def app(self, ident: str) -> AppConfig | None:
        """An app by its Kickfolio id (UUID) or its public_key."""
        return self._apps.get(ident) or self._apps.get(ident.lower())

    def find_app(self, ident: str) -> AppConfig:
        """:meth:`app`, or NotFound."""
        app = self.app(ident)
        if app is None:
            raise NotFound(f"no app with id or public_key {ident[:64]!r}")
        return app

    def find_version(self, ident: str, app_ident: str | None = None) -> VersionRef:
        """A version by id, or NotFound; with ``app_ident``, only one of that app's versions."""
        ref = self.version(ident)
        if app_ident is not None:
            app = self.find_app(app_ident)
            if ref is not None and ref.app is not app:
                raise NotFound(f"version {ident[:64]!r} does not belong to app {app_ident[:64]!r}")
        if ref is None:
            raise NotFound(f"no version with id {ident[:64]!r}")
        return ref

    def versions(self, app: AppConfig | None = None) -> list[VersionRef]:
        if app is not None:
            return list(self._by_app.get(app.uuid, []))
        return [ref for a in self.apps for ref in self._by_app[a.uuid]]

    def version(self, ident: str) -> VersionRef | None:
        return self._versions.get(ident) or self._versions.get(ident.lower())

    def version_ids(self, app: AppConfig) -> list[str]:
        return [ref.id for ref in self._by_app.get(app.uuid, [])]

    def app_resource(self, app: AppConfig) -> dict[str, Any]:
        """The Kickfolio App of ``app``, with its version ids and what git says of it where the YAML is silent."""
        return app_resource(app, self.version_ids(app), self._stamps.get(app.uuid))


# Where ``keys new --admin`` puts the first token, when no file holds one yet.
TOKEN_FILES = ("admin.yaml", "admin.yml")


def _fingerprint(root: str, paths: list[Path] | None = None) -> Fingerprint:
    found = []
    for path in config_files(root) if paths is None else paths:
        try:
            st = path.stat()
        except OSError:
            continue
        found.append((str(path), st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(sorted(found))


class ConfigStore:
    """The current :class:`Catalog` of a config folder."""

    def __init__(self, config_dir: str | os.PathLike[str]) -> None:
        self.root = str(config_dir)
        self.provenance = Provenance.find(config_dir)
        # Every commit rewrites git's index: a commit of files that did not change on disk reads the config
        # again too, so the times git gives hand-written records follow it.
        self._git_index = [self.provenance.repo.git_path("index")] if self.provenance is not None else []
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._fingerprint: Fingerprint | None = None
        self._reported: Fingerprint | None = None
        self._tokens: list[AdminToken] | None = None
        self._tokens_fingerprint: Fingerprint | None = None

    @property
    def path(self) -> Path:
        return Path(self.root)

    def _on_disk(self) -> Fingerprint:
        return _fingerprint(self.root) + _fingerprint(self.root, self._git_index)

    def current(self) -> Catalog:
        """The config as it is on disk, or the last good one if it is invalid now."""
        fingerprint = self._on_disk()
        with self._lock:
            if self._catalog is not None and fingerprint in (self._fingerprint, self._reported):
                return self._catalog  # unchanged, or known to be invalid: not parsed again per request
            try:
                catalog = Catalog(read_config(self.root), self.provenance)
            except ConfigError as error:
                if self._catalog is None:
                    raise ConfigInvalid(_invalid_message(error)) from None
                if self._reported != fingerprint:
                    self._reported = fingerprint
                    log.warning("config in %s is invalid; serving the last good one:\n%s", self.root, error)
                return self._catalog
            self._catalog, self._fingerprint = catalog, fingerprint
            return catalog

    def tokens(self) -> list[AdminToken]:
        """The admin tokens as they are on disk, read from the files that hold them and nothing else.

        Those are the files the last good config had tokens in, and ``admin.yaml``; a token file that
        stops being valid keeps its last good tokens (logged), as :meth:`current` keeps the config.
        """
        with self._lock:
            known = {Path(t.where.source.path) for t in self._catalog.config.admin_tokens} if self._catalog else set()
        paths = sorted(known | {p for p in (self.path / name for name in TOKEN_FILES) if p.is_file()})
        fingerprint = _fingerprint(self.root, paths)
        with self._lock:
            if self._tokens is not None and fingerprint == self._tokens_fingerprint:
                return self._tokens
        try:
            tokens = read_admin_tokens(self.root, [p for p in paths if p.is_file()])
        except ConfigError as error:
            if self._tokens is None:
                raise ConfigInvalid(_invalid_message(error)) from None
            log.warning("admin tokens in %s are invalid; using the last good ones:\n%s", self.root, error)
            tokens = self._tokens
        with self._lock:
            self._tokens, self._tokens_fingerprint = tokens, fingerprint
        return tokens

    def fresh(self) -> Catalog:
        """The config exactly as it is on disk; raise ConfigInvalid if it is invalid. For writers."""
        fingerprint = self._on_disk()
        with self._lock:
            if self._catalog is not None and fingerprint == self._fingerprint:
                return self._catalog
        try:
            config = read_config(self.root)
        except ConfigError as error:
            raise ConfigInvalid(_invalid_message(error)) from None
        return self.replace(config)

    def replace(self, config: Config) -> Catalog:
        """Adopt ``config`` as current (a writer just wrote it)."""
        catalog = Catalog(config, self.provenance)
        fingerprint = self._on_disk()
        with self._lock:
            self._catalog, self._fingerprint = catalog, fingerprint
        return catalog


def _invalid_message(error: ConfigError) -> str:
    first = error.diagnostics[0] if error.diagnostics else None
    more = len(error.diagnostics) - 1
    text = f"the config on disk is invalid; fix it before writing through the API: {first}"
    return text + (f" (and {more} more; run kickit-edge compile --dry-run)" if more > 0 else "")
