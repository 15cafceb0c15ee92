"""User records: the AppCockpit seed's per-user latest-version record, folded from authentications.

One record per (app, user, platform), as ``POST /v2/authenticate`` keeps it::

    first_authenticated_at   the earliest authentication (set once, never overwritten)
    last_authenticated_at    the latest authentication (updated on every call)
    app_version, environment those of the latest authentication

The fold is the ``user_records`` query of :mod:`.queries`, run by the engine
over the records so far and the new authentications. "Latest" is the greatest
(time, request_id, ...) tuple, so two authentications in the same microsecond
still have one winner. Each field is a minimum or a maximum, so the fold is
commutative, associative and idempotent: files can be read in any order, times
can run backwards across files, and a line read twice changes nothing. That is
what lets a checkpointed run equal a full rebuild.

Retention: files of days before the cutoff (the start of the UTC day
``retention_days`` before today, the same day the writer's own sweep uses) are
not read, and deleted only with ``prune`` (a report never deletes: that is the
server's job); authentications before the cutoff are ignored, and a record whose last authentication falls before it is dropped: a
user not seen within the retention has no record, as a rebuild would find. A
record keeps the first authentication it has seen even after that day's file
is gone, as the seed's record does; only a rebuild from the files left can
then find a later one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple


from ..errors import OperatorError
from .engine import connect, duckdb, insert_columns
from .eventfiles import list_event_files, remove_expired
from .parquet import is_export, read_export
from .bulk import Fold
from .queries import AUTHENTICATION, AUTHENTICATIONS, LATEST_FIELDS, LATEST_KEY, USER_ROWS_OF_EVENTS, query
from .scan import Mark, Scan, ScanReport

__all__ = ["FIELDS", "RETENTION_DAYS", "STATE_COLUMNS", "StateRow", "UserRecord", "Checkpoint", "FoldResult",
           "cutoff_of", "fold_users"]

RETENTION_DAYS = 365
FIELDS = ("app", "user_id", "platform", "first_authenticated_at", "last_authenticated_at", "app_version",
          "environment")
# The fold state, one row per record: what a checkpoint keeps.
STATE_COLUMNS = ("app", "user_id", "platform", "first_at", "last_at", "request_id", "app_version", "environment")
StateRow = tuple[Any, ...]

_STATE_TABLE = "CREATE OR REPLACE TEMP TABLE user_rows ({})".format(
    ", ".join(f"{c} VARCHAR" for c in STATE_COLUMNS))
_KEY = "app, user_id, platform"
# The new authentications, as records, then folded with the records so far of
# the same users: records of users not seen again are not touched.
_NEW_ROWS = f"""
CREATE OR REPLACE TEMP TABLE new_rows AS
WITH authentications AS ({AUTHENTICATIONS}) {USER_ROWS_OF_EVENTS}
"""
# The same for whole files the engine took (see .bulk): their authentications
# folded into one record per user as they are checked, never held as events.
_FOLD = Fold('app, "user", platform', f"MIN(time) FILTER (WHERE {AUTHENTICATION} AND time >= $since) AS first_at, "
             f"MAX({LATEST_KEY}) FILTER (WHERE {AUTHENTICATION} AND time >= $since) AS latest")
_FOLDED_ROWS = f"""
SELECT app, "user" AS user_id, platform, first_at, {LATEST_FIELDS.format(k="latest")}
FROM folded WHERE by_key AND first_at IS NOT NULL
"""
_NEW_ROWS_OF_FILES = f"CREATE OR REPLACE TEMP TABLE new_rows AS {_FOLDED_ROWS}"
# The keys of the records a run changed, added or dropped: what a checkpoint updated in place rewrites.
_CHANGED_TABLE = "CREATE OR REPLACE TEMP TABLE changed (app VARCHAR, user_id VARCHAR, platform VARCHAR)"
# The records so far: those this run made or changed (user_rows), and, going on
# from a checkpoint file, those of the file it did not change, read from there.
_RECORDS = "CREATE OR REPLACE TEMP VIEW records AS SELECT * FROM temp.user_rows"
_SAVED_RECORDS = (f"{_RECORDS} UNION ALL SELECT {', '.join(STATE_COLUMNS)} FROM saved.user_state "
                  f"ANTI JOIN changed USING ({_KEY})")
_TOUCHED = f"SELECT * FROM new_rows UNION ALL SELECT * FROM temp.user_rows SEMI JOIN new_rows USING ({_KEY})"
# A record of the file past the retention starts again, as in a rebuild.
_SAVED_TOUCHED = (f"{_TOUCHED} UNION ALL SELECT {', '.join(STATE_COLUMNS)} FROM saved.user_state "
                  f"SEMI JOIN new_rows USING ({_KEY}) WHERE last_at >= $cutoff")
_MERGED = """
CREATE OR REPLACE TEMP TABLE new_rows AS
SELECT app, user_id, platform, first_authenticated_at AS first_at, last_authenticated_at AS last_at, request_id,
       app_version, environment
