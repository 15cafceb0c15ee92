"""Event lines read whole by the engine's own JSON reader: the fast path for (nearly) every line.

The engine reads a source (a rotated ``.gz``, or a copy of the new complete
lines of a live file) in parallel, in its own code, each value as JSON, and a
source is taken only if every line is exactly what the writer writes:

- every value is text or null (``data`` an object), the type and verdict are
  known ones, the time is canonical and real, an authentication names its
  user, platform and version, and
- the lines, written back as the writer writes them, add up to the source's
  size to the byte. A missing or extra key, a number or ``NaN`` where a string
  is due, a blank line, a space, a trailing comma or an escaped character
  changes that sum, so a source with such a line is not taken here.

What the sum cannot see is two lines of one source that differ from their
written-back form by opposite amounts (a line missing a key, and another with
an escape of the same length): the writer writes neither, and a test holds
every single-line variation to decode_event's answer.

A source that fails either test, or that the reader cannot read at all, is
left to the line-by-line check of :mod:`.scan`, which reports each bad line by
number. So this path decides nothing that path would decide otherwise; it only
decides it faster. The check is one pass over the sources; what is taken is
then read again by whoever needs it (the user records fold it straight into
records), which costs less than holding every line between the two.

A taken source's values are plain: every string is printable ASCII or UTF-8
without a control character, since the writer escapes all others (and an
escape fails the sum).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping, Sequence
from typing import NamedTuple


from ..events import COMMON_KEYS, TARGET_CHECK_KEYS, TIME_FORMAT
from .engine import duckdb
from ..vocabulary import UPGRADE_VERDICTS
from .eventfiles import EventFile

__all__ = ["GROUP_BYTES", "FOLD_GROUP_BYTES", "Fold", "Taken", "content_size", "check_whole", "insert_whole", "event_reader"]

GROUP_BYTES = 256 << 20  # uncompressed bytes of sources checked in one query, their lines then held in a table
# ... when they are folded as they are checked: the fold holds a row per key, whatever it reads, and each
# further query leaves partial records to merge. The bound is on the work a damaged source makes the engine redo.
FOLD_GROUP_BYTES = 4 << 30
_CHECK_KEYS = COMMON_KEYS + TARGET_CHECK_KEYS


def _fixed(keys: Sequence[str]) -> int:
    """Bytes of a writer's line that are not values: braces, keys, colons, commas and the newline."""
    return 2 + sum(len(key) + 3 for key in keys) + len(keys) - 1 + 1


def _written(column: str) -> str:
    """Bytes of a plain string value as the writer writes it, quoted (a null is written null)."""
    return f'coalesce(strlen("{column}") + 2, 4)'


_TIME_OK = f"strftime(try_strptime(\"time\", '{TIME_FORMAT}'), '{TIME_FORMAT}') = \"time\""
_AUTH_ONLY = " AND ".join(f'"{c}" IS NULL' for c in TARGET_CHECK_KEYS)
_NAMED = '"user" IS NOT NULL AND platform IS NOT NULL AND app_version IS NOT NULL'
_SIZE = {kind: f"{_fixed(keys)} + {len(kind) + 2} + " + " + ".join(
    'coalesce(strlen("data"), 4)' if c == "data" else _written(c) for c in keys if c != "type")
    for kind, keys in (("authenticate", COMMON_KEYS), ("target_check", _CHECK_KEYS))}


def event_reader(columns: Sequence[str] = _CHECK_KEYS) -> str:
    """The engine's reader of the sources in ``$files``, each value as text; a line it cannot parse is all nulls."""
    shape = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in columns) + "}"
    return (f"read_ndjson($files, columns = {shape}, format = 'newline_delimited', ignore_errors = true, "
            "maximum_object_size = 16777216)")


