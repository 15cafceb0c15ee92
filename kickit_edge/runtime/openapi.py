"""The OpenAPI 3.1 document of the edge's check API, served at ``GET /openapi.json``.

Built here, from the same route table as the app (``tests`` check that every
route is documented and nothing else, that ``docs/openapi/edge.json`` is this
document, and run schemathesis against a live edge). Error answers of every
operation share one shape, the seeds' ``{"error": "..."}``.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Receive, Scope, Send

from .. import __version__
from .cors import CHECK_HEADERS

__all__ = ["edge_document", "admin_document", "OpenApiEndpoint", "EDGE_OPERATIONS", "render"]

_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
_NULLABLE_STRING = {"type": ["string", "null"]}
_VERSIONS_V1 = {"type": "object", "required": ["version", "platform", "force_update"], "properties": {
    "version": {"type": "string"}, "platform": {"type": "string"}, "force_update": {"type": "boolean"},
    "update_message": _NULLABLE_STRING}}
_VERSIONS_V2 = {"type": "object", "required": ["version", "platform", "force_update"], "properties": {
    "version": {"type": "string"}, "platform": {"type": "string"}, "force_update": {"type": "boolean"},
    "default_update_message": _NULLABLE_STRING,
    "update_messages": {"type": ["object", "null"], "additionalProperties": {"type": "string"}}}}
_MAINTENANCE = {"type": "object", "required": ["active", "links"], "properties": {
    "active": {"type": "boolean"}, "title": _NULLABLE_STRING, "description": _NULLABLE_STRING,
    "links": {"type": "array", "items": {"type": "object", "properties": {
        "title": {"type": "string"}, "url": {"type": "string"}}}}}}
_AUTHENTICATED = {"type": "object", "required": ["success"], "properties": {
    "success": {"type": "boolean"}, "user_id": {"type": "string"}, "platform": {"type": "string"},
    "app_version": {"type": "string"}}}
_TARGET_CHECK = {"type": "object", "required": ["matched"], "properties": {
    "matched": {"type": "boolean"}, "message": _NULLABLE_STRING, "hard_deprecation": {"type": ["boolean", "null"]},
    "target_meta": {"type": ["object", "null"]}}}
_OFREP_ERROR = {"type": "object", "properties": {
    "key": {"type": "string"}, "errorCode": {"type": "string"}, "errorDetails": {"type": "string"}}}
_OFREP_SUCCESS = {"type": "object", "required": ["key", "value"], "properties": {
    "key": {"type": "string"}, "value": {}, "reason": {"type": "string"}, "variant": {"type": "string"},
    "metadata": {"type": "object"}}}
_OFREP_CONTEXT = {"type": "object", "properties": {"context": {"type": "object"}}}
_READY = {"type": "object", "required": ["ready", "snapshot"], "properties": {
    "ready": {"type": "boolean"}, "draining": {"type": "boolean"}, "snapshot": _NULLABLE_STRING}}


# A header value is visible ASCII and spaces (RFC 9110 field-value, without obs-text).
_HEADER_VALUE = {"type": "string", "pattern": "^[ -~]*$"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _query(*names: str) -> list[dict[str, Any]]:
    # Required by the API, but not by the document: a missing one is the seed's 400, a documented answer.
    return [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in names]


def _check(summary: str, body: dict[str, Any], *, params: list[dict[str, Any]], security: str,
           request: dict[str, Any] | None = None, revalidate: bool = True) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": _json(body, "the answer"),
                                 "default": _json(_ERROR, "an error, as the seeds word it")}
    if revalidate:
        responses["304"] = {"description": "the ETag sent in If-None-Match is current"}
        params = [*params, {"name": "If-None-Match", "in": "header", "required": False, "schema": _HEADER_VALUE}]
    operation: dict[str, Any] = {"summary": summary, "parameters": params, "security": [{security: []}],
                                 "responses": responses}
    if request is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": request}}}
    return operation


def _ofrep(summary: str, body: dict[str, Any], *, key: bool) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": _json(body, "the evaluation"),
                                 "default": _json(_OFREP_ERROR, "an error, as the OFREP specification words it")}
    params = [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}] if key else []
    if not key:
        responses["304"] = {"description": "the ETag sent in If-None-Match is current"}
        params.append({"name": "If-None-Match", "in": "header", "required": False, "schema": _HEADER_VALUE})
    return {"summary": summary, "parameters": params, "security": [{"ofrep": []}, {"bearer": []}],
            "requestBody": {"required": False, "content": {"application/json": {"schema": _OFREP_CONTEXT}}},
            "responses": responses}


def _operations() -> dict[str, dict[str, Any]]:
    versions = _query("app_id", "app_version", "platform", "environment")
    maintenance = _query("app_id", "environment")
    v1 = _check("AppCockpit: must, should or may this version upgrade", _VERSIONS_V1, params=versions,
                security="appcockpit")
    maint = _check("AppCockpit: is the backend in maintenance", _MAINTENANCE, params=maintenance,
                   security="appcockpit")
    kickit_headers = [{"name": name, "in": "header", "required": False, "schema": _HEADER_VALUE}
                      for name in CHECK_HEADERS if name.startswith("x-kickit-")]
    return {
        "/health": {"get": {"summary": "liveness", "responses": {"200": {"description": "alive (empty body)"}}}},
        "/v1/versions": {"get": v1},
        "/versions": {"get": v1},
        "/v2/versions": {"get": _check("AppCockpit: the same, with localized messages", _VERSIONS_V2,
                                       params=versions, security="appcockpit")},
        "/v1/maintenance": {"get": maint},
        "/maintenance": {"get": maint},
        "/v2/maintenance": {"get": maint},
        "/v2/authenticate": {"post": _check(
            "AppCockpit: record that a user runs this version", _AUTHENTICATED, params=[], security="appcockpit",
            revalidate=False, request={"type": "object", "required": ["user_id", "platform", "app_version"],
                                       "properties": {
                "user_id": {"type": "string", "minLength": 1}, "platform": {"type": "string", "enum": ["ios", "android"]},
                "app_version": {"type": "string", "minLength": 1}, "environment": {"type": "string"}}})},
        "/api/v1/target-checks": {"post": _check(
            "KickIt: does a target match this build", _TARGET_CHECK, params=kickit_headers, security="kickit",
            revalidate=False, request={"type": "object", "required": ["data"],
                                       "properties": {"data": {"type": "object"}}})},
        "/ofrep/v1/evaluate/flags": {"post": _ofrep(
            "OpenFeature (OFREP): every flag for this context",
            {"type": "object", "required": ["flags"], "properties": {"flags": {"type": "array"}}}, key=False)},
        "/ofrep/v1/evaluate/flags/{key}": {"post": _ofrep("OpenFeature (OFREP): one flag", _OFREP_SUCCESS, key=True)},
        "/ready": {"get": {"summary": "readiness: 200 once a snapshot is active, 503 before and while draining",
                           "responses": {"200": _json(_READY, "ready"), "503": _json(_READY, "not ready")}}},
        "/status": {"get": {"summary": "this worker's snapshot, source and event log",
                            "responses": {"200": _json({"type": "object"}, "the status")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics, summed over the workers (on this port unless "
                                        "--metrics-port moves them)",
                             "responses": {"200": {"description": "the text format",
                                                   "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/openapi.json": {"get": {"summary": "this document",
                                  "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")}}},
    }


EDGE_OPERATIONS = _operations()


def _here(paths: dict[str, Any], metrics: bool) -> dict[str, Any]:
    """``paths`` as one port serves them: without ``/metrics`` where ``--metrics-port`` moved it."""
    return paths if metrics else {path: item for path, item in paths.items() if path != "/metrics"}


def edge_document(*, metrics: bool = True) -> dict[str, Any]:
    """The check API as OpenAPI 3.1; ``metrics``: whether this port serves ``/metrics``."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "kickit-edge check API", "version": __version__,
                 "description": "The AppCockpit and KickIt check endpoints, OpenFeature (OFREP), and the "
                                "operator endpoints."},
        "paths": _here(EDGE_OPERATIONS, metrics),
        "components": {"securitySchemes": {
            "appcockpit": {"type": "apiKey", "in": "header", "name": "x-api-token",
                           "description": "the key, base64-encoded"},
            "kickit": {"type": "apiKey", "in": "header", "name": "X-API-KEY", "description": "the key as is"},
            "ofrep": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "the key as is"},
            "bearer": {"type": "http", "scheme": "bearer", "description": "the key as is"},
        }},
    }


