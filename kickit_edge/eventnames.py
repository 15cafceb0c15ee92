"""Names of event files, and when they expire: one spelling for the writer and every reader.

The edge's event log (:mod:`kickit_edge.runtime.eventlog`) writes, per process,
files named::

    events-<UTC yyyymmdd>-<host>-<pid>-<n>.jsonl        being written, or left by a crash
    events-<UTC yyyymmdd>-<host>-<pid>-<n>.jsonl.gz     closed and compressed
    events-<UTC yyyymmdd>-<host>-<pid>-<n>.jsonl.gz.tmp being compressed; readers skip it

The *stem* is the name without ``.jsonl`` and what follows: a plain file and
its ``.gz`` hold the same content. A file holds the events of the UTC day in
its name, and expires when that day is more than the retention before today.
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["EventFileName", "event_file_name", "parse_event_file_name", "origin_of", "retention_cutoff"]

_NAME = re.compile(r"^(events-(\d{4})(\d{2})(\d{2})-(.+)-(\d+)-(\d+))\.jsonl(\.gz)?(\.tmp)?$")


@dataclass(frozen=True, slots=True)
class EventFileName:
    name: str
    stem: str
    day: date
    host: str
    pid: int
    seq: int
    compressed: bool  # .jsonl.gz (or .jsonl.gz.tmp)
    temporary: bool  # .jsonl.gz.tmp: a compression in progress


def origin_of(host: str, pid: int) -> str:
    """``<host>-<pid>``, the host made plain (host names can hold anything on odd systems)."""
    plain = re.sub(r"[^A-Za-z0-9.-]", "_", host)[:64] or "host"
    return f"{plain}-{pid}"


def event_file_name(day: date, origin: str, seq: int) -> str:
    """The plain (uncompressed) name of file ``seq`` of ``origin`` on ``day``."""
    return f"events-{day:%Y%m%d}-{origin}-{seq}.jsonl"


def parse_event_file_name(name: str) -> EventFileName | None:
    """What ``name`` says, or ``None`` if it is not an event file's name (or its day is not a date)."""
    match = _NAME.match(name)
    if match is None or (match[9] and not match[8]):
        return None
    try:
        day = date(int(match[2]), int(match[3]), int(match[4]))
    except ValueError:
        return None
    return EventFileName(name, match[1], day, match[5], int(match[6]), int(match[7]), bool(match[8]),
                         bool(match[9]))


def retention_cutoff(today: date, retention_days: int) -> date:
    """The first day still kept: files of earlier days have expired."""
    return today - timedelta(days=retention_days)
