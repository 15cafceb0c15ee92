"""Writes of the management API: each one an edit of the YAML, checked as a whole config, then written.

Every write holds the edit lock (one writer at a time, across threads and
processes), reads the config fresh, edits the one file it concerns in
round-trip mode (comments, key order and quoting kept), checks the whole
resulting config (schema, semantic checks and config tests) without writing,
and only then writes that file atomically. With ``publish_dir`` it then
compiles and publishes a snapshot, still under the lock, so snapshots are
published in the order the writes happened.
"""

from __future__ import annotations

import logging
import re
import secrets
import string
import unicodedata
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from ..compiler.comments import append_entry, insert_entry, remove_entry, set_entry
from ..compiler.compile import build_snapshot, compile_config
from ..compiler.configtests import run_config_tests
from ..compiler.edit import check_edits, dump_document, edit_lock, load_document, round_trip, write_edits
from ..compiler.model import AppConfig, Config
from ..compiler.publish import publish_snapshot
from ..errors import Diagnostic, KickitError
from .errors import FieldError, RecordInvalid, Resource
from .mapping import (
    APP_FIELDS, VERSION_FIELDS, app_resource, field_errors, parse_app_input, parse_version_input, version_resource,
)
from .store import Catalog, ConfigStore

__all__ = ["Editor"]

log = logging.getLogger("kickit_edge.admin")

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
APPS_FOLDER = "apps"
# Messages the API creates for a version are named after it; one no record refers to any more is removed.
MESSAGE_PREFIX = "release-"
_STR = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()
_HEADER = ("{name}: created through the management API (kickit-edge admin).\n"
           "Edit it freely: the API keeps comments, order and layout.")
_SECTION_ORDER = ("app", "keys", "messages", "versions", "minimum_versions", "targets", "maintenance", "tests")


def _now() -> str:
    return f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _text(value: str) -> str:
    """A string as YAML must hold it: quoted when the config loader would read it as something else."""
    if _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) != _STR:
        return DoubleQuotedScalarString(value)
    return value


def _yaml(value: Any) -> Any:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return CommentedMap((k, _yaml(v)) for k, v in value.items())
    if isinstance(value, list):
        seq = CommentedSeq(_yaml(v) for v in value)
        if all(isinstance(v, str) and len(v) <= 20 for v in value):
            seq.fa.set_flow_style()  # [ios, android], as people write them
        return seq
    return value


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:56].strip("-")
    return slug or "app"


def _unique(base: str, taken: Callable[[str], bool]) -> str:
    candidate, n = base, 1
    while taken(candidate):
        n += 1
        candidate = f"{base[: 63 - len(str(n))]}-{n}"
    return candidate


def _public_key(taken: set[str]) -> str:
    alphabet = string.ascii_uppercase + string.digits
    while True:
        key = "".join(secrets.choice(alphabet) for _ in range(10))
        if key not in taken:
            return key


def _section(doc: CommentedMap, name: str, empty: Callable[[], Any]) -> Any:
    """``doc[name]``, inserted where the usual file order puts it when missing."""
    if doc.get(name) is None:
        later = _SECTION_ORDER[_SECTION_ORDER.index(name) + 1:]
        keys = list(doc)
        position = next((keys.index(k) for k in keys if k in later), len(keys))
        if name in doc:
            del doc[name]
        insert_entry(doc, position, name, empty())
    return doc[name]


def _config_tests(config: Config) -> list[Diagnostic]:
    _, snapshot = build_snapshot(config)
    return [r.case.where.diagnostic(f"config test {r.case.name!r} fails: " + "; ".join(r.problems))
            for r in run_config_tests(config, snapshot) if not r.passed]


