"""Reading event files into the engine: new lines only, every line checked, bad lines reported by file and line.

A :class:`Scan` reads the given files from where an earlier scan stopped (a
:class:`Mark` per stem: content offset and line count) and hands every new
complete line to the engine.

Almost every line goes the fast way, :mod:`.bulk`: a rotated file not read
before is given to the engine's JSON reader as it is, and the new lines of any
other file (a live file, or the rest of one read in part before) are copied,
a block at a time, into a spool file the engine reads the same way. A source
the engine takes whole is handed to ``whole`` (the user records fold it
straight into records); by default its lines go into a table, as below.

A source the engine does not take goes line by line, into the table ``table``
(by default ``events``, the columns of :data:`~.engine.EVENT_COLUMNS`, ``time``
canonical so that times compare as text), and the table is consumed after each
batch. The engine checks the bulk of those lines too: a line passes there only
if it is exactly what the writer writes (parsed and written back, it gives the
same text; the time has all its digits and is a real instant; no ``NaN``).
Whatever it does not pass goes to :func:`~kickit_edge.events.decode_event` for
the verdict and the message, so the engine's check can only be stricter,
never more lenient, and a test holds the two to the same answers. A line that
fails is counted and reported as ``path:line: what is wrong``, and the scan
goes on.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple


from ..events import TIME_FORMAT, MalformedEvent, decode_event
from ..vocabulary import UPGRADE_VERDICTS
from .bulk import FOLD_GROUP_BYTES, GROUP_BYTES, Fold, check_whole, content_size, insert_whole
from .engine import create_events_table, duckdb, EVENT_COLUMNS, insert_columns
from .eventfiles import Block, ContentChanged, DamagedFile, EventFile, read_blocks

__all__ = ["Mark", "ScanReport", "Scan", "decode_line", "PROBLEMS_SHOWN"]

PROBLEMS_SHOWN = 20  # problem lines kept for the report; the rest are only counted
BATCH_BYTES = 64 << 20  # lines handed to the engine before they are checked and consumed

_NAMES = ("time", "type", "app", "user", "platform", "app_version", "environment", "snapshot", "request_id")
_CHECK_NAMES = _NAMES + ("build_number", "os_version", "verdict", "rule")
_AUTH_SHAPE = json.dumps({name: "VARCHAR" for name in _NAMES})
_CHECK_SHAPE = json.dumps({**{name: "VARCHAR" for name in _CHECK_NAMES}, "data": "JSON"})
# The writer puts the type at a fixed place: {"time":"<27 characters>","type":"
_TYPE_AT = len('{"time":"2026-11-22T19:20:52.123456Z","type":"') + 1

_CLASSIFY = f"""
CREATE OR REPLACE TEMP TABLE parsed AS
SELECT file, n, line, kind, a, c,
       -- never null (a time of the right shape that is no real instant makes strptime's answer null): a line
       -- not passed here goes to decode_event, which names what is wrong with it
       coalesce(CASE kind
         WHEN 'a' THEN a IS NOT NULL AND to_json(a)::VARCHAR = line AND a.app IS NOT NULL
                       AND a.request_id IS NOT NULL AND strftime(try_strptime(a.time, $fmt), $fmt) = a.time
         WHEN 'c' THEN c IS NOT NULL AND to_json(c)::VARCHAR = line AND c.app IS NOT NULL
                       AND c.request_id IS NOT NULL AND strftime(try_strptime(c.time, $fmt), $fmt) = c.time
                       AND c.verdict IN ({", ".join(f"'{v}'" for v in UPGRADE_VERDICTS)}) AND (c.data IS NULL OR json_type(c.data) = 'OBJECT')
                       AND NOT contains(line, 'NaN') AND NOT contains(line, 'Infinity')
         ELSE false
       END, false) AS fast
FROM (
    SELECT file, n, line, kind,
           CASE WHEN kind = 'a' THEN try(json_transform(line, '{_AUTH_SHAPE}')) END AS a,
           CASE WHEN kind = 'c' THEN try(json_transform(line, '{_CHECK_SHAPE}')) END AS c
    FROM (SELECT *, CASE substr(line, {_TYPE_AT}, 13) WHEN 'authenticate"' THEN 'a'
                                                      WHEN 'target_check"' THEN 'c' END AS kind
          FROM lines)
)
"""
_AUTH_ROWS = ", ".join(f'a."{name}"' for name in _NAMES)
_CHECK_ROWS = ", ".join(f'c."{name}"' for name in _CHECK_NAMES)
_TAKE = f"""
INSERT INTO {{table}}
SELECT {_AUTH_ROWS}, NULL, NULL, NULL, NULL, NULL, substr(a.time, 1, 10) FROM parsed WHERE kind = 'a' AND fast
UNION ALL
SELECT {_CHECK_ROWS}, c.data::VARCHAR, substr(c.time, 1, 10) FROM parsed WHERE kind = 'c' AND fast
"""
_WITHOUT = """
SELECT file, n, a.user IS NULL, a.platform IS NULL, a.app_version IS NULL
FROM parsed WHERE kind = 'a' AND fast AND (a.user IS NULL OR a.platform IS NULL OR a.app_version IS NULL)
"""


def decode_line(line: bytes) -> dict[str, Any]:
    """:func:`~kickit_edge.events.decode_event`, the time made canonical."""
    record = decode_event(line)
    record["time"] = datetime.strptime(record["time"], TIME_FORMAT).strftime(TIME_FORMAT)
    return record


def _row(record: dict[str, Any]) -> tuple[Any, ...]:
    data = record.get("data")
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False) if data is not None else None
    return (*(record.get(name) for name in _CHECK_NAMES), text, record["time"][:10])


@dataclass(slots=True)
class Mark:
    """How far a stem's content was read: bytes, complete lines, and whether its .gz was read to the end."""

    offset: int = 0
    lines: int = 0
    complete: bool = False


@dataclass
class ScanReport:
    files_read: int = 0
    lines: int = 0
    authentications: int = 0
    too_old: int = 0
    malformed: int = 0
    problems: list[str] = field(default_factory=list)  # the first PROBLEMS_SHOWN, as path:line: message
    damaged: list[str] = field(default_factory=list)
    reread: list[str] = field(default_factory=list)  # stems whose content no longer matched their mark

    def problem(self, where: str, message: str) -> None:
        self.malformed += 1
        if len(self.problems) < PROBLEMS_SHOWN:
            self.problems.append(f"{where}: {message}")


class _Source(NamedTuple):
    """What the engine is asked to read whole: a rotated file (``end`` None) or a spool copy of new lines."""

    file: int  # the index of its file
    path: str
    size: int  # content bytes
    first: int  # lines of the file before it
    end: int | None  # content offset of the file after it


class Scan:
    """One pass over ``files``; ``marks`` (stem -> Mark) is read and advanced in place.

    ``since`` (a canonical time): authentications before it are counted as
    ``too_old`` (they stay in the table; the queries leave them out).
    ``whole``, if given, takes the sources the engine takes whole (their paths)
    instead of their lines going into the table, from the table ``folded`` that
    ``fold`` makes of them (see :func:`~.bulk.check_whole`).
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, files: Iterable[EventFile],
                 marks: dict[str, Mark] | None = None, *, since: str | None = None,
                 progress: Callable[[str], None] | None = None, table: str = "events",
                 whole: tuple[Fold, Callable[[list[str]], object]] | None = None) -> None:
        self.connection = connection
        self.table = table
        self.files = list(files)
        self.marks = marks if marks is not None else {}
        self.since = since or ""
        self.report = ScanReport()
        self._whole = whole
        self._progress = progress
        self._shown = time.monotonic()
        self._pending = 0  # bytes of lines handed over, not yet checked
        self._batched = 0  # bytes of lines read since the last consume
        self._loose: list[tuple[int, int, bytes, bool]] = []  # lines for decode_event alone: (file, n, line, torn)
        self._sources: list[_Source] = []  # waiting for the engine's check
        self._waiting = 0  # their bytes
        self._spool = Path()

    def run(self, consume: Callable[[], object]) -> ScanReport:
        """Read every new line; after each batch, ``consume`` the valid records left in the table."""
        create_events_table(self.connection, self.table)
        self.connection.execute("CREATE OR REPLACE TEMP TABLE lines (file INTEGER, n BIGINT, line VARCHAR)")
        with tempfile.TemporaryDirectory(prefix="kickit-edge-scan-") as spool:
            self._spool = Path(spool)
            for index, file in enumerate(self.files):
                mark = self.marks.setdefault(file.stem, Mark())
                if mark.complete or (not file.compressed and _size(file) == mark.offset):
                    continue
                self.report.files_read += 1
                size = content_size(file) if file.compressed and mark == Mark() else None
                if size:  # a rotated file not read before: the engine reads it as it is
                    self._wait(_Source(index, str(file.path), size, 0, None), consume)
                else:
                    self._read(index, file, mark, consume)
                self._tell(f"read {index + 1}/{len(self.files)} files, {self.report.lines:,} lines")
            self._check(consume)
            self._flush(consume)
        return self.report

    def _read(self, index: int, file: EventFile, mark: Mark, consume: Callable[[], object] | None) -> None:
        """The new lines of ``file``: spooled for the engine's check, or (no ``consume``) line by line."""
        try:
            self._blocks(index, file, mark, consume)
        except ContentChanged:
            # Nothing of the file was taken before the check: read all of it from the start.
            self.report.reread.append(file.stem)
            mark.offset = mark.lines = 0
            self._blocks(index, file, mark, consume)
        except DamagedFile as exc:
            self.report.damaged.append(str(exc))

    def _blocks(self, index: int, file: EventFile, mark: Mark, consume: Callable[[], object] | None) -> None:
        for block in read_blocks(file, mark.offset):
            if consume is None or block.torn:
                self._take(index, mark.lines, block)
            else:
                spooled = self._spool / f"{len(self._sources)}-{index}.jsonl"
                with open(spooled, "wb") as out:
                    out.write(block.data)
                    out.write(b"\n")
                self._wait(_Source(index, str(spooled), len(block.data) + 1, mark.lines, block.end), consume)
            self.report.lines += block.line_count
            mark.offset, mark.lines = block.end, mark.lines + block.line_count
        mark.complete = file.compressed

    def _wait(self, source: _Source, consume: Callable[[], object]) -> None:
        self._sources.append(source)
        self._waiting += source.size
        if self._waiting >= (GROUP_BYTES if self._whole is None else FOLD_GROUP_BYTES):
            self._check(consume)

    def _check(self, consume: Callable[[], object]) -> None:
        """Hand the waiting sources to the engine's check; what it does not take goes line by line."""
        sources, self._sources, self._waiting = self._sources, [], 0
        fold = self._whole[0] if self._whole is not None else None
        taken = check_whole(self.connection, {s.path: s.size for s in sources}, self.since, fold) if sources else {}
        if taken:
            self._take_whole([s.path for s in sources if s.path in taken], consume)
        for source in sources:
            file = self.files[source.file]
            got = taken.get(source.path)
            if got is not None:
                self.report.authentications += got.authentications
                self.report.too_old += got.too_old
                if source.end is None:
                    self.marks[file.stem] = Mark(source.size, got.lines, True)
                    self.report.lines += got.lines
            elif source.end is None:
                self._read(source.file, file, self.marks[file.stem], None)
            else:
                data = Path(source.path).read_bytes()
                self._take(source.file, source.first, Block(data[:-1], source.end))
            if source.end is not None:
                Path(source.path).unlink()
            if self._batched >= BATCH_BYTES:
                self._flush(consume)

    def _take_whole(self, sources: list[str], consume: Callable[[], object]) -> None:
        if self._whole is not None:
            self._whole[1](sources)
            return
        self._flush(consume)  # the lines checked one by one so far are counted and consumed first
        insert_whole(self.connection, sources, self.table)
        consume()
        self.connection.execute(f"DELETE FROM {self.table}")

    def _take(self, index: int, first: int, block: Block) -> None:
        text = None if block.torn else _text(block.data)
        if text is None:
            self._loose += [(index, first + i + 1, line, block.torn) for i, line in enumerate(block.lines())]
            return
        self.connection.execute(
            "INSERT INTO lines SELECT $file, $first + generate_subscripts(l, 1), unnest(l) "
            "FROM (SELECT string_split($text, chr(10)) AS l)", {"file": index, "first": first, "text": text})
        self._pending += len(block.data) + 1  # with its newline: an empty line counts
        self._batched += len(block.data)
        if self._pending >= BATCH_BYTES:
            self._flush_lines()

    def _flush_lines(self) -> None:
        """Check the lines handed over so far; what the engine does not pass goes to ``decode_event``."""
        if not self._pending:
            self._decode_loose([])
            return
        connection = self.connection
        connection.execute(_CLASSIFY, {"fmt": TIME_FORMAT})
        connection.execute(_TAKE.format(table=self.table))
        problems = [(file, n, _missing(user, platform, version))
                    for file, n, user, platform, version in connection.execute(_WITHOUT).fetchall()]
        rest = connection.execute("SELECT file, n, line FROM parsed WHERE NOT fast").fetchall()
        self._loose += [(file, n, line.encode("utf-8"), False) for file, n, line in rest]
        connection.execute("DELETE FROM lines")
        connection.execute("DROP TABLE parsed")
        self._pending = 0
        self._decode_loose(problems)

    def _decode_loose(self, problems: list[tuple[int, int, str]]) -> None:
        rows = []
        for file, n, line, torn in self._loose:
            try:
                record = decode_line(line)
            except MalformedEvent as exc:
                problems.append((file, n, f"unterminated last line; {exc}" if torn else str(exc)))
                continue
            if record["type"] == "authenticate":
                missing = [key for key in ("user", "platform", "app_version") if record[key] is None]
                if missing:
                    problems.append((file, n, f"authenticate event without {', '.join(missing)}"))
            rows.append(_row(record))
        self._loose = []
        insert_columns(self.connection, self.table, rows, len(EVENT_COLUMNS))
        for file, n, message in sorted(problems):
            self.report.problem(f"{self.files[file].path}:{n}", message)

    def _flush(self, consume: Callable[[], object]) -> None:
        self._flush_lines()
        self._batched = 0
        rows, fresh, old = self.connection.execute(
            "SELECT count(*), count(*) FILTER (WHERE time >= $since AND named), "
            "count(*) FILTER (WHERE time < $since AND named) FROM (SELECT *, type = 'authenticate' AND "
            f"\"user\" IS NOT NULL AND platform IS NOT NULL AND app_version IS NOT NULL AS named FROM {self.table})",
            {"since": self.since}).fetchone() or (0, 0, 0)
        if not rows:
            return
        self.report.authentications += fresh
        self.report.too_old += old
        consume()
        self.connection.execute(f"DELETE FROM {self.table}")

    def _tell(self, text: str) -> None:
        if self._progress and time.monotonic() - self._shown >= 1.0:
            self._shown = time.monotonic()
            self._progress(text)


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None  # decode_event names the bad line


def _missing(user: bool, platform: bool, version: bool) -> str:
    names = [name for name, gone in (("user", user), ("platform", platform), ("app_version", version)) if gone]
    return f"authenticate event without {', '.join(names)}"


def _size(file: EventFile) -> int:
    try:
        return file.path.stat().st_size
    except OSError:
        return -1  # gone or unreadable: let the read say which
