"""Closed event files read whole by the engine's own JSON reader: the fast path for rotated files.

A rotated ``.gz`` never changes, and the bulk of a year of events is in them.
DuckDB reads them in parallel, in its own code, each value as JSON, and a file
is taken only if every line is exactly what the writer writes:

- every value is text or null (``data`` an object), the type and verdict are
  known ones, the time is canonical and real, and
- the lines, written back as the writer writes them, add up to the file's
  size to the byte (from the gzip trailer). A missing or extra key, a number
  or ``NaN`` where a string is due, a blank line, a space, a trailing comma
  or an escaped character changes that sum, so a file with such a line is
  not taken here.

What the sum cannot see is two lines of one file that differ from their
written-back form by opposite amounts (a line missing a key, and another with
an escape of the same length): the writer writes neither, and a test holds
every single-line variation to decode_event's answer.

A file that fails either test, or that the reader cannot parse at all, is left
to the line-by-line check of :mod:`.scan`, which reports each bad line by
number. So this path decides nothing that path would decide otherwise; it only
decides it faster.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Sequence

import duckdb

from ..events import COMMON_KEYS, TARGET_CHECK_KEYS, TIME_FORMAT
from ..vocabulary import UPGRADE_VERDICTS
from .eventfiles import EventFile

__all__ = ["GROUP_BYTES", "content_size", "read_whole"]

GROUP_BYTES = 256 << 20  # uncompressed bytes of files read in one query
_CHECK_KEYS = COMMON_KEYS + TARGET_CHECK_KEYS
_NULLABLE = ("user", "platform", "app_version", "environment", "snapshot")
_CHECK_NULLABLE = ("build_number", "os_version", "rule")
_FAILED_FILE = re.compile(r'in file "([^"]+)"')


def _fixed(keys: Sequence[str]) -> int:
    """Bytes of a writer's line that are not values: braces, keys, colons, commas and the newline."""
    return 2 + sum(len(key) + 3 for key in keys) + len(keys) - 1 + 1


def _written(column: str) -> str:
    """Bytes of a plain string value as the writer writes it, quoted (a null is written null)."""
    return f'coalesce(strlen("{column}") + 2, 4)'


_TIME_OK = f"strftime(try_strptime(\"time\", '{TIME_FORMAT}'), '{TIME_FORMAT}') = \"time\""
_AUTH_ONLY = " AND ".join(f'"{c}" IS NULL' for c in TARGET_CHECK_KEYS)
_SIZE = {kind: f"{_fixed(keys)} + {len(kind) + 2} + " + " + ".join(
    'coalesce(strlen("data"), 4)' if c == "data" else _written(c) for c in keys if c != "type")
    for kind, keys in (("authenticate", COMMON_KEYS), ("target_check", _CHECK_KEYS))}
_COLUMNS = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in _CHECK_KEYS) + "}"

# Each value read as text: a number, true, an object or null where a string is due
# is written back longer or shorter than the line held it, and fails the size test.
_READ = f"""
CREATE OR REPLACE TEMP TABLE whole AS
SELECT file_index AS file, *,
       {_TIME_OK} AND app IS NOT NULL AND request_id IS NOT NULL AND
       CASE "type"
         WHEN 'authenticate' THEN {_AUTH_ONLY}
         WHEN 'target_check' THEN verdict IN ({", ".join(f"'{v}'" for v in UPGRADE_VERDICTS)}) AND ("data" IS NULL OR "data"[1] = '{{')
         ELSE false
       END AS ok,
       CASE "type" WHEN 'authenticate' THEN {_SIZE["authenticate"]} ELSE {_SIZE["target_check"]} END AS size
FROM read_ndjson($files, columns = {_COLUMNS}, format = 'newline_delimited',
                 compression = 'gzip', maximum_object_size = 16777216)
"""
_TAKE = """
INSERT INTO {table}
SELECT "time", "type", app, "user", platform, app_version, environment, snapshot, request_id, build_number,
       os_version, verdict, "rule", "data", substr("time", 1, 10)
FROM whole WHERE file IN (SELECT unnest($files))
"""


def content_size(file: EventFile) -> int | None:
    """The uncompressed size of a single-member ``.gz`` (its trailer), or None if it cannot be told."""
    try:
        with open(file.path, "rb") as raw:
            raw.seek(-4, os.SEEK_END)
            size: int = struct.unpack("<I", raw.read(4))[0]
            return size if os.fstat(raw.fileno()).st_size < 1 << 32 else None
    except OSError:
        return None


def read_whole(connection: duckdb.DuckDBPyConnection, files: Sequence[EventFile],
               table: str) -> dict[str, int]:
    """Read the ``files`` the engine can take whole into ``table``: {path: lines} of those it took."""
    sizes = {str(f.path): content_size(f) for f in files}
    pending = [path for path, size in sizes.items() if size]
    while pending:
        try:
            connection.execute(_READ, {"files": pending})
            break
        except duckdb.Error as exc:
            failed = _FAILED_FILE.search(str(exc))
            if failed is None or failed[1] not in pending:
                return {}  # not a file's fault that can be named: every line goes the careful way
            pending.remove(failed[1])
    if not pending:
        return {}
    totals = connection.execute("SELECT file, count(*), bool_and(ok), sum(size) FROM whole GROUP BY file").fetchall()
    taken = {pending[file]: (file, int(lines)) for file, lines, ok, size in totals
             if ok and size == sizes.get(pending[file])}
    connection.execute(_TAKE.format(table=table), {"files": [file for file, _ in taken.values()]})
    connection.execute("DROP TABLE whole")
    return {path: lines for path, (_, lines) in taken.items()}