FROM ({records})
"""
_MERGE = """
DELETE FROM user_rows USING new_rows
WHERE user_rows.app = new_rows.app AND user_rows.user_id = new_rows.user_id AND user_rows.platform = new_rows.platform;
INSERT INTO user_rows SELECT * FROM new_rows;
DROP TABLE new_rows
"""
# Only a run going on from a checkpoint file needs to know (to read the rest from there, and to update it).
_NOTE_CHANGED = f"INSERT INTO changed SELECT {_KEY} FROM new_rows"
_ORDER = f"ORDER BY {_KEY}"
# A record as a JSON Lines line, made by the engine as formats.write_records writes it (a control
# character is escaped in upper case: \u001F).
_JSON_LINES = "SELECT to_json(struct_pack({}))::VARCHAR FROM records {}".format(
    ", ".join(f"{name} := {column}" for name, column in zip(FIELDS, (
        "app", "user_id", "platform", "first_at", "last_at", "app_version", "environment"))), _ORDER)
_LINES_AT_ONCE = 50_000  # records handed from the engine at a time: a million records never sit in one string


class UserRecord(NamedTuple):
    app: str
    user_id: str
    platform: str
    first_authenticated_at: str
    last_authenticated_at: str
    app_version: str
    environment: str | None


@dataclass
class Checkpoint:
    """What a run leaves for the next: how far each stem was read, and the fold state."""

    events_dir: str
    retention_days: int
    marks: dict[str, Mark] = field(default_factory=dict)
    state: list[StateRow] = field(default_factory=list)  # rows of STATE_COLUMNS, sorted
    state_file: str | None = None  # or: the DuckDB checkpoint file that holds them, read by the engine
    engine: duckdb.DuckDBPyConnection | None = None  # or: the engine of the fold that made it, as ``records``
    # The checkpoint file that fold went on from, attached to its engine as ``saved`` until the state is
    # saved: the engine knows what changed, and reads the rest from there.
    continues: str | None = None

    def rows(self) -> list[StateRow]:
        """The state as rows of STATE_COLUMNS, sorted."""
        if self.engine is None:
            return self.state
        return self.engine.execute(f"SELECT {', '.join(STATE_COLUMNS)} FROM records {_ORDER}").fetchall()


@dataclass
class FoldResult:
    """The fold's outcome; its records stay in the engine (the view ``records``) until asked for, or saved."""

    checkpoint: Checkpoint
    scan: ScanReport
    cutoff: str
    incremental: bool  # False: everything was read (no checkpoint, or it did not fit; see ``rebuilt``)
    rebuilt: str | None  # why a checkpoint was not used
    removed: list[str]  # files past the retention, deleted (only with prune)
    remove_errors: list[str]
    expired: int  # records dropped because their last authentication is past the retention
    past: list[str] = field(default_factory=list)  # files past the retention, left in place and not read
    engine: duckdb.DuckDBPyConnection | None = None  # holds the state as records, for saving it
    count: int = 0  # records

    @cached_property
    def records(self) -> list[UserRecord]:
        return [UserRecord(*row[:5], *row[6:]) for row in self.checkpoint.rows()]

    def record_count(self) -> int:
        return self.count

    def json_lines(self) -> Iterator[str]:
        """The records as JSON Lines, sorted, a block of lines at a time: made by the engine, not per record here."""
        assert self.engine is not None
        cursor = self.engine.execute(_JSON_LINES)
        while rows := cursor.fetchmany(_LINES_AT_ONCE):
            yield "".join(line + "\n" for line, in rows)

    def write_json_lines(self, path: str) -> None:
        """The records as JSON Lines into the new file ``path``, by the engine: the same bytes as :meth:`json_lines`."""
        assert self.engine is not None
        # The file is written in the order of the rows only if the engine keeps it.
        self.engine.execute("SET preserve_insertion_order = true")
        try:
            quoted = path.replace("'", "''")
            # Each row is one finished JSON line (``to_json``, as :meth:`json_lines` gives): written as a
            # one-column CSV without quoting, it is copied as it is, faster than the engine's JSON writer.
            self.engine.execute(f"COPY ({_JSON_LINES}) TO '{quoted}' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '')")
        finally:
            self.engine.execute("SET preserve_insertion_order = false")


