"""Evaluation of a check against a loaded snapshot: pure, deterministic, explainable.

The runtime, ``kickit-edge explain`` and the config tests all answer through
these functions, so what a reviewer sees is what a client gets. Each returns an
:class:`~kickit_edge.snapshot.Answer` whose ``rule`` names the rule that
produced it (``None`` when no rule did).

Precedence, documented in the README:

* AppCockpit versions: an enabled exact record for (platform, environment,
  version string) first; else the minimum-version rule of that platform and
  environment if the client is older than it; else 404 ``Version not found``.
  A client version that cannot be ordered is never older than a minimum.
* KickIt target checks: hard targets before soft ones, each group in file
  order; the first target whose conditions all hold wins. A condition on
  something the client did not send never blocks a soft target and always
  blocks a hard one: a user is never forced to upgrade on a guess.
* Maintenance: the environment's switch, else the scheduled window that
  contains the instant (start inclusive, end exclusive), else inactive.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, NamedTuple

from .keys import Key, secret_matches
from .snapshot import Answer, AppIndex, Snapshot, Target, error_answer, etag_of, render_body
from .versions import InvalidVersion, version_key

__all__ = [
    "UNAUTHORIZED", "PAYMENT_REQUIRED", "FORBIDDEN", "VERSION_NOT_FOUND",
    "TargetRequest", "authorize", "check_versions", "check_maintenance", "check_target",
]

UNAUTHORIZED = error_answer(401, "Unauthorized")
PAYMENT_REQUIRED = error_answer(402, "Payment Required", "app_disabled")
FORBIDDEN = error_answer(403, "Forbidden")
VERSION_NOT_FOUND = error_answer(404, "Version not found", "not_found")


def authorize(snapshot: Snapshot, key: Key | None, now: float) -> AppIndex | Answer:
    """The app a presented key belongs to, or the 401/402 answer (AppCockpit mapping)."""
    if key is None:
        return UNAUTHORIZED
    record = snapshot.keys.get(key.prefix)
    # The hash is compared even for an unknown prefix so both paths cost the same.
    stored = record.sha256 if record is not None else "0" * 64
    if not secret_matches(key.secret, stored) or record is None:
        return UNAUTHORIZED
    if record.expires is not None and now >= record.expires:
        return UNAUTHORIZED
    app = snapshot.apps[record.app]
    if app.disabled:
        return PAYMENT_REQUIRED
    return app


def key_allows(snapshot: Snapshot, key: Key, environment: str | None) -> bool:
    """Whether an environment-scoped key may read ``environment``."""
    scope = snapshot.keys[key.prefix].environments
    return scope is None or environment is None or environment in scope


def check_versions(app: AppIndex, platform: str, environment: str, app_version: str,
                   api: Literal[1, 2] = 1) -> Answer:
    """AppCockpit ``/v1/versions`` (api=1) or ``/v2/versions`` (api=2) for an authorized app."""
    exact = (app.exact_v1 if api == 1 else app.exact_v2).get((platform, environment, app_version))
    if exact is not None:
        return exact
    minimum = app.minimum.get((platform, environment))
    if minimum is not None:
        try:
            older = version_key(app_version) < minimum.key  # type: ignore[operator]
        except InvalidVersion:
            older = False
        if older:
            return minimum.v1 if api == 1 else minimum.v2
    return VERSION_NOT_FOUND


def check_maintenance(snapshot: Snapshot, app: AppIndex, environment: str, at: float) -> Answer:
    """AppCockpit maintenance at the instant ``at`` (epoch seconds)."""
    plan = app.maintenance.get(environment)
    if plan is None:
        return snapshot.maintenance_off
    if plan.switch is not None:
        return plan.switch
    for start, end, answer in plan.windows:
        if start > at:
            break
        if at < end:
            return answer
    return snapshot.maintenance_off


class TargetRequest(NamedTuple):
    """What a KickIt client told us; ``None`` where it sent nothing."""

    version: str | None = None
    build: str | None = None
    platform: str | None = None
    os_version: str | None = None
    environment: str | None = None


def _holds(target: Target, request: TargetRequest) -> bool:
    checks = (
        (target.platforms, request.platform),
        (target.environments, request.environment),
    )
    for allowed, value in checks:
        if allowed is None:
            continue
        if value is None:
            if target.hard:
                return False
        elif value not in allowed:
            return False
    conditions = (
        (target.version, request.version),
        (target.build, request.build),
        (target.os_version, request.os_version),
    )
    for condition, value in conditions:
        if condition is None:
            continue
        if value is None:
            if target.hard:
                return False
        elif not condition.accepts(value):
            return False
    return True


@lru_cache(maxsize=4096)
def _target_answer(app_name: str, target: Target | None, request: TargetRequest) -> Answer:
    pinned = dict(target.pinned) if target is not None else {}
    meta = {
        "app_name": app_name,
        "version": request.version if request.version is not None else pinned.get("version"),
        "build_number": request.build if request.build is not None else pinned.get("build"),
        "platform": request.platform if request.platform is not None else pinned.get("platform"),
        "platform_version": request.os_version if request.os_version is not None else pinned.get("os_version"),
    }
    body = render_body({
        "matched": target is not None,
        "message": target.message if target is not None else None,
        "hard_deprecation": target.hard if target is not None else False,
        "target_meta": meta,
    })
    if target is None:
        return Answer(200, body, etag_of(body), "ok", None)
    return Answer(200, body, etag_of(body), "hard" if target.hard else "soft", target.rule)


def check_target(app: AppIndex, request: TargetRequest) -> Answer:
    """KickIt ``POST /api/v1/target-checks`` for an authorized app."""
    for target in app.targets:
        if _holds(target, request):
            return _target_answer(app.name, target, request)
    return _target_answer(app.name, None, request)
