"""Adoption and impact for a reader: a terminal table or JSON (the HTML page is :mod:`.page`).

The JSON holds everything the tables show, with verdicts spelled as the
evaluation names them (``not_found``); the tables spell them for people.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import counted

if TYPE_CHECKING:  # imported where used: ``events users`` needs only users_summary
    from .adoption import Adoption, Group
    from .impact import Impact
    from .users import FoldResult

__all__ = ["render_adoption_text", "render_adoption_json", "render_impact_text", "render_impact_json",
           "instant_text", "group_title", "table", "verdict_text", "users_summary"]


def instant_text(instant: datetime) -> str:
    return f"{instant:%Y-%m-%d %H:%M} UTC"


def _iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def group_title(app: str, platform: str, environment: str | None) -> str:
    return f"{app}  {platform} / {environment if environment is not None else '(no environment)'}"


def table(header: list[str], rows: list[list[str]], words: int, indent: str = "") -> list[str]:
    """The first ``words`` columns left-aligned, the numbers after them right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for row in [header, *rows]:
        cells = [f"{c:<{w}}" if i < words else f"{c:>{w}}" for i, (c, w) in enumerate(zip(row, widths))]
        out.append((indent + "  ".join(cells)).rstrip())
    return out


def verdict_text(verdict: str | None) -> str:
    """A verdict as the tables spell it for people: not_found is "not found"."""
    return (verdict or "").replace("_", " ")


# --- adoption ------------------------------------------------------------------


def render_adoption_text(adoption: Adoption) -> str:
    out = [f"Active users since {instant_text(adoption.since)}: {adoption.users:,}, each counted once per app and "
           "platform, under the version of their latest authentication"]
    if not adoption.groups:
        out += ["", "No authentications in this window."]
    judged = any(v.verdict is not None for g in adoption.groups for v in g.versions)
    for group in adoption.groups:
        rows = [[v.app_version] + ([verdict_text(v.verdict)] if judged else []) + [f"{v.users:,}", f"{v.share:.1%}"]
                for v in group.versions]
        out += ["", f"{group_title(group.app, group.platform, group.environment)}  ({counted(group.users, 'user')})"]
        out += table(["VERSION"] + (["VERDICT"] if judged else []) + ["USERS", "SHARE"], rows, 2 if judged else 1,
                     "  ")
    return "\n".join(out) + "\n"


def _group_json(group: Group) -> dict[str, Any]:
    return {
        "app": group.app, "platform": group.platform, "environment": group.environment, "users": group.users,
        "versions": [{"app_version": v.app_version, "users": v.users, "share": round(v.share, 6),
                      **({"verdict": v.verdict} if v.verdict is not None else {})} for v in group.versions],
        "days": [{"day": d.day, "users": d.users, "versions": d.versions} for d in group.days],
    }


def render_adoption_json(adoption: Adoption) -> str:
    body = {"since": _iso(adoption.since), "until": _iso(adoption.until), "active_users": adoption.users,
            "groups": [_group_json(g) for g in adoption.groups]}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


# --- impact --------------------------------------------------------------------

_ALWAYS = ("soft", "hard", "not_found")


def render_impact_text(impact: Impact, since: datetime) -> str:
    snapshot = impact.snapshot
    from .impact import VERDICT_ORDER

    shown = [v for v in VERDICT_ORDER if v in _ALWAYS or impact.totals[v]]
    revision = snapshot.revision or "unknown"
    revision = revision[:7] + ("-dirty" if revision.endswith("-dirty") else "") if len(revision) > 12 else revision
    out = [f"Users per verdict under snapshot {snapshot.id} (revision {revision}) from {impact.source}",
           f"Active users since {instant_text(since)}: {impact.users:,}, each on the version of their latest "
           "authentication, as the AppCockpit version check answers it", ""]
    if not impact.rows:
        out.append("No authentications in this window.")
        return "\n".join(out) + "\n"
    header = ["APP", "PLATFORM", "ENVIRONMENT", "USERS"] + [verdict_text(v).upper() for v in shown]
    rows = [[r.app, r.platform, r.environment or "-", f"{r.users:,}"] + [f"{r.verdicts[v]:,}" for v in shown]
            for r in impact.rows]
    rows.append(["total", "", "", f"{impact.users:,}"] + [f"{impact.totals[v]:,}" for v in shown])
    out += table(header, rows, 3)
    out += ["", "soft: asked to update, may dismiss; hard: must update; not found: no rule names the version "
            "(nothing to do)"]
    return "\n".join(out) + "\n"


def render_impact_json(impact: Impact, since: datetime) -> str:
    snapshot = impact.snapshot
    body = {
        "snapshot": {"source": impact.source, "id": snapshot.id, "digest": snapshot.digest,
                     "revision": snapshot.revision},
        "since": _iso(since), "active_users": impact.users, "totals": impact.totals,
        "rows": [{"app": r.app, "platform": r.platform, "environment": r.environment, "users": r.users,
                  "verdicts": r.verdicts} for r in impact.rows],
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


# --- users -----------------------------------------------------------------------


def users_summary(result: FoldResult, where: str, unusable: str | None) -> list[str]:
    """What a users run did, for stderr: what was read, what was wrong, what was removed, what was written."""
    scan = result.scan
    how = "incremental, from the checkpoint" if result.incremental else "full"
    out = []
    if unusable:
        out.append(f"checkpoint not used: {unusable}; reading everything")
    out.append(f"read {counted(scan.files_read, 'new or changed file')} ({how}): "
               f"{scan.lines:,} new lines, {scan.authentications:,} authentications")
    if scan.malformed:
        out.append(f"{counted(scan.malformed, 'malformed line')} skipped:")
        out += [f"  {p}" for p in scan.problems]
        if scan.malformed > len(scan.problems):
            out.append(f"  ... and {scan.malformed - len(scan.problems):,} more")
    out += [f"warning: {d}" for d in scan.damaged]
    out += [f"note: {stem} holds less than was read from it before; read again from its start"
            for stem in scan.reread]
    day = result.cutoff[:10]
    if result.removed:
        out.append(f"removed {len(result.removed)} file{'s' if len(result.removed) != 1 else ''} past the "
                   f"retention (days before {day}): {', '.join(result.removed)}")
    out += [f"warning: {e}" for e in result.remove_errors]
    if result.past:
        out.append(f"skipped {len(result.past)} file{'s' if len(result.past) != 1 else ''} past the retention "
                   f"(days before {day}); --prune deletes them")
    if scan.too_old:
        out.append(f"ignored {scan.too_old:,} authentication{'s' if scan.too_old != 1 else ''} before {day} "
                   "(past the retention)")
    if result.expired:
        out.append(f"dropped {result.expired:,} record{'s' if result.expired != 1 else ''} last seen before {day}")
    count = result.record_count()
    out.append(f"{count:,} user record{'s' if count != 1 else ''} -> {where}")
    return out
