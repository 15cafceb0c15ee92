"""Errors of the management API, answered in the Kickfolio shape.

Every client mistake becomes one of these and is answered as
``{"message": ..., "code": ..., "errors": [...]}`` (``errors`` only on
``record_invalid``); the codes are stable strings, documented in the README::

    ApiError                  base: status, code, message
    +-- BadRequest            400 bad_request         the body is not a JSON object, a parameter is malformed
    +-- Unauthorized          401 unauthorized        no token, an unknown or expired one
    +-- NotFound              404 not_found           no such route, app or version
    +-- MethodNotAllowed      405 method_not_allowed  the route exists, the verb does not
    +-- NotAcceptable         406 not_acceptable      an API version or media type this server does not speak
    +-- ConfigInvalid         409 config_invalid      the YAML on disk is invalid; fix it before writing through the API
    +-- Conflict              409 conflict            the file to write has uncommitted changes made by someone else
    +-- PayloadTooLarge       413 payload_too_large   the body is larger than the limit
    +-- RecordInvalid         422 record_invalid      one or more fields are invalid; ``errors`` lists each one

An unexpected failure is answered 500 ``internal_error`` without details.
These are not :class:`~kickit_edge.errors.KickitError`: they never reach the
CLI, only the wire.
"""

from __future__ import annotations

import json
from typing import Any, Literal, NamedTuple

__all__ = [
    "ErrorCode", "FieldError", "ApiError", "BadRequest", "Unauthorized", "NotFound", "MethodNotAllowed",
    "NotAcceptable", "ConfigInvalid", "Conflict", "PayloadTooLarge", "RecordInvalid", "error_body", "INTERNAL_ERROR",
    "shown",
]

ErrorCode = Literal[
    "bad_request", "unauthorized", "not_found", "method_not_allowed", "not_acceptable", "config_invalid", "conflict",
    "payload_too_large", "record_invalid", "internal_error",
]
Resource = Literal["App", "Version", "ConfigTest", "Config"]

# Error bodies echo the client's input; this bounds each echoed value and each message.
MAX_SHOWN = 80
MAX_MESSAGE = 500
MAX_FIELD_ERRORS = 50


def shown(value: Any) -> str:
    """A client's value as an error message quotes it: JSON, cut short when long."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


class FieldError(NamedTuple):
    """One invalid field: the Kickfolio ``errors[]`` entry."""

    field: str
    resource: Resource
    message: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "resource": self.resource, "message": _bounded(self.message)}


class ApiError(Exception):
    status: int = 500
    code: ErrorCode = "internal_error"

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"message": _bounded(self.message), "code": self.code}


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str) -> None:
        super().__init__(message, {"WWW-Authenticate": 'Basic realm="kickit-edge admin"'})


class NotFound(ApiError):
    status, code = 404, "not_found"


class MethodNotAllowed(ApiError):
    status, code = 405, "method_not_allowed"


class NotAcceptable(ApiError):
    status, code = 406, "not_acceptable"


class ConfigInvalid(ApiError):
    status, code = 409, "config_invalid"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class RecordInvalid(ApiError):
    status, code = 422, "record_invalid"

    def __init__(self, resource: Resource, errors: list[FieldError]) -> None:
        fields = ", ".join(dict.fromkeys(e.field for e in errors))
        super().__init__(f"{resource} is invalid: {fields}" if fields else f"{resource} is invalid")
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body = super().body()
        body["errors"] = [e.as_json() for e in self.errors[:MAX_FIELD_ERRORS]]
        return body


INTERNAL_ERROR = ApiError("Internal server error: the failure was logged; please try again later")


def error_body(error: ApiError) -> bytes:
    return json.dumps(error.body(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
