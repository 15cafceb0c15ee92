"""The users a policy reaches: active users per verdict under a snapshot, and per change of a diff.

Each active user is evaluated as their app would be asked on their latest
authentication: :func:`~kickit_edge.evaluation.check_versions` for the app,
platform, environment and app version of that authentication. The verdicts are
the AppCockpit version check's: ``soft``, ``hard`` and ``not_found`` (no rule
names the version: nothing to do, the check's form of "ok"). A user can also
fall outside the check: ``app_disabled`` (every call answers 402),
``unknown_app`` (the snapshot has no such app), ``no_environment`` (the
authentication named none, and the version check needs one).

The engine counts (the ``users_per_verdict`` query of :mod:`.queries`): each
version asked in the window is evaluated once, here, into the table
``verdicts``, and the query joins the users to it. Under a diff, see :mod:`.reach`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import OperatorError, SnapshotError
from ..evaluation import check_versions
from ..loader import load_snapshot
from ..snapshot import SNAPSHOT_FILE, Snapshot
from .active import Active
from .engine import insert_columns

__all__ = ["VERDICT_ORDER", "ImpactRow", "Impact", "load_snapshot_at", "verdict_of", "judge_versions", "impact_of"]

VERDICT_ORDER = ("ok", "soft", "hard", "not_found", "app_disabled", "unknown_app", "no_environment")


@dataclass(frozen=True)
class ImpactRow:
    app: str
    platform: str
    environment: str | None
    users: int
    verdicts: dict[str, int]  # verdict -> users, every verdict of VERDICT_ORDER


@dataclass(frozen=True)
class Impact:
    snapshot: Snapshot
    source: str
    rows: list[ImpactRow]
    totals: dict[str, int]
    users: int


def load_snapshot_at(path: str) -> Snapshot:
    """A published snapshot: a file, or a folder holding ``snapshot.json``."""
    target = Path(path)
    if target.is_dir():
        target = target / SNAPSHOT_FILE
    try:
        data = target.read_bytes()
    except OSError as exc:
        raise OperatorError(f"cannot read snapshot {target}: {exc.strerror}: expected a snapshot file, or a "
                            "folder holding snapshot.json (kickit-edge compile --out)") from None
    try:
        return load_snapshot(data)
    except SnapshotError as exc:
        # The operator named the wrong file (an operator's mistake, exit 2, as a missing one is).
        raise OperatorError(f"{target} is not a snapshot kickit-edge can read: {exc}") from None


def verdict_of(snapshot: Snapshot, app_id: str, platform: str, environment: str | None, version: str,
               at: float | None = None) -> str:
    app = snapshot.apps.get(app_id)
    if app is None:
        return "unknown_app"
    if app.disabled:
        return "app_disabled"
    if environment is None:
        return "no_environment"
    return check_versions(app, platform, environment, version, 2, at).verdict


def judge_versions(active: Active, snapshot: Snapshot, at: float | None = None) -> None:
    """Fill the table ``verdicts``: the verdict of ``snapshot`` (as at ``at``) for each version seen in the window."""
    questions = active.connection.execute(
        "SELECT DISTINCT app, platform, environment, app_version FROM authentications WHERE time >= $since",
        {"since": active.parameters["since"]}).fetchall()
    active.connection.execute("CREATE OR REPLACE TEMP TABLE verdicts (app VARCHAR, platform VARCHAR, "
                              "environment VARCHAR, app_version VARCHAR, verdict VARCHAR)")
    rows = [(app, platform, environment, version, verdict_of(snapshot, app, platform, environment, version, at))
            for app, platform, environment, version in questions]
    insert_columns(active.connection, "verdicts", rows, 5)


def impact_of(active: Active, snapshot: Snapshot, source: str, at: float | None = None) -> Impact:
    """Active users per verdict, each user's latest version asked as at ``at`` (releases, deadlines)."""
    judge_versions(active, snapshot, at)
    counts: dict[tuple[str, str, str | None], Counter[str]] = {}
    for app_id, platform, environment, verdict, users in active.run("users_per_verdict"):
        counts.setdefault((app_id, platform, environment), Counter())[verdict] += users
    rows = []
    totals: Counter[str] = Counter()
    for (app_id, platform, environment), counter in sorted(
            counts.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] is None, item[0][2] or "")):
        rows.append(ImpactRow(app_id, platform, environment, sum(counter.values()),
                              {v: counter[v] for v in VERDICT_ORDER}))
        totals.update(counter)
    return Impact(snapshot, source, rows, {v: totals[v] for v in VERDICT_ORDER}, sum(totals.values()))
