"""``kickit-edge explain``: the verdict, the rule and the exact bodies for one client, at one instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..evaluation import TargetRequest, check_maintenance, check_target, check_versions
from ..snapshot import Answer, Snapshot
from ..vocabulary import maintenance_rule
from ..compiler.model import Config, ExactVersion, MinimumVersion, TargetRule

__all__ = ["Explanation", "explain", "rule_sources"]


@dataclass(frozen=True)
class Explanation:
    title: str
    endpoint: str
    answer: Answer
    source: str | None

    def render(self) -> str:
        answer = self.answer
        rule = f"rule {answer.rule}" + (f" ({self.source})" if self.source else "") if answer.rule else "no rule"
        deadline = f"  X-Kickit-Hard-From: {answer.hard_from}" if answer.hard_from else ""
        return (
            f"{self.title}: {answer.verdict} - {rule}\n"
            f"  {self.endpoint} -> {answer.status}  ETag: {answer.etag}{deadline}\n"
            f"  {answer.body.decode('utf-8')}"
        )


def rule_sources(config: Config) -> dict[tuple[str, str], str]:
    """(app id, rule name) -> ``apps/demo.yaml:14``."""
    out: dict[tuple[str, str], str] = {}
    for app in config.apps:
        records: list[ExactVersion | MinimumVersion | TargetRule] = [*app.versions, *app.minimums, *app.targets]
        for record in records:
            out[(app.id, record.rule)] = record.where.short(config.root)
        for plan in app.maintenance:
            out[(app.id, maintenance_rule(plan.environment))] = plan.where.short(config.root)
            for w in plan.windows:
                out[(app.id, maintenance_rule(plan.environment, w.index))] = w.where.short(config.root)
    return out


def explain(config: Config, snapshot: Snapshot, app_id: str, platform: str, environment: str, version: str,
            build: str | None = None, os_version: str | None = None,
            at: datetime | None = None) -> list[Explanation]:
    """What each endpoint answers this client; the app must exist in the snapshot."""
    app = snapshot.apps[app_id]
    moment = at or datetime.now(UTC)
    when = moment.timestamp()
    sources = rule_sources(config)
    query = f"app_id={app_id}&app_version={version}&platform={platform}&environment={environment}"
    if os_version is not None:
        query += f"&os_version={os_version}"
    rows = [
        ("AppCockpit versions v1", f"GET /v1/versions?{query}",
         check_versions(app, platform, environment, version, 1, when, os_version)),
        ("AppCockpit versions v2", f"GET /v2/versions?{query}",
         check_versions(app, platform, environment, version, 2, when, os_version)),
        (f"Maintenance at {moment.strftime('%Y-%m-%dT%H:%M:%SZ')}", f"GET /v1/maintenance?app_id={app_id}&environment={environment}",
         check_maintenance(snapshot, app, environment, when)),
        ("KickIt target check", "POST /api/v1/target-checks",
         check_target(app, TargetRequest(version, build, platform, os_version, environment), when)),
    ]
    return [
        Explanation(title, endpoint, answer, sources.get((app_id, answer.rule)) if answer.rule else None)
        for title, endpoint, answer in rows
    ]
