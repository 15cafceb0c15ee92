"""Writing a diff or a matrix for a reader: terminal text, Markdown for a pull request, or JSON.

The JSON form holds everything the other two show, with verdicts spelled as
the evaluation names them (``not_found``); the text forms spell them for
people (``not found``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..vocabulary import ReportFormat
from .changes import Later, VersionChange
from .diff import AppDiff, Diff
from .matrix import AppMatrix, Cell, PolicyTable, Row, describe_target, format_instant, notice_title
from .side import Side
from ..vocabulary import minimum_rule, target_rule

if TYPE_CHECKING:  # built by analytics for `diff --events`; review only renders it
    from ..analytics.reach import Reach

__all__ = ["render_diff", "render_matrix", "later_lines", "NO_CHANGE"]

NO_CHANGE = "No change in verdicts."
LEGEND = ("Verdicts: ok; soft (asked to update, may dismiss); hard (must update); not found (no rule: nothing "
          "to do). `= V` is exactly that version string; it takes precedence over the range it lies in.")


def _verdict(cell: Cell) -> str:
    return cell.verdict.replace("_", " ")


def _rule(before: Cell, after: Cell) -> str:
    if before.rule == after.rule:
        return after.rule or "no rule"
    return f"{before.rule or 'no rule'} -> {after.rule or 'no rule'}"


def _quoted(text: str | None) -> str:
    return json.dumps(text, ensure_ascii=False) if text is not None else "(none)"


def _md(text: str) -> str:
    """Safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _side_json(side: Side) -> dict[str, Any]:
    return {"label": side.label, "kind": side.kind, "revision": side.revision, "snapshot": side.snapshot.digest}


# --- diff ------------------------------------------------------------------------


def _app_lines(app: AppDiff, reach: Reach | None = None) -> list[tuple[str, list[str]]]:
    """(section title, lines) for the parts of one app that changed, as plain text."""
    sections: list[tuple[str, list[str]]] = []
    if app.settings:
        sections.append(("settings", [f"{s.name}: {json.dumps(s.base)} -> {json.dumps(s.head)}" for s in app.settings]))
    if app.versions:
        sections.append(("upgrade verdicts", [
            f"{v.platform}/{v.environment}: versions {v.range}: {_verdict(v.base)} -> {_verdict(v.head)}"
            f" ({_rule(v.base, v.head)})" + (f": {reach.users_of(app.id, v)}" if reach else "")
            for v in app.versions]))
    targets = []
    for t in app.targets:
        if t.change == "added":
            targets.append(f"added {t.id}: {t.head}")
        elif t.change == "removed":
            targets.append(f"removed {t.id}: {t.base}")
        else:
            targets.append(f"changed {t.id} ({', '.join(t.fields)}): {t.base} -> {t.head}")
    if app.precedence:
        before, after = app.precedence
        targets.append(f"order changed (first match wins): {', '.join(before)} -> {', '.join(after)}")
    if targets:
        sections.append(("KickIt targets", targets))
    if app.messages:
        sections.append(("messages", [f"[{m.locale}] {_quoted(m.base)} -> {_quoted(m.head)} ({', '.join(m.rules)})"
                                      for m in app.messages]))
    if app.maintenance:
        sections.append(("maintenance", [f"{m.environment}: {m.change} {m.detail}".rstrip() for m in app.maintenance]))
    if app.keys:
        sections.append(("keys", [f"{k.change} {k.prefix}" + (f": {k.detail}" if k.detail else "") for k in app.keys]))
    if app.later:
        users = (lambda v: reach.users_of(app.id, v)) if reach else None
        sections.append(("over time", later_lines(app.later, users=users)))
    return sections


