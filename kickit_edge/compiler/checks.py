"""Semantic checks: what JSON Schema cannot see.

Each check reports every problem it finds, located at the value at fault:
duplicates across files, unknown references, missing default locales,
versions that cannot be ordered where order matters, duplicate exact
versions, empty or reversed windows, and rules that can never match because
an earlier one always wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..errors import Diagnostic
from ..snapshot import Condition, condition_covers
from ..versions import InvalidVersion, version_key
from .model import AppConfig, ConditionSpec, Config, TargetRule, Where
from .timeline import asked_version, check_releases

__all__ = ["check_config", "check_app"]


def check_config(config: Config) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    out.extend(_unique_across_files(config))
    for app in config.apps:
        out.extend(check_app(app))
    return out


def check_app(app: AppConfig) -> Iterator[Diagnostic]:
    """The checks one app file needs alone (no other file)."""
    yield from _check_app(app)
    yield from check_releases(app)


def _unique_across_files(config: Config) -> Iterator[Diagnostic]:
    fields: list[tuple[str, str, Iterable[tuple[str, Where]]]] = [
        ("app id", "id", ((a.id, a.where.at("id")) for a in config.apps)),
        ("app uuid", "uuid", ((a.uuid, a.where.at("uuid")) for a in config.apps)),
        ("public_key", "public_key", ((a.public_key, a.where.at("public_key")) for a in config.apps)),
        ("key prefix", "prefix", [
            *((k.prefix, k.where.at("prefix")) for a in config.apps for k in a.keys),
            *((t.prefix, t.where.at("prefix")) for t in config.admin_tokens),
        ]),
        ("admin token name", "name", ((t.name, t.where.at("name")) for t in config.admin_tokens)),
        # Kickfolio Version ids address one record through the management API.
        ("version id", "id", ((str(raw["id"]), Where(a.where.source, ("versions", i, "id")))
                              for a in config.apps for i, raw in enumerate(a.raw.get("versions", [])) if "id" in raw)),
    ]
    for label, _, entries in fields:
        first: dict[str, Where] = {}
        for value, where in entries:
            if value in first:
                other = first[value]
                yield where.diagnostic(f"duplicate {label} {value!r}: already used at {other.source.path}:{other.line}")
            else:
                first[value] = where


def _orderable(where: Where, text: str) -> Iterator[Diagnostic]:
    try:
        version_key(text)
    except InvalidVersion as exc:
        yield where.diagnostic(str(exc))


def _check_scope(app: AppConfig, where: Where, platform: str | None, environment: str | None) -> Iterator[Diagnostic]:
    if platform is not None and platform not in app.platforms:
        yield where.at("platform").diagnostic(f"platform {platform!r} is not one of the app's platforms {list(app.platforms)}")
    if environment is not None and environment not in app.environments:
        yield where.at("environment").diagnostic(
            f"environment {environment!r} is not one of the app's environments {list(app.environments)}")


def _check_message(app: AppConfig, where: Where, name: str | None) -> Iterator[Diagnostic]:
    if name is not None and name not in app.messages:
        known = sorted(app.messages)
        yield where.at("message").diagnostic(f"unknown message {name!r}: expected one of {known}")


def _check_app(app: AppConfig) -> Iterator[Diagnostic]:
    top = Where(app.where.source, ())
    for name, texts in app.messages.items():
        if app.default_locale not in texts:
            yield top.at("messages", name).diagnostic(
                f"message {name!r} has no text for the default locale {app.default_locale!r}")
    for key in app.keys:
        for env in key.environments or ():
            if env not in app.environments:
                yield key.where.at("environments").diagnostic(
                    f"environment {env!r} is not one of the app's environments {list(app.environments)}")
    for platform in app.store_urls:
        if platform not in app.platforms:
            yield app.where.at("store_urls", platform).diagnostic(
                f"platform {platform!r} is not one of the app's platforms {list(app.platforms)}")

    seen_exact: dict[tuple[str, str, str], Where] = {}
    for record in app.versions:
        yield from _check_scope(app, record.where, record.platform, record.environment)
        yield from _check_message(app, record.where, record.message)
        slot = (record.platform, record.environment, record.version)
        if slot in seen_exact:
            yield record.where.at("version").diagnostic(
                f"duplicate exact version {record.version!r} for {record.platform}/{record.environment}: "
                f"already at line {seen_exact[slot].line}")
        else:
            seen_exact[slot] = record.where

    seen_minimum: dict[tuple[str, str], Where] = {}
    for rule in app.minimums:
        yield from _check_scope(app, rule.where, rule.platform, rule.environment)
        yield from _check_message(app, rule.where, rule.message)
        yield from _orderable(rule.where.at("version"), rule.version)
        scope = (rule.platform, rule.environment)
        if scope in seen_minimum:
            yield rule.where.diagnostic(
                f"never matches: the minimum version for {rule.platform}/{rule.environment} "
                f"at line {seen_minimum[scope].line} always wins (one minimum per platform and environment)")
        else:
            seen_minimum[scope] = rule.where

    yield from _check_targets(app)
    yield from _check_maintenance_and_tests(app)


def _check_maintenance_and_tests(app: AppConfig) -> Iterator[Diagnostic]:
    for plan in app.maintenance:
        if plan.environment not in app.environments:
            yield plan.where.diagnostic(
                f"environment {plan.environment!r} is not one of the app's environments {list(app.environments)}")
        for window in plan.windows:
            if window.start is not None and window.end is not None and window.end <= window.start:
                yield window.where.at("end").diagnostic(
                    f"window ends before it starts: end {window.end.isoformat()} is not after start "
                    f"{window.start.isoformat()}")

    for case in app.tests:
        yield from _check_scope(app, case.where, case.platform, case.environment)
        if case.check == "versions":
            for name in ("platform", "environment", "version"):
                if getattr(case, name) is None:
                    yield case.where.diagnostic(f"a versions test needs '{name}'")
        elif case.check == "maintenance" and case.environment is None:
            yield case.where.diagnostic("a maintenance test needs 'environment'")


def _condition_keys(spec: ConditionSpec | None, field: str) -> Iterator[Diagnostic]:
    if spec is None:
        return
    for bound in ("min", "below"):
        text = getattr(spec, bound)
        if text is not None:
            yield from _orderable(spec.where.at(bound), text)
    if spec.min is not None and spec.below is not None:
        try:
            if version_key(spec.min) >= version_key(spec.below):
                yield spec.where.diagnostic(
                    f"never matches: {field} range is empty (min {spec.min!r} is not below {spec.below!r})")
        except InvalidVersion:
            pass


def _loaded(spec: ConditionSpec | None) -> Condition | None:
    """The condition as a snapshot holds it; raises InvalidVersion for a bound that has no order."""
    if spec is None:
        return None
    low = version_key(spec.min) if spec.min is not None else None
    high = version_key(spec.below) if spec.below is not None else None
    return Condition(frozenset(spec.values) if spec.values is not None else None, low, high)


def _condition_covers(wide: ConditionSpec | None, narrow: ConditionSpec | None) -> bool:
    """Whether every value ``narrow`` accepts, ``wide`` accepts too (only when certain)."""
    try:
        return condition_covers(_loaded(wide), _loaded(narrow))
    except InvalidVersion:
        return False  # not certain; the bound is reported on its own


def _set_covers(wide: tuple[str, ...] | None, narrow: tuple[str, ...] | None) -> bool:
    if wide is None:
        return True
    return narrow is not None and set(narrow) <= set(wide)


def _shadows(earlier: TargetRule, later: TargetRule) -> bool:
    """Whether ``earlier`` matches every request ``later`` matches.

    A hard target never matches a request missing an attribute it conditions
    on, while a soft one may; so a hard target shadows a soft one only when it
    has no conditions at all.
    """
    conditions = (earlier.platforms, earlier.environments, earlier.version, earlier.build, earlier.os_version)
    if earlier.hard and not later.hard:
        return all(c is None for c in conditions)
    return (
        _set_covers(earlier.platforms, later.platforms)
        and _set_covers(earlier.environments, later.environments)
        and _condition_covers(earlier.version, later.version)
        and _condition_covers(earlier.build, later.build)
        and _condition_covers(earlier.os_version, later.os_version)
    )


def _check_targets(app: AppConfig) -> Iterator[Diagnostic]:
    ids: dict[str, Where] = {}
    for target in app.targets:
        if target.id in ids:
            yield target.where.at("id").diagnostic(f"duplicate target id {target.id!r}: already at line {ids[target.id].line}")
        ids.setdefault(target.id, target.where)
        yield from _check_message(app, target.where, target.message)
        for platform in target.platforms or ():
            if platform not in app.platforms:
                yield target.where.at("platforms").diagnostic(
                    f"platform {platform!r} is not one of the app's platforms {list(app.platforms)}")
        for env in target.environments or ():
            if env not in app.environments:
                yield target.where.at("environments").diagnostic(
                    f"environment {env!r} is not one of the app's environments {list(app.environments)}")
        for name in ("version", "build", "os_version"):
            yield from _condition_keys(getattr(target, name), name)
    ordered = precedence(app.targets)
    for i, later in enumerate(ordered):
        for earlier in ordered[:i]:
            # A rule that depends on the clock does not always apply: it shadows nothing for good.
            if earlier.schedule.timed or (app.releases and asked_version(earlier)):
                continue
            if _shadows(earlier, later):
                yield later.where.diagnostic(
                    f"never matches: target {earlier.id!r} (line {earlier.where.line}) is checked first "
                    "and matches everything this one does")
                break


def precedence(targets: list[TargetRule]) -> list[TargetRule]:
    """Hard targets first, then soft, each in file order (the evaluation order)."""
    return [t for t in targets if t.hard] + [t for t in targets if not t.hard]
