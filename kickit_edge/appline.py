"""An app's line of a snapshot turned into its immutable indexes: :class:`AppTable` builds each on first use.

The loaded form is defined in :mod:`kickit_edge.snapshot`; this is how a line
becomes it, including the views of an app whose answers change with time
(``timeline``: one view of its upgrade rules per interval, see
:mod:`kickit_edge.compiler.timeline`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from .errors import SnapshotError
from .snapshot import (
    Answer, AppIndex, AppView, Condition, MaintenancePlan, Minimum, Target, TargetRequest,
)
from .versions import InvalidVersion, version_key
from .vocabulary import Verdict, exact_rule

__all__ = ["AppTable", "app_index", "answer_of", "optional_set"]


class AppTable(Mapping[str, AppIndex]):
    """App id -> AppIndex, each built from its snapshot line on first use.

    Building is idempotent, so two threads racing on a first use at worst
    build the same immutable index twice; one of them is kept.
    """

    def __init__(self, data: bytes, spans: dict[str, tuple[int, int]]) -> None:
        self._data = data
        self._spans = spans
        self._built: dict[str, AppIndex] = {}

    def __getitem__(self, app_id: str) -> AppIndex:
        app = self._built.get(app_id)
        if app is None:
            start, end = self._spans[app_id]
            try:
                app = app_index(app_id, json.loads(self._data[start:end]))
            except (ValueError, KeyError, TypeError, AttributeError, InvalidVersion) as exc:
                raise SnapshotError(f"snapshot app {app_id!r} is not valid: {type(exc).__name__}: {exc}") from None
            self._built[app_id] = app
        return app

    def __iter__(self) -> Iterator[str]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)

    def __contains__(self, app_id: object) -> bool:
        return app_id in self._spans

    def build_all(self) -> None:
        """Build every app now (the compiler's check; the runtime builds on demand)."""
        for app_id in self._spans:
            self[app_id]


def answer_of(entry: list[Any], status: int, verdict: Verdict, rule: str | None) -> Answer:
    body, etag = entry
    return Answer(status, body.encode("utf-8"), etag, verdict, rule)


def _condition(raw: dict[str, Any] | None) -> Condition | None:
    if raw is None:
        return None
    values = frozenset(raw["in"]) if raw.get("in") is not None else None
    low = version_key(raw["min"]) if raw.get("min") is not None else None
    high = version_key(raw["below"]) if raw.get("below") is not None else None
    return Condition(values, low, high)


def optional_set(raw: list[str] | None) -> frozenset[str] | None:
    return frozenset(raw) if raw is not None else None


def _target(raw: dict[str, Any]) -> Target:
    platforms, environments = optional_set(raw["platforms"]), optional_set(raw["environments"])
    version, build, os_version = _condition(raw["version"]), _condition(raw["build"]), _condition(raw["os_version"])
    tests: dict[str, frozenset[str] | Condition | None] = {
        "platform": platforms, "environment": environments, "version": version, "build": build,
        "os_version": os_version,
    }
    checks = tuple((TargetRequest._fields.index(name), test) for name, test in tests.items() if test is not None)
    gates = {platform: version_key(v) for platform, v in (raw.get("os_gates") or {}).items()} or None
    return Target(raw["id"], raw["rule"], raw["hard"], raw["message"], platforms, environments, version, build,
                  os_version, tuple(sorted(raw["pinned"].items())), checks, gates, raw.get("os_message"),
                  raw.get("hard_from"))


_API = ("v1", "v2")


def _minimums(raw: dict[str, Any]) -> dict[tuple[str, str], Minimum]:
    minimum: dict[tuple[str, str], Minimum] = {}
    for platform, by_env in raw.items():
        for environment, r in by_env.items():
            verdict: Verdict = "hard" if r["force"] else "soft"
            v1, v2 = (answer_of(r[api], 200, verdict, r["rule"])._replace(hard_from=r.get("hard_from")) for api in _API)
            gate = r.get("os")
            os_v1, os_v2 = (answer_of(gate[api], 200, "soft", r["rule"]) for api in _API) if gate else (None, None)
            minimum[(platform, environment)] = Minimum(
                version_key(r["version"]), v1, v2, version_key(gate["min_os"]) if gate else None, os_v1, os_v2)
    return minimum


def _views(raw: dict[str, Any], first: AppView) -> tuple[tuple[float, ...], tuple[AppView, ...]]:
    timeline = raw.get("timeline")
    if timeline is None:
        return (), ()
    changes = tuple(float(t) for t in timeline["changes"])
    if len(changes) != len(timeline["views"]) or list(changes) != sorted(changes):
        raise ValueError("timeline changes must be sorted, one per view after the first")
    views = [first]
    for view in timeline["views"]:
        base = views[-1].base + 2 * len(views[-1].targets)
        views.append(AppView(_minimums(view["minimum"]), tuple(_target(t) for t in view["targets"]), base))
    return changes, tuple(views)


def app_index(app_id: str, raw: dict[str, Any]) -> AppIndex:
    exact_v1: dict[tuple[str, str, str], Answer] = {}
    exact_v2: dict[tuple[str, str, str], Answer] = {}
    for platform, by_env in raw["exact"].items():
        for environment, by_version in by_env.items():
            for version, (force, v1, v1_etag, v2, v2_etag) in by_version.items():
                verdict: Verdict = "hard" if force else "soft"
                key = (platform, environment, version)
                rule = exact_rule(platform, environment, version)
                exact_v1[key] = Answer(200, v1.encode("utf-8"), v1_etag, verdict, rule)
                exact_v2[key] = Answer(200, v2.encode("utf-8"), v2_etag, verdict, rule)
    minimum = _minimums(raw["minimum"])
    targets = tuple(_target(t) for t in raw["targets"])
    changes, views = _views(raw, AppView(minimum, targets, 0))
    maintenance = {}
    for environment, plan in raw["maintenance"].items():
        switch = plan["switch"]
        maintenance[environment] = MaintenancePlan(
            answer_of(switch["body"], 200, "maintenance", switch["rule"]) if switch else None,
            tuple((w["start"], w["end"], answer_of(w["body"], 200, "maintenance", w["rule"])) for w in plan["windows"]),
        )
    return AppIndex(
        app_id, raw["name"], raw["uuid"], raw["disabled"], tuple(raw["platforms"]), tuple(raw["environments"]),
        exact_v1, exact_v2, minimum, targets, maintenance, changes=changes, views=views,
    )
