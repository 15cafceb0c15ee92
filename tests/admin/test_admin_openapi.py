"""The management API's OpenAPI document: every route and nothing else, kept in docs/openapi, schemathesis live."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

from starlette.routing import Route
from starlette.testclient import TestClient

from kickit_edge.admin.app import create_admin_app
from kickit_edge.runtime.openapi import admin_document, render

from .live import live_admin

REPO = Path(__file__).resolve().parents[2]


def test_every_route_is_documented_and_nothing_else(config_dir: Path) -> None:
    app = create_admin_app(str(config_dir))
    routes = {(r.path, m.lower()) for r in app.routes if isinstance(r, Route) for m in (r.methods or ()) if m != "HEAD"}
    documented = {(path, method) for path, item in admin_document()["paths"].items() for method in item}
    assert documented == routes | {("/metrics", "get"), ("/openapi.json", "get")}


def test_the_document_is_public_and_the_one_in_the_repository(config_dir: Path) -> None:
    served = TestClient(create_admin_app(str(config_dir))).get("/openapi.json")  # no token
    assert served.status_code == 200 and served.json()["openapi"] == "3.1.0"
    assert served.content == render(admin_document()) == (REPO / "docs" / "openapi" / "admin.json").read_bytes(), \
        "docs/openapi/admin.json is stale: write render(admin_document()) to it"
    # With --metrics-port, /metrics is served (and documented) on that port only.
    moved = TestClient(create_admin_app(str(config_dir), metrics_on_main_port=False))
    assert moved.get("/metrics").status_code == 401  # a path of the API like any other: the token comes first
    assert "/metrics" not in moved.get("/openapi.json").json()["paths"]


def test_schemathesis_finds_no_5xx_and_no_nonconforming_answer(config_dir: Path, token: str, tmp_path: Path) -> None:
    with live_admin(config_dir, tmp_path) as admin:
        basic = base64.b64encode(f"{token}:".encode()).decode()
        run = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "run", f"{admin.base}/openapi.json",
             "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                         "response_schema_conformance,response_headers_conformance",
             "--phases", "examples,coverage,fuzzing", "--max-examples", "15", "--seed", "1",
             "-H", f"Authorization: Basic {basic}"],
            capture_output=True, text=True, cwd=tmp_path, timeout=600,
        )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", run.stdout)
    assert selected and selected[1] == selected[2] and f"Tested: {selected[1]}" in run.stdout  # every operation