def cutoff_of(now: datetime, retention_days: int) -> tuple[str, date]:
    """The first instant kept (canonical time) and its day."""
    day = now.date() - timedelta(days=retention_days)
    return f"{day.isoformat()}T00:00:00.000000Z", day


def _usable(previous: Checkpoint | None, events_dir: str, retention_days: int) -> str | None:
    """Why ``previous`` cannot be continued, or None if it can."""
    if previous is None:
        return None
    if previous.events_dir != events_dir:
        return f"the checkpoint is of another events folder ({previous.events_dir})"
    if previous.retention_days != retention_days:
        # A longer retention would have to read again what the shorter one skipped.
        return f"the checkpoint was made with --retention-days {previous.retention_days}"
    return None


def fold_users(folder: str | os.PathLike[str], previous: Checkpoint | None = None, *, now: datetime,
               retention_days: int = RETENTION_DAYS, prune: bool = False,
               progress: Callable[[str], None] | None = None,
               engine: duckdb.DuckDBPyConnection | None = None) -> FoldResult:
    """Fold what ``previous`` has not read yet into its state; with ``prune``, first delete files past the retention.

    ``engine``: the connection to fold in (by default a new one); it may hold ``previous``'s file as ``saved``.
    """
    if retention_days < 0:
        raise OperatorError(f"--retention-days {retention_days}: expected 0 or more days")
    events_dir = str(Path(folder).resolve())
    cutoff, cutoff_day = cutoff_of(now, retention_days)
    connection = engine if engine is not None else connect()
    connection.execute(_STATE_TABLE)
    connection.execute(_CHANGED_TABLE)
    if is_export(folder):
        # An export is rewritten a day at a time: there is no offset to go on from.
        connection.execute("DETACH DATABASE IF EXISTS saved")
        connection.execute(_RECORDS)
        report = read_export(connection, folder, since=cutoff)
        _merge(connection, cutoff, _NEW_ROWS, _TOUCHED)
        why = "a Parquet export is read in full" if previous is not None else None
        return _result(connection, Checkpoint(events_dir, retention_days), report, cutoff, False, why, 0)
    files = list_event_files(folder)  # first: a missing folder is reported as such
    removed, remove_errors = remove_expired(folder, cutoff_day) if prune else ([], [])
    if removed:
        files = list_event_files(folder)
    past = [f.path.name for f in files if f.day < cutoff_day]
    files = [f for f in files if f.day >= cutoff_day]
    rebuilt = _usable(previous, events_dir, retention_days)
    base = previous if previous is not None and rebuilt is None else None
    expired = _load_state(connection, base, cutoff)
    present = {f.stem for f in files}
    marks = {stem: mark for stem, mark in (base.marks if base else {}).items() if stem in present}
    touched = _SAVED_TOUCHED if base is not None and base.state_file is not None else _TOUCHED
    scan = Scan(connection, files, marks, since=cutoff, progress=progress,
                whole=(_FOLD, lambda sources: _merge(connection, cutoff, _NEW_ROWS_OF_FILES, touched, whole=True)))
    report = scan.run(lambda: _merge(connection, cutoff, _NEW_ROWS, touched))
    checkpoint = Checkpoint(events_dir, retention_days, scan.marks,
                            continues=base.state_file if base is not None else None)
    result = _result(connection, checkpoint, report, cutoff, base is not None, rebuilt, expired)
    result.removed, result.remove_errors, result.past = removed, remove_errors, past
    return result