# Each value read as text: a number, true, an object or null where a string is due
# is written back longer or shorter than the line held it, and fails the size test.
_LINES = f"""
SELECT file_index, *,
       coalesce({_TIME_OK} AND app IS NOT NULL AND request_id IS NOT NULL AND
       CASE "type"
         WHEN 'authenticate' THEN {_AUTH_ONLY} AND {_NAMED}
         WHEN 'target_check' THEN verdict IN ({", ".join(f"'{v}'" for v in UPGRADE_VERDICTS)})
                                  AND ("data" IS NULL OR "data"[1] = '{{')
         ELSE false
       END, false) AS ok,
       CASE "type" WHEN 'authenticate' THEN {_SIZE["authenticate"]} ELSE {_SIZE["target_check"]} END AS size
FROM {event_reader()}
"""
_PER_SOURCE = """count(*) AS lines, bool_and(ok) AS ok, sum(size) AS size,
       count(*) FILTER (WHERE "type" = 'authenticate' AND "time" >= $since) AS fresh,
       count(*) FILTER (WHERE "type" = 'authenticate' AND "time" < $since) AS old"""
_INSERT = f"""
INSERT INTO @table
SELECT "time", "type", app, "user", platform, app_version, environment, snapshot, request_id, build_number,
       os_version, verdict, "rule", "data", substr("time", 1, 10)
FROM {event_reader()}
"""


class Fold(NamedTuple):
    """What the sources taken whole are folded into as they are checked: the table ``folded``.

    ``folded`` has a row per value of ``keys`` (columns of the reader), with the
    ``aggregates`` (over the reader's columns, each named; ``$since`` is the
    scan's), and ``by_key`` true.
    """

    keys: str
    aggregates: str

    def check(self) -> str:
        """The check and the fold in one pass: a row per source (``by_key`` false), and the fold's rows."""
        return f"""
CREATE OR REPLACE TEMP TABLE folded AS
SELECT GROUPING(file_index) = 1 AS by_key, file_index, {self.keys}, {_PER_SOURCE}, {self.aggregates}
FROM ({_LINES})
GROUP BY GROUPING SETS ((file_index), ({self.keys}))
"""

    def fold(self) -> str:
        """The fold alone, of sources already checked."""
        return f"""
CREATE OR REPLACE TEMP TABLE folded AS
SELECT true AS by_key, {self.keys}, {self.aggregates}
FROM {event_reader()}
GROUP BY {self.keys}
"""


class Taken(NamedTuple):
    """A source taken whole: its lines, and its authentications since and before the scan's ``since``."""

    lines: int
    authentications: int
    too_old: int


def content_size(file: EventFile) -> int | None:
    """The uncompressed size of a single-member ``.gz`` (its trailer), or None if it cannot be told."""
    try:
        with open(file.path, "rb") as raw:
            raw.seek(-4, os.SEEK_END)
            size: int = struct.unpack("<I", raw.read(4))[0]
            return size if os.fstat(raw.fileno()).st_size < 1 << 32 else None
    except OSError:
        return None


def check_whole(connection: duckdb.DuckDBPyConnection, sizes: Mapping[str, int], since: str,
                fold: Fold | None = None) -> dict[str, Taken]:
    """Of the sources (path -> content bytes), those the engine can take whole.

    With ``fold``, the table ``folded`` then holds the fold of exactly those. It is made in the same
    pass as the check, and made again of those alone when the check did not take every source.
    """
    pending = [path for path, size in sizes.items() if size]
    query = fold.check() if fold is not None else f"SELECT file_index, {_PER_SOURCE} FROM ({_LINES}) GROUP BY ALL"
    while pending:
        try:
            totals = connection.execute(query, {"files": pending, "since": since}).fetchall()
            break
        except duckdb.Error as exc:
            # Not a line (those read as nulls) but a whole source: unreadable, or a damaged .gz.
            named = [path for path in pending if path in str(exc)]
            if not named:
                return {}  # not a source's fault that can be named: every line goes the careful way
            pending.remove(max(named, key=len))
    else:
        return {}
    if fold is not None:
        totals = connection.execute("SELECT file_index, lines, ok, size, fresh, old FROM folded WHERE NOT by_key"
                                    ).fetchall()
    taken = {pending[index]: Taken(int(lines), int(fresh), int(old)) for index, lines, ok, size, fresh, old in totals
             if ok and size == sizes[pending[index]]}
    if fold is not None and taken and len(taken) < len(pending):
        connection.execute(fold.fold(), {"files": list(taken), "since": since})
    return taken


def insert_whole(connection: duckdb.DuckDBPyConnection, sources: Sequence[str], table: str) -> None:
    """Every line of the ``sources`` (taken by :func:`check_whole`) into ``table``, as the events' columns."""
    connection.execute(_INSERT.replace("@table", table), {"files": list(sources)})