def later_lines(steps: list[Later], sources: dict[str, str] | None = None,
                users: Callable[[VersionChange], str] | None = None) -> list[str]:
    """``from 2027-01-13 08:00 UTC: ios/staging: versions < 3.0.0: not found -> hard (minimum:ios/staging)``.

    A diff's step says what the comparison turns into then, and what it was
    until then when it differed already; a matrix step (no ``until``) is one
    side's answer before and after.
    """
    lines = []
    for later in steps:
        why = f" ({'; '.join(later.why)})" if later.why else ""
        when = f"from {format_instant(later.at)}{why}: "
        for v in later.versions:
            now = (f"alike again: {_verdict(v.head)}" if v.ends else f"{_verdict(v.base)} -> {_verdict(v.head)}")
            until = (f"; until then {_verdict(v.until[0])} -> {_verdict(v.until[1])}"
                     if v.until is not None and v.until[0].verdict != v.until[1].verdict else "")
            lines.append(f"{when}{v.platform}/{v.environment}: versions {v.range}: {now} ({_rule(v.base, v.head)}"
                         f"{_source(sources, v.head.rule or v.base.rule)}{until})" + (f": {users(v)}" if users else ""))
        for t in later.targets:
            now = (f"alike again: {t.head or '(none)'}" if t.change == "alike"
                   else f"{t.base or '(none)'} -> {t.head or '(none)'}")
            until = f" (until then {t.until[0] or '(none)'} -> {t.until[1] or '(none)'})" if t.until else ""
            lines.append(f"{when}target {t.id}: {now}{_source(sources, target_rule(t.id))}{until}")
        lines += [f"{when}{m.environment}: maintenance: {_verdict(m.before)} -> {_verdict(m.after)}"
                  f" ({_rule(m.before, m.after)}{_source(sources, m.after.rule or m.before.rule)})"
                  for m in later.maintenance]
    return lines


def _source(sources: dict[str, str] | None, rule: str | None) -> str:
    where = (sources or {}).get(rule or "")
    return f" {where}" if where else ""


def _diff_text(diff: Diff, reach: Reach | None) -> str:
    out = [f"kickit-edge diff {diff.base.title} -> {diff.head.title}", ""]
    if reach:
        out += [reach.headline() + ".", reach.summary(), ""]
        if reach.overruns:
            out += ["Over the budget:"] + [f"  {line}" for line in reach.overruns] + [""]
    changed = diff.changed
    if not changed:
        out.append(NO_CHANGE)
    for app in changed:
        if app.status != "changed":
            out += [f"{app.id} ({app.name}): app {app.status}", ""]
            continue
        out.append(f"{app.id} ({app.name})" + (f": {reach.apps.get(app.id, 0):,} active users" if reach else ""))
        for title, lines in _app_lines(app, reach):
            out.append(f"  {title}")
            out += [f"    {line}" for line in lines]
        out.append("")
    if changed and diff.forcing:
        out.append("Forces users (gives a new hard verdict, turns maintenance on, or disables an app):")
        out += [f"  {line}" for line in diff.forcing]
    return "\n".join(out).rstrip() + "\n"


def _diff_markdown(diff: Diff, reach: Reach | None) -> str:
    out = [f"### kickit-edge impact: `{diff.base.title}` → `{diff.head.title}`", ""]
    if reach:
        out += [f"**{_md(reach.headline())}.**", "", _md(reach.summary()), ""]
        if reach.overruns:
            out += ["> [!CAUTION]", "> **Over the blast-radius budget**:", ">"]
            out += [f"> - {_md(line)}" for line in reach.overruns] + [""]
    changed = diff.changed
    if not changed:
        out += [f"**{NO_CHANGE}** Every client gets the same answer as before.", ""]
        return "\n".join(out)
    if diff.forcing:
        out += ["> [!WARNING]", "> **Forces users**: this change gives users a hard verdict they did not have, "
                "turns maintenance on, or disables an app. It needs a second reviewer.", ">"]
        out += [f"> - {_md(line)}" for line in diff.forcing]
        out.append("")
    for app in changed:
        if app.status != "changed":
            out += [f"#### `{app.id}` ({_md(app.name)}): app {app.status}", ""]
            continue
        active = f": {reach.apps.get(app.id, 0):,} active users" if reach else ""
        out += [f"#### `{app.id}` ({_md(app.name)}){active}", ""]
        if app.versions:
            users_head, users_rule = (" Users |", "---|") if reach else ("", "")
            out += ["**Upgrade verdicts** (AppCockpit `/v1/versions`, `/v2/versions`)", "",
                    f"| Platform / environment | Versions | Before | After | Rule |{users_head}",
                    f"|---|---|---|---|---|{users_rule}"]
            for v in app.versions:
                after = f"**{_verdict(v.head)}**" if v.forces else _verdict(v.head)
                users = f" {reach.changes.get((app.id, v), 0):,} |" if reach else ""
                out.append(f"| {v.platform}/{v.environment} | `{_md(str(v.range))}` | {_verdict(v.base)} | {after} "
                           f"| `{_md(_rule(v.base, v.head))}` |{users}")
            out.append("")
        for title, lines in _app_lines(app, reach):
            if title == "upgrade verdicts":
                continue
            out += [f"**{title[0].upper()}{title[1:]}**", ""] + [f"- {line}" for line in lines] + [""]
    out += [f"<sub>{LEGEND}</sub>", ""]
    return "\n".join(out)


