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
* Time: an app whose upgrade rules change with the clock (schedules,
  deadlines, store releases) carries one view of its rules per interval; the
  instant ``at`` picks the view by bisection. Without ``at`` (or for an app
  with no timeline) the first view answers: what applies before any change.
* OS gate: a client that says its OS version, when that is older than every
  available release satisfying the rule needs, gets the app's OS message as
  a soft answer (it cannot comply), never a hard one.
* Maintenance: the environment's switch, else the scheduled window that
  contains the instant (start inclusive, end exclusive), else inactive.
"""

from __future__ import annotations

import dataclasses
import json
from bisect import bisect_right
from typing import Literal, NamedTuple

from .keys import Key, secret_matches
from .snapshot import (Answer, AppIndex, AppView, Condition, KeyRecord, Snapshot, Target, TargetRequest,
                       error_answer, etag_of)
from .versions import orderable_key

__all__ = [
    "UNAUTHORIZED", "PAYMENT_REQUIRED", "FORBIDDEN", "VERSION_NOT_FOUND",
    "TargetRequest", "Grant", "authorize", "check_versions", "check_maintenance", "check_target", "view_at",
    "app_at",
]

UNAUTHORIZED = error_answer(401, "Unauthorized")
PAYMENT_REQUIRED = error_answer(402, "Payment Required", "app_disabled")
FORBIDDEN = error_answer(403, "Forbidden")
VERSION_NOT_FOUND = error_answer(404, "Version not found", "not_found")


class Grant(NamedTuple):
    """What an authorized request holds: the key, its record in the snapshot, and its app."""

    key: Key
    record: KeyRecord
    app: AppIndex

    def allows(self, environment: str | None) -> bool:
        """The environment scope: a key limited to environments reads only those (naming none is allowed)."""
        scope = self.record.environments
        return scope is None or environment is None or environment in scope

    def default_environment(self) -> str:
        """The environment of a request that names none: the key's only one, else the app's first."""
        scope = self.record.environments
        return next(iter(scope)) if scope is not None and len(scope) == 1 else self.app.environments[0]


def authorize(snapshot: Snapshot, key: Key | None, now: float) -> Grant | Answer:
    """The grant of a presented key (its app, its scope), or the 401/402 answer (AppCockpit mapping)."""
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
    return Grant(key, record, app)


def view_at(app: AppIndex, at: float | None) -> AppView | None:
    """The app's rules at the instant ``at``; None for an app whose rules never change (use its fields)."""
    if not app.changes or at is None:
        return None
    return app.views[bisect_right(app.changes, at)]


def app_at(app: AppIndex, at: float) -> AppIndex:
    """The app as it answers at the instant ``at``: the rules of that interval, with no timeline.

    The review tools (matrix, diff, impact) compare and tabulate apps at one
    instant at a time through this.
    """
    view = view_at(app, at)
    if view is None:
        return app
    return dataclasses.replace(app, minimum=view.minimum, targets=view.targets, changes=(), views=(),
                               target_answers={})


def _older(os_version: str | None, gate: object) -> bool:
    if os_version is None or gate is None:
        return False
    key = orderable_key(os_version)
    return key is not None and key < gate  # type: ignore[operator]


def check_versions(app: AppIndex, platform: str, environment: str, app_version: str,
                   api: Literal[1, 2] = 1, at: float | None = None, os_version: str | None = None) -> Answer:
    """AppCockpit ``/v1/versions`` (api=1) or ``/v2/versions`` (api=2) for an authorized app, at ``at``."""
    exact = (app.exact_v1 if api == 1 else app.exact_v2).get((platform, environment, app_version))
    if exact is not None:
        return exact
    changes = app.changes  # the view of the instant, inline: this is the hot path
    rules = app.views[bisect_right(changes, at)].minimum if changes and at is not None else app.minimum
    minimum = rules.get((platform, environment))
    if minimum is not None:
        key = orderable_key(app_version)
        if key is not None and key < minimum.key:
            if minimum.os_gate is not None and _older(os_version, minimum.os_gate):
                return minimum.os_v1 if api == 1 else minimum.os_v2  # type: ignore[return-value]
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


def _holds(target: Target, request: TargetRequest) -> bool:
    for field, test in target.checks:
        value = request[field]
        if value is None:
            if target.hard:
                return False  # a hard target needs evidence
        elif type(test) is Condition:  # `type() is`: the hot path's cheapest test
            if not test.accepts(value):
                return False
        elif value not in test:  # a set of allowed strings
            return False
    return True


# Per app, at most this many rendered target answers are kept; then the cache starts over.
TARGET_CACHE = 4096
_json_string = json.encoder.encode_basestring  # the C encoder json.dumps uses, without the call overhead


def _text(value: str | None) -> str:
    return "null" if value is None else _json_string(value)


def _render_target(app: AppIndex, target: Target | None, gated: bool, request: TargetRequest) -> Answer:
    pinned = dict(target.pinned) if target is not None else {}
    version = request.version if request.version is not None else pinned.get("version")
    build = request.build if request.build is not None else pinned.get("build")
    platform = request.platform if request.platform is not None else pinned.get("platform")
    os_version = request.os_version if request.os_version is not None else pinned.get("os_version")
    hard = target is not None and target.hard and not gated
    if target is None:
        head = '{"matched":false,"message":null,"hard_deprecation":false,'
    else:
        head = '{"matched":true,"message":%s,"hard_deprecation":%s,' % (
            _text(target.os_message if gated else target.message), "true" if hard else "false")
    text = head + '"target_meta":{"app_name":%s,"version":%s,"build_number":%s,"platform":%s,"platform_version":%s}}' % (
        _text(app.name), _text(version), _text(build), _text(platform), _text(os_version))
    body = text.encode("utf-8", "surrogatepass")
    if target is None:
        return Answer(200, body, etag_of(body), "ok", None)
    hard_from = None if hard or gated else target.hard_from
    return Answer(200, body, etag_of(body), "hard" if hard else "soft", target.rule, hard_from)


def check_target(app: AppIndex, request: TargetRequest, at: float | None = None) -> Answer:
    """KickIt ``POST /api/v1/target-checks`` for an authorized app, at ``at``."""
    changes = app.changes
    view = app.views[bisect_right(changes, at)] if changes and at is not None else None
    targets, base = (app.targets, 0) if view is None else (view.targets, view.base)
    index = next((i for i, target in enumerate(targets) if _holds(target, request)), -1)
    target = targets[index] if index >= 0 else None
    gated = False
    slot = -1
    if target is not None:
        gates = target.os_gates
        gated = gates is not None and _older(request.os_version, gates.get(request.platform))  # type: ignore[arg-type]
        slot = base + 2 * index + gated
    cache = app.target_answers
    answer = cache.get((slot, request))
    if answer is None:
        answer = _render_target(app, target, gated, request)
        if len(cache) >= TARGET_CACHE:
            cache.clear()
        cache[(slot, request)] = answer
    return answer
