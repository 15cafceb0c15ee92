"""The AppCockpit check API: versions (v1, legacy, v2), maintenance (v1, legacy, v2), authenticate.

Every check answers in the order of the seed's tables:

1. ``401 {"error":"Unauthorized"}``: no ``x-api-token``, or one that is not
   base64 of a key, or an unknown, wrong or expired key (also for any
   malformed, non-ASCII or oversized header: never a 500);
2. ``402 {"error":"Payment Required"}``: the key's app is disabled;
3. ``400 {"error":"<param> is required"}``: the first missing or empty
   parameter, in the seed's order (versions: ``app_id``, ``app_version``,
   ``platform``, ``environment``; maintenance: ``app_id``, ``environment``);
4. ``400 {"error":"platform must be 'ios' or 'android'"}``: any other
   platform; the platform is matched case-insensitively (``iOS`` is what
   iOS reports) and a version's surrounding whitespace is ignored, so a
   client's spelling never makes a forced upgrade silently not apply;
5. ``403 {"error":"Forbidden"}``: ``app_id`` is not the key's app, or the key
   is limited to environments that do not include the one asked for;
6. the answer, prebuilt in the snapshot, for the instant of the request. The
   versions check reads an optional ``os_version``: a client whose OS cannot
   run any available release that satisfies the rule gets the app's OS
   message, soft.

``POST /v2/authenticate`` checks 1 and 2, then its body (413 beyond the
limit; the seed's 400 texts in the seed's order), then 3/4 for a limited key,
then appends one event (platform recorded lower-case; the answer echoes it as sent). A field with a value that is not a string (a number,
``null``, a list) counts as missing: ``user_id is required``; an
``environment`` that is not a string is ``Invalid request body``. If the event
cannot be written the answer is the seed's ``500 {"error":"Failed to update
user version data"}``. The seed's ``404 App not found`` and ``500 Failed to
fetch user data`` cannot happen here: a key always belongs to an app of the
snapshot, and nothing is read per user.

GET and HEAD answers honour ``If-None-Match`` (304). POST never does: the
event is written and the body sent every time.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _json_string
from datetime import UTC, datetime
from typing import Literal

from starlette.types import Receive, Scope, Send

from ..evaluation import FORBIDDEN, check_maintenance, check_versions
from ..events import Event
from ..keys import decode_token
from ..snapshot import Answer, AppIndex, Snapshot, error_answer, etag_of
from ..vocabulary import platform_of
from .checks import Admitted, BodyCheck, Pending
from .context import Runtime
from .wire import APPCOCKPIT, headers_of, parse_query, request_id, send_answer

__all__ = ["VersionsEndpoint", "MaintenanceEndpoint", "AuthenticateEndpoint"]

_REQUIRED = {name: error_answer(400, f"{name} is required")
             for name in ("app_id", "app_version", "platform", "environment", "user_id")}
INVALID_BODY = error_answer(400, "Invalid request body")
BAD_PLATFORM = error_answer(400, "platform must be 'ios' or 'android'")
WRITE_FAILED = error_answer(500, "Failed to update user version data")


VERSIONS_PARAMS = ("app_id", "app_version", "platform", "environment")
MAINTENANCE_PARAMS = ("app_id", "environment")
AUTHENTICATE_FIELDS = ("user_id", "platform", "app_version")


def _admit(runtime: Runtime, headers: dict[bytes, bytes]) -> Admitted | Answer:
    return runtime.admit(headers.get(b"x-api-token"), decode_token)


class _Check:
    """A GET check: authorize, require parameters, match the app and environment, answer."""

    family = APPCOCKPIT
    conditional = True  # GET and HEAD answers honour If-None-Match
    params: tuple[str, ...] = ()
    platform_param = False  # whether ``platform`` is one of them (checked: ios or android, any case)

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def answer(self, snapshot: Snapshot, app: AppIndex, query: dict[str, str]) -> Answer:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = headers_of(scope)
        answer = self.decide(headers, scope["query_string"])
        await send_answer(send, answer, APPCOCKPIT, request_id(headers), if_none_match=headers.get(b"if-none-match"),
                          head=scope["method"] == "HEAD")

    def respond(self, headers: dict[bytes, bytes], query: bytes, body: bytes, rid: bytes) -> Answer:
        return self.decide(headers, query)

    def decide(self, headers: dict[bytes, bytes], raw_query: bytes) -> Answer:
        admitted = _admit(self.runtime, headers)
        if isinstance(admitted, Answer):
            return admitted
        snapshot, grant = admitted
        query = parse_query(raw_query)
        for name in self.params:
            if not query.get(name):
                return _REQUIRED[name]
        if self.platform_param:
            platform = platform_of(query["platform"])
            if platform is None:
                return BAD_PLATFORM
            query["platform"] = platform
        if query["app_id"] != grant.app.id or not grant.allows(query["environment"]):
            return FORBIDDEN
        return self.answer(snapshot, grant.app, query)


class VersionsEndpoint(_Check):
    """``GET /v1/versions``, ``/versions`` (api 1) and ``/v2/versions`` (api 2)."""

    params = VERSIONS_PARAMS
    platform_param = True

    def __init__(self, runtime: Runtime, api: Literal[1, 2]) -> None:
        super().__init__(runtime)
        self.api: Literal[1, 2] = api

    def answer(self, snapshot: Snapshot, app: AppIndex, query: dict[str, str]) -> Answer:
        at = self.runtime.clock() if app.changes else None  # only an app whose answers change with time asks
        return check_versions(app, query["platform"], query["environment"], query["app_version"].strip(), self.api,
                              at, query.get("os_version"))


class MaintenanceEndpoint(_Check):
    """``GET /v1/maintenance``, ``/maintenance``, ``/v2/maintenance``, evaluated at request time."""

    params = MAINTENANCE_PARAMS

    def answer(self, snapshot: Snapshot, app: AppIndex, query: dict[str, str]) -> Answer:
        return check_maintenance(snapshot, app, query["environment"], self.runtime.clock())


def _text(value: object) -> str | None:
    """A usable string field, or None for a missing, empty or non-string one."""
    return value if isinstance(value, str) and value.strip() else None


class AuthenticateEndpoint(BodyCheck):
    """``POST /v2/authenticate``: validate, append one event, echo."""

    family = APPCOCKPIT

    def admit(self, headers: dict[bytes, bytes]) -> Admitted | Answer:
        return _admit(self.runtime, headers)

    def decide(self, admitted: Admitted, headers: dict[bytes, bytes], raw: bytes, rid: bytes) -> Answer | Pending:
        snapshot, grant = admitted
        runtime = self.runtime
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
            return INVALID_BODY
        if not isinstance(body, dict):
            return INVALID_BODY
        user, sent_platform, version = (_text(body.get(name)) for name in AUTHENTICATE_FIELDS)
        if user is None:
            return _REQUIRED["user_id"]
        if sent_platform is None:
            return _REQUIRED["platform"]
        if version is None:
            return _REQUIRED["app_version"]
        platform = platform_of(sent_platform)
        if platform is None:
            return BAD_PLATFORM
        environment = body.get("environment")
        if environment is not None and not isinstance(environment, str):
            return INVALID_BODY
        environment = environment or None
        if not grant.allows(environment):
            return FORBIDDEN
        event = Event(
            time=datetime.fromtimestamp(runtime.clock(), UTC), type="authenticate", app=grant.app.id,
            request_id=rid.decode("ascii"), user=user, platform=platform, app_version=version.strip(),
            environment=environment, snapshot=snapshot.revision or snapshot.id,
        )
        # The seed's echo, joined from strings encoded by json's C encoder (no
        # dumps call overhead); ASCII escapes keep any client text valid JSON.
        rendered = ('{"success":true,"user_id":%s,"platform":%s,"app_version":%s}' % (
            _json_string(user), _json_string(sent_platform), _json_string(version))).encode("ascii")
        return Pending(event, Answer(200, rendered, etag_of(rendered), "ok", None), WRITE_FAILED)
