"""Active users: who authenticated since the start of a window, and on what they were last seen.

For each (app, user, platform) with an authentication in the window, the
latest one in it, by the same rule as the user records (greatest time, ties by
:func:`~.users.tie_key`); optionally also the latest one of each day, for a
chart of version share per day. The latest authentication in the window is the
user's latest overall, so the version and environment here are those of the
user's record.

Only files of the window's days are read (a file holds the events of the day in
its name), and the day before, for a clock that crossed midnight between
naming a file and stamping an event.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .eventfiles import list_event_files
from .scan import Scan, ScanReport
from .users import UserKey, tie_key
from .window import event_time

__all__ = ["Seen", "Active", "scan_active"]

# (time, request_id, app_version, environment) of one authentication
Seen = tuple[str, str, str, str | None]


def _later(new: Seen, old: Seen) -> bool:
    if new[0] != old[0]:
        return new[0] > old[0]
    return tie_key(new[1], new[2], new[3]) > tie_key(old[1], old[2], old[3])


@dataclass
class Active:
    since: datetime
    until: datetime
    latest: dict[UserKey, Seen]
    daily: dict[str, dict[UserKey, Seen]] = field(default_factory=dict)  # "2026-11-22" -> latest that day
    report: ScanReport = field(default_factory=ScanReport)


def scan_active(folder: str | os.PathLike[str], since: datetime, until: datetime, *, app: str | None = None,
                daily: bool = False, progress: Callable[[str], None] | None = None) -> Active:
    """The active users of ``folder`` from ``since`` to ``until`` (an event later than ``until`` still counts)."""
    first_day = since.date() - timedelta(days=1)
    files = [f for f in list_event_files(folder) if f.day >= first_day]
    scan = Scan(files, since=event_time(since), progress=progress)
    latest: dict[UserKey, Seen] = {}
    canonical: dict[UserKey, UserKey] = {}  # one key tuple per user, shared by all the day tables
    days: dict[str, dict[UserKey, Seen]] = {}
    for event in scan.authentications():
        if app is not None and event["app"] != app:
            continue
        key = (event["app"], event["user"], event["platform"])
        seen: Seen = (event["time"], event["request_id"], event["app_version"], event["environment"])
        old = latest.get(key)
        if old is None:
            key = canonical.setdefault(key, key)
            latest[key] = seen
        elif _later(seen, old):
            latest[key] = seen
        if daily:
            key = canonical.setdefault(key, key)
            day = days.get(seen[0][:10])
            if day is None:
                day = days[seen[0][:10]] = {}
            old = day.get(key)
            if old is None or _later(seen, old):
                day[key] = seen
    return Active(since, until, latest, days, scan.report)
