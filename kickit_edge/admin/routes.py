"""The routes of the Kickfolio API v1: read the request, call the store or the editor, wrap the answer.

Bodies are JSON whatever the ``Content-Type`` says (the seed's own curl
examples send JSON as form data), wrapped (``{"app": {...}}``) or not.
Reads and writes run in the thread pool: they touch files and take locks.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .editor import Editor
from .errors import BadRequest, PayloadTooLarge
from .mapping import version_resource
from .store import ConfigStore

__all__ = ["build_routes", "one_route", "MAX_BODY_BYTES"]

Handler = Callable[[Request], Awaitable[Response]]

MAX_BODY_BYTES = 1024 * 1024
EXAMPLE = {"app": '{"app": {"name": "My App"}}', "version": '{"version": {"version_string": "2.6.0", "bundle_url": "https://..."}}'}


async def read_body(request: Request, wrapper: str, limit: int) -> dict[str, Any]:
    """The request's attributes: the JSON object under ``wrapper``, or the top-level object."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not UTF-8 (byte {exc.start}): send JSON such as {EXAMPLE[wrapper]}") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"the body is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): "
                         f"send JSON such as {EXAMPLE[wrapper]}") from None
    except (ValueError, RecursionError):  # an integer of thousands of digits, nesting thousands deep
        raise BadRequest(f"the body is JSON no attribute can hold: send JSON such as {EXAMPLE[wrapper]}") from None
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("the body holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text") from None
    if not isinstance(data, dict):
        raise BadRequest(f"the body must be a JSON object such as {EXAMPLE[wrapper]}, got a {type(data).__name__}")
    if wrapper in data:
        inner = data[wrapper]
        if not isinstance(inner, dict):
            raise BadRequest(f"\"{wrapper}\" must be a JSON object such as {EXAMPLE[wrapper]}")
        return inner
    return {k: v for k, v in data.items() if k != "auth_token"}


def requested_ids(request: Request) -> set[str] | None:
    """The ``ids`` filter: ``ids[]=a&ids[]=b``, ``ids=a,b`` or ``ids=a&ids=b``; None when absent."""
    raw = request.query_params.getlist("ids[]") + request.query_params.getlist("ids")
    if not raw:
        return None
    return {part.strip().lower() for item in raw for part in item.split(",") if part.strip()}


def _json(content: Any, status: int = 200, location: str | None = None) -> JSONResponse:
    headers = {"Location": location} if location else None
    return JSONResponse(content, status_code=status, headers=headers)


class Endpoints:
    def __init__(self, store: ConfigStore, editor: Editor, max_body: int) -> None:
        self.store = store
        self.editor = editor
        self.max_body = max_body

    # --- apps ----------------------------------------------------------------------

    async def list_apps(self, request: Request) -> Response:
        catalog = await run_in_threadpool(self.store.current)
        ids = requested_ids(request)
        apps = [catalog.app_resource(a) for a in catalog.apps if ids is None or a.uuid in ids]
        return _json({"apps": apps})

    async def show_app(self, request: Request) -> Response:
        catalog = await run_in_threadpool(self.store.current)
        app = catalog.find_app(request.path_params["id"])
        return _json({"app": catalog.app_resource(app)})

    async def create_app(self, request: Request) -> Response:
        data = await read_body(request, "app", self.max_body)
        app = await run_in_threadpool(self.editor.create_app, data, request.state.admin)
        return _json({"app": app}, 201, f"/api/apps/{app['id']}")

    async def update_app(self, request: Request) -> Response:
        data = await read_body(request, "app", self.max_body)
        app = await run_in_threadpool(self.editor.update_app, request.path_params["id"], data,
                                      request.state.admin)
        return _json({"app": app})

    async def delete_app(self, request: Request) -> Response:
        await run_in_threadpool(self.editor.delete_app, request.path_params["id"], request.state.admin)
        return Response(status_code=204)

    # --- versions ------------------------------------------------------------------

    async def list_versions(self, request: Request) -> Response:
        catalog = await run_in_threadpool(self.store.current)
        app_ident = request.path_params.get("app_id")
        app = catalog.find_app(app_ident) if app_ident is not None else None
        ids = requested_ids(request)
        versions = [version_resource(v) for v in catalog.versions(app) if ids is None or v.id in ids]
        return _json({"versions": versions})

    async def show_version(self, request: Request) -> Response:
        catalog = await run_in_threadpool(self.store.current)
        ref = catalog.find_version(request.path_params["id"], request.path_params.get("app_id"))
        return _json({"version": version_resource(ref)})

    async def create_version(self, request: Request) -> Response:
        data = await read_body(request, "version", self.max_body)
        version = await run_in_threadpool(self.editor.create_version, request.path_params.get("app_id"), data,
                                          request.state.admin)
        return _json({"version": version}, 201, f"/api/versions/{version['id']}")

    async def update_version(self, request: Request) -> Response:
        data = await read_body(request, "version", self.max_body)
        version = await run_in_threadpool(self.editor.update_version, request.path_params["id"],
                                          request.path_params.get("app_id"), data, request.state.admin)
        return _json({"version": version})

    async def delete_version(self, request: Request) -> Response:
        await run_in_threadpool(self.editor.delete_version, request.path_params["id"],
                                request.path_params.get("app_id"), request.state.admin)
        return Response(status_code=204)


def one_route(path: str, **handlers: Handler) -> Route:
    """One route per path, so a 405's ``Allow`` lists every method the path answers.

    ``handlers`` maps a method (``get=...``) to its endpoint; HEAD is answered
    as GET and PATCH as PUT (the seed's updates take either).
    """
    by_method = {method.upper(): handler for method, handler in handlers.items()}
    for alias, method in (("HEAD", "GET"), ("PATCH", "PUT")):
        if method in by_method:
            by_method[alias] = by_method[method]

    async def endpoint(request: Request) -> Response:
        return await by_method[request.method](request)

    return Route(path, endpoint, methods=list(by_method))


def build_routes(store: ConfigStore, editor: Editor, max_body: int = MAX_BODY_BYTES) -> list[Route]:
    e = Endpoints(store, editor, max_body)
    return [
        one_route("/api/apps", get=e.list_apps, post=e.create_app),
        one_route("/api/apps/{id}", get=e.show_app, put=e.update_app, delete=e.delete_app),
        one_route("/api/versions", get=e.list_versions, post=e.create_version),
        one_route("/api/versions/{id}", get=e.show_version, put=e.update_version, delete=e.delete_version),
        one_route("/api/apps/{app_id}/versions", get=e.list_versions, post=e.create_version),
        one_route("/api/apps/{app_id}/versions/{id}", get=e.show_version, put=e.update_version,
                  delete=e.delete_version),
    ]