def _merge(connection: duckdb.DuckDBPyConnection, cutoff: str, new_rows: str, touched: str, *,
           whole: bool = False) -> None:
    """Fold new authentications (``new_rows`` makes them records) with the ``touched`` records into ``user_rows``."""
    if whole and touched == _TOUCHED and connection.execute("SELECT count(*) FROM user_rows").fetchall()[0][0] == 0:
        # The first records, from whole files (one per user): nothing to fold them with.
        connection.execute(f"INSERT INTO user_rows {_FOLDED_ROWS}")
        return
    connection.execute(new_rows, None if whole else {"cutoff": cutoff})
    records = query("user_records", given=("user_rows",)).replace("WITH ", f"WITH user_rows AS ({touched}), ", 1)
    connection.execute(_MERGED.format(records=records), {"cutoff": cutoff} if "$cutoff" in touched else None)
    if touched == _SAVED_TOUCHED:
        connection.execute(_NOTE_CHANGED)
    connection.execute(_MERGE)


def _load_state(connection: duckdb.DuckDBPyConnection, base: Checkpoint | None, cutoff: str) -> int:
    """Make ``base`` the state (its file attached as ``saved``, or its rows in ``user_rows``), less the records
    past the retention: how many those were."""
    if base is None or base.state_file is None:
        connection.execute("DETACH DATABASE IF EXISTS saved")  # a checkpoint loaded, and not gone on from
    elif not connection.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = 'saved'"
                                ).fetchall()[0][0]:
        try:
            connection.execute("ATTACH $file AS saved (READ_ONLY)", {"file": base.state_file})
        except duckdb.Error as exc:
            raise OperatorError(f"cannot read {base.state_file}: {str(exc).splitlines()[0]}") from None
    if base is not None and base.state_file is not None:
        connection.execute(_SAVED_RECORDS)
        expired = connection.execute("INSERT INTO changed SELECT app, user_id, platform FROM saved.user_state "
                                     "WHERE last_at < $cutoff", {"cutoff": cutoff}).fetchone()
        return int(expired[0]) if expired else 0
    connection.execute(_RECORDS)
    insert_columns(connection, "user_rows", base.rows() if base else [], len(STATE_COLUMNS))
    expired = connection.execute("DELETE FROM user_rows WHERE last_at < $cutoff", {"cutoff": cutoff}).fetchone()
    return int(expired[0]) if expired else 0


def _result(connection: duckdb.DuckDBPyConnection, checkpoint: Checkpoint, report: ScanReport, cutoff: str,
            incremental: bool, rebuilt: str | None, expired: int) -> FoldResult:
    checkpoint.engine = connection
    count = connection.execute("SELECT count(*) FROM records").fetchone()
    return FoldResult(checkpoint, report, cutoff, incremental, rebuilt, [], [], expired, engine=connection,
                      count=int(count[0]) if count else 0)