_API_ERROR = {"type": "object", "required": ["message", "code"], "properties": {
    "message": {"type": "string"}, "code": {"type": "string"}, "errors": {"type": "array"}}}
_APP = {"type": "object", "required": ["id", "name"], "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                                                      "versions": {"type": "array"}}}
_VERSION = {"type": "object", "required": ["id", "app_id", "version_string"], "properties": {
    "id": {"type": "string"}, "app_id": {"type": "string"}, "version_string": {"type": "string"},
    "platform": {"type": "string"}, "environment": {"type": "string"}, "force_update": {"type": "boolean"}}}


def _admin(summary: str, status: str, body: dict[str, Any] | None, *, path: tuple[str, ...] = (),
           request: str | None = None) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": summary}
    if body is not None:
        ok["content"] = {"application/json": {"schema": body}}
    operation: dict[str, Any] = {
        "summary": summary, "security": [{"basic": []}],
        "parameters": [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in path],
        "responses": {status: ok, "default": _json(_API_ERROR, "an error in the Kickfolio shape")},
    }
    if request is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": [request], "properties": {request: {"type": "object"}}}}}}
    return operation


def _versions(path: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    one = {"type": "object", "required": ["version"], "properties": {"version": _VERSION}}
    many = {"type": "object", "required": ["versions"], "properties": {"versions": {"type": "array", "items": _VERSION}}}
    listing = {"get": _admin("list versions", "200", many, path=path),
               "post": _admin("create a version", "201", one, path=path, request="version")}
    item = {"get": _admin("show a version", "200", one, path=(*path, "id")),
            "put": _admin("update a version", "200", one, path=(*path, "id"), request="version"),
            "patch": _admin("update a version", "200", one, path=(*path, "id"), request="version"),
            "delete": _admin("delete a version", "204", None, path=(*path, "id"))}
    return listing, item


def admin_document(*, metrics: bool = True) -> dict[str, Any]:
    """The management API (Kickfolio v1) as OpenAPI 3.1; ``metrics``: whether this port serves ``/metrics``."""
    one = {"type": "object", "required": ["app"], "properties": {"app": _APP}}
    many = {"type": "object", "required": ["apps"], "properties": {"apps": {"type": "array", "items": _APP}}}
    versions, version = _versions(())
    app_versions, app_version = _versions(("app_id",))
    scrape = EDGE_OPERATIONS["/metrics"]["get"]
    return {
        "openapi": "3.1.0",
        "info": {"title": "kickit-edge management API", "version": __version__,
                 "description": "Kickfolio API v1: apps and versions, written back to the YAML config."},
        "paths": _here({
            "/api/apps": {"get": _admin("list apps", "200", many),
                          "post": _admin("create an app", "201", one, request="app")},
            "/api/apps/{id}": {"get": _admin("show an app", "200", one, path=("id",)),
                               "put": _admin("update an app", "200", one, path=("id",), request="app"),
                               "patch": _admin("update an app", "200", one, path=("id",), request="app"),
                               "delete": _admin("delete an app", "204", None, path=("id",))},
            "/api/versions": versions,
            "/api/versions/{id}": version,
            "/api/apps/{app_id}/versions": app_versions,
            "/api/apps/{app_id}/versions/{id}": app_version,
            "/metrics": {"get": {**scrape, "security": []}},
            "/openapi.json": {"get": {"summary": "this document", "security": [],
                                      "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")}}},
        }, metrics),
        "components": {"securitySchemes": {
            "basic": {"type": "http", "scheme": "basic",
                      "description": "an admin token as the user name (or the auth_token query parameter)"},
        }},
    }


def render(document: dict[str, Any]) -> bytes:
    """The document as served and as kept in ``docs/openapi``: sorted keys, indented, one final newline."""
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


class OpenApiEndpoint:
    """``GET /openapi.json``: a fixed body, rendered once."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.body = render(document)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(self.body)).encode("ascii"))]})
        await send({"type": "http.response.body", "body": self.body})
