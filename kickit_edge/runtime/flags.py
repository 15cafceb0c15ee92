"""The OFREP flags: our verdicts restated as OpenFeature flag evaluations.

Every flag is answered by the shared evaluation (:mod:`kickit_edge.evaluation`),
the very calls behind the seed endpoints; this module only restates the
:class:`~kickit_edge.snapshot.Answer` it gets as an OFREP evaluation:

=======================  =======  ====================================================
flag                     type     value
=======================  =======  ====================================================
``kickit.upgrade``       string   ``none``, ``soft`` or ``hard``: the AppCockpit
                                  versions check (``/v2/versions``) for the context
``kickit.force-update``  boolean  true exactly when ``kickit.upgrade`` is ``hard``
``kickit.maintenance``   boolean  the AppCockpit maintenance check, now
``kickit.target``        string   ``none``, ``soft`` or ``hard``: the KickIt target check
=======================  =======  ====================================================

``variant`` is the value as text, ``reason`` is ``TARGETING_MATCH`` when a rule
answered and ``DEFAULT`` when none did, and ``metadata`` (strings only, as
OFREP's metadata allows) carries ``rule``, the ``message`` in the context's
best locale (the exact locale, then its language, then the app's default),
``hardFrom`` (the deadline of a soft answer, as ``X-Kickit-Hard-From``), the
platform's ``storeUrl`` for the upgrade flags, and ``title``,
``description`` and ``links`` (JSON text of ``[{"title", "url"}]``) for
maintenance.

A rendered evaluation depends only on the evaluation's answer (an object of the
snapshot, or of its bounded target cache), the platform and the locale, so it
is rendered once per snapshot and then found by a dict lookup, as the seed
endpoints find their prebuilt bodies.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any, Generic, Literal, NamedTuple, TypeVar, get_args

from ..evaluation import check_maintenance, check_target, check_versions
from ..snapshot import Answer, AppIndex, Snapshot, TargetRequest, etag_of, render_body

__all__ = ["FlagKey", "FLAG_KEYS", "Context", "Flags", "SnapshotMemory", "failure"]

V = TypeVar("V")

FlagKey = Literal["kickit.upgrade", "kickit.force-update", "kickit.maintenance", "kickit.target"]
FLAG_KEYS: tuple[FlagKey, ...] = get_args(FlagKey)
ErrorCode = Literal["PARSE_ERROR", "TARGETING_KEY_MISSING", "INVALID_CONTEXT", "GENERAL", "FLAG_NOT_FOUND"]

# Rendered evaluations kept per worker; past this the memory starts over.
RENDERED = 8192


class Context(NamedTuple):
    """The evaluation context, checked; ``None`` where the client sent nothing."""

    environment: str
    app_version: str | None = None
    platform: str | None = None
    build: str | None = None
    os_version: str | None = None
    locale: str | None = None


def failure(status: int, code: ErrorCode, details: str, key: str | None = None) -> Answer:
    """An OFREP error body: ``evaluationFailure`` with a key, ``bulkEvaluationFailure`` without."""
    value: dict[str, str] = {"key": key} if key is not None else {}
    value.update(errorCode=code, errorDetails=details)
    body = render_body(value)
    return Answer(status, body, etag_of(body), "error", None)


# What the upgrade flags need from the context; the other flags evaluate without it.
_NEEDS = {"appVersion": "app_version", "platform": "platform"}
_MISSING = {
    (flag, name): failure(400, "INVALID_CONTEXT", f"{name} is required to evaluate {flag}", flag)
    for flag in ("kickit.upgrade", "kickit.force-update") for name in _NEEDS
}


def _best_text(texts: dict[str, str], default_locale: str, locale: str | None) -> str | None:
    """The text in ``locale`` (``de-DE``, ``de_DE``), else in its language (``de``), else the default."""
    if locale:
        wanted = locale.replace("_", "-").lower()
        by_tag = {tag.replace("_", "-").lower(): text for tag, text in texts.items()}
        while wanted:
            if wanted in by_tag:
                return by_tag[wanted]
            wanted = wanted.rpartition("-")[0]
    return texts.get(default_locale)


def _evaluation(key: str, value: str | bool, rule: str | None, metadata: dict[str, str | None],
                verdict: Any) -> Answer:
    variant = ("true" if value else "false") if isinstance(value, bool) else value
    if rule is not None:
        metadata = {"rule": rule, **metadata}
    body = render_body({
        "key": key, "value": value, "reason": "TARGETING_MATCH" if rule is not None else "DEFAULT",
        "variant": variant, "metadata": {name: text for name, text in metadata.items() if text is not None},
    })
    return Answer(200, body, etag_of(body), verdict, rule)


def _target_texts(app: AppIndex, rule: str | None) -> dict[str, str]:
    """The message texts of the target named ``rule``, in whichever interval of time it is found."""
    for targets in (app.targets, *(view.targets for view in app.views)):
        for target in targets:
            if target.rule == rule:
                return dict(target.texts) or {app.default_locale: target.message}
    return {}


class SnapshotMemory(Generic[V]):
    """Values worked out under one snapshot, kept until the snapshot changes or the memory is full.

    A new snapshot starts an empty memory: its answers are new objects, and
    its keys and environments may differ. Past ``limit`` entries the memory
    starts over, so no client can make a worker hold more.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._values: dict[Hashable, V] = {}
        self._for: Snapshot | None = None

    def get(self, snapshot: Snapshot, key: Hashable) -> V | None:
        if self._for is not snapshot:
            self._values.clear()
            self._for = snapshot
        return self._values.get(key)

    def put(self, key: Hashable, value: V) -> V:
        if len(self._values) >= self.limit:
            self._values.clear()
        self._values[key] = value
        return value


