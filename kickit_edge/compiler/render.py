"""Rendering the checked config into snapshot content: indexes and pre-rendered answers.

Every body a client can receive that does not echo the client is rendered
here once, in the seed's field order, with its ETag; the runtime only looks
them up. Nothing here reads the clock, the environment or file positions, so
the same rules always render the same bytes, whatever the comments or layout.
"""

from __future__ import annotations

from typing import Any

from ..snapshot import etag_of, render_body
from .checks import precedence
from .model import AppConfig, ConditionSpec, Config, Notice, TargetRule

__all__ = ["render_content"]

MAINTENANCE_OFF = {"active": False, "title": None, "description": None, "links": []}


def _entry(value: dict[str, Any]) -> list[str]:
    body = render_body(value)
    return [body.decode("utf-8"), etag_of(body)]


def _localized(app: AppConfig, name: str | None) -> tuple[str | None, dict[str, str] | None]:
    """Default text and all locales, the default locale first, then the rest sorted."""
    if name is None:
        return None, None
    texts = app.messages[name]
    ordered = {app.default_locale: texts[app.default_locale]}
    ordered.update((loc, texts[loc]) for loc in sorted(texts) if loc != app.default_locale)
    return texts[app.default_locale], ordered


def _version_bodies(app: AppConfig, version: str, platform: str, force: bool, message: str | None) -> dict[str, Any]:
    default, localized = _localized(app, message)
    v1 = {"version": version, "platform": platform, "force_update": force, "update_message": default}
    v2 = {"version": version, "platform": platform, "force_update": force,
          "default_update_message": default, "update_messages": localized}
    return {"v1": _entry(v1), "v2": _entry(v2)}


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


def _app(app: AppConfig) -> dict[str, Any]:
    exact: dict[str, dict[str, dict[str, Any]]] = {}
    for record in app.versions:
        if not record.enabled:
            continue  # AppCockpit matches only status=true records
        entry = _version_bodies(app, record.version, record.platform, record.force_update, record.message)
        entry.update(rule=record.rule, force=record.force_update)
        exact.setdefault(record.platform, {}).setdefault(record.environment, {})[record.version] = entry
    minimum: dict[str, dict[str, Any]] = {}
    for rule in app.minimums:
        entry = _version_bodies(app, rule.version, rule.platform, rule.force_update, rule.message)
        entry.update(rule=rule.rule, force=rule.force_update, version=rule.version)
        minimum.setdefault(rule.platform, {})[rule.environment] = entry
    targets = [
        {
            "id": t.id, "rule": t.rule, "hard": t.hard,
            "message": app.messages[t.message][app.default_locale],
            "platforms": sorted(t.platforms) if t.platforms is not None else None,
            "environments": sorted(t.environments) if t.environments is not None else None,
            "version": _condition(t.version), "build": _condition(t.build), "os_version": _condition(t.os_version),
            "pinned": _pinned(t),
        }
        for t in precedence(app.targets)
    ]
    maintenance: dict[str, Any] = {}
    for plan in app.maintenance:
        switch = None
        if plan.active:
            switch = {"rule": f"maintenance:{plan.environment}:switch", "body": _entry(_notice(plan.notice))}
        windows = sorted(
            (w for w in plan.windows if w.start is not None and w.end is not None),
            key=lambda w: (w.start, w.index),  # type: ignore[arg-type,return-value]
        )
        maintenance[plan.environment] = {
            "switch": switch,
            "windows": [
                {
                    "start": w.start.timestamp(), "end": w.end.timestamp(),  # type: ignore[union-attr]
                    "rule": f"maintenance:{plan.environment}:windows[{w.index}]",
                    "body": _entry(_notice(w.notice)),
                }
                for w in windows
            ],
        }
    return {
        "name": app.name, "uuid": app.uuid, "disabled": app.disabled,
        "platforms": list(app.platforms), "environments": list(app.environments),
        "default_locale": app.default_locale, "store_urls": app.store_urls,
        "exact": exact, "minimum": minimum, "targets": targets, "maintenance": maintenance,
    }


def render_content(config: Config) -> dict[str, Any]:
    """The snapshot content of a checked config."""
    keys = {
        k.prefix: {
            "app": app.id, "sha256": k.sha256,
            "environments": sorted(k.environments) if k.environments is not None else None,
            "expires": k.expires.timestamp() if k.expires is not None else None,
        }
        for app in config.apps for k in app.keys
    }
    return {
        "apps": {app.id: _app(app) for app in config.apps},
        "keys": keys,
        "maintenance_off": _entry(MAINTENANCE_OFF),
    }
