"""The YAML the management API writes: new app files, version records, messages, quoted scalars.

Everything here edits a round-trip document (``ruamel.yaml``) in place and
goes through :mod:`kickit_edge.editing.comments`, so what people wrote around
the edit stays where it was. Strings are quoted whenever the config loader
(YAML 1.1) would read them as something else: ``yes``, ``12:30``, ``2.6``.
"""

from __future__ import annotations

import re
import secrets
import string
import unicodedata
import uuid
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

import yaml
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from ..editing.comments import append_entry, insert_entry, remove_entry, set_entry
from ..vocabulary import PLATFORMS

__all__ = [
    "NAME", "MESSAGE_PREFIX", "MODELINE", "now", "scalar", "version_scalar", "to_yaml", "slug", "unique", "public_key",
    "new_app_document", "section", "add_message", "collect_message",
]

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Messages the API creates for a version are named after it; one no record refers to any more is removed.
MESSAGE_PREFIX = "release-"
MODELINE = "# yaml-language-server:"
HEADER = ("{file}: created through the management API (kickit-edge admin).\n"
          "Edit it freely: the API keeps comments, order and layout.")
SECTION_ORDER = ("app", "keys", "messages", "versions", "minimum_versions", "targets", "maintenance", "tests")
_STR = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()


def now() -> str:
    """The current time as the config and Kickfolio write it: ``2013-02-03T10:08:13Z``."""
    return f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"


def scalar(value: str) -> str:
    """A string as YAML must hold it: quoted when the config loader would read it as something else."""
    if _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) != _STR:  # type: ignore[no-untyped-call]
        return version_scalar(value)
    return value


def version_scalar(value: str) -> str:
    """Versions are always quoted, as the demo asks (``2.5`` unquoted is a number)."""
    quoted: str = DoubleQuotedScalarString(value)
    return quoted


def to_yaml(value: Any) -> Any:
    """JSON input as round-trip YAML nodes; short string lists in flow style, as people write them."""
    if isinstance(value, str):
        return scalar(value)
    if isinstance(value, dict):
        return CommentedMap((k, to_yaml(v)) for k, v in value.items())
    if isinstance(value, list):
        seq = CommentedSeq(to_yaml(v) for v in value)
        if all(isinstance(v, str) and len(v) <= 20 for v in value):
            seq.fa.set_flow_style()
        return seq
    return value


def slug(name: str) -> str:
    """An app id from a name: ASCII, lower case, words joined by ``-``; ``app`` if nothing is left."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:56].strip("-")
    return text or "app"


def unique(base: str, taken: Callable[[str], bool]) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever is not taken."""
    candidate, n = base, 1
    while taken(candidate):
        n += 1
        candidate = f"{base[: 63 - len(str(n))]}-{n}"
    return candidate


def public_key(taken: Collection[str]) -> str:
    """A random Kickfolio-style public key (10 upper-case letters and digits)."""
    alphabet = string.ascii_uppercase + string.digits
    while True:
        key = "".join(secrets.choice(alphabet) for _ in range(10))
        if key not in taken:
            return key


def new_app_document(file: str, app_id: str, fields: dict[str, Any], modeline: str | None = None) -> CommentedMap:
    """A new app file: the defaults of an app created with only a name, then ``fields`` (config keys).

    ``modeline`` (the ``# yaml-language-server: $schema=...`` line of the app
    files beside it) comes first, so editors check the new file too.
    """
    stamp = scalar(now())
    info = CommentedMap()
    info["id"] = scalar(app_id)
    info["name"] = scalar(fields["name"])
    info["uuid"] = str(uuid.uuid4())
    info["public_key"] = fields["public_key"]
    if fields.get("owner") is not None:
        info["owner"] = scalar(fields["owner"])
    info["platforms"] = to_yaml(list(PLATFORMS))
    info["environments"] = to_yaml(["production"])
    info["default_locale"] = "en"
    for key, value in fields.items():
        if key not in ("id", "name", "owner") and value is not None:
            info[key] = to_yaml(value)
    info["created_at"] = stamp
    info["updated_at"] = stamp
    doc = CommentedMap(app=info)
    header = HEADER.format(file=file)
    doc.yaml_set_start_comment(f"{modeline.removeprefix('#').strip()}\n{header}" if modeline else header)
    return doc


def section(doc: CommentedMap, name: str, empty: Callable[[], Any]) -> Any:
    """``doc[name]``, inserted where the usual file order puts it when missing."""
    if doc.get(name) is None:
        later = SECTION_ORDER[SECTION_ORDER.index(name) + 1:]
        keys = list(doc)
        position = next((keys.index(k) for k in keys if k in later), len(keys))
        if name in doc:
            del doc[name]
        insert_entry(doc, position, name, empty())
    return doc[name]


def _references(doc: CommentedMap, name: str) -> int:
    return sum(1 for part in ("versions", "minimum_versions", "targets")
               for entry in doc.get(part) or () if entry.get("message") == name)


def add_message(doc: CommentedMap, record: CommentedMap, texts: dict[str, str]) -> str:
    """The name of a message holding ``texts`` for ``record``: an existing one with the same texts,
    the record's own (given new texts), or a new ``release-<platform>-<environment>-<version>``."""
    messages = doc.get("messages") or {}
    for name, existing in messages.items():
        if dict(existing) == texts:
            return str(name)
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-",
                  f"{MESSAGE_PREFIX}{record['platform']}-{record['environment']}-{record['version']}")[:60]
    current = record.get("message")
    if (current is not None and re.fullmatch(re.escape(base) + r"(-\d+)?", str(current))
            and _references(doc, current) <= 1):
        set_entry(doc["messages"], str(current), to_yaml(texts))
        return str(current)
    name = unique(base, lambda n: n in messages)
    section(doc, "messages", CommentedMap)
    append_entry(doc, "messages", to_yaml(texts), key=name)
    return name


def collect_message(doc: CommentedMap, name: Any) -> None:
    """Remove a message the API created once nothing refers to it; hand-written ones always stay."""
    if (isinstance(name, str) and name.startswith(MESSAGE_PREFIX) and name in (doc.get("messages") or {})
            and _references(doc, name) == 0):
        remove_entry(doc, "messages", name)