class Flags:
    """Evaluates the flags for one worker, keeping each rendered evaluation for the snapshot's life."""

    def __init__(self) -> None:
        self.rendered: SnapshotMemory[Answer] = SnapshotMemory(RENDERED)

    def evaluate(self, flag: FlagKey, snapshot: Snapshot, app: AppIndex, context: Context, now: float) -> Answer:
        """One flag's evaluation: a 200 ``evaluationSuccess`` or a 400 ``evaluationFailure``."""
        if flag == "kickit.maintenance":
            source = check_maintenance(snapshot, app, context.environment, now)
            cache_key: Hashable = (flag, app.id, source)
        elif flag == "kickit.target":
            source = check_target(app, TargetRequest(
                context.app_version, context.build, context.platform, context.os_version, context.environment), now)
            cache_key = (flag, app.id, source, context.locale)
        else:
            for name, field in _NEEDS.items():
                if getattr(context, field) is None:
                    return _MISSING[(flag, name)]
            source = check_versions(app, context.platform, context.environment,  # type: ignore[arg-type]
                                    context.app_version, 2, now, context.os_version)  # type: ignore[arg-type]
            cache_key = (flag, app.id, source, context.platform, context.locale)
        rendered = self.rendered.get(snapshot, cache_key)
        if rendered is None:
            rendered = self.rendered.put(cache_key, self._render(flag, app, source, context))
        return rendered

    def evaluate_all(self, snapshot: Snapshot, app: AppIndex, context: Context, now: float) -> Answer:
        """The bulk answer: every flag, successes and failures, in one ``bulkEvaluationSuccess``."""
        parts = tuple(self.evaluate(flag, snapshot, app, context, now) for flag in FLAG_KEYS)
        cache_key = ("bulk", *parts)
        bulk = self.rendered.get(snapshot, cache_key)
        if bulk is None:
            body = b'{"flags":[' + b",".join(part.body for part in parts) + b"]}"
            bulk = self.rendered.put(cache_key, Answer(200, body, etag_of(body), "ok", None))
        return bulk

    def _render(self, flag: FlagKey, app: AppIndex, source: Answer, context: Context) -> Answer:
        if flag == "kickit.maintenance":
            notice = json.loads(source.body)
            links = render_body(notice["links"]).decode("utf-8") if notice["active"] else None
            return _evaluation(flag, notice["active"], source.rule, {
                "title": notice["title"], "description": notice["description"], "links": links}, source.verdict)
        value = source.verdict if source.verdict in ("soft", "hard") else "none"
        if flag == "kickit.target":
            sent = json.loads(source.body)["message"] if value != "none" else None
            texts = _target_texts(app, source.rule)
            # An OS-gated answer says the app's OS message instead of the target's: it is sent as is.
            message = _best_text(texts, app.default_locale, context.locale) if sent == texts.get(
                app.default_locale) else sent
            return _evaluation(flag, value, source.rule, {"message": message, "hardFrom": source.hard_from},
                               source.verdict)
        message = None
        if value != "none":
            answer = json.loads(source.body)
            texts = answer["update_messages"] or {}
            message = _best_text(texts, app.default_locale, context.locale) or answer["default_update_message"]
        metadata = {"message": message, "storeUrl": app.store_urls.get(context.platform or ""),
                    "hardFrom": source.hard_from}
        if flag == "kickit.force-update":
            return _evaluation(flag, value == "hard", source.rule, metadata, source.verdict)
        return _evaluation(flag, value, source.rule, metadata, source.verdict)
