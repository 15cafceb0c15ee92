"""The embedded engine: a DuckDB connection, the ``events`` table, and engine errors made operator errors.

DuckDB runs the queries of :mod:`.queries` in process, in parallel, over
tables it holds in memory (spilling to a temp folder past ``MEMORY_LIMIT``) or
in a file (a checkpoint). Nothing here knows what the queries mean.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Any

# The engine's compiled module itself, not the ``duckdb`` package around it: importing the package costs
# ~0.07 s more per command (its version metadata, a relational API written in Python) for nothing used here,
# a seventh of the half second an incremental ``events users`` has. The other modules import it from here.
import _duckdb as duckdb

from ..errors import OperatorError

__all__ = ["EVENT_COLUMNS", "MEMORY_LIMIT", "connect", "create_events_table", "duckdb", "insert_columns"]

# The event record's keys (kickit_edge.events), then the UTC day of its time: the
# columns of ``events`` here, in a Parquet export and in the ClickHouse table.
EVENT_COLUMNS = ("time", "type", "app", "user", "platform", "app_version", "environment", "snapshot", "request_id",
                 "build_number", "os_version", "verdict", "rule", "data", "day")
MEMORY_LIMIT = "1GB"


def connect(path: str | os.PathLike[str] | None = None) -> duckdb.DuckDBPyConnection:
    """A connection to the database file at ``path``, or to a new in-memory one."""
    try:
        connection = duckdb.connect(str(path) if path is not None else ":memory:")
    except duckdb.Error as exc:
        raise OperatorError(f"cannot open {path} as a DuckDB database: {_first_line(exc)}") from None
    connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    connection.execute("SET temp_directory = ?", [os.path.join(tempfile.gettempdir(), "kickit-edge-duckdb")])
    connection.execute("SET enable_progress_bar = false")
    # Every query that hands rows out orders them itself: tables need not keep the order rows came in,
    # which lets the engine load them in parallel and in less memory.
    connection.execute("SET preserve_insertion_order = false")
    return connection


def create_events_table(connection: duckdb.DuckDBPyConnection, name: str = "events", *,
                        temporary: bool = True) -> None:
    columns = ", ".join(f'"{column}" VARCHAR' for column in EVENT_COLUMNS)
    connection.execute(f"CREATE OR REPLACE {'TEMP ' if temporary else ''}TABLE {name} ({columns})")


def insert_columns(connection: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence[Any]],
                   width: int) -> None:
    """Insert Python rows, passed column by column: one statement, not one per row."""
    if not rows:
        return
    columns = [list(column) for column in zip(*rows)] if rows else [[] for _ in range(width)]
    unnests = ", ".join(f"unnest(${i + 1})" for i in range(width))
    connection.execute(f"INSERT INTO {table} SELECT {unnests}", columns)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
