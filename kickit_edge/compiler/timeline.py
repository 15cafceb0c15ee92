"""Time: what each upgrade rule of an app does at each instant, as intervals.

A rule's effect changes with the clock when its schedule starts or ends
(``active_from``, ``active_until``), when it turns hard (``hard_from``), when
a store release that satisfies it becomes available (plus the rule's
``grace``), and when a release needing an older OS appears (the OS gate
loosens). :func:`app_timeline` collects every such instant, computes the
state of every rule in each interval between them and merges neighbouring
intervals that are alike. The renderer writes one view per interval; a
request picks its view with one bisect, as maintenance windows are looked up,
so the ETag changes exactly when the answer does.

What a rule "asks for": a minimum-version rule asks for its version; a target
with a ``version: {below: X}`` condition asks for X; any other target asks for
nothing and is never gated by releases. When an app lists releases for a
platform, a rule asking for V applies on that platform only once a release at
or above V is available (``available_from`` plus ``grace``). The OS gate of a
rule on a platform is the lowest ``min_os`` among the available releases that
satisfy it (none when one of them runs on any OS): a client on an older OS
cannot comply and gets the app's ``os_message`` as a soft answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from ..errors import Diagnostic
from ..versions import InvalidVersion, version_key
from .model import AppConfig, MinimumVersion, Release, TargetRule

__all__ = ["RuleState", "View", "Timeline", "app_timeline", "rule_state", "asked_version", "check_releases"]

# Before every instant a config can name: the state of view 0.
BEGINNING = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RuleState:
    """What a rule does in one interval (a rule that does not apply has no state)."""

    hard: bool
    hard_from: datetime | None  # the coming deadline of a rule that is soft now
    os_gates: tuple[tuple[str, str], ...]  # (platform, min_os) a client needs to install a satisfying release
    platforms: tuple[str, ...] | None  # targets: the platforms it applies on now (None: as written)


View = dict[str, RuleState]  # rule name -> state, for the rules that apply


@dataclass(frozen=True)
class Timeline:
    """``views[0]`` applies before ``changes[0]``; ``views[i]`` from ``changes[i-1]`` (inclusive) on."""

    changes: tuple[datetime, ...]
    views: tuple[View, ...]
    why: tuple[tuple[str, ...], ...] = ()  # per change: what happens then (sorted)


Rule = MinimumVersion | TargetRule


def asked_version(rule: Rule) -> str | None:
    """The version a rule asks clients to reach, if it asks for one."""
    if isinstance(rule, MinimumVersion):
        return rule.version
    return rule.version.below if rule.version is not None else None


def _satisfying(app: AppConfig, platform: str, asked: str) -> list[tuple[datetime, Release]] | None:
    """(available from, release) at or above ``asked`` on ``platform``; None when it lists no releases."""
    listed = [r for r in app.releases if r.platform == platform]
    if not listed:
        return None
    try:
        wanted = version_key(asked)
        return [(r.available_from, r) for r in listed
                if r.available_from is not None and version_key(r.version) >= wanted]
    except InvalidVersion:
        return None  # reported by the checks; the rule is not gated


def _gate(available: list[Release]) -> str | None:
    needs = [r.min_os for r in available if r.min_os is not None]
    if not needs or len(needs) < len(available):
        return None  # a release that runs on any OS: every client can comply
    try:
        return min(needs, key=version_key)
    except InvalidVersion:
        return None


def _platforms(app: AppConfig, rule: Rule) -> tuple[str, ...]:
    if isinstance(rule, MinimumVersion):
        return (rule.platform,)
    return rule.platforms or app.platforms


def rule_state(app: AppConfig, rule: Rule, at: datetime) -> RuleState | None:
    """The rule's state at the instant ``at``; None when it does not apply then."""
    schedule = rule.schedule
    if (schedule.active_from and at < schedule.active_from) or (schedule.active_until and at >= schedule.active_until):
        return None
    asked = asked_version(rule)
    platforms = _platforms(app, rule)
    allowed: list[str] = []
    gates: list[tuple[str, str]] = []
    for platform in platforms:
        releases = _satisfying(app, platform, asked) if asked is not None else None
        if releases is None:
            allowed.append(platform)
            continue
        if not releases or at < min(since for since, _ in releases) + schedule.grace:
            continue
        allowed.append(platform)
        gate = _gate([release for since, release in releases if since <= at])
        if gate is not None:
            gates.append((platform, gate))
    if not allowed:
        return None
    written = rule.force_update if isinstance(rule, MinimumVersion) else rule.hard
    hard = written or (schedule.hard_from is not None and at >= schedule.hard_from)
    kept = None if isinstance(rule, MinimumVersion) or len(allowed) == len(platforms) else tuple(allowed)
    if isinstance(rule, TargetRule) and kept is None and rule.platforms is not None:
        kept = rule.platforms
    return RuleState(hard, None if hard else schedule.hard_from, tuple(gates), kept)


