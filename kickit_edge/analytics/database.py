"""User records in SQLite (``events users --db FILE``), with the checkpoint in the same file.

Tables::

    user_versions   app, user_id, platform (the key), first_authenticated_at,
                    last_authenticated_at, app_version, environment, last_request_id
    event_files     stem, byte_offset, lines, complete: how far each file was read
    checkpoint      key, value: format version, events folder, retention days

A run replaces the contents of all three in one transaction, so a reader (or
a crash) sees the previous run's records with the previous run's offsets, or
the new ones with the new.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..errors import OperatorError
from .checkpoint import VERSION
from .scan import Mark
from .users import Checkpoint

__all__ = ["load_db", "save_db"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS user_versions (
    app TEXT NOT NULL,
    user_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    first_authenticated_at TEXT NOT NULL,
    last_authenticated_at TEXT NOT NULL,
    app_version TEXT NOT NULL,
    environment TEXT,
    last_request_id TEXT NOT NULL,
    PRIMARY KEY (app, user_id, platform)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_files (
    stem TEXT PRIMARY KEY,
    byte_offset INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    complete INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoint (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""


def _connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    try:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA schema_version").fetchone()  # fails here if it is not a database
        return connection
    except sqlite3.Error as exc:
        raise OperatorError(f"cannot open {path} as a SQLite database: {exc}") from None


def load_db(path: str | os.PathLike[str]) -> tuple[Checkpoint | None, str | None]:
    """The checkpoint kept in the database (None for a new one), or None and why it cannot be used."""
    if not Path(path).exists():
        return None, None
    connection = _connect(path)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return None, None
        if "checkpoint" not in tables:
            raise OperatorError(f"{path} is a SQLite database of something else (no checkpoint table); "
                                "expected one written by kickit-edge events users --db")
        meta = dict(connection.execute("SELECT key, value FROM checkpoint"))
        if meta.get("version") != str(VERSION):
            return None, f"{path} holds a checkpoint of version {meta.get('version')!r}, not {VERSION}"
        marks = {stem: Mark(offset, lines, bool(complete)) for stem, offset, lines, complete
                 in connection.execute("SELECT stem, byte_offset, lines, complete FROM event_files")}
        state = connection.execute(
            "SELECT app, user_id, platform, first_authenticated_at, last_authenticated_at, last_request_id,"
            " app_version, environment FROM user_versions").fetchall()
        return Checkpoint(meta["events_dir"], int(meta["retention_days"]), marks, state), None
    except (sqlite3.Error, KeyError, ValueError) as exc:
        return None, f"{path} has a damaged checkpoint ({type(exc).__name__}: {exc})"
    finally:
        connection.close()


def save_db(path: str | os.PathLike[str], checkpoint: Checkpoint) -> None:
    """Replace the records and the checkpoint in one transaction."""
    connection = _connect(path)
    try:
        connection.executescript(_SCHEMA)
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("DELETE FROM user_versions")
        connection.executemany(
            "INSERT INTO user_versions (app, user_id, platform, first_authenticated_at, last_authenticated_at,"
            " last_request_id, app_version, environment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            checkpoint.state)
        connection.execute("DELETE FROM event_files")
        connection.executemany("INSERT INTO event_files VALUES (?, ?, ?, ?)",
                               [(stem, m.offset, m.lines, int(m.complete)) for stem, m in checkpoint.marks.items()])
        connection.execute("DELETE FROM checkpoint")
        connection.executemany("INSERT INTO checkpoint VALUES (?, ?)", [
            ("version", str(VERSION)), ("events_dir", checkpoint.events_dir),
            ("retention_days", str(checkpoint.retention_days))])
        connection.execute("COMMIT")
    except sqlite3.Error as exc:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise OperatorError(f"cannot write {path}: {exc}") from None
    finally:
        connection.close()
