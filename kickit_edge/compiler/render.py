"""Rendering the checked config into snapshot content: indexes and pre-rendered answers.

Every body a client can receive that does not echo the client is rendered
here once, in the seed's field order, with its ETag; the runtime only looks
them up. Nothing here reads the clock, the environment or file positions, so
the same rules always render the same bytes, whatever the comments or layout.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ..snapshot import etag_of, render_body
from ..vocabulary import maintenance_rule
from .model import AppConfig, ConditionSpec, Config, Notice, TargetRule
from .timeline import View, app_timeline

__all__ = ["render_content", "render_app", "render_header", "key_records"]

MAINTENANCE_OFF: dict[str, Any] = {"active": False, "title": None, "description": None, "links": []}


def _entry(value: dict[str, Any]) -> list[str]:
    body = render_body(value)
    return [body.decode("utf-8"), etag_of(body)]


class _Bodies:
    """Renders one app's version bodies by joining pre-encoded JSON pieces.

    A 10,000-app config has a million version records; encoding each value
    once and joining strings is several times faster than ``json.dumps`` of a
    dict per body, and gives the same bytes (a test compares both).
    """

    def __init__(self, app: AppConfig) -> None:
        self.app = app
        self._messages: dict[str | None, tuple[str, str]] = {None: ("null", "null")}
        # A body does not name the environment: a version listed for two environments has the same bodies.
        self._bodies: dict[tuple[str, str, bool, str | None], tuple[str, str, str, str]] = {}

    def _message(self, name: str | None) -> tuple[str, str]:
        """JSON of the default text and of all locales (default first, then sorted)."""
        if name not in self._messages:
            assert name is not None
            texts = self.app.messages[name]
            default = self.app.default_locale
            ordered = {default: texts[default]}
            ordered.update((loc, texts[loc]) for loc in sorted(texts) if loc != default)
            self._messages[name] = (_json(texts[default]), _json(ordered))
        return self._messages[name]

    def render(self, version: str, platform: str, force: bool, message: str | None) -> tuple[str, str, str, str]:
        """v1 body, its ETag, v2 body, its ETag."""
        key = (version, platform, force, message)
        if key not in self._bodies:
            self._bodies[key] = self._render(version, platform, force, message)
        return self._bodies[key]

    def _render(self, version: str, platform: str, force: bool, message: str | None) -> tuple[str, str, str, str]:
        default, localized = self._message(message)
        head = '{"version":%s,"platform":%s,"force_update":%s,' % (
            _json(version), _json(platform), "true" if force else "false")
        v1 = head + '"update_message":' + default + "}"
        v2 = head + '"default_update_message":' + default + ',"update_messages":' + localized + "}"
        return v1, etag_of(v1.encode("utf-8")), v2, etag_of(v2.encode("utf-8"))


def _json(value: Any) -> str:
    if type(value) is str:  # what json.dumps does for a string, without building an encoder per call
        return encode_basestring(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _condition(spec: ConditionSpec | None) -> dict[str, Any] | None:
    if spec is None:
        return None
    return {"in": sorted(spec.values) if spec.values is not None else None, "min": spec.min, "below": spec.below}


def _pinned(target: TargetRule) -> dict[str, str]:
    """The values a target fixes to exactly one choice, to complete target_meta."""
    pinned: dict[str, str] = {}
    if target.platforms is not None and len(target.platforms) == 1:
        pinned["platform"] = target.platforms[0]
    for name in ("version", "build", "os_version"):
        spec: ConditionSpec | None = getattr(target, name)
        if spec is not None and spec.values is not None and len(spec.values) == 1:
            pinned[name] = spec.values[0]
    return pinned


def _notice(notice: Notice) -> dict[str, Any]:
    return {
        "active": True,
        "title": notice.title,
        "description": notice.description,
        "links": [{"title": title, "url": url} for title, url in notice.links],
    }


def _instant(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _minimums(app: AppConfig, bodies: _Bodies, view: View) -> dict[str, dict[str, Any]]:
    minimum: dict[str, dict[str, Any]] = {}
    for rule in app.minimums:
        state = view.get(rule.rule)
        if state is None:
            continue
        v1, v1_etag, v2, v2_etag = bodies.render(rule.version, rule.platform, state.hard, rule.message)
        record = {"rule": rule.rule, "force": state.hard, "version": rule.version,
                  "v1": [v1, v1_etag], "v2": [v2, v2_etag]}
        if state.hard_from is not None:
            record["hard_from"] = _instant(state.hard_from)
        if state.os_gates:
            o1, o1_etag, o2, o2_etag = bodies.render(rule.version, rule.platform, False, app.os_message)
            record["os"] = {"min_os": state.os_gates[0][1], "v1": [o1, o1_etag], "v2": [o2, o2_etag]}
        minimum.setdefault(rule.platform, {})[rule.environment] = record
    return minimum


def _targets(app: AppConfig, view: View) -> list[dict[str, Any]]:
    """The targets that apply in ``view``, hard ones first (the hardness of the moment), each in file order."""
    active = [(t, view[t.rule]) for t in app.targets if t.rule in view]
    out = []
    for target, state in [*((t, s) for t, s in active if s.hard), *((t, s) for t, s in active if not s.hard)]:
        platforms = state.platforms if state.platforms is not None else target.platforms
        record = {
            "id": target.id, "rule": target.rule, "hard": state.hard,
            "message": app.messages[target.message][app.default_locale],
            "texts": app.messages[target.message],
            "platforms": sorted(platforms) if platforms is not None else None,
            "environments": sorted(target.environments) if target.environments is not None else None,
            "version": _condition(target.version), "build": _condition(target.build),
            "os_version": _condition(target.os_version), "pinned": _pinned(target),
        }
        if state.hard_from is not None:
            record["hard_from"] = _instant(state.hard_from)
        if state.os_gates and app.os_message is not None:
            record["os_gates"] = dict(state.os_gates)
            record["os_message"] = app.messages[app.os_message][app.default_locale]
        out.append(record)
    return out


def render_app(app: AppConfig) -> dict[str, Any]:
    bodies = _Bodies(app)
    exact: dict[str, dict[str, dict[str, Any]]] = {}
    for record in app.versions:
        if not record.enabled:
            continue  # AppCockpit matches only status=true records
        v1, v1_etag, v2, v2_etag = bodies.render(record.version, record.platform, record.force_update, record.message)
        exact.setdefault(record.platform, {}).setdefault(record.environment, {})[record.version] = [
            record.force_update, v1, v1_etag, v2, v2_etag]
    timeline = app_timeline(app)
    minimum = _minimums(app, bodies, timeline.views[0])
    targets = _targets(app, timeline.views[0])
    maintenance: dict[str, Any] = {}
    for plan in app.maintenance:
        switch = None
        if plan.active:
            switch = {"rule": maintenance_rule(plan.environment), "body": _entry(_notice(plan.notice))}
        windows = sorted(
            (w.start, w.index, w.end, w.notice) for w in plan.windows if w.start is not None and w.end is not None
        )
        maintenance[plan.environment] = {
            "switch": switch,
            "windows": [
                {
                    "start": start.timestamp(), "end": end.timestamp(),
                    "rule": maintenance_rule(plan.environment, index),
                    "body": _entry(_notice(notice)),
                }
                for start, index, end, notice in windows
            ],
        }
    content = {
        "name": app.name, "uuid": app.uuid, "disabled": app.disabled,
        "platforms": list(app.platforms), "environments": list(app.environments),
        "default_locale": app.default_locale, "store_urls": app.store_urls,
        "exact": exact, "minimum": minimum, "targets": targets, "maintenance": maintenance,
    }
    if timeline.changes:  # only apps whose answers change with time carry a timeline
        content["timeline"] = {
            "changes": [moment.timestamp() for moment in timeline.changes],
            "why": [list(reasons) for reasons in timeline.why],
            "views": [{"minimum": _minimums(app, bodies, view), "targets": _targets(app, view)}
                      for view in timeline.views[1:]],
        }
    return content


def key_records(app: AppConfig) -> list[tuple[str, dict[str, Any]]]:
    """The app's keys as the snapshot header lists them: (prefix, record)."""
    return [(k.prefix, {
        "app": app.id, "sha256": k.sha256,
        "environments": sorted(k.environments) if k.environments is not None else None,
        "expires": k.expires.timestamp() if k.expires is not None else None,
    }) for k in app.keys]


def render_header(keys: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The snapshot header but for the app ids: every key (by prefix) and the answer of no maintenance."""
    return {"keys": keys, "maintenance_off": _entry(MAINTENANCE_OFF)}


def render_content(config: Config) -> tuple[dict[str, Any], Iterator[tuple[str, dict[str, Any]]]]:
    """The snapshot header, and each app's content sorted by id (rendered as it is consumed)."""
    header = render_header(dict(record for app in config.apps for record in key_records(app)))
    apps = sorted(config.apps, key=lambda a: a.id)
    return header, ((app.id, render_app(app)) for app in apps)
