"""Parquet exports: the validated events, one folder per UTC day (hive layout), read back like event files.

``kickit-edge events export --out DIR`` writes ``DIR/day=2026-11-22/events_0.parquet``
and so on: every valid event line (each column of the record, ``data`` as JSON
text), partitioned by day, ready for object storage and for any engine that
reads Parquet (DuckDB, ClickHouse, Spark, Trino). An export replaces the days
it writes and leaves the others, so a daily export of yesterday keeps a year
of history without rewriting it.

Every ``events`` command takes such a folder where it takes the event folder:
a folder holding ``day=YYYY-MM-DD`` folders is read as an export.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path


from ..errors import OperatorError
from .engine import connect, create_events_table, duckdb, EVENT_COLUMNS
from .eventfiles import list_event_files
from .scan import Scan, ScanReport
from .window import event_time

__all__ = ["is_export", "read_export", "write_export", "export_events"]

_DAY_FOLDER = re.compile(r"day=\d{4}-\d\d-\d\d")


def is_export(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` holds a Parquet export (a ``day=`` folder) rather than event files."""
    try:
        return any(_DAY_FOLDER.fullmatch(entry.name) and entry.is_dir() for entry in os.scandir(folder))
    except OSError:
        return False  # the event-file reader says what is wrong with the folder


def read_export(connection: duckdb.DuckDBPyConnection, folder: str | os.PathLike[str], *,
                since: str = "") -> ScanReport:
    """Make ``events`` a view of the export in ``folder``, from the day of ``since``; report what it holds."""
    pattern = str(Path(folder) / "day=*" / "*.parquet")
    columns = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
    try:
        # A view takes no parameters: the two values are written in, quoted.
        connection.execute(
            f"CREATE OR REPLACE TEMP VIEW events AS SELECT {columns} FROM read_parquet('{_quoted(pattern)}', "
            "hive_partitioning = true, hive_types = {'day': 'VARCHAR'}, union_by_name = true) "
            f"WHERE day >= '{_quoted(since[:10])}'")
        files, lines, fresh, old = connection.execute(
            "SELECT (SELECT count(*) FROM glob($pattern)), count(*), "
            "count(*) FILTER (WHERE type = 'authenticate' AND time >= $since), "
            "count(*) FILTER (WHERE type = 'authenticate' AND time < $since) FROM events",
            {"pattern": pattern, "since": since}).fetchone() or (0, 0, 0, 0)
    except duckdb.Error as exc:
        raise OperatorError(f"cannot read the Parquet export in {folder}: {str(exc).splitlines()[0]}") from None
    return ScanReport(files_read=files, lines=lines, authentications=fresh, too_old=old)


def write_export(connection: duckdb.DuckDBPyConnection, out: str | os.PathLike[str], since: str) -> list[str]:
    """Write the rows of ``events`` from ``since`` into ``out``, a folder per day; return the days written."""
    target = Path(out)
    days = [row[0] for row in connection.execute(
        "SELECT DISTINCT day FROM events WHERE time >= $since ORDER BY day", {"since": since}).fetchall()]
    try:
        target.mkdir(parents=True, exist_ok=True)
        for day in days:
            shutil.rmtree(target / f"day={day}", ignore_errors=True)
        if days:
            connection.execute(
                f"COPY (SELECT * FROM events WHERE time >= $since ORDER BY time) TO '{_quoted(target)}' "
                "(FORMAT parquet, PARTITION_BY (day), OVERWRITE_OR_IGNORE true, FILENAME_PATTERN 'events_{i}', "
                "COMPRESSION zstd)", {"since": since})
    except OSError as exc:
        raise OperatorError(f"cannot write the export to {target}: {exc.strerror}") from None
    except duckdb.Error as exc:
        raise OperatorError(f"cannot write the export to {target}: {str(exc).splitlines()[0]}") from None
    return days


def _quoted(text: str | Path) -> str:
    return str(text).replace("'", "''")


def export_events(folder: str | os.PathLike[str], out: str | os.PathLike[str], since: datetime | None, *,
                  progress: Callable[[str], None] | None = None) -> tuple[ScanReport, list[str], int]:
    """Check every event line of ``folder`` (from ``since``) and write the valid ones to ``out`` as Parquet.

    Returns what the scan found, the days written and how many events they hold.
    """
    files = list_event_files(folder)
    if since is not None:
        files = [f for f in files if f.day >= since.date() - timedelta(days=1)]
    start = event_time(since) if since is not None else ""
    connection = connect()
    create_events_table(connection)
    report = Scan(connection, files, since=start, progress=progress, table="incoming").run(
        lambda: connection.execute("INSERT INTO events SELECT * FROM incoming"))
    days = write_export(connection, out, start)
    row = connection.execute("SELECT count(*) FROM events WHERE time >= $since", {"since": start}).fetchone()
    connection.close()
    return report, days, int(row[0]) if row else 0
