"""The Kickfolio <-> config mapping: which YAML field each API attribute is, both ways.

A Kickfolio **App** is an app file (``config/apps/<slug>.yaml``); a Kickfolio
**Version** is one of its exact version records (``versions:``), the same
records the AppCockpit versions endpoint answers from::

    App attribute          app file                 Version attribute        exact version record
    id                     app.uuid                 id                       id (or a uuid5, see below)
    user_id                app.owner                app_id                   the app's uuid
    name                   app.name                 state ready/pending      enabled true/false
    public_key             app.public_key           version_string           version
    bundle, icon,          app.<same>               bundle_url               bundle_url (else the app's
      device_type,                                                             store URL for the platform)
      default_to_landscape                          default_image(_landscape) <same>
    created_at/updated_at  app.<same>               comments, created_at,    <same>
    versions               ids of versions:           updated_at
    slug                   app.id (file name)       platform, environment,   <same>
    platforms, environments, app.<same>               force_update
      default_locale,                               message                  the texts of messages.<name>
      disabled, store_urls                          message_name             message

A record written by hand without an ``id`` is addressed by a deterministic
uuid5 of the app's uuid and its platform/environment/version; updating it
writes that id into the YAML so it stays put.

Parsing input checks the JSON types, control characters (none anywhere; line
breaks and tabs only in message texts) and spaces in ``version_string``, then
each value alone against the app schema (patterns, lengths, enums), so one 422
lists every field that is wrong in itself. What needs the whole config
(references, duplicates, config tests) is the compiler's, on the values that
passed, whose diagnostics :func:`field_errors` turns back into API field names.
"""

from __future__ import annotations

import dataclasses
import os
import re
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from ..compiler.model import AppConfig, ExactVersion, parse_instant
from ..compiler.schema import value_problems
from ..errors import Diagnostic
from .errors import FieldError, Resource, shown
from .provenance import Stamp

__all__ = [
    "VersionRef", "version_id", "app_resource", "version_resource", "parse_app_input", "parse_version_input",
    "field_errors", "timestamp", "APP_FIELDS", "VERSION_FIELDS",
]


class VersionRef(NamedTuple):
    """One exact version record, addressable by its Kickfolio id."""

    id: str
    app: AppConfig
    position: int  # in the app file's versions:
    record: ExactVersion
    raw: dict[str, Any]
    stamp: Stamp | None = None  # what git says of a record the YAML does not date


def version_id(app_uuid: str, platform: str, environment: str, version: str) -> str:
    """The id of a hand-written record that has none: stable while the record keeps its slot."""
    return str(uuid.uuid5(uuid.UUID(app_uuid), f"{platform}/{environment}/{version}"))


def timestamp(text: Any) -> str | None:
    """A config time as Kickfolio writes it (``2013-02-03T10:08:13Z``); None when absent."""
    if not isinstance(text, str):
        return None
    try:
        return f"{parse_instant(text):%Y-%m-%dT%H:%M:%SZ}"
    except ValueError:
        return text


def _messages(app: AppConfig, name: str | None) -> dict[str, str] | None:
    if name is None or name not in app.messages:
        return None
    texts = app.messages[name]
    ordered = {app.default_locale: texts[app.default_locale]} if app.default_locale in texts else {}
    ordered.update((locale, texts[locale]) for locale in sorted(texts) if locale != app.default_locale)
    return ordered


def app_resource(app: AppConfig, version_ids: list[str], stamp: Stamp | None = None) -> dict[str, Any]:
    """The Kickfolio App; ``stamp`` answers ``user_id``, ``created_at``, ``updated_at`` the YAML does not hold."""
    info = app.raw["app"]
    return {
        "id": app.uuid,
        "user_id": info.get("owner") or (stamp.author if stamp else None),
        "name": app.name,
        "public_key": app.public_key,
        "bundle": info.get("bundle"),
        "default_to_landscape": info.get("default_to_landscape", False),
        "icon": info.get("icon"),
        "device_type": info.get("device_type"),
        "created_at": timestamp(info.get("created_at")) or (stamp.created_at if stamp else None),
        "updated_at": timestamp(info.get("updated_at")) or (stamp.updated_at if stamp else None),
        "versions": version_ids,
        "slug": app.id,
        "platforms": list(app.platforms),
        "environments": list(app.environments),
        "default_locale": app.default_locale,
        "disabled": app.disabled,
        "store_urls": dict(app.store_urls),
    }


