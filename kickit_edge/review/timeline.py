"""When one app's answers change: ``kickit-edge matrix --timeline``.

Each instant at which a rule takes effect, ends or changes strength (a
release, a grace period, a deadline, a schedule: the compiler's timeline),
and each instant at which a scheduled maintenance window starts or ends,
compared with the moment just before it and named by what happens then.
"""

from __future__ import annotations

import math

from ..evaluation import check_maintenance
from ..snapshot import AppIndex, Snapshot
from ..vocabulary import maintenance_rule
from .changes import Later, MaintenanceStep, TargetChange, VersionChange
from .diff import compare
from .matrix import Cell, notice_title
from .side import Side, reasons_at

__all__ = ["timeline_of"]


def _maintenance_steps(snapshot: Snapshot, app: AppIndex, start: float,
                       end: float) -> dict[float, tuple[list[MaintenanceStep], list[str]]]:
    """Instant -> (environments whose maintenance answer changes then, why), for ``start`` < instant <= ``end``.

    A window starts at its start and ends at its end (exclusive); the switch,
    when on, answers throughout, so its windows change nothing.
    """
    out: dict[float, tuple[list[MaintenanceStep], list[str]]] = {}
    for env, plan in app.maintenance.items():
        for index, (opens, closes, answer) in enumerate(plan.windows):
            for instant, what in ((opens, "starts"), (closes, "ends")):
                if not start < instant <= end:
                    continue
                before = Cell.of(check_maintenance(snapshot, app, env, math.nextafter(instant, -math.inf)))
                after = Cell.of(check_maintenance(snapshot, app, env, instant))
                steps, why = out.setdefault(instant, ([], []))
                if before != after and all(step.environment != env for step in steps):
                    steps.append(MaintenanceStep(env, before, after))
                if before != after:
                    why.append(f"{maintenance_rule(env, index)} {notice_title(answer)} {what}")
    return out


def timeline_of(side: Side, app_id: str, start: float, end: float) -> list[Later]:
    """When the app's answers change after ``start`` up to ``end``: each change against the moment before it.

    Verdicts, targets, and maintenance (a scheduled window starting or ending).
    """
    app, raw = side.snapshot.apps[app_id], side.raw[app_id]
    maintenance = _maintenance_steps(side.snapshot, app, start, end)
    out = []
    for instant in sorted({*(t for t in app.changes if start < t <= end), *maintenance}):
        steps, why = maintenance.get(instant, ([], []))
        versions: list[VersionChange] = []
        targets: list[TargetChange] = []
        if instant in app.changes:
            i = app.changes.index(instant)
            versions, targets = compare(app, raw, app.changes[i - 1] if i else float("-inf"), app, raw, instant)
        if versions or targets or steps:
            out.append(Later(instant, versions, targets, (*reasons_at(raw, instant), *why), steps))
    return out
