"""The impact of a config change: what clients are answered differently, not which lines moved.

:func:`diff_sides` compares two loaded sides (see :mod:`.side`) app by app:

* version ranges whose AppCockpit verdict changes, per platform and
  environment (the range machinery of :mod:`.matrix`, run over both sides);
* KickIt targets added, removed or changed (by id), and changes in the order
  in which same-strength targets are tried (the first match wins);
* the localized texts of the version rules, per locale;
* maintenance: the switch, and the scheduled windows;
* keys added, revoked or changed, named by prefix only;
* app settings (name, disabled, default locale, platforms, environments).

Sides are compared at one instant (now, for a pull request), then at each later
instant at which either side's answers change (a release, a deadline, a schedule),
so a rule that forces users later is seen forcing now. A later instant lists
only what the comparison gains or loses then, against the instant before it
("from 2027-01-13 08:00 UTC: ..."): a difference that holds now is not
repeated, and one that ends is said to end.

Comment edits and reordered records compile to the same answers and so show
no change. A change *forces* when it gives users a hard verdict they did not
have, turns maintenance on, or disables an app: ``--fail-on hard`` stops a
pipeline on those.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..evaluation import app_at
from ..snapshot import Answer, AppIndex, KeyRecord, Target, condition_covers
from .changes import (KeyChange, Later, MaintenanceChange, MessageChange, SettingChange,
                      TargetChange, VersionChange)
from .matrix import describe_target, format_instant, notice_title, version_rows
from .side import Side, raw_at, reasons_at

__all__ = ["AppDiff", "Diff", "diff_sides", "compare"]


@dataclass
class AppDiff:
    id: str
    name: str
    status: Literal["added", "removed", "changed", "unchanged"]
    settings: list[SettingChange] = field(default_factory=list)
    versions: list[VersionChange] = field(default_factory=list)
    targets: list[TargetChange] = field(default_factory=list)
    precedence: tuple[tuple[str, ...], tuple[str, ...]] | None = None  # target order before, after
    messages: list[MessageChange] = field(default_factory=list)
    maintenance: list[MaintenanceChange] = field(default_factory=list)
    keys: list[KeyChange] = field(default_factory=list)
    later: list[Later] = field(default_factory=list)

    @property
    def forcing(self) -> list[str]:
        """One line for each change that forces users or turns maintenance on, now or later."""
        out = [f"{s.name}: {s.base} -> {s.head}" for s in self.settings if s.forces]
        out += [f"{v.platform}/{v.environment} versions {v.range}: {v.base.verdict.replace('_', ' ')} -> hard"
                for v in self.versions if v.forces]
        out += [f"target {t.id} {t.change}: {t.head}" for t in self.targets if t.forces]
        for later in self.later:
            when = f"from {format_instant(later.at)}: "
            out += [f"{when}{v.platform}/{v.environment} versions {v.range}: "
                    f"{v.base.verdict.replace('_', ' ')} -> hard" for v in later.versions if v.forces]
            out += [f"{when}target {t.id} {t.change}: {t.head}" for t in later.targets if t.forces]
        out += [f"maintenance {m.environment}: {m.change} {m.detail}".rstrip() for m in self.maintenance if m.forces]
        return out

    @property
    def changed(self) -> bool:
        return self.status != "unchanged"


@dataclass
class Diff:
    base: Side
    head: Side
    apps: list[AppDiff]

    @property
    def changed(self) -> list[AppDiff]:
        return [a for a in self.apps if a.changed]

    @property
    def forcing(self) -> list[str]:
        return [f"{a.id}: {line}" for a in self.apps for line in a.forcing]


# --- versions and messages ---------------------------------------------------


def _pairs(*apps: AppIndex) -> list[tuple[str, str]]:
    platforms = sorted({p for a in apps for p in a.platforms})
    environments = sorted({e for a in apps for e in a.environments})
    return [(p, e) for p in platforms for e in environments]


def _version_changes(base: AppIndex, head: AppIndex) -> list[VersionChange]:
    out = []
    for platform, environment in _pairs(base, head):
        for row in version_rows([base, head], platform, environment):
            before, after = row.cells
            if before.verdict != after.verdict:
                out.append(VersionChange(platform, environment, row.range, before, after))
    return out


def _texts(app: AppIndex) -> dict[str, dict[str, str]]:
    """Version rule -> locale -> the text its v2 answer carries."""
    answers: list[Answer] = [*app.exact_v2.values(), *(m.v2 for m in app.minimum.values())]
    return {a.rule: json.loads(a.body)["update_messages"] or {} for a in answers if a.rule}


def _message_changes(base: AppIndex, head: AppIndex) -> list[MessageChange]:
    before, after = _texts(base), _texts(head)
    grouped: dict[tuple[str, str | None, str | None], list[str]] = {}
    for rule in sorted(before.keys() & after.keys()):
        old, new = before[rule], after[rule]
        for locale in sorted(old.keys() | new.keys()):
            if old.get(locale) != new.get(locale):
                grouped.setdefault((locale, old.get(locale), new.get(locale)), []).append(rule)
    return [MessageChange(locale, old, new, tuple(rules)) for (locale, old, new), rules in grouped.items()]


# --- targets -----------------------------------------------------------------


def _covers(old: Target, new: Target) -> bool:
    """Whether every client ``new`` matches, ``old`` matched already."""
    sets_ok = all(
        o is None or (n is not None and n <= o)
        for o, n in ((old.platforms, new.platforms), (old.environments, new.environments))
    )
    return sets_ok and all(
        condition_covers(getattr(old, name), getattr(new, name)) for name in ("version", "build", "os_version"))


_TARGET_FIELDS = ("hard", "message", "platforms", "environments", "version", "build", "os_version")


def _target_changes(base: AppIndex, head: AppIndex, base_raw: dict[str, Any],
                    head_raw: dict[str, Any]) -> list[TargetChange]:
    before = {t.id: t for t in base.targets}
    after = {t.id: t for t in head.targets}
    raw_before = {t["id"]: t for t in base_raw["targets"]}
    raw_after = {t["id"]: t for t in head_raw["targets"]}
    out = []
    for tid in sorted(before.keys() | after.keys()):
        old, new = before.get(tid), after.get(tid)
        old_text = describe_target(old, raw_before[tid]) if old else None
        new_text = describe_target(new, raw_after[tid]) if new else None
        if old is None and new is not None:
            out.append(TargetChange(tid, "added", None, new_text, (), new.hard))
        elif new is None and old is not None:
            out.append(TargetChange(tid, "removed", old_text, None, (), False))
        elif old is not None and new is not None:
            fields = tuple(f for f in _TARGET_FIELDS if raw_before[tid][f] != raw_after[tid][f])
            if fields:
                forces = new.hard and (not old.hard or not _covers(old, new))
                out.append(TargetChange(tid, "changed", old_text, new_text, fields, forces))
    return out


def _precedence(base: AppIndex, head: AppIndex) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The order of the targets both sides have, when it changed among targets of one strength."""
    common = {t.id for t in base.targets} & {t.id for t in head.targets}
    before = tuple(t.id for t in base.targets if t.id in common)
    after = tuple(t.id for t in head.targets if t.id in common)
    strength = {t.id: t.hard for t in head.targets}
    for hard in (True, False):
        if [i for i in before if strength[i] == hard] != [i for i in after if strength[i] == hard]:
            return before, after
    return None


