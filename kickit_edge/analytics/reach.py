"""The users a config change reaches: ``kickit-edge diff BASE HEAD --events DIR``.

A version change of a diff (a range of versions of one platform and
environment whose verdict changes) touches the active users whose latest
version lies in that range. The totals do not rest on the ranges: every active
user of a changed app is evaluated on both sides, as in :mod:`.impact`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from ..review.diff import Diff, VersionChange
from ..review.matrix import VersionRange
from ..versions import InvalidVersion, version_key
from .active import Active
from .impact import verdict_of

__all__ = ["Reach", "in_range", "reach_of"]


@dataclass(frozen=True)
class Reach:
    """How many active users a diff's version changes touch (``diff --events``)."""

    source: str  # where the users were read, e.g. the events folder
    since: datetime  # active: an authentication since then
    users: int  # active users in all
    apps: dict[str, int]  # app id -> its active users
    changes: dict[tuple[str, VersionChange], int]  # users whose latest version lies in the change's range
    touched: int  # users whose verdict changes
    forced: int  # of them, users who get a hard verdict they did not have

    def summary(self) -> str:
        return (f"Active users: {self.users:,} since {self.since:%Y-%m-%d %H:%M} UTC in {self.source}; "
                f"this change touches {self.touched:,} of them and forces {self.forced:,}.")

    def users_of(self, app: str, change: VersionChange) -> str:
        count = self.changes.get((app, change), 0)
        return f"{count:,} user{'s' if count != 1 else ''}"



def in_range(version: str, span: VersionRange) -> bool:
    """Whether a client ``version`` is one the range answers for, as the version check would place it."""
    if span.exact is not None:
        return version == span.exact
    if version in span.excepts:
        return False
    try:
        key = version_key(version)
    except InvalidVersion:
        return False  # an unorderable version is answered by exact records only
    return ((span.low is None or key >= version_key(span.low))
            and (span.high is None or key < version_key(span.high)))


def reach_of(diff: Diff, active: Active, source: str) -> Reach:
    """How many of the ``active`` users each version change of ``diff`` touches, and in all."""
    versions: dict[tuple[str, str, str | None], Counter[str]] = {}
    per_app: Counter[str] = Counter()
    for app_id, platform, environment, version, users in active.run("adoption"):
        versions.setdefault((app_id, platform, environment), Counter())[version] += users
        per_app[app_id] += users
    changes = {}
    touched = forced = 0
    for app in diff.changed:
        for change in app.versions:
            counter = versions.get((app.id, change.platform, change.environment), Counter())
            changes[(app.id, change)] = sum(n for v, n in counter.items() if in_range(v, change.range))
        if app.status != "changed":
            continue
        # Every user of the app evaluated on both sides: the totals do not rest on the ranges
        # above, and they count an app being disabled too.
        for (app_id, platform, environment), counter in versions.items():
            if app_id != app.id:
                continue
            for version, n in counter.items():
                before = verdict_of(diff.base.snapshot, app_id, platform, environment, version)
                after = verdict_of(diff.head.snapshot, app_id, platform, environment, version)
                if before != after:
                    touched += n
                    forced += n if after in ("hard", "app_disabled") else 0
    return Reach(source, active.since, sum(per_app.values()), dict(per_app), changes, touched, forced)
