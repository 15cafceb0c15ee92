"""Minting app keys and admin tokens into the config: the secret is returned, only its hash is written."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..errors import OperatorError
from ..keys import Key, hash_secret, mint_key
from .comments import append_entry
from .edit import app_to_edit, apply_edits, dump_document, edit_lock, load_document
from ..compiler.builder import read_config
from ..compiler.model import parse_instant

__all__ = ["add_app_key", "add_admin_token", "ADMIN_FILE"]

ADMIN_FILE = "admin.yaml"
_ADMIN_HEADER = (
    "# yaml-language-server: $schema=../kickit_edge/schemas/admin.schema.json\n"
    "# Tokens of the management API (kickit-edge admin). Only the prefix and the\n"
    "# SHA-256 of each secret live here; mint one with `kickit-edge keys new --admin NAME`.\n"
    "admin_tokens: []\n"
)


def _check_expiry(expires: str | None) -> None:
    if expires is None:
        return
    try:
        parse_instant(expires)
    except ValueError:
        raise OperatorError(f"--expires {expires!r} is not a date: expected 2027-01-31 or 2027-01-31T12:00:00Z") from None


def add_app_key(config_dir: str, app_id: str, environments: list[str] | None = None,
                expires: str | None = None, note: str | None = None) -> Key:
    """Append a new key to the app's file; return the key (the only time its secret exists)."""
    _check_expiry(expires)
    with edit_lock(config_dir):
        app = app_to_edit(config_dir, app_id)
        for env in environments or []:
            if env not in app.environments:
                raise OperatorError(f"--environment {env!r} is not one of the app's environments {list(app.environments)}")
        path = Path(app.where.source.path)
        document = load_document(path)
        key = mint_key()
        entry = CommentedMap(prefix=key.prefix, sha256=hash_secret(key.secret))
        if environments:
            entry["environments"] = CommentedSeq(environments)
            entry["environments"].fa.set_flow_style()
        if expires:
            entry["expires"] = expires
        if note:
            entry["note"] = note
        if document.get("keys") is None:
            document["keys"] = CommentedSeq()
        append_entry(document, "keys", entry)  # the next section's comment stays before it
        apply_edits(config_dir, {path: dump_document(document)})
    return key


def add_admin_token(config_dir: str, name: str, expires: str | None = None, note: str | None = None) -> Key:
    """Append a management API token to ``admin.yaml`` (created if missing); return the token."""
    _check_expiry(expires)
    with edit_lock(config_dir):
        config = read_config(config_dir)
        if any(t.name == name for t in config.admin_tokens):
            raise OperatorError(f"an admin token named {name!r} already exists; choose another name")
        sources = {t.where.source.path for t in config.admin_tokens}
        path = Path(sorted(sources)[0]) if sources else Path(config_dir) / ADMIN_FILE
        if path.exists():
            document = load_document(path)
        else:
            from ruamel.yaml import YAML  # only to parse the header template

            document = YAML(typ="rt").load(_ADMIN_HEADER)
        key = mint_key()
        entry = CommentedMap(name=name, prefix=key.prefix, sha256=hash_secret(key.secret))
        if expires:
            entry["expires"] = expires
        if note:
            entry["note"] = note
        if not document.get("admin_tokens"):
            document["admin_tokens"] = CommentedSeq()
        append_entry(document, "admin_tokens", entry)
        apply_edits(config_dir, {path: dump_document(document)})
    return key
