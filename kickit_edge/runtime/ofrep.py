"""The OpenFeature Remote Evaluation Protocol (OFREP) on the edge.

Written against the OFREP OpenAPI document version 0.3.0
(github.com/open-feature/protocol, ``service/openapi.yaml``), so that any
OpenFeature SDK with an OFREP provider is a ready-made client::

    POST /ofrep/v1/evaluate/flags/{key}   one flag   (server-side, dynamic-context providers)
    POST /ofrep/v1/evaluate/flags         all flags  (client-side, static-context providers)

The flags and what they mean are in :mod:`kickit_edge.runtime.flags`. The
specification's ``/ofrep/v1/configuration`` endpoint was removed from it
(0.2.0), and no current provider asks for it, so there is none.

Request: ``X-API-Key: <key>`` or ``Authorization: Bearer <key>`` with the app's
key, and a JSON body ``{"context": {...}}`` whose attributes are
``targetingKey``, ``appId`` (defaults to the key's app), ``appVersion``,
``platform`` (``ios``, ``android``), ``environment`` (defaults as for KickIt
clients: the key's only environment, else the app's first), ``buildNumber``,
``osVersion`` and ``locale`` (``de-DE``). Other attributes are ignored.

Answers, in this order (error bodies are the specification's schemas):

1. ``503 {"errorDetails"}`` until a snapshot is loaded;
2. ``401 {"errorDetails":"Unauthorized"}``: no key, or a malformed, unknown or
   expired one; ``403 {"errorDetails":"Forbidden: ..."}``: the app is disabled;
3. ``404 {"key","errorCode":"FLAG_NOT_FOUND","errorDetails"}``: an unknown flag;
4. ``413`` past the body limit; ``400 PARSE_ERROR``: the body is not a JSON
   object; ``400 INVALID_CONTEXT``: ``context`` or one of its attributes has the
   wrong type or value (the details name it and what was expected);
5. ``403``: ``appId`` is not the key's app, or the key is limited to other
   environments;
6. ``200``: one ``evaluationSuccess``, or ``400 INVALID_CONTEXT`` when the flag
   needs an attribute the context lacks (``kickit.upgrade`` and
   ``kickit.force-update`` need ``appVersion`` and ``platform``); the bulk
   answer lists every flag, that failure included, as the specification allows.

Choices the specification leaves open: a body without ``context`` is an empty
context and ``targetingKey`` is optional (no flag splits users, and a mobile
app checks before anyone signs in); a 401 or 403 carries a
``generalErrorResponse`` body. The bulk answer's ``ETag`` is the MD5 of its
body, so it changes exactly when the answer for that context does, and a
matching ``If-None-Match`` answers ``304``.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..evaluation import Grant
from ..keys import decode_bearer, parse_key
from ..snapshot import Answer, Snapshot, etag_of, render_body
from ..vocabulary import platform_of
from .context import Decode, Runtime
from .flags import FLAG_KEYS, Context, FlagKey, Flags, SnapshotMemory, failure
from .kickit import MAX_HEADER_VALUE
from .wire import BodyTooLarge, Family, headers_of, read_body, request_id, send_answer

__all__ = ["OFREP_VERSION", "FLAGS_PATH", "OFREP", "OfrepEndpoint", "ofrep_routes"]

OFREP_VERSION = "0.3.0"
FLAGS_PATH = "/ofrep/v1/evaluate/flags"

# Request bodies up to this size have their context remembered, per worker, up to this many.
REMEMBERED_BODY = 1024
CONTEXTS = 4096

# Answers depend on the key: clients revalidate, shared caches keep nothing.
OFREP = Family(b"application/json", b"private, no-cache", b"X-API-Key, Authorization")


def _general(status: int, details: str) -> Answer:
    body = render_body({"errorDetails": details})
    return Answer(status, body, etag_of(body), "error", None)


NOT_READY = _general(503, "Service Unavailable: no snapshot loaded yet")
UNAUTHORIZED = _general(401, "Unauthorized")
APP_DISABLED = _general(403, "Forbidden: the app is disabled")
OTHER_APP = _general(403, "Forbidden: appId is not the key's app")
OTHER_ENVIRONMENT = _general(403, "Forbidden: the key is not valid for this environment")
_REFUSED = {401: UNAUTHORIZED, 402: APP_DISABLED}

_NOT_OBJECT = "the request body must be a JSON object such as {\"context\": {...}}"

# The context attributes read (all text); any other attribute is ignored.
_ATTRIBUTES = ("targetingKey", "appId", "appVersion", "platform", "environment", "buildNumber", "osVersion",
               "locale")


def _text(name: str, value: Any) -> str | None:
    """A context attribute as text; raise ValueError saying what was expected."""
    if value is None:
        return None
    if name == "buildNumber" and type(value) is int:
        value = str(value)
    if not isinstance(value, str):
        hint = " (quote it: 2.10 and 2.1 are the same number)" if name == "appVersion" else ""
        raise ValueError(f"{name} must be a string, got {json.dumps(value)[:40]}{hint}")
    if len(value) > MAX_HEADER_VALUE:
        raise ValueError(f"{name} is longer than {MAX_HEADER_VALUE} characters")
    return value.strip() or None


def read_context(grant: Grant, raw: Any, flag: str | None) -> Context | Answer:
    """The checked context, or the 400 INVALID_CONTEXT (naming ``flag`` if given) or 403 answer."""
    if not isinstance(raw, dict):
        return failure(400, "INVALID_CONTEXT", f"context must be an object, got {json.dumps(raw)[:40]}", flag)
    try:
        sent = {name: _text(name, raw.get(name)) for name in _ATTRIBUTES}
    except ValueError as exc:
        return failure(400, "INVALID_CONTEXT", str(exc), flag)
    platform = platform_of(sent["platform"]) if sent["platform"] is not None else None
    if sent["platform"] is not None and platform is None:
        return failure(400, "INVALID_CONTEXT", f"platform must be 'ios' or 'android', got {sent['platform']!r}", flag)
    app = grant.app
    if sent["appId"] is not None and sent["appId"] != app.id and sent["appId"].lower() != app.uuid.lower():
        return OTHER_APP  # the app is named by its id, or by its Kickfolio UUID
    environment = sent["environment"]
    if environment is None:
        environment = grant.default_environment()
    elif environment not in app.environments:
        return failure(400, "INVALID_CONTEXT", f"environment {environment!r} is not one of the app's "
                                               f"environments: {', '.join(app.environments)}", flag)
    elif not grant.allows(environment):
        return OTHER_ENVIRONMENT
    return Context(environment, sent["appVersion"], platform, sent["buildNumber"], sent["osVersion"],
                   sent["locale"])


class OfrepEndpoint:
    """``POST /ofrep/v1/evaluate/flags/{key}`` (one flag, for server-side providers) or, with ``bulk``,
    ``POST /ofrep/v1/evaluate/flags`` (every flag, with ETag and 304, for client-side providers).

    ``flag`` fixes the flag of an endpoint that serves one flag's own path (it
    decides without a path, so the fast path can answer it); without it, the
    flag is read from the path and an unknown one is FLAG_NOT_FOUND.
    """

    family = OFREP

    def __init__(self, runtime: Runtime, flags: Flags, contexts: SnapshotMemory[Context | Answer], *, bulk: bool,
                 flag: FlagKey | None = None) -> None:
        self.runtime = runtime
        self.flags = flags
        self.bulk = bulk
        self.flag = flag
        self.conditional = bulk  # the spec revalidates bulk answers only
        self.too_large = _general(413, f"Request body is larger than {runtime.max_body} bytes")
        self.contexts = contexts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = headers_of(scope)
        rid = request_id(headers)
        answer = await self._answer(scope, receive, headers)
        etag = headers.get(b"if-none-match") if self.conditional else None
        await send_answer(send, answer, OFREP, rid, if_none_match=etag)

    def respond(self, headers: dict[bytes, bytes], query: bytes, body: bytes, rid: bytes) -> Answer:
        admitted = self.admit(headers)
        return admitted if isinstance(admitted, Answer) else self.decide(admitted, body, self.flag)

    async def _answer(self, scope: Scope, receive: Receive, headers: dict[bytes, bytes]) -> Answer:
        admitted = self.admit(headers)
        if isinstance(admitted, Answer):
            return admitted
        flag = self.flag
        if not self.bulk and flag is None:
            asked = scope["path"].removeprefix(FLAGS_PATH + "/")
            if asked not in FLAG_KEYS:
                return failure(404, "FLAG_NOT_FOUND", f"flag {asked[:80]!r} was not found; "
                                                      f"the flags are {', '.join(FLAG_KEYS)}", asked)
            flag = asked
        try:
            raw = await read_body(receive, headers, self.runtime.max_body)
        except BodyTooLarge:
            return self.too_large
        return self.decide(admitted, raw, flag)

    def admit(self, headers: dict[bytes, bytes]) -> tuple[Snapshot, Grant] | Answer:
        """The snapshot and the key's grant, or the 503, 401 or 403 answer in OFREP's error shape."""
        active = self.runtime.state.current
        if active is None:
            return NOT_READY
        header = headers.get(b"x-api-key")
        decode: Decode = parse_key
        if header is None:
            header = headers.get(b"authorization")
            decode = decode_bearer
        grant = self.runtime.authorize_header(active.snapshot, header, decode)
        if isinstance(grant, Answer):  # restated in OFREP's error shape
            return _REFUSED.get(grant.status) or _general(grant.status, json.loads(grant.body)["error"])
        return active.snapshot, grant

    def decide(self, admitted: tuple[Snapshot, Grant], raw: bytes, flag: FlagKey | None) -> Answer:
        snapshot, grant = admitted
        context = self.context(raw, snapshot, grant, flag)
        if isinstance(context, Answer):
            return context
        if flag is None:
            return self.flags.evaluate_all(snapshot, grant.app, context, self.runtime.clock())
        return self.flags.evaluate(flag, snapshot, grant.app, context, self.runtime.clock())

    def context(self, raw: bytes, snapshot: Snapshot, grant: Grant, flag: str | None) -> Context | Answer:
        # A client sends the same body on every check: the context read from it is remembered.
        memo = (raw, grant.key.prefix, flag) if len(raw) <= REMEMBERED_BODY else None
        known = self.contexts.get(snapshot, memo) if memo is not None else None
        if known is not None:
            return known
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return failure(400, "PARSE_ERROR", f"the request body is not JSON; {_NOT_OBJECT}", flag)
        if not isinstance(body, dict):
            return failure(400, "PARSE_ERROR", _NOT_OBJECT, flag)
        context = read_context(grant, body.get("context", {}), flag)
        return self.contexts.put(memo, context) if memo is not None else context


def ofrep_routes(runtime: Runtime) -> list[Route]:
    """The OFREP routes, sharing one memory of rendered evaluations.

    Each flag's path is a route of its own (its endpoint knows its flag), so
    the edge's exact-path table and the fast path find it with one dict
    lookup; any other key reaches the pattern route and gets FLAG_NOT_FOUND.
    """
    flags = Flags()
    single: SnapshotMemory[Context | Answer] = SnapshotMemory(CONTEXTS)  # the one-flag endpoints share theirs
    return [
        Route(FLAGS_PATH, OfrepEndpoint(runtime, flags, SnapshotMemory(CONTEXTS), bulk=True), methods=["POST"]),
        *(Route(f"{FLAGS_PATH}/{flag}", OfrepEndpoint(runtime, flags, single, bulk=False, flag=flag),
                methods=["POST"]) for flag in FLAG_KEYS),
        Route(FLAGS_PATH + "/{key:path}", OfrepEndpoint(runtime, flags, single, bulk=False), methods=["POST"]),
    ]