class Editor:
    """Creates, updates and deletes Apps and Versions in the YAML of ``store``'s folder."""

    def __init__(self, store: ConfigStore, publish_dir: str | None = None) -> None:
        self.store = store
        self.publish_dir = publish_dir

    # --- the write path ------------------------------------------------------

    def _commit(self, changes: dict[Path, str | None], resource: Resource, errors: list[FieldError]) -> Catalog:
        config, diagnostics = check_edits(self.store.root, changes, _config_tests)
        errors = errors + field_errors(diagnostics, self.store.root)
        if errors:
            raise RecordInvalid(resource, errors)
        write_edits(changes)
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

    def create_app(self, data: dict[str, Any], owner: str | None) -> dict[str, Any]:
        values, errors = parse_app_input(data)
        if "name" not in values and not any(e.field == "name" for e in errors):
            errors.append(FieldError("name", "App", "can't be blank"))
        with edit_lock(self.store.root):
            catalog = self.store.fresh()
            folder = self.store.path / APPS_FOLDER
            slug = values.get("slug")
            if slug is not None and not NAME.match(slug):
                errors.append(FieldError("slug", "App", f"{slug[:64]!r} is not a valid app id: expected letters, "
                                                        "digits, '_', '.', '-', starting with a letter or digit"))
            if "name" not in values or any(e.field == "slug" for e in errors):
                raise RecordInvalid("App", errors)
            if slug is None:
                ids = {a.id for a in catalog.apps}
                slug = _unique(_slug(values["name"]), lambda s: s in ids or (folder / f"{s}.yaml").exists())
            path = folder / f"{slug}.yaml"
            if path.exists() and catalog.config.app(slug) is None:
                errors.append(FieldError("slug", "App", f"{slug!r} is taken: {path} exists"))
                raise RecordInvalid("App", errors)
            now = _now()
            info = CommentedMap()
            info["id"] = _text(slug)
            info["name"] = _text(values["name"])
            info["uuid"] = str(uuid.uuid4())
            info["public_key"] = values.get("public_key") or _public_key({a.public_key for a in catalog.apps})
            if values.get("user_id", owner) is not None:
                info["owner"] = _text(values.get("user_id", owner))
            info["platforms"] = _yaml(["ios", "android"])
            info["environments"] = _yaml(["production"])
            info["default_locale"] = "en"
            for name, value in values.items():
                key = APP_FIELDS[name].key
                if key not in ("id", "name", "owner") and value is not None:
                    info[key] = _yaml(value)
            info["created_at"] = _text(now)
            info["updated_at"] = _text(now)
            doc = CommentedMap(app=info)
            doc.yaml_set_start_comment(_HEADER.format(name=path.name))
            catalog = self._commit({path: dump_document(doc)}, "App", errors)
        app = catalog.config.app(slug)
        assert app is not None
        return app_resource(app, catalog.version_ids(app))

    def update_app(self, ident: str, data: dict[str, Any]) -> dict[str, Any]:
        values, errors = parse_app_input(data)
        with edit_lock(self.store.root):
            catalog = self.store.fresh()
            app = catalog.find_app(ident)
            current = app_resource(app, catalog.version_ids(app))
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
                    set_entry(info, key, _yaml(value))
            set_entry(info, "updated_at", _text(_now()))
            catalog = self._commit({self._file(app): dump_document(doc)}, "App", errors)
        app = catalog.app(app.uuid)
        assert app is not None
        return app_resource(app, catalog.version_ids(app))

    def delete_app(self, ident: str) -> None:
        with edit_lock(self.store.root):
            catalog = self.store.fresh()
            app = catalog.find_app(ident)
            self._commit({self._file(app): None}, "App", [])

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
        app = catalog.app(given)
        if app is None:
            errors.append(FieldError("app_id", "Version", f"no app with id or public_key {given[:64]!r}"))
        return app

    def create_version(self, app_ident: str | None, data: dict[str, Any]) -> dict[str, Any]:
        values, errors = parse_version_input(data)
        with edit_lock(self.store.root):
            catalog = self.store.fresh()
            app = self._owner(catalog, app_ident, values, errors)
            if app is None:
                raise RecordInvalid("Version", errors)
            bad = {e.field for e in errors}
            version = values.get("version_string")
            if version is None and "version_string" not in bad:
                errors.append(FieldError("version_string", "Version", "can't be blank: kickit-edge matches clients "
                                                                      "by it (e.g. \"2.6.0\")"))
            platform = values.get("platform")
            if platform is None and "platform" not in bad:
                platform = app.platforms[0] if len(app.platforms) == 1 else ("ios" if "ios" in app.platforms else None)
                if platform is None:
                    errors.append(FieldError("platform", "Version", f"can't be blank: expected one of {list(app.platforms)}"))
            environment = values.get("environment", app.environments[0] if "environment" not in bad else None)
            if (values.get("bundle_url") is None and "bundle_url" not in bad and platform is not None
                    and platform not in app.store_urls):
                errors.append(FieldError("bundle_url", "Version", f"can't be blank: the app has no store URL for {platform}"))
            if version is None or platform is None or environment is None:
                raise RecordInvalid("Version", errors)
            doc = load_document(self._file(app))
            now = _text(_now())
            record = CommentedMap()
            record["id"] = ident = str(uuid.uuid4())
            record["version"] = DoubleQuotedScalarString(version)
            record["platform"] = _text(platform)
            record["environment"] = _text(environment)
            record["enabled"] = values.get("state", "ready") == "ready"
            record["force_update"] = values.get("force_update", False)
            self._message(doc, app, record, values, errors)
            for name in ("bundle_url", "default_image", "default_image_landscape", "comments"):
                if values.get(name) is not None:
                    record[name] = _yaml(values[name])
            record["created_at"] = now
            record["updated_at"] = now
            _section(doc, "versions", CommentedSeq)
            append_entry(doc, "versions", record)
            catalog = self._commit({self._file(app): dump_document(doc)}, "Version", errors)
        ref = catalog.version(ident)
        assert ref is not None
        return version_resource(ref)

    def update_version(self, ident: str, app_ident: str | None, data: dict[str, Any]) -> dict[str, Any]:
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
            record = doc["versions"][ref.index]
            for name, value in changed.items():
                key = VERSION_FIELDS[name].key
                if key is None:
                    continue  # the message, below
                if name == "state":
                    set_entry(record, key, value == "ready")
                elif name == "version_string":
                    set_entry(record, key, DoubleQuotedScalarString(value))
                elif value is None:
                    if key in record:
                        remove_entry(doc["versions"], ref.index, key)
                else:
                    set_entry(record, key, _yaml(value))
            self._message(doc, app, record, changed, errors)
            if "id" not in record:
                insert_entry(record, 0, "id", ref.id)  # so the id it was addressed by stays its id
            set_entry(record, "updated_at", _text(_now()))
            catalog = self._commit({self._file(app): dump_document(doc)}, "Version", errors)
        updated = catalog.version(ref.id)
        assert updated is not None
        return version_resource(updated)

    def delete_version(self, ident: str, app_ident: str | None) -> None:
        with edit_lock(self.store.root):
            catalog = self.store.fresh()
            ref = catalog.find_version(ident, app_ident)
            doc = load_document(self._file(ref.app))
            old = doc["versions"][ref.index].get("message")
            remove_entry(doc, "versions", ref.index)
            self._collect(doc, old)
            self._commit({self._file(ref.app): dump_document(doc)}, "Version", [])

    # --- messages ------------------------------------------------------------------

    def _message(self, doc: CommentedMap, app: AppConfig, record: CommentedMap, values: dict[str, Any],
                 errors: list[FieldError]) -> None:
        """Point ``record`` at the message ``values`` asks for: texts (``message``) or a name (``message_name``)."""
        if "message" in values and "message_name" in values:
            errors.append(FieldError("message_name", "Version",
                                     "give message (the texts) or message_name (an existing message), not both"))
            return
        old = record.get("message")
        if "message_name" in values:
            name = values["message_name"]
        elif "message" in values:
            texts = values["message"]
            if texts is None:
                name = None
            else:
                if isinstance(texts, str):
                    texts = {app.default_locale: texts}
                name = self._add_message(doc, record, texts)
        else:
            return
        if name is None:
            if "message" in record:
                del record["message"]
        else:
            set_entry(record, "message", _text(name))
        if old != name:
            self._collect(doc, old)

    def _add_message(self, doc: CommentedMap, record: CommentedMap, texts: dict[str, str]) -> str:
        messages = doc.get("messages") or {}
        for name, existing in messages.items():
            if dict(existing) == texts:
                return str(name)  # the same texts already have a name: reuse it
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-",
                      f"{MESSAGE_PREFIX}{record['platform']}-{record['environment']}-{record['version']}")[:60]
        current = record.get("message")
        if (current is not None and re.fullmatch(re.escape(base) + r"(-\d+)?", str(current))
                and self._references(doc, current) <= 1):
            name = str(current)  # this record's own message: change its texts in place
            set_entry(doc["messages"], name, _yaml(texts))
            return name
        name = _unique(base, lambda n: n in messages)
        _section(doc, "messages", CommentedMap)
        append_entry(doc, "messages", _yaml(texts), key=name)
        return name

    @staticmethod
    def _references(doc: CommentedMap, name: str) -> int:
        return sum(1 for section in ("versions", "minimum_versions", "targets")
                   for entry in doc.get(section) or () if entry.get("message") == name)

    def _collect(self, doc: CommentedMap, name: Any) -> None:
        """Remove a message the API created once nothing refers to it."""
        if (isinstance(name, str) and name.startswith(MESSAGE_PREFIX) and name in (doc.get("messages") or {})
                and self._references(doc, name) == 0):
            remove_entry(doc, "messages", name)