# --- maintenance and keys ----------------------------------------------------


def _covered(start: float, end: float, windows: list[tuple[float, float]]) -> bool:
    """Whether [start, end) lies inside the union of ``windows``."""
    reach = start
    for s, e in sorted(windows):
        if s > reach:
            break
        reach = max(reach, e)
        if reach >= end:
            return True
    return reach >= end


def _maintenance_changes(base: AppIndex, head: AppIndex) -> list[MaintenanceChange]:
    out = []
    for env in sorted(base.maintenance.keys() | head.maintenance.keys()):
        old, new = base.maintenance.get(env), head.maintenance.get(env)
        old_switch, new_switch = old.switch if old else None, new.switch if new else None
        if new_switch and not old_switch:
            out.append(MaintenanceChange(env, "switched on", notice_title(new_switch), True))
        elif old_switch and not new_switch:
            out.append(MaintenanceChange(env, "switched off", "", False))
        elif old_switch and new_switch and old_switch.body != new_switch.body:
            out.append(MaintenanceChange(env, "notice changed", f"{notice_title(old_switch)} -> {notice_title(new_switch)}", False))
        old_windows = {(s, e): a for s, e, a in (old.windows if old else ())}
        new_windows = {(s, e): a for s, e, a in (new.windows if new else ())}
        for (start, end) in sorted(old_windows.keys() | new_windows.keys()):
            span = f"{format_instant(start)} to {format_instant(end)}"
            was, now = old_windows.get((start, end)), new_windows.get((start, end))
            if was is None and now is not None:
                # A new or moved window turns maintenance on unless a switch or the old windows covered that time.
                forces = not old_switch and not new_switch and not _covered(start, end, list(old_windows))
                out.append(MaintenanceChange(env, "window added", f"{span} {notice_title(now)}", forces))
            elif now is None and was is not None:
                out.append(MaintenanceChange(env, "window removed", f"{span} {notice_title(was)}", False))
            elif was is not None and now is not None and was.body != now.body:
                out.append(MaintenanceChange(env, "window notice changed",
                                             f"{span} {notice_title(was)} -> {notice_title(now)}", False))
    return out


