"""Version adoption: active users per app, platform, environment and app version, newest version first.

The counts are the ``adoption`` and ``daily_adoption`` queries of
:mod:`.queries`. A user counts once per app and platform, under the version
and environment of their latest authentication in the window; shares are of the users of that
app, platform and environment. Per day, the same count among the users seen
that day, each under their last version of the day: the chart's data.

Versions are ordered by :func:`~kickit_edge.versions.version_key`, the order
the rules use; versions that cannot be ordered come last, in string order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..snapshot import Snapshot
from ..versions import InvalidVersion, version_key
from .active import Active
from .impact import verdict_of

__all__ = ["GroupKey", "VersionCount", "DayCount", "Group", "Adoption", "adoption_of", "newest_first"]

GroupKey = tuple[str, str, str | None]  # app, platform, environment


@dataclass(frozen=True)
class VersionCount:
    app_version: str
    users: int
    share: float
    verdict: str | None = None  # under the snapshot asked about, if one was


@dataclass(frozen=True)
class DayCount:
    day: str  # 2026-11-22
    users: int
    versions: dict[str, int]


@dataclass(frozen=True)
class Group:
    app: str
    platform: str
    environment: str | None
    users: int
    versions: list[VersionCount]  # newest first
    days: list[DayCount]  # every day of the window, oldest first; empty unless asked for


@dataclass(frozen=True)
class Adoption:
    since: datetime
    until: datetime
    users: int
    groups: list[Group]


def _order(version: str) -> tuple[int, object]:
    try:
        return 0, version_key(version)
    except InvalidVersion:
        return 1, version


def newest_first(versions: Iterable[str]) -> list[str]:
    """Versions newest first; those that cannot be ordered last, in string order."""
    orderable: list[str] = []
    other: list[str] = []
    for v in versions:
        (orderable if _order(v)[0] == 0 else other).append(v)
    # Equal keys (2.1 and 2.1.0) keep a stable order by their spelling.
    orderable.sort()
    orderable.sort(key=version_key, reverse=True)
    return orderable + sorted(other)


def _counts(rows: Iterable[tuple[Any, ...]]) -> dict[GroupKey, Counter[str]]:
    """(app, platform, environment, app_version, users) rows by group."""
    counts: dict[GroupKey, Counter[str]] = {}
    for app, platform, environment, version, users in rows:
        counts.setdefault((app, platform, environment), Counter())[version] += users
    return counts


def _group_order(key: GroupKey) -> tuple[str, str, int, str]:
    app, platform, environment = key
    return app, platform, environment is None, environment or ""


def _days(since: datetime, until: datetime) -> list[str]:
    day, last, out = since.date(), until.date(), []
    while day <= last:
        out.append(day.isoformat())
        day += timedelta(days=1)
    return out


def adoption_of(active: Active, *, daily: bool = False, snapshot: Snapshot | None = None,
                at: float | None = None) -> Adoption:
    """Count ``active`` by group and version, with ``daily`` by day too, with ``snapshot`` each version's verdict."""
    counts = _counts(active.run("adoption"))
    per_day: dict[str, list[tuple[Any, ...]]] = {}
    if daily:
        for day, *row in active.run("daily_adoption"):
            per_day.setdefault(day, []).append(tuple(row))
    day_counts = {day: _counts(rows) for day, rows in per_day.items()}
    days = sorted(set(_days(active.since, active.until)) | set(per_day)) if daily else []
    groups = []
    for key in sorted(counts, key=_group_order):
        counter = counts[key]
        total = sum(counter.values())
        versions = [VersionCount(v, counter[v], counter[v] / total,
                                 verdict_of(snapshot, key[0], key[1], key[2], v, at) if snapshot else None)
                    for v in newest_first(counter)]
        series = []
        for day in days:
            seen = day_counts.get(day, {}).get(key, Counter())
            series.append(DayCount(day, sum(seen.values()), {v: seen[v] for v in newest_first(seen)}))
        groups.append(Group(*key, total, versions, series))
    return Adoption(active.since, active.until, sum(sum(c.values()) for c in counts.values()), groups)