def _diff_json(diff: Diff, reach: Reach | None) -> dict[str, Any]:
    def cell(c: Cell) -> dict[str, Any]:
        return {"verdict": c.verdict, "rule": c.rule}

    apps = []
    for app in diff.changed:
        apps.append({
            "id": app.id, "name": app.name, "status": app.status,
            **({"active_users": reach.apps.get(app.id, 0)} if reach else {}),
            "settings": [{"name": s.name, "base": s.base, "head": s.head} for s in app.settings],
            "versions": [{"platform": v.platform, "environment": v.environment, "range": str(v.range),
                          "low": v.range.low, "high": v.range.high, "exact": v.range.exact,
                          "except": list(v.range.excepts), "base": cell(v.base), "head": cell(v.head),
                          "forces": v.forces, **({"users": reach.changes.get((app.id, v), 0)} if reach else {})}
                         for v in app.versions],
            "targets": [{"id": t.id, "change": t.change, "base": t.base, "head": t.head, "fields": list(t.fields),
                         "forces": t.forces} for t in app.targets],
            "precedence": ({"base": list(app.precedence[0]), "head": list(app.precedence[1])}
                           if app.precedence else None),
            "messages": [{"locale": m.locale, "base": m.base, "head": m.head, "rules": list(m.rules)}
                         for m in app.messages],
            "maintenance": [{"environment": m.environment, "change": m.change, "detail": m.detail,
                             "forces": m.forces} for m in app.maintenance],
            "keys": [{"prefix": k.prefix, "change": k.change, "detail": k.detail} for k in app.keys],
            "later": [{"at": datetime.fromtimestamp(later.at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "why": list(later.why),
                       "versions": [{"platform": v.platform, "environment": v.environment, "range": str(v.range),
                                     "base": cell(v.base), "head": cell(v.head), "forces": v.forces,
                                     "until": ({"base": cell(v.until[0]), "head": cell(v.until[1])}
                                               if v.until else None),
                                     **({"users": reach.changes.get((app.id, v), 0)} if reach else {})}
                                    for v in later.versions],
                       "targets": [{"id": t.id, "change": t.change, "base": t.base, "head": t.head,
                                    "forces": t.forces,
                                    "until": {"base": t.until[0], "head": t.until[1]} if t.until else None}
                                   for t in later.targets]}
                      for later in app.later],
        })
    out = {"base": _side_json(diff.base), "head": _side_json(diff.head), "changed": bool(apps),
           "forces": diff.forcing, "apps": apps}
    if reach:
        out["reach"] = {"source": reach.source, "since": reach.since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "active_users": reach.users, "touched": reach.touched, "forced": reach.forced,
                        "prompted": reach.prompted, "locked_out": reach.locked_out,
                        "over_budget": list(reach.overruns)}
    return out


def render_diff(diff: Diff, fmt: ReportFormat = "text", reach: Reach | None = None) -> str:
    """The report; with ``reach``, each version change also says how many active users it touches."""
    if fmt == "json":
        return json.dumps(_diff_json(diff, reach), indent=2, ensure_ascii=False) + "\n"
    return _diff_markdown(diff, reach) if fmt == "markdown" else _diff_text(diff, reach)


# --- matrix ----------------------------------------------------------------------


def _note(matrix: AppMatrix, table: PolicyTable, cell: Cell) -> str | None:
    """What a minimum rule's answer depends on: its deadline, and the OS a client needs to comply."""
    if cell.rule != minimum_rule(table.platform, table.environment):
        return None
    record = matrix.raw["minimum"].get(table.platform, {}).get(table.environment, {})
    parts = [f"hard from {record['hard_from']}"] if record.get("hard_from") else []
    if record.get("os"):
        parts.append(f"soft for OS < {record['os']['min_os']}")
    return "; ".join(parts) or None


def _row(matrix: AppMatrix, table: PolicyTable, row: Row) -> tuple[str, str, str, str]:
    cell = row.cells[0]
    source = matrix.sources.get(cell.rule, "") if cell.rule else ""
    note = _note(matrix, table, cell)
    return str(row.range), _verdict(cell) + (f" ({note})" if note else ""), cell.rule or "no rule", source


def _maintenance_lines(matrix: AppMatrix) -> list[str]:
    out = []
    for env in matrix.app.environments:
        plan = matrix.app.maintenance.get(env)
        state = f"on (switch) {notice_title(plan.switch)}" if plan and plan.switch else "off"
        windows = [f"window {format_instant(s)} to {format_instant(e)} {notice_title(a)}"
                   for s, e, a in (plan.windows if plan else ())]
        out.append(f"{env}: " + "; ".join([state, *windows]))
    return out


def _target_lines(matrix: AppMatrix) -> list[tuple[str, str, str]]:
    raw = {t["id"]: t for t in matrix.raw["targets"]}
    return [(t.id, describe_target(t, raw[t.id]), matrix.sources.get(t.rule, "")) for t in matrix.targets]


def _matrix_text(matrix: AppMatrix) -> str:
    app = matrix.app
    out = [f"{app.id} ({app.name}) in {matrix.side.title}" + (": app disabled (402 to every check)" if app.disabled else "")]
    for table in matrix.tables:
        rows = [_row(matrix, table, r) for r in table.rows]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        out += ["", f"{table.platform}/{table.environment}"]
        out += ["  " + "  ".join(f"{text:<{w}}" for text, w in zip(r, [*widths, 0])).rstrip() for r in rows]
    targets = _target_lines(matrix)
    out += ["", "KickIt targets (hard first, then soft, in file order; the first match wins)"]
    out += [f"  {tid}: {text}" + (f"  {source}" if source else "") for tid, text, source in targets] or ["  none"]
    out += ["", "Maintenance"] + [f"  {line}" for line in _maintenance_lines(matrix)]
    return "\n".join(out) + "\n"


def _matrix_markdown(matrix: AppMatrix) -> str:
    app = matrix.app
    out = [f"### `{app.id}` ({_md(app.name)}) in `{matrix.side.title}`", ""]
    if app.disabled:
        out += ["**App disabled**: every check answers 402.", ""]
    out += ["| Platform / environment | Versions | Verdict | Rule | Source |", "|---|---|---|---|---|"]
    for table in matrix.tables:
        for r in table.rows:
            versions, verdict, rule, source = _row(matrix, table, r)
            out.append(f"| {table.platform}/{table.environment} | `{_md(versions)}` | {verdict} | `{rule}` | {source} |")
    out += ["", "**KickIt targets** (hard first, then soft, in file order; the first match wins)", ""]
    out += [f"- `{tid}`: {_md(text)}" + (f" ({source})" if source else "") for tid, text, source in _target_lines(matrix)]
    out += ["", "**Maintenance**", ""] + [f"- {line}" for line in _maintenance_lines(matrix)]
    out += ["", f"<sub>{LEGEND}</sub>", ""]
    return "\n".join(out)


def _matrix_json(matrix: AppMatrix) -> dict[str, Any]:
    return {
        "side": _side_json(matrix.side), "app": matrix.app.id, "name": matrix.app.name,
        "disabled": matrix.app.disabled,
        "tables": [{"platform": t.platform, "environment": t.environment, "rows": [
            {"range": str(r.range), "low": r.range.low, "high": r.range.high, "exact": r.range.exact,
             "except": list(r.range.excepts), "verdict": r.cells[0].verdict, "rule": r.cells[0].rule,
             "source": matrix.sources.get(r.cells[0].rule) if r.cells[0].rule else None,
             "note": _note(matrix, t, r.cells[0])} for r in t.rows]}
            for t in matrix.tables],
        "targets": [{"id": tid, "description": text, "source": source or None}
                    for tid, text, source in _target_lines(matrix)],
        "maintenance": _maintenance_lines(matrix),
    }


def render_matrix(matrix: AppMatrix, fmt: ReportFormat = "text",
                  timeline: tuple[list[Later], int] | None = None) -> str:
    """The matrix; with ``timeline`` (steps, days: ``matrix --timeline``), when its verdicts change next."""
    if fmt == "json":
        report = _matrix_json(matrix)
        if timeline is not None:
            report["timeline"] = {"days": timeline[1], "changes": later_lines(timeline[0], matrix.sources)}
        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    text = _matrix_markdown(matrix) if fmt == "markdown" else _matrix_text(matrix)
    if timeline is None:
        return text
    steps, days = timeline
    start = format_instant(matrix.at) if matrix.at is not None else "the beginning"
    lines = later_lines(steps, matrix.sources)
    if fmt == "markdown":
        return text + "\n".join([f"**Changes over the {days} days from {start}**", "",
                                 *([f"- {_md(line)}" for line in lines] or ["- none: every answer stays as above"]),
                                 ""])
    out = ["", f"Changes over the {days} days from {start}"]
    out += [f"  {line}" for line in lines] or ["  none: every answer stays as above"]
    return text + "\n".join(out) + "\n"