def _key_scope(record: KeyRecord) -> str:
    envs = ", ".join(sorted(record.environments)) if record.environments is not None else "all"
    expires = format_instant(record.expires) if record.expires is not None else "never"
    return f"environments {envs}; expires {expires}"


def _key_changes(base: Side, head: Side, app_id: str) -> list[KeyChange]:
    before = {p: k for p, k in base.snapshot.keys.items() if k.app == app_id}
    after = {p: k for p, k in head.snapshot.keys.items() if k.app == app_id}
    out = []
    for prefix in sorted(before.keys() | after.keys()):
        old, new = before.get(prefix), after.get(prefix)
        if old is None and new is not None:
            out.append(KeyChange(prefix, "added", _key_scope(new)))
        elif new is None:
            out.append(KeyChange(prefix, "revoked", ""))
        elif old is not None and old != new:
            what = []
            if old.sha256 != new.sha256:
                what.append("secret replaced")
            if (old.environments, old.expires) != (new.environments, new.expires):
                what.append(f"{_key_scope(old)} -> {_key_scope(new)}")
            out.append(KeyChange(prefix, "changed", "; ".join(what)))
    return out


# --- the whole -----------------------------------------------------------------

_SETTINGS = ("name", "uuid", "disabled", "default_locale", "platforms", "environments", "store_urls")


Changes = tuple[list[VersionChange], list[TargetChange]]


def compare(old: AppIndex, raw_old: dict[str, Any], old_at: float,
            new: AppIndex, raw_new: dict[str, Any], new_at: float) -> Changes:
    """The verdict and target changes from ``old`` as at ``old_at`` to ``new`` as at ``new_at``.

    Two apps at one instant for a diff; one app at two instants for a timeline.
    """
    before, after = app_at(old, old_at), app_at(new, new_at)
    return _version_changes(before, after), _target_changes(
        before, after, raw_at(raw_old, old.changes, old_at), raw_at(raw_new, new.changes, new_at))


def _version_shifts(old: AppIndex, new: AppIndex, then: float, instant: float) -> list[VersionChange]:
    """The ranges whose comparison at ``instant`` differs from the one at ``then`` (the instant before).

    All four answers (each side, then and from ``instant``) are read over one
    set of ranges, so a difference that holds at both instants is never shown
    again merely because the two instants draw its bounds differently.
    """
    apps = [app_at(old, then), app_at(new, then), app_at(old, instant), app_at(new, instant)]
    out = []
    for platform, environment in _pairs(*apps):
        for row in version_rows(apps, platform, environment):
            was_base, was_head, base, head = row.cells
            was, now = (was_base.verdict, was_head.verdict), (base.verdict, head.verdict)
            if was != now and (was[0] != was[1] or now[0] != now[1]):
                out.append(VersionChange(platform, environment, row.range, base, head, (was_base, was_head)))
    return out


