"""Active users: who authenticated since the start of a window, and on what they were last seen.

For each (app, user, platform) with an authentication in the window, the
latest one in it, by the same rule as the user records (the ``active_users``
query of :mod:`.queries`); on demand also the latest of each day, for a chart
of version share per day. The latest authentication in the window is the
user's latest overall, so the version and environment here are those of the
user's record.

Only files of the window's days are read (a file holds the events of the day in
its name), and the day before, for a clock that crossed midnight between
naming a file and stamping an event. A folder of Parquet files written by
``events export`` is read as it is (see :mod:`.parquet`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


from .engine import connect, create_events_table, duckdb
from .eventfiles import list_event_files
from .parquet import is_export, read_export
from .queries import AUTHENTICATIONS, QueryName, query
from .scan import Scan, ScanReport
from .window import event_time

__all__ = ["Active", "scan_active", "load_events"]


@dataclass
class Active:
    """The active users of a window, held by the engine as the table ``active_users``."""

    since: datetime
    until: datetime
    connection: duckdb.DuckDBPyConnection
    app: str | None = None
    report: ScanReport = field(default_factory=ScanReport)

    @property
    def parameters(self) -> dict[str, str]:
        return {"since": event_time(self.since), "app": self.app or ""}

    @property
    def users(self) -> int:
        row = self.connection.execute("SELECT count(*) FROM active_users").fetchone()
        return int(row[0]) if row else 0

    def run(self, name: QueryName) -> list[tuple[Any, ...]]:
        """The rows of query ``name`` over this window's users."""
        sql = query(name, given=("authentications", "active_users"))
        used = {k: v for k, v in self.parameters.items() if f"${k}" in sql}
        return self.connection.execute(sql, used).fetchall()


def load_events(connection: duckdb.DuckDBPyConnection, folder: str | os.PathLike[str], since: str,
                first_day: datetime | None, progress: Callable[[str], None] | None) -> ScanReport:
    """Fill ``events`` with the authentications of ``folder`` (event files or an export) from ``first_day``.

    Also makes the view ``authentications`` of :mod:`.queries` over it.
    """
    if is_export(folder):
        report = read_export(connection, folder, since=since)
    else:
        files = list_event_files(folder)
        if first_day is not None:
            files = [f for f in files if f.day >= first_day.date()]
        create_events_table(connection)
        scan = Scan(connection, files, since=since, progress=progress, table="incoming")
        report = scan.run(lambda: connection.execute(
            "INSERT INTO events SELECT * FROM incoming WHERE type = 'authenticate'"))
    connection.execute(f"CREATE OR REPLACE TEMP VIEW authentications AS {AUTHENTICATIONS}")
    return report


def scan_active(folder: str | os.PathLike[str], since: datetime, until: datetime, *, app: str | None = None,
                progress: Callable[[str], None] | None = None) -> Active:
    """The active users of ``folder`` from ``since`` to ``until`` (an event later than ``until`` still counts)."""
    connection = connect()
    report = load_events(connection, folder, event_time(since), since - timedelta(days=1), progress)
    active = Active(since, until, connection, app, report)
    connection.execute(f"CREATE TEMP TABLE active_users AS {query('active_users', given=('authentications',))}",
                       active.parameters)
    return active
