"""The users a config change reaches: ``kickit-edge diff BASE HEAD --events DIR``.

A version change of a diff (a range of versions of one platform and
environment whose verdict changes) touches the active users whose latest
version lies in that range. The totals do not rest on the ranges: every active
user of a changed app is evaluated on both sides, as in :mod:`.impact`, at the
diff's instant and at every later instant at which either side's answers
change: a user is *newly forced* when head answers hard where base did not,
then or later (a release coming out, a deadline passing); *newly prompted*
when head answers soft where base answered neither soft nor hard; *newly
locked out* when head turns maintenance on, or adds a window, for the user's
environment. The budget (``--max-forced``, ``--max-forced-share``) reads these.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from ..review.changes import VersionChange
from ..review.diff import Diff
from ..review.matrix import VersionRange
from ..versions import InvalidVersion, version_key
from .active import Active
from .impact import verdict_of
from ..errors import counted

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
    forced: int  # of them, users who get a hard verdict they did not have (now or later)
    prompted: int = 0  # users newly asked to update (soft)
    locked_out: int = 0  # users whose environment newly goes into maintenance
    # (app, platform) -> (users newly forced, active users): the budget's --max-forced-share
    shares: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    overruns: tuple[str, ...] = ()  # why the change is over the budget it was given, if it is
    malformed: int = 0  # event lines skipped as unreadable

    def headline(self) -> str:
        """What a reviewer reads first: users newly forced, newly prompted, newly locked out."""
        if not self.users:
            return f"No active users counted: {self.nobody()}"
        return (f"{self.forced:,} users newly forced to update, {self.prompted:,} newly prompted, "
                f"{self.locked_out:,} newly locked out by maintenance")

    def nobody(self) -> str:
        """Why no user is counted: no authentication was read (and how many lines could not be)."""
        skipped = f" ({self._skipped()})" if self.malformed else ""
        return (f"no authentication since {self.since:%Y-%m-%d %H:%M} UTC was read from {self.source}{skipped}, "
                "so every count of users is 0")

    def summary(self) -> str:
        skipped = f"; {self._skipped()}" if self.malformed else ""
        return (f"Active users: {self.users:,} since {self.since:%Y-%m-%d %H:%M} UTC in {self.source}; "
                f"this change touches {self.touched:,} of them and forces {self.forced:,}{skipped}.")

    def _skipped(self) -> str:
        return f"{counted(self.malformed, 'malformed line')} skipped"

    def over_budget(self, max_forced: int | None, max_share: float | None) -> list[str]:
        """Why the change is over the team's budget of users it may newly force (empty: within it).

        With no active users at all the budget cannot be judged, and a budget
        judged on nobody would pass any change: that is an overrun too.
        """
        if not self.users and (max_forced is not None or max_share is not None):
            return ["no active users were read, so nothing shows the change stays within the budget"]
        out = []
        if max_forced is not None and self.forced > max_forced:
            out.append(f"newly forces {self.forced:,} users, more than --max-forced {max_forced:,}")
        for (app, platform), (forced, users) in sorted(self.shares.items()):
            share = 100.0 * forced / users
            if max_share is not None and share > max_share:
                out.append(f"newly forces {share:.1f}% of {app}/{platform} ({forced:,} of {users:,} active users), "
                           f"more than --max-forced-share {max_share:g}%")
        return out

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


def _instants(diff: Diff, app_id: str, at: float) -> list[float]:
    apps = [side.snapshot.apps[app_id] for side in (diff.base, diff.head) if app_id in side.snapshot.apps]
    return [at, *sorted({t for app in apps for t in app.changes if t > at})]


def _newly(diff: Diff, question: tuple[str, str, str | None, str], instants: list[float]) -> tuple[bool, bool]:
    """(newly forced, newly prompted) for one user's latest version."""
    forced = prompted = False
    for i, instant in enumerate(instants):
        before = verdict_of(diff.base.snapshot, *question, at=instant)
        after = verdict_of(diff.head.snapshot, *question, at=instant)
        forced = forced or (after in ("hard", "app_disabled") and before != after)
        prompted = prompted or (i == 0 and after == "soft" and before not in ("soft", "hard"))
    return forced, prompted


def reach_of(diff: Diff, active: Active, source: str, at: float | None = None) -> Reach:
    """How many of the ``active`` users each version change of ``diff`` touches, and in all, at ``at`` and later."""
    versions: dict[tuple[str, str, str | None], Counter[str]] = {}
    per_app: Counter[str] = Counter()
    for app_id, platform, environment, version, users in active.run("adoption"):
        versions.setdefault((app_id, platform, environment), Counter())[version] += users
        per_app[app_id] += users
    changes = {}
    touched = forced = prompted = locked = 0
    groups: Counter[tuple[str, str]] = Counter()
    forced_in: Counter[tuple[str, str]] = Counter()
    for (app_id, platform, _environment), counter in versions.items():
        groups[(app_id, platform)] += sum(counter.values())
    when = float("-inf") if at is None else at
    for app in diff.changed:
        for change in [*app.versions, *(v for later in app.later for v in later.versions)]:
            counter = versions.get((app.id, change.platform, change.environment), Counter())
            changes[(app.id, change)] = sum(n for v, n in counter.items() if in_range(v, change.range))
        if app.status != "changed":
            continue
        # Every user of the app evaluated on both sides: the totals do not rest on the ranges
        # above, and they count an app being disabled too.
        instants = _instants(diff, app.id, when)
        closing = {m.environment for m in app.maintenance if m.forces}
        for (app_id, platform, environment), counter in versions.items():
            if app_id != app.id:
                continue
            if environment in closing:
                locked += sum(counter.values())
            for version, n in counter.items():
                newly_forced, newly_prompted = _newly(diff, (app_id, platform, environment, version), instants)
                before = verdict_of(diff.base.snapshot, app_id, platform, environment, version, when)
                after = verdict_of(diff.head.snapshot, app_id, platform, environment, version, when)
                if before != after or newly_forced:
                    touched += n
                forced += n if newly_forced else 0
                prompted += n if newly_prompted else 0
                forced_in[(app_id, platform)] += n if newly_forced else 0
    shares = {group: (forced_in[group], users) for group, users in groups.items() if forced_in[group]}
    return Reach(source, active.since, sum(per_app.values()), dict(per_app), changes, touched, forced,
                 prompted, locked, shares, malformed=active.report.malformed)
