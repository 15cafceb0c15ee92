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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import duckdb

from ..errors import OperatorError
from .engine import connect, insert_columns
from .eventfiles import list_event_files, remove_expired
from .parquet import is_export, read_export
from .queries import AUTHENTICATIONS, USER_ROWS_OF_EVENTS, query
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
# The records so far and the new authentications, folded into records again.
_FOLD = f"""
CREATE OR REPLACE TEMP TABLE user_rows AS
SELECT app, user_id, platform, first_authenticated_at AS first_at, last_authenticated_at AS last_at, request_id,
       app_version, environment
FROM ({query("user_records", given=("user_rows",))})
"""


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


@dataclass
class FoldResult:
    checkpoint: Checkpoint
    records: list[UserRecord]
    scan: ScanReport
    cutoff: str
    incremental: bool  # False: everything was read (no checkpoint, or it did not fit; see ``rebuilt``)
    rebuilt: str | None  # why a checkpoint was not used
    removed: list[str]  # files past the retention, deleted (only with prune)
    remove_errors: list[str]
    expired: int  # records dropped because their last authentication is past the retention
    past: list[str] = field(default_factory=list)  # files past the retention, left in place and not read
    engine: duckdb.DuckDBPyConnection | None = None  # holds the state as user_rows, for saving it


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
               progress: Callable[[str], None] | None = None) -> FoldResult:
    """Fold what ``previous`` has not read yet into its state; with ``prune``, first delete files past the retention."""
    if retention_days < 0:
        raise OperatorError(f"--retention-days {retention_days}: expected 0 or more days")
    events_dir = str(Path(folder).resolve())
    cutoff, cutoff_day = cutoff_of(now, retention_days)
    connection = connect()
    connection.execute(_STATE_TABLE)

    def consume() -> None:
        connection.execute(f"INSERT INTO user_rows WITH authentications AS ({AUTHENTICATIONS}) "
                           f"{USER_ROWS_OF_EVENTS}", {"cutoff": cutoff})
        connection.execute(_FOLD)

    if is_export(folder):
        # An export is rewritten a day at a time: there is no offset to go on from.
        report = read_export(connection, folder, since=cutoff)
        consume()
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
    if base is not None and base.state_file is not None:
        connection.execute("ATTACH $file AS saved (READ_ONLY)", {"file": base.state_file})
        connection.execute(f"INSERT INTO user_rows SELECT {', '.join(STATE_COLUMNS)} FROM saved.user_state")
        connection.execute("DETACH saved")
    else:
        insert_columns(connection, "user_rows", base.state if base else [], len(STATE_COLUMNS))
    expired = connection.execute("DELETE FROM user_rows WHERE last_at < $cutoff", {"cutoff": cutoff}).fetchone()
    present = {f.stem for f in files}
    marks = {stem: mark for stem, mark in (base.marks if base else {}).items() if stem in present}
    scan = Scan(connection, files, marks, since=cutoff, progress=progress)
    report = scan.run(consume)
    result = _result(connection, Checkpoint(events_dir, retention_days, scan.marks), report, cutoff,
                     base is not None, rebuilt, int(expired[0]) if expired else 0)
    result.removed, result.remove_errors, result.past = removed, remove_errors, past
    return result


def _result(connection: duckdb.DuckDBPyConnection, checkpoint: Checkpoint, report: ScanReport, cutoff: str,
            incremental: bool, rebuilt: str | None, expired: int) -> FoldResult:
    """The fold's records and state, out of the engine."""
    checkpoint.state = connection.execute(f"SELECT {', '.join(STATE_COLUMNS)} FROM user_rows "
                                          "ORDER BY app, user_id, platform").fetchall()
    records = [UserRecord(*row[:5], *row[6:]) for row in checkpoint.state]
    return FoldResult(checkpoint, records, report, cutoff, incremental, rebuilt, [], [], expired, engine=connection)