def version_resource(ref: VersionRef) -> dict[str, Any]:
    raw, record = ref.raw, ref.record
    return {
        "id": ref.id,
        "app_id": ref.app.uuid,
        "state": "ready" if record.enabled else "pending",
        "bundle_url": raw.get("bundle_url") or ref.app.store_urls.get(record.platform),
        "version_string": record.version,
        "default_image": raw.get("default_image"),
        "default_image_landscape": raw.get("default_image_landscape"),
        "created_at": timestamp(raw.get("created_at")) or (ref.stamp.created_at if ref.stamp else None),
        "updated_at": timestamp(raw.get("updated_at")) or (ref.stamp.updated_at if ref.stamp else None),
        "comments": list(raw.get("comments", [])),
        "platform": record.platform,
        "environment": record.environment,
        "force_update": record.force_update,
        "message": _messages(ref.app, record.message),
        "message_name": record.message,
    }


# --- input -------------------------------------------------------------------

Check = Callable[[Any], str | None]  # the complaint about a value, or None if it may go on to the schema

# Control characters (C0, DEL, C1) have no place in a field: a NUL stops git, a line break rewrites a
# commit message. Message texts alone may hold line breaks and tabs.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _controls(text: str, unsafe: re.Pattern[str] = _CONTROL) -> str | None:
    found = unsafe.search(text)
    if found is None:
        return None
    return f"must not contain control characters; found U+{ord(found[0]):04X} at position {found.start()}"


def _string(value: Any) -> str | None:
    if value is None:
        return "can't be blank"
    if not isinstance(value, str):
        hint = f"; send it as a string, as in \"{value}\"" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        return f"must be a string, got {shown(value)}{hint}"
    return _controls(value) if value.strip() else "can't be blank"


def _optional_string(value: Any) -> str | None:
    return None if value is None else _string(value)


def _version_string(value: Any) -> str | None:
    """Clients are matched by this text exactly: spaces around it (or in it) would make a record none matches."""
    problem = _string(value)
    if problem is None and any(c.isspace() for c in value):
        return (f"must not contain spaces or line breaks, got {shown(value)}; clients send it as "
                f"{shown(''.join(value.split()))}")
    return problem


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, got {shown(value)}"


def _optional_boolean(value: Any) -> str | None:
    return None if value is None else _boolean(value)