def _instants(app: AppConfig, rule: Rule) -> Iterator[tuple[datetime, str]]:
    """Each instant at which the rule's state may change, with what happens then."""
    schedule = rule.schedule
    for moment, what in ((schedule.active_from, "starts"), (schedule.active_until, "ends"),
                         (schedule.hard_from, "turns hard")):
        if moment is not None:
            yield moment, f"{rule.rule} {what}"
    asked = asked_version(rule)
    if asked is None:
        return
    for platform in _platforms(app, rule):
        for since, release in _satisfying(app, platform, asked) or []:
            yield since, f"{platform} {release.version} released"
            if schedule.grace:
                yield since + schedule.grace, f"grace of {rule.rule} after {platform} {release.version} ends"


def _view(app: AppConfig, at: datetime) -> View:
    rules: list[Rule] = [*app.minimums, *app.targets]
    states = {rule.rule: rule_state(app, rule, at) for rule in rules}
    return {name: state for name, state in states.items() if state is not None}


def app_timeline(app: AppConfig) -> Timeline:
    """Every instant at which one of the app's upgrade answers changes, and the rules' states between them."""
    rules: list[Rule] = [*app.minimums, *app.targets]
    reasons: dict[datetime, set[str]] = {}
    for rule in rules:
        for moment, what in _instants(app, rule):
            reasons.setdefault(moment, set()).add(what)
    changes: list[datetime] = []
    views = [_view(app, BEGINNING)]
    for instant in sorted(reasons):
        view = _view(app, instant)
        if view != views[-1]:
            changes.append(instant)
            views.append(view)
    return Timeline(tuple(changes), tuple(views), tuple(tuple(sorted(reasons[c])) for c in changes))


def _hard_ever(rule: Rule) -> bool:
    written = rule.force_update if isinstance(rule, MinimumVersion) else rule.hard
    return written or rule.schedule.hard_from is not None


def check_releases(app: AppConfig) -> Iterator[Diagnostic]:
    """Releases name known platforms and orderable versions; no hard rule asks for an unreleased version."""
    seen: dict[tuple[str, str], Release] = {}
    for release in app.releases:
        if release.platform not in app.platforms:
            yield release.where.at("platform").diagnostic(
                f"platform {release.platform!r} is not one of the app's platforms {list(app.platforms)}")
        for name in ("version", "min_os"):
            text = getattr(release, name)
            try:
                if text is not None:
                    version_key(text)
            except InvalidVersion as exc:
                yield release.where.at(name).diagnostic(str(exc))
        slot = (release.platform, release.version)
        if slot in seen:
            yield release.where.at("version").diagnostic(
                f"duplicate release {release.version!r} for {release.platform}: "
                f"already at line {seen[slot].where.line}")
        seen.setdefault(slot, release)
        if release.min_os is not None and app.os_message is None:
            yield release.where.at("min_os").diagnostic(
                "a release with min_os needs app.os_message: the message clients whose OS is too old get instead")
    if app.os_message is not None and app.os_message not in app.messages:
        yield app.where.at("os_message").diagnostic(
            f"unknown message {app.os_message!r}: expected one of {sorted(app.messages)}")
    rules: list[Rule] = [*app.minimums, *app.targets]
    for rule in rules:
        yield from _check_schedule(rule)
        asked = asked_version(rule)
        if asked is None or not _hard_ever(rule):
            continue
        for platform in _platforms(app, rule):
            if _satisfying(app, platform, asked) == []:
                highest = max((r.version for r in app.releases if r.platform == platform), key=_order)
                field = ("version",) if isinstance(rule, MinimumVersion) else ("version", "below")
                yield rule.where.at(*field).diagnostic(
                    f"hard rule {rule.rule} asks for {asked!r} on {platform}, above every listed {platform} release "
                    f"(the highest is {highest!r}): users could never comply; list the release or make the rule soft")


def _check_schedule(rule: Rule) -> Iterator[Diagnostic]:
    schedule = rule.schedule
    start, end = schedule.active_from, schedule.active_until
    if start is not None and end is not None and end <= start:
        yield rule.where.at("active_until").diagnostic(
            f"never applies: active_until {end.isoformat()} is not after active_from {start.isoformat()}")
    written = rule.force_update if isinstance(rule, MinimumVersion) else rule.hard
    if schedule.hard_from is not None and written:
        flag = "force_update" if isinstance(rule, MinimumVersion) else "hard"
        yield rule.where.at("hard_from").diagnostic(
            f"hard_from makes the rule soft before and hard from then on, but {flag}: true makes it hard already: "
            f"remove {flag}")


def _order(text: str) -> tuple[int, object]:
    try:
        return (1, version_key(text))
    except InvalidVersion:
        return (0, text)
