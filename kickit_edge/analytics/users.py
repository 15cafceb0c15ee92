"""User records: the AppCockpit seed's per-user latest-version record, folded from authentications.

One record per (app, user, platform), as ``POST /v2/authenticate`` keeps it::

    first_authenticated_at   the earliest authentication (set once, never overwritten)
    last_authenticated_at    the latest authentication (updated on every call)
    app_version, environment those of the latest authentication

"Latest" is the greatest (time, request_id) pair, so two authentications in
the same microsecond still have one winner. Each field is a minimum or a
maximum, so the fold is commutative, associative and idempotent: files can be
read in any order, times can run backwards across files, and a line read twice
changes nothing. That is what lets a checkpointed run equal a full rebuild.

Retention: authentications before the cutoff (the start of the UTC day
``retention_days`` before today, the same day the writer's own sweep uses) are
ignored, and a record whose last authentication falls before it is dropped: a
user not seen within the retention has no record, as a rebuild would find. A
record keeps the first authentication it has seen even after that day's file
is gone, as the seed's record does; only a rebuild from the files left can
then find a later one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import OperatorError
from .eventfiles import list_event_files, remove_expired
from .scan import Mark, Scan, ScanReport

__all__ = ["FIELDS", "RETENTION_DAYS", "UserKey", "UserRecord", "UserFold", "tie_key", "Checkpoint", "FoldResult",
           "cutoff_of", "fold_users"]

RETENTION_DAYS = 365
FIELDS = ("app", "user_id", "platform", "first_authenticated_at", "last_authenticated_at", "app_version",
          "environment")

UserKey = tuple[str, str, str]  # app, user, platform
# The fold state of one record, a list so it is updated in place:
# [first time, last time, request_id of the latest, app_version, environment].
State = list[Any]


class UserRecord(NamedTuple):
    app: str
    user_id: str
    platform: str
    first_authenticated_at: str
    last_authenticated_at: str
    app_version: str
    environment: str | None


class UserFold:
    """The records being folded: ``add`` each authentication, in any order, as often as it comes."""

    def __init__(self, state: dict[UserKey, State] | None = None) -> None:
        self.state: dict[UserKey, State] = state if state is not None else {}

    def add(self, event: dict[str, Any]) -> None:
        key = (event["app"], event["user"], event["platform"])
        at, rid = event["time"], event["request_id"]
        record = self.state.get(key)
        if record is None:
            intern = sys.intern  # apps, platforms, versions repeat: keep one copy of each
            env = event["environment"]
            self.state[(intern(key[0]), key[1], intern(key[2]))] = [
                at, at, rid, intern(event["app_version"]), intern(env) if env is not None else None]
            return
        if at < record[0]:
            record[0] = at
        if at > record[1] or at == record[1] and _later_tie(event, record):
            env = event["environment"]
            record[1:] = [at, rid, sys.intern(event["app_version"]), sys.intern(env) if env is not None else None]

    def expire(self, cutoff: str) -> int:
        """Drop the records last seen before ``cutoff``; return how many."""
        old = [key for key, record in self.state.items() if record[1] < cutoff]
        for key in old:
            del self.state[key]
        return len(old)

    def records(self) -> list[UserRecord]:
        """Every record, sorted by app, user and platform."""
        return [UserRecord(app, user, platform, r[0], r[1], r[3], r[4])
                for (app, user, platform), r in sorted(self.state.items())]


def tie_key(request_id: str, app_version: str, environment: str | None) -> tuple[str, str, str]:
    """Which of two authentications in the same microsecond is the later one: the greater key.

    The request id decides, then the version and environment, so that even a
    duplicated request id cannot make the result depend on reading order.
    """
    return request_id, app_version, environment or ""


def _later_tie(event: dict[str, Any], record: State) -> bool:
    return tie_key(event["request_id"], event["app_version"], event["environment"]) > \
        tie_key(record[2], record[3], record[4])


@dataclass
class Checkpoint:
    """What a run leaves for the next: how far each stem was read, and the fold state."""

    events_dir: str
    retention_days: int
    marks: dict[str, Mark] = field(default_factory=dict)
    state: dict[UserKey, State] = field(default_factory=dict)


@dataclass
class FoldResult:
    checkpoint: Checkpoint
    records: list[UserRecord]
    scan: ScanReport
    cutoff: str
    incremental: bool  # False: everything was read (no checkpoint, or it did not fit; see ``rebuilt``)
    rebuilt: str | None  # why a checkpoint was not used
    removed: list[str]  # files past the retention, deleted
    remove_errors: list[str]
    expired: int  # records dropped because their last authentication is past the retention


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
               retention_days: int = RETENTION_DAYS,
               progress: Callable[[str], None] | None = None) -> FoldResult:
    """Remove files past the retention, then fold what ``previous`` has not read yet into its state."""
    if retention_days < 0:
        raise OperatorError(f"--retention-days {retention_days}: expected 0 or more days")
    events_dir = str(Path(folder).resolve())
    cutoff, cutoff_day = cutoff_of(now, retention_days)
    files = list_event_files(folder)  # first: a missing folder is reported as such
    removed, remove_errors = remove_expired(folder, cutoff_day)
    if removed:
        files = list_event_files(folder)
    rebuilt = _usable(previous, events_dir, retention_days)
    base = previous if previous is not None and rebuilt is None else None
    fold = UserFold(base.state if base else None)
    expired = fold.expire(cutoff)
    present = {f.stem for f in files}
    marks = {stem: mark for stem, mark in (base.marks if base else {}).items() if stem in present}
    scan = Scan(files, marks, since=cutoff, progress=progress)
    add = fold.add
    for event in scan.authentications():
        add(event)
    checkpoint = Checkpoint(events_dir, retention_days, scan.marks, fold.state)
    return FoldResult(checkpoint, fold.records(), scan.report, cutoff, base is not None, rebuilt,
                      removed, remove_errors, expired)

