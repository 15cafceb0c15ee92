"""The version policy of an app as a table of version ranges: what ``matrix`` shows and ``diff`` compares.

For one platform and environment the AppCockpit answer is a step function of
the client's version: an enabled exact record answers one version string, and
the minimum-version rule answers everything older than its version. So the
versions that matter are the breakpoints: every exact version and every
minimum version, of every side being compared. Between two neighbouring
breakpoints no exact record applies and "older than the minimum" does not
change, so one sample version answers for the whole range.

Each range and each exact version is evaluated through
:func:`~kickit_edge.evaluation.check_versions`, on every side, exactly as the
runtime would answer it; neighbouring ranges with the same answers are merged.
An exact-version row (``= 2.5.0``) is the one string; it takes precedence over
the range it lies in, which names it as an exception.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import OperatorError
from ..evaluation import app_at, check_versions
from ..snapshot import Answer, AppIndex, Condition, Minimum, Target
from ..versions import MAX_VERSION_LENGTH, InvalidVersion, VersionKey, version_key
from ..vocabulary import Verdict
from .side import Side, raw_at

__all__ = ["Cell", "VersionRange", "Row", "PolicyTable", "AppMatrix", "version_rows", "app_matrix",
           "describe_target", "format_instant", "notice_title"]

# The lowest version of the order (release 0, a dev release, no pre-release):
# it samples the range below the lowest breakpoint.
_BOTTOM = "0.dev0"


@dataclass(frozen=True)
class Cell:
    """The answer at a version on one side: the verdict and the rule behind it."""

    verdict: Verdict
    rule: str | None

    @classmethod
    def of(cls, answer: Answer) -> Cell:
        return cls(answer.verdict, answer.rule)


@dataclass(frozen=True)
class VersionRange:
    """Versions from ``low`` (inclusive) to ``high`` (exclusive), or the one string ``exact``."""

    low: str | None = None
    high: str | None = None
    exact: str | None = None
    excepts: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.exact is not None:
            return f"= {self.exact}"
        if self.low is None and self.high is None:
            text = "all versions"
        elif self.low is None:
            text = f"< {self.high}"
        elif self.high is None:
            text = f">= {self.low}"
        else:
            text = f">= {self.low}, < {self.high}"
        if self.excepts:
            text += " except " + ", ".join(self.excepts)
        return text


@dataclass(frozen=True)
class Row:
    range: VersionRange
    cells: tuple[Cell, ...]  # one per side, in the order the sides were given


@dataclass
class _Building:
    low: str | None
    high: str | None
    cells: tuple[Cell, ...]
    points: list[Row] = field(default_factory=list)


def _minimum_text(minimum: Minimum) -> str:
    # The index keeps the sort key; the version as written is in the rendered body.
    return str(json.loads(minimum.v1.body)["version"])


def _sample(candidates: Sequence[str], exact: set[str], where: str) -> str:
    """A version string that no exact record answers, to stand for a whole range."""
    for text in candidates:
        if text not in exact and len(text) <= MAX_VERSION_LENGTH:
            return text
    raise OperatorError(f"cannot pick a sample version for {where}: exact records take every spelling of it")


def version_rows(apps: Sequence[AppIndex], platform: str, environment: str) -> list[Row]:
    """The ranges and exact versions of one platform and environment, answered by each app index.

    Rows come in version order; exact versions that cannot be ordered come last.
    """
    exact: set[str] = set()
    marks: dict[VersionKey, str] = {}
    for app in apps:
        exact.update(v for (p, e, v) in app.exact_v1 if p == platform and e == environment)
        minimum = app.minimum.get((platform, environment))
        if minimum is not None:
            marks.setdefault(minimum.key, _minimum_text(minimum))
    unordered: list[str] = []
    points: dict[VersionKey, list[str]] = {}
    for text in sorted(exact):
        try:
            key = version_key(text)
        except InvalidVersion:
            unordered.append(text)
            continue
        marks.setdefault(key, text)
        points.setdefault(key, []).append(text)

    def answer(version: str) -> tuple[Cell, ...]:
        return tuple(Cell.of(check_versions(app, platform, environment, version)) for app in apps)

    keys = sorted(marks)
    where = f"{platform}/{environment}"
    building: list[_Building] = []
    if not keys or version_key(_BOTTOM) < keys[0]:
        sample = _sample([_BOTTOM, "v" + _BOTTOM], exact, where)
        building.append(_Building(None, marks[keys[0]] if keys else None, answer(sample)))
    for i, key in enumerate(keys):
        low = marks[key]
        high = marks[keys[i + 1]] if i + 1 < len(keys) else None
        # A leading "v" keeps the sort key and misses every exact record spelled without one.
        bare = low[1:] if low[:1] in ("v", "V") else low
        cells = answer(_sample(["v" + bare, "V" + bare, bare], exact, f"{where} {low}"))
        if building and building[-1].cells == cells:
            building[-1].high = high
        else:
            building.append(_Building(low, high, cells))
        building[-1].points.extend(Row(VersionRange(exact=v), answer(v)) for v in points.get(key, []))
    rows: list[Row] = []
    for part in building:
        kept = [p for p in part.points if p.cells != part.cells]
        excepts = tuple(p.range.exact for p in kept if p.range.exact is not None)
        rows.append(Row(VersionRange(part.low, part.high, excepts=excepts), part.cells))
        rows.extend(kept)
    rows.extend(Row(VersionRange(exact=v), answer(v)) for v in unordered)
    return rows


# --- descriptions --------------------------------------------------------------


def _condition_text(name: str, condition: Condition | None, raw: dict[str, Any] | None) -> str | None:
    if condition is None or raw is None:
        return None
    parts = []
    if raw["in"] is not None:
        parts.append(f"{name} in [{', '.join(raw['in'])}]")
    if raw["min"] is not None:
        parts.append(f"{name} >= {raw['min']}")
    if raw["below"] is not None:
        parts.append(f"{name} < {raw['below']}")
    return ", ".join(parts) or f"{name} sent"


def describe_target(target: Target, raw: dict[str, Any]) -> str:
    """``hard; platforms ios; os_version < 10; "Your iOS version ..."``."""
    parts = ["hard" if target.hard else "soft"]
    for name in ("platforms", "environments"):
        if raw[name] is not None:
            parts.append(f"{name} {', '.join(raw[name])}")
    for name in ("version", "build", "os_version"):
        text = _condition_text(name, getattr(target, name), raw[name])
        if text:
            parts.append(text)
    parts.append(json.dumps(target.message, ensure_ascii=False))
    return "; ".join(parts)


def format_instant(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def notice_title(answer: Answer) -> str:
    """The quoted title of a maintenance notice."""
    return json.dumps(json.loads(answer.body).get("title") or "", ensure_ascii=False)


# --- the matrix ----------------------------------------------------------------


@dataclass(frozen=True)
class PolicyTable:
    platform: str
    environment: str
    rows: list[Row]


@dataclass(frozen=True)
class AppMatrix:
    """The whole policy of one app on one side: version tables, targets and maintenance."""

    side: Side
    app: AppIndex
    tables: list[PolicyTable]
    targets: tuple[Target, ...]
    sources: dict[str, str]  # rule -> apps/demo.yaml:52, when the side is a config
    raw: dict[str, Any] = field(default_factory=dict)  # the app's snapshot line as it reads at ``at``
    at: float | None = None  # the instant shown (None: before any change of a timeline)


def app_matrix(side: Side, app_id: str, at: float | None = None) -> AppMatrix:
    """Every platform and environment of ``app_id`` at the instant ``at``; OperatorError if there is no such app."""
    timed = side.snapshot.apps.get(app_id)
    if timed is None:
        known = ", ".join(sorted(side.snapshot.apps)) or "none"
        raise OperatorError(f"no app {app_id!r} in {side.label} (apps: {known})")
    when = float("-inf") if at is None else at
    app = app_at(timed, when)
    tables = [PolicyTable(p, e, version_rows([app], p, e)) for p in app.platforms for e in app.environments]
    sources = {rule: where for (owner, rule), where in side.sources.items() if owner == app_id}
    return AppMatrix(side, app, tables, app.targets, sources, raw_at(side.raw[app_id], timed.changes, when), at)
