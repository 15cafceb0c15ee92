"""The KickIt check API: ``POST /api/v1/target-checks``.

Request: ``X-API-KEY: <prefix>.<secret>``, optional ``X-KICKIT-APP-NAME``,
``-APP-VERSION``, ``-BUILD-NUMBER``, ``-PLATFORM``, ``-PLATFORM-OS-VERSION``
and ``-ENVIRONMENT`` headers, and a JSON body ``{"data": {...}}``. Any header
may be missing: the seed's own example sends only the key and the version.

Order of answers (errors in the AppCockpit shape ``{"error": "..."}``):

1. ``401 Unauthorized``: missing, malformed or unknown/expired key;
2. ``402 Payment Required``: the key's app is disabled;
3. ``413``: the body is larger than the limit;
4. ``400 Invalid request body``: not JSON, or not a JSON object;
   ``400 data is required``: no ``data``; ``400 data must be an object``;
   ``400 X-KICKIT-... is longer than 128 characters``;
   ``400 platform must be 'ios' or 'android'``: ``X-KICKIT-PLATFORM`` is
   another value (it is matched case-insensitively: ``iOS`` is ``ios``);
5. ``403 Forbidden``: ``X-KICKIT-APP-NAME`` was sent and is not the key's
   app's name, or the key is limited to environments without the one asked for;
6. ``200`` with ``matched``, ``message``, ``hard_deprecation``, ``target_meta``.

The environment is ``X-KICKIT-ENVIRONMENT`` if sent, else the key's
environment if the key is limited to exactly one, else the app's first
environment. Each answered check appends one event with the client's
``data``; if the event cannot be written the check still answers (it only
reads), and the failure is logged and shown on the status endpoint.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ..evaluation import FORBIDDEN, TargetRequest, check_target
from ..events import Event
from ..keys import parse_key
from ..snapshot import Answer, error_answer
from ..vocabulary import UPGRADE_VERDICTS, UpgradeVerdict, platform_of
from .appcockpit import BAD_PLATFORM, INVALID_BODY
from .checks import Admitted, BodyCheck, Pending
from .wire import KICKIT

__all__ = ["TargetChecksEndpoint", "MAX_HEADER_VALUE"]

MAX_HEADER_VALUE = 128
# A target check answers ok, soft or hard (an upgrade verdict, as events record it).
_UPGRADE: dict[str, UpgradeVerdict] = {verdict: verdict for verdict in UPGRADE_VERDICTS}
DATA_REQUIRED = error_answer(400, "data is required")
DATA_NOT_OBJECT = error_answer(400, "data must be an object")

# (request header, TargetRequest field)
_FIELDS = (
    (b"x-kickit-app-version", "version"),
    (b"x-kickit-build-number", "build"),
    (b"x-kickit-platform", "platform"),
    (b"x-kickit-platform-os-version", "os_version"),
    (b"x-kickit-environment", "environment"),
    (b"x-kickit-app-name", "app_name"),
)
_TOO_LONG = {header: error_answer(400, f"{header.decode().upper()} is longer than {MAX_HEADER_VALUE} characters")
             for header, _ in _FIELDS}


class TargetChecksEndpoint(BodyCheck):
    family = KICKIT

    def admit(self, headers: dict[bytes, bytes]) -> Admitted | Answer:
        return self.runtime.admit(headers.get(b"x-api-key"), parse_key)

    def decide(self, admitted: Admitted, headers: dict[bytes, bytes], raw: bytes, rid: bytes) -> Answer | Pending:
        snapshot, grant = admitted
        runtime = self.runtime
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return INVALID_BODY
        if not isinstance(body, dict):
            return INVALID_BODY
        if "data" not in body:
            return DATA_REQUIRED
        data = body["data"]
        if not isinstance(data, dict):
            return DATA_NOT_OBJECT
        sent: dict[str, str | None] = {}
        for header, name in _FIELDS:
            value = headers.get(header)
            if value is not None and len(value) > MAX_HEADER_VALUE:
                return _TOO_LONG[header]
            # Header bytes are Latin-1 by HTTP; an empty header is a header not sent.
            text = value.decode("latin-1").strip() if value is not None else ""
            sent[name] = text or None
        app = grant.app
        if sent["platform"] is not None:
            sent["platform"] = platform_of(sent["platform"])
            if sent["platform"] is None:
                return BAD_PLATFORM
        if sent["app_name"] is not None and sent["app_name"] != app.name:
            return FORBIDDEN
        if not grant.allows(sent["environment"]):
            return FORBIDDEN
        environment = sent["environment"] or grant.default_environment()
        request = TargetRequest(sent["version"], sent["build"], sent["platform"], sent["os_version"], environment)
        now = runtime.clock()
        answer = check_target(app, request, now if app.changes else None)
        event = Event(
            time=datetime.fromtimestamp(now, UTC), type="target_check", app=app.id,
            request_id=rid.decode("ascii"), platform=request.platform, app_version=request.version,
            environment=environment, snapshot=snapshot.revision or snapshot.id, build_number=request.build,
            os_version=request.os_version, verdict=_UPGRADE[answer.verdict],
            rule=answer.rule, data=data,
        )
        return Pending(event, answer, answer)  # the check only reads: it answers even if the event is lost
