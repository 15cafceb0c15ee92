"""Scanning event files for authentications: fast decoding, offsets kept, bad lines counted.

A :class:`Scan` reads the given files from where an earlier scan stopped (a
:class:`Mark` per stem: content offset and line count) and yields every valid
``authenticate`` record as the dict :func:`~kickit_edge.events.decode_event`
returns, with ``time`` in its canonical form, so that times compare as strings.

Every line is checked as :func:`~kickit_edge.events.decode_event` checks it, a
line that fails is counted and reported as ``path:line: what is wrong`` and
the scan goes on. Decoding takes the time of the whole fold, so a line is
first tried on a fast path that accepts only the exact form the writer
produces (strict JSON, every key with its type, the time with all its digits);
whatever the fast path does not accept goes to ``decode_event`` for the
verdict and the message. So the fast path can only be stricter, never more
lenient, and a test holds the two to the same answers.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..events import COMMON_KEYS, TARGET_CHECK_KEYS, TIME_FORMAT, MalformedEvent, decode_event
from ..vocabulary import UPGRADE_VERDICTS
from .eventfiles import ContentChanged, DamagedFile, EventFile, read_blocks

__all__ = ["Mark", "ScanReport", "Scan", "decode_line", "PROBLEMS_SHOWN"]

PROBLEMS_SHOWN = 20  # problem lines kept for the report; the rest are only counted

_ALL_KEYS = COMMON_KEYS + TARGET_CHECK_KEYS
_STRING_KEYS = ("time", "app", "request_id")
_NULLABLE_COMMON = ("user", "platform", "app_version", "environment", "snapshot")
_NULLABLE = _NULLABLE_COMMON + ("build_number", "os_version", "rule")
_TIME = re.compile(r"(\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]))T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{6}Z")
_VERDICTS = UPGRADE_VERDICTS  # a tuple: an unhashable value must not raise


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in JSON")


# The decoder's scanner itself: decode() around it adds two frames and two regex
# matches per line. The fast path wants no whitespace around the object anyway.
_SCAN = json.JSONDecoder(parse_constant=_reject_constant).scan_once  # type: ignore[attr-defined]
_COMMON_SET = frozenset(COMMON_KEYS)
_ALL_SET = frozenset(_ALL_KEYS)
_valid_days: dict[str, bool] = {}


def _valid_day(text: str) -> bool:
    known = _valid_days.get(text)
    if known is None:
        try:
            date.fromisoformat(text)
            known = True
        except ValueError:
            known = False
        _valid_days[text] = known
    return known


def _fast(line: bytes) -> dict[str, Any] | None:
    """The record if the line is exactly what the writer writes, else None (not: invalid)."""
    try:
        text = line.decode("utf-8")
        record, end = _SCAN(text, 0)
    except (ValueError, StopIteration):  # UnicodeDecodeError is a ValueError
        return None
    if end != len(text) and text[end:].strip(" \t\n\r") or type(record) is not dict:
        return None
    nullable: tuple[str, ...]
    kind = record.get("type")
    if kind == "authenticate":
        if not record.keys() >= _COMMON_SET:
            return None
        nullable = _NULLABLE_COMMON
    elif kind == "target_check":
        if not record.keys() >= _ALL_SET:
            return None
        nullable = _NULLABLE
    else:
        return None
    for key in _STRING_KEYS:
        if type(record[key]) is not str:
            return None
    for key in nullable:
        value = record[key]
        if value is not None and type(value) is not str:
            return None
    match = _TIME.fullmatch(record["time"])
    if match is None or not _valid_day(match[1]):
        return None
    if kind == "target_check":
        data = record["data"]
        if record["verdict"] not in _VERDICTS or (data is not None and type(data) is not dict):
            return None
    return record


def decode_line(line: bytes) -> dict[str, Any]:
    """:func:`~kickit_edge.events.decode_event`, fast for the writer's own lines, time made canonical."""
    return _fast(line) or _slow(line)


def _slow(line: bytes) -> dict[str, Any]:
    record = decode_event(line)
    record["time"] = datetime.strptime(record["time"], TIME_FORMAT).strftime(TIME_FORMAT)
    return record


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


class Scan:
    """One pass over ``files``; ``marks`` (stem -> Mark) is read and advanced in place.

    ``since`` (a canonical time) skips older events, counted as ``too_old``.
    """

    def __init__(self, files: Iterable[EventFile], marks: dict[str, Mark] | None = None, *,
                 since: str | None = None, progress: Callable[[str], None] | None = None) -> None:
        self.files = list(files)
        self.marks = marks if marks is not None else {}
        self.since = since
        self.report = ScanReport()
        self._progress = progress
        self._shown = time.monotonic()

    def authentications(self) -> Iterator[dict[str, Any]]:
        total = len(self.files)
        for done, file in enumerate(self.files):
            mark = self.marks.setdefault(file.stem, Mark())
            if mark.complete or (not file.compressed and _size(file) == mark.offset):
                continue
            self.report.files_read += 1
            try:
                yield from self._read(file, mark)
            except ContentChanged:
                # The fold is idempotent: reading the whole content again cannot count twice.
                self.report.reread.append(file.stem)
                mark.offset = mark.lines = 0
                yield from self._read(file, mark)
            except DamagedFile as exc:
                self.report.damaged.append(str(exc))
            if self._progress and time.monotonic() - self._shown >= 1.0:
                self._shown = time.monotonic()
                self._progress(f"read {done + 1}/{total} files, {self.report.lines:,} lines")

    def _read(self, file: EventFile, mark: Mark) -> Iterator[dict[str, Any]]:
        report, since, fast, slow = self.report, self.since, _fast, _slow
        number = mark.lines
        for block in read_blocks(file, mark.offset):
            for line in block.lines:
                number += 1
                try:
                    record = fast(line) or slow(line)
                except MalformedEvent as exc:
                    what = f"unterminated last line; {exc}" if block.torn else str(exc)
                    report.problem(f"{file.path}:{number}", what)
                    continue
                if record["type"] != "authenticate":
                    continue
                if record["user"] is None or record["platform"] is None or record["app_version"] is None:
                    missing = [k for k in ("user", "platform", "app_version") if record[k] is None]
                    report.problem(f"{file.path}:{number}", f"authenticate event without {', '.join(missing)}")
                    continue
                if since is not None and record["time"] < since:
                    report.too_old += 1
                    continue
                report.authentications += 1
                yield record
            report.lines += len(block.lines)
            mark.offset, mark.lines = block.end, number
            if self._progress and time.monotonic() - self._shown >= 1.0:
                self._shown = time.monotonic()
                self._progress(f"{file.path.name}: {number:,} lines; {report.lines:,} lines in all")
        mark.complete = file.compressed


def _size(file: EventFile) -> int:
    try:
        return os.stat(file.path).st_size
    except OSError:
        return -1  # gone or unreadable: let the read say which