def _strings(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return f"must be a list of strings, got {shown(value)}"
    return next((p for p in map(_controls, value) if p), None)


def _optional_strings(value: Any) -> str | None:
    return None if value is None else _strings(value)


def _string_map(value: Any) -> str | None:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return f"must be an object of strings, got {shown(value)}"
    return next((p for p in map(_controls, [*value, *value.values()]) if p), None)


def _state(value: Any) -> str | None:
    return None if value in ("ready", "pending") else f"must be \"ready\" or \"pending\", got {shown(value)}"


def _message(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return _controls(value, _TEXT_CONTROL)
    if isinstance(value, dict) and value and all(isinstance(v, str) for v in value.values()):
        return next((p for p in (*map(_controls, value), *(_controls(v, _TEXT_CONTROL) for v in value.values()))
                     if p), None)
    return f"must be a text, an object of texts by locale such as {{\"en\": \"...\"}}, or null; got {shown(value)}"


class Attribute(NamedTuple):
    key: str  # the config key it maps to; "" when the editor handles it itself
    check: Check
    # Where the app schema's $defs say what the value may be, checked alone before any write; () when the
    # value is not written as given (state, message texts) or the editor checks it itself (slug).
    schema: tuple[str, ...] = ()


def _app(key: str, check: Check, schema: bool = True) -> Attribute:
    return Attribute(key, check, ("app", "properties", key) if schema else ())


def _version(key: str, check: Check, schema: bool = True) -> Attribute:
    return Attribute(key, check, ("exact_version", "properties", key) if schema and key else ())


APP_FIELDS: dict[str, Attribute] = {
    "name": _app("name", _string),
    "user_id": _app("owner", _optional_string),
    "public_key": _app("public_key", _string),
    "bundle": _app("bundle", _optional_string),
    "icon": _app("icon", _optional_string),
    "device_type": _app("device_type", _optional_string),
    "default_to_landscape": _app("default_to_landscape", _optional_boolean),
    "slug": _app("id", _string, schema=False),
    "platforms": _app("platforms", _strings),
    "environments": _app("environments", _strings),
    "default_locale": _app("default_locale", _string),
    "disabled": _app("disabled", _optional_boolean),
    "store_urls": _app("store_urls", _string_map),
}
VERSION_FIELDS: dict[str, Attribute] = {
    "app_id": _version("", _string),
    "version_string": _version("version", _version_string),
    "state": _version("enabled", _state, schema=False),
    "bundle_url": _version("bundle_url", _optional_string),
    "default_image": _version("default_image", _optional_string),
    "default_image_landscape": _version("default_image_landscape", _optional_string),
    "comments": _version("comments", _optional_strings),
    "platform": _version("platform", _string),
    "environment": _version("environment", _string),
    "force_update": _version("force_update", _boolean),
    "message": Attribute("", _message, ("message",)),
    "message_name": _version("message", _optional_string),
}
# Sent back by clients that PUT a whole record (Ember Data does); never written.
READ_ONLY = {"id", "created_at", "updated_at", "versions", "auth_token"}


def _problem(attribute: Attribute, value: Any) -> str | None:
    """The first complaint about ``value``: its JSON type or characters, then the schema's, checked alone."""
    problem = attribute.check(value)
    if problem is not None or value is None or not attribute.schema:
        return problem
    if isinstance(value, str) and attribute.schema == ("message",):
        return None  # a text in the default locale: its length is checked with the other texts, on write
    return next(iter(value_problems("app", attribute.schema, value)), None)


def _parse(data: dict[str, Any], fields: dict[str, Attribute], resource: Resource) -> tuple[dict[str, Any], list[FieldError]]:
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, value in data.items():
        if name in READ_ONLY:
            continue
        attribute = fields.get(name)
        if attribute is None:
            known = ", ".join(sorted(fields))
            errors.append(FieldError(str(name)[:64], resource, f"is not an attribute of {resource}; expected one of: {known}"))
            continue
        problem = _problem(attribute, value)
        if problem is not None:
            errors.append(FieldError(name, resource, problem))
        else:
            values[name] = value
    return values, errors


def parse_app_input(data: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """The App attributes given, by API name, whose JSON types are right; and a complaint for each other one."""
    return _parse(data, APP_FIELDS, "App")


def parse_version_input(data: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """The Version attributes given, by API name, whose JSON types are right; and a complaint for each other one."""
    return _parse(data, VERSION_FIELDS, "Version")


# --- compiler diagnostics back to API fields ---------------------------------

_APP_KEYS = {attribute.key: name for name, attribute in APP_FIELDS.items()} | {"uuid": "id"}
_VERSION_KEYS = {attribute.key: name for name, attribute in VERSION_FIELDS.items() if attribute.key} | {
    "message": "message", "id": "id", "created_at": "created_at", "updated_at": "updated_at"}
_APP_PATH = re.compile(r"^app(?:\.([A-Za-z_]+))?")
_VERSION_PATH = re.compile(r"^versions\[\d+\](?:\.([A-Za-z_]+))?")


def field_errors(diagnostics: list[Diagnostic], root: str) -> list[FieldError]:
    """Each compiler diagnostic as a Kickfolio field error, named as the API names the field.

    Files are named relative to the config folder ``root``, as in a pull request.
    """
    errors: list[FieldError] = []
    for d in diagnostics:
        d = dataclasses.replace(d, path=os.path.relpath(d.path, root))
        if match := _APP_PATH.match(d.where):
            key = match[1]
            errors.append(FieldError(_APP_KEYS.get(key, key) if key else "base", "App", d.message))
        elif match := _VERSION_PATH.match(d.where):
            key = match[1]
            errors.append(FieldError(_VERSION_KEYS.get(key, key) if key else "base", "Version", d.message))
        elif d.where.startswith("messages"):
            errors.append(FieldError("message", "Version", d.message))
        elif d.where.startswith("tests"):
            errors.append(FieldError(d.where, "ConfigTest", f"{d.path}:{d.line}: {d.message}"))
        else:
            errors.append(FieldError(d.where or "base", "Config", str(d)))
    return errors
