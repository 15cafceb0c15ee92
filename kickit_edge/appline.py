"""An app's line of a snapshot turned into its immutable indexes (:func:`app_index`).

The loaded form is defined in :mod:`kickit_edge.snapshot`; this is how a line
becomes it, including the views of an app whose answers change with time
(``timeline``: one view of its upgrade rules per interval, see
:mod:`kickit_edge.compiler.timeline`), and the exact answers held compactly
(:mod:`kickit_edge.exact`). :mod:`kickit_edge.loader` builds every app of a
snapshot this way before the snapshot is used; anything malformed raises one
of :data:`MALFORMED`.
"""

from __future__ import annotations

import sys
from typing import Any

from .exact import ExactAnswers, build_exact
from .snapshot import (
    Answer, AppIndex, AppView, Condition, MaintenancePlan, Minimum, Target, TargetRequest,
)
from .versions import InvalidVersion, version_key
from .vocabulary import Verdict

__all__ = ["MALFORMED", "app_index", "answer_of", "optional_set", "strings"]

# Anything a malformed line can raise while its indexes are built.
MALFORMED = (ValueError, KeyError, TypeError, AttributeError, IndexError, InvalidVersion)


def answer_of(entry: list[Any], status: int, verdict: Verdict, rule: str | None) -> Answer:
    body, etag = entry
    if type(etag) is not str:
        raise TypeError(f"an ETag is not a string: {etag!r}")
    return Answer(status, body.encode("utf-8"), etag, verdict, rule)


def strings(raw: Any, what: str) -> tuple[str, ...]:
    """A list of strings, interned (platforms and environments repeat across thousands of apps)."""
    if not isinstance(raw, list) or not all(type(item) is str for item in raw):
        raise TypeError(f"{what} is not a list of strings")
    return tuple(sys.intern(item) for item in raw)


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
                  raw.get("hard_from"), tuple(sorted(raw.get("texts", {}).items())))


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
    exact = build_exact(raw["exact"])
    minimum = _minimums(raw["minimum"])
    targets = tuple(_target(t) for t in raw["targets"])
    changes, views = _views(raw, AppView(minimum, targets, 0))
    maintenance = {}
    for environment, plan in raw["maintenance"].items():
        switch = plan["switch"]
        maintenance[sys.intern(environment)] = MaintenancePlan(
            answer_of(switch["body"], 200, "maintenance", switch["rule"]) if switch else None,
            tuple((float(w["start"]), float(w["end"]), answer_of(w["body"], 200, "maintenance", w["rule"]))
                  for w in plan["windows"]),
        )
    name, uuid, disabled = raw["name"], raw["uuid"], raw["disabled"]
    if type(name) is not str or type(uuid) is not str or type(disabled) is not bool:
        raise TypeError("name, uuid or disabled has the wrong type")
    return AppIndex(
        app_id, name, uuid, disabled, strings(raw["platforms"], "platforms"),
        strings(raw["environments"], "environments"), ExactAnswers(exact, 1), ExactAnswers(exact, 2),
        minimum, targets, maintenance, changes=changes, views=views,
        default_locale=raw.get("default_locale", ""), store_urls=dict(raw.get("store_urls") or {}),
    )