def _targets_at(old: AppIndex, raw_old: dict[str, Any], new: AppIndex, raw_new: dict[str, Any],
                at: float) -> dict[str, TargetChange]:
    """Target id -> how the sides differ on it at the instant ``at``."""
    changes = _target_changes(app_at(old, at), app_at(new, at), raw_at(raw_old, old.changes, at),
                              raw_at(raw_new, new.changes, at))
    return {t.id: t for t in changes}


def _target_shifts(before: dict[str, TargetChange], after: dict[str, TargetChange], new: AppIndex,
                   raw_new: dict[str, Any], instant: float) -> list[TargetChange]:
    """The target changes that begin, turn into others, or end at ``instant`` (``before``: just before it)."""
    out = []
    for tid in sorted(before.keys() | after.keys()):
        was, now = before.get(tid), after.get(tid)
        if was == now:
            continue
        until = (was.base, was.head) if was is not None else None
        if now is None:
            assert was is not None
            described = _described(app_at(new, instant), raw_at(raw_new, new.changes, instant), tid)
            out.append(TargetChange(tid, "alike", described, described, (), False, until))
        else:
            out.append(replace(now, forces=now.forces and not (was is not None and was.forces), until=until))
    return out


def _described(app: AppIndex, raw: dict[str, Any], tid: str) -> str | None:
    """Target ``tid`` of ``app`` described, or None when the app has no such target."""
    records = {t["id"]: t for t in raw["targets"]}
    return next((describe_target(t, records[tid]) for t in app.targets if t.id == tid), None)


def _later(old: AppIndex, new: AppIndex, raw_old: dict[str, Any], raw_new: dict[str, Any], at: float) -> list[Later]:
    """Each instant after ``at`` at which the comparison changes, with only what changes then."""
    out = []
    then, targets_then = at, _targets_at(old, raw_old, new, raw_new, at)
    for instant in sorted({t for t in (*old.changes, *new.changes) if t > at}):
        targets_now = _targets_at(old, raw_old, new, raw_new, instant)
        versions = _version_shifts(old, new, then, instant)
        targets = _target_shifts(targets_then, targets_now, new, raw_new, instant)
        if versions or targets:
            out.append(Later(instant, versions, targets, tuple(sorted({*reasons_at(raw_old, instant),
                                                                       *reasons_at(raw_new, instant)}))))
        then, targets_then = instant, targets_now
    return out


def _app_diff(base: Side, head: Side, app_id: str, at: float) -> AppDiff:
    timed_old, timed_new = base.snapshot.apps.get(app_id), head.snapshot.apps.get(app_id)
    if timed_old is None or timed_new is None:
        present = timed_new or timed_old
        assert present is not None
        return AppDiff(app_id, present.name, "added" if timed_old is None else "removed")
    old, new = app_at(timed_old, at), app_at(timed_new, at)
    raw_old = raw_at(base.raw[app_id], timed_old.changes, at)
    raw_new = raw_at(head.raw[app_id], timed_new.changes, at)
    diff = AppDiff(
        app_id, new.name, "changed",
        settings=[SettingChange(n, raw_old[n], raw_new[n]) for n in _SETTINGS if raw_old[n] != raw_new[n]],
        versions=_version_changes(old, new),
        targets=_target_changes(old, new, raw_old, raw_new),
        precedence=_precedence(old, new),
        messages=_message_changes(old, new),
        maintenance=_maintenance_changes(old, new),
        keys=_key_changes(base, head, app_id),
    )
    diff.later = _later(timed_old, timed_new, base.raw[app_id], head.raw[app_id], at)
    if not any((diff.settings, diff.versions, diff.targets, diff.precedence, diff.messages,
                diff.maintenance, diff.keys, diff.later)):
        diff.status = "unchanged"
    return diff


def diff_sides(base: Side, head: Side, at: float | None = None) -> Diff:
    """What clients are answered differently by ``head`` than ``base``, app by app, at ``at`` (default: the
    beginning of both timelines) and later."""
    ids = sorted(base.snapshot.apps.keys() | head.snapshot.apps.keys())
    when = float("-inf") if at is None else at
    return Diff(base, head, [_app_diff(base, head, app_id, when) for app_id in ids])
