"""Writes of the management API: each one an edit of the YAML, checked as a whole config, then written.

Every write holds the edit lock (one writer at a time, across threads and
processes), reads the config (unless it is unchanged since the last read),
edits the one file it concerns in round-trip mode (comments, key order and
quoting kept), checks the whole resulting config (schema, semantic checks and
config tests) without writing, and only then writes that file atomically.
With ``publish_dir`` it then compiles and publishes a snapshot, still under
the lock, so snapshots are published in the order the writes happened.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..editing.comments import append_entry, insert_entry, remove_entry, set_entry
from ..compiler.compile import build_snapshot, compile_config
from ..compiler.configtests import run_config_tests
from ..editing.edit import check_edits, dump_document, edit_lock, load_document, write_edits
from ..compiler.model import AppConfig, Config
from ..compiler.publish import publish_snapshot
from ..snapshot import Snapshot
from ..errors import Diagnostic, KickitError, OperatorError
from ..vocabulary import PLATFORMS
from .documents import (
    MODELINE,
    NAME,
    add_message,
    collect_message,
    new_app_document,
    now,
    public_key,
    scalar,
    section,
    slug,
    to_yaml,
    unique,
    version_scalar,
)
from .errors import INTERNAL_ERROR, FieldError, RecordInvalid, Resource
from .gitlog import GitLog, commit_message
from .mapping import (
    APP_FIELDS,
    VersionRef,
    VERSION_FIELDS,
    field_errors,
    parse_app_input,
    parse_version_input,
    version_resource,
)
from .store import Catalog, ConfigStore

__all__ = ["Editor"]

log = logging.getLogger("kickit_edge.admin")

APPS_FOLDER = "apps"


def _config_tests(config: Config, snapshot: Snapshot) -> list[Diagnostic]:
    return [r.case.where.diagnostic(f"config test {r.case.name!r} fails: " + "; ".join(r.problems))
            for r in run_config_tests(config, snapshot) if not r.passed]


class Editor:
    """Creates, updates and deletes Apps and Versions in the YAML of ``store``'s folder.

    Each write names ``who`` made it (the admin token's name) and ``what`` it does in words; with a
    :class:`GitLog` it is one commit with that author and message.
    """

    def __init__(self, store: ConfigStore, publish_dir: str | None = None, gitlog: GitLog | None = None) -> None:
        self.store = store
        self.publish_dir = publish_dir
        self.gitlog = gitlog

    # --- the write path ------------------------------------------------------

    def _commit(self, changes: dict[Path, str | None], resource: Resource, errors: list[FieldError],
                who: str, what: str) -> Catalog:
        if self.gitlog is not None:
            self.gitlog.check_clean(list(changes))
        before = self.store.fresh().config
        built: list[tuple[bytes, Snapshot]] = []

        def check(config: Config) -> list[Diagnostic]:
            built.append(build_snapshot(config))  # kept for the commit message's diff
            return _config_tests(config, built[-1][1])

        config, diagnostics = check_edits(self.store.root, changes, check)
        errors = errors + field_errors(diagnostics, self.store.root)
        if errors:
            raise RecordInvalid(resource, errors)
        if self.gitlog is None:
            write_edits(changes)
        else:
            message = commit_message(what, self.gitlog.verdict_changes(before, config, built[-1]))
            try:
                self.gitlog.write(changes, message, self.gitlog.author(who))
            except OperatorError as error:  # the files hold what they held: report, answer 500
                log.error("%s: not committed, so not written: %s", what, error)
                raise INTERNAL_ERROR from None
        catalog = self.store.replace(config)
        self._publish(config)
        return catalog

    def _publish(self, config: Config) -> None:
        if self.publish_dir is None:
            return
        try:
            compiled = compile_config(self.store.root, config=config)
            path, changed = publish_snapshot(compiled.data, self.publish_dir)
        except KickitError as error:  # the YAML is written; say why the edge does not have it yet
            log.error("the change is written but publishing into %s failed: %s", self.publish_dir, error)
            return
        if changed:
            log.info("published snapshot %s into %s", compiled.snapshot.id, self.publish_dir)

    @staticmethod
    def _file(app: AppConfig) -> Path:
        return Path(app.where.source.path)

    # --- apps ------------------------------------------------------------------

    def create_app(self, data: dict[str, Any], who: str) -> dict[str, Any]:
        values, errors = parse_app_input(data)
        if "name" not in values and not any(e.field == "name" for e in errors):
            errors.append(FieldError("name", "App", "can't be blank"))
        with edit_lock(self.store.root):
            catalog = self.store.fresh()
            folder = self.store.path / APPS_FOLDER
            app_id = values.get("slug")
            if app_id is not None and not NAME.match(app_id):
                errors.append(FieldError("slug", "App", f"{app_id[:64]!r} is not a valid app id: expected letters, "
                                                        "digits, '_', '.', '-', starting with a letter or digit"))
            if "name" not in values or any(e.field == "slug" for e in errors):
                raise RecordInvalid("App", errors)
            if app_id is None:
                ids = {a.id for a in catalog.apps}
                app_id = unique(slug(values["name"]), lambda s: s in ids or (folder / f"{s}.yaml").exists())
            path = folder / f"{app_id}.yaml"
            if path.exists() or catalog.config.app(app_id) is not None:  # never replace another app's file
                where = f"{APPS_FOLDER}/{path.name} exists" if path.exists() else "another app has this id"
                errors.append(FieldError("slug", "App", f"{app_id!r} is taken: {where}"))
                raise RecordInvalid("App", errors)
            fields = {APP_FIELDS[name].key: value for name, value in values.items()}
            fields.setdefault("owner", who)
            if not fields.get("public_key"):
                fields["public_key"] = public_key({a.public_key for a in catalog.apps})
            doc = new_app_document(path.name, app_id, fields, self._modeline(catalog, folder))
            what = f"Create app {app_id}" + (f" ({values['name']})" if values["name"] != app_id else "")
            catalog = self._commit({path: dump_document(doc)}, "App", errors, who, what)
        created = catalog.config.app(app_id)
        assert created is not None
        return catalog.app_resource(created)

    @staticmethod
    def _modeline(catalog: Catalog, folder: Path) -> str | None:
        """The editor modeline the app files in ``folder`` start with, if they do."""
        for app in catalog.apps:
            path = Path(app.where.source.path)
            if path.parent.resolve() == folder.resolve():
                with path.open(encoding="utf-8") as handle:
                    first = handle.readline().strip()
                if first.startswith(MODELINE):
                    return first
        return None

    def update_app(self, ident: str, data: dict[str, Any], who: str) -> dict[str, Any]:
        values, errors = parse_app_input(data)
        with edit_lock(self.store.root):
            catalog = self.store.fresh()
            app = catalog.find_app(ident)
            current = catalog.app_resource(app)
            changed = {k: v for k, v in values.items() if current.get(k) != v}
            if "slug" in changed:
                errors.append(FieldError("slug", "App", "can't be changed: the app's file is named after it"))
                del changed["slug"]
            if not changed and not errors:
                return current
            doc = load_document(self._file(app))
            info = doc["app"]
            for name, value in changed.items():
                key = APP_FIELDS[name].key
                if value is None:
                    if key in info:
                        remove_entry(doc, "app", key)
                else:
                    set_entry(info, key, to_yaml(value))
            set_entry(info, "updated_at", scalar(now()))
            catalog = self._commit({self._file(app): dump_document(doc)}, "App", errors, who,
                                   _app_update(app.id, changed))
        updated = catalog.find_app(app.uuid)
        return catalog.app_resource(updated)

    def delete_app(self, ident: str, who: str) -> None:
        with edit_lock(self.store.root):
            catalog = self.store.fresh()
            app = catalog.find_app(ident)
            self._commit({self._file(app): None}, "App", [], who, f"Delete app {app.id}")

    # --- versions ----------------------------------------------------------------

    def _owner(self, catalog: Catalog, app_ident: str | None, values: dict[str, Any],
               errors: list[FieldError]) -> AppConfig | None:
        """The app a new version belongs to: the one in the URL, else the body's ``app_id``."""
        given = values.get("app_id")
        if app_ident is not None:
            app = catalog.find_app(app_ident)
            if given is not None and catalog.app(given) is not app:
                errors.append(FieldError("app_id", "Version", f"{given[:64]!r} does not match the app in the URL"))
            return app
        if given is None:
            if not any(e.field == "app_id" for e in errors):
                errors.append(FieldError("app_id", "Version", "can't be blank"))
            return None
        named = catalog.app(given)
        if named is None:
            errors.append(FieldError("app_id", "Version", f"no app with id or public_key {given[:64]!r}"))
        return named

    def create_version(self, app_ident: str | None, data: dict[str, Any], who: str) -> dict[str, Any]:
        values, errors = parse_version_input(data)
        with edit_lock(self.store.root):
            catalog = self.store.fresh()
            app = self._owner(catalog, app_ident, values, errors)
            bad = {e.field for e in errors}
            version = values.get("version_string")
            if version is None and "version_string" not in bad:
                errors.append(FieldError("version_string", "Version", "can't be blank: kickit-edge matches clients "
                                                                      "by it (e.g. \"2.6.0\")"))
            if app is None:
                raise RecordInvalid("Version", errors)
            platform = values.get("platform")
            if platform is None and "platform" not in bad:
                # The app's only platform, or of several the first in the vocabulary's order (ios).
                platform = next((p for p in PLATFORMS if p in app.platforms), None)
                if platform is None:
                    errors.append(FieldError("platform", "Version", f"can't be blank: expected one of {list(app.platforms)}"))
            environment = values.get("environment", app.environments[0] if "environment" not in bad else None)
            if (values.get("bundle_url") is None and "bundle_url" not in bad and platform is not None
                    and platform not in app.store_urls):
                errors.append(FieldError("bundle_url", "Version", f"can't be blank: the app has no store URL for {platform}"))
            if version is None or platform is None or environment is None:
                raise RecordInvalid("Version", errors)
            doc = load_document(self._file(app))
            stamp = scalar(now())
            record = CommentedMap()
            record["id"] = ident = str(uuid.uuid4())
            record["version"] = version_scalar(version)
            record["platform"] = scalar(platform)
            record["environment"] = scalar(environment)
            record["enabled"] = values.get("state", "ready") == "ready"
            record["force_update"] = values.get("force_update", False)
            message = self._message_name(doc, app, record, values, errors)
            if message is not None:
                record["message"] = scalar(message)
            for field in ("bundle_url", "default_image", "default_image_landscape", "comments"):
                if values.get(field) is not None:
                    record[field] = to_yaml(values[field])
            record["created_at"] = stamp
            record["updated_at"] = stamp
            section(doc, "versions", CommentedSeq)
            append_entry(doc, "versions", record)
            what = f"Create version {version} ({platform}/{environment}) of {app.id}"
            catalog = self._commit({self._file(app): dump_document(doc)}, "Version", errors, who, what)
        ref = catalog.version(ident)
        assert ref is not None
        return version_resource(ref)

    def update_version(self, ident: str, app_ident: str | None, data: dict[str, Any], who: str) -> dict[str, Any]:
        values, errors = parse_version_input(data)
        with edit_lock(self.store.root):
            catalog = self.store.fresh()
            ref = catalog.find_version(ident, app_ident)
            app = ref.app
            given = values.pop("app_id", None)
            if given is not None and catalog.app(given) is not app:
                errors.append(FieldError("app_id", "Version", "can't be changed: a version stays with its app"))
            current = version_resource(ref)
            if isinstance(values.get("message"), str):
                values["message"] = {app.default_locale: values["message"]}
            changed = {k: v for k, v in values.items() if current.get(k) != v}
            if not changed and not errors:
                return current
            doc = load_document(self._file(app))
            records = doc["versions"]
            record = records[ref.position]
            for name, value in changed.items():
                key = VERSION_FIELDS[name].key
                if not key or name == "message_name":
                    continue  # the message, below
                if name == "state":
                    set_entry(record, key, value == "ready")
                elif name == "version_string":
                    set_entry(record, key, version_scalar(value))
                elif value is None:
                    if key in record:
                        remove_entry(records, ref.position, key)
                else:
                    set_entry(record, key, to_yaml(value))
            if "message" in changed or "message_name" in changed:
                old = record.get("message")
                message = self._message_name(doc, app, record, changed, errors)
                if message is not None:
                    set_entry(record, "message", scalar(message))
                elif "message" in record:
                    remove_entry(records, ref.position, "message")
                if old != message:
                    collect_message(doc, old)
            if "id" not in record:
                insert_entry(record, 0, "id", ref.id)  # so the id it was addressed by stays its id
            set_entry(record, "updated_at", scalar(now()))
            what = f"Update version {_described(ref)}: {', '.join(sorted(changed))}"
            catalog = self._commit({self._file(app): dump_document(doc)}, "Version", errors, who, what)
        updated = catalog.version(ref.id)
        assert updated is not None
        return version_resource(updated)

    def delete_version(self, ident: str, app_ident: str | None, who: str) -> None:
        with edit_lock(self.store.root):
            catalog = self.store.fresh()
            ref = catalog.find_version(ident, app_ident)
            doc = load_document(self._file(ref.app))
            old = doc["versions"][ref.position].get("message")
            remove_entry(doc, "versions", ref.position)
            collect_message(doc, old)
            self._commit({self._file(ref.app): dump_document(doc)}, "Version", [], who,
                         f"Delete version {_described(ref)}")

    # --- messages ------------------------------------------------------------------

    @staticmethod
    def _message_name(doc: CommentedMap, app: AppConfig, record: CommentedMap, values: dict[str, Any],
                      errors: list[FieldError]) -> str | None:
        """The message ``record`` is to point at: ``message_name``, or the one holding the ``message`` texts."""
        if "message" in values and "message_name" in values:
            errors.append(FieldError("message_name", "Version",
                                     "give message (the texts) or message_name (an existing message), not both"))
            current = record.get("message")
            return None if current is None else str(current)
        if "message_name" in values:
            name = values["message_name"]
            return None if name is None else str(name)
        texts = values.get("message")
        if texts is None:
            return None
        if isinstance(texts, str):
            texts = {app.default_locale: texts}
        return add_message(doc, record, texts)


def _described(ref: VersionRef) -> str:
    """``2.6.0 (ios/production) of demo``: a version record as a commit message names it."""
    record = ref.record
    return f"{record.version} ({record.platform}/{record.environment}) of {ref.app.id}"


def _app_update(app_id: str, changed: dict[str, Any]) -> str:
    """``Rename app demo to KickIt``, ``Update app demo: bundle, icon``, or both in one line."""
    rest = ", ".join(sorted(name for name in changed if name != "name"))
    if "name" not in changed:
        return f"Update app {app_id}: {rest}"
    renamed = f"Rename app {app_id} to {changed['name']}"
    return f"{renamed}; update {rest}" if rest else renamed
