"""The edge's OpenAPI document: every route and nothing else, kept in docs/openapi, and schemathesis against a live edge."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from starlette.routing import Route
from starlette.testclient import TestClient

from kickit_edge.runtime.openapi import edge_document, render

from .conftest import DEMO_KEY, REPO, SHOP_KEY, StartServer, token


def test_every_route_is_documented_and_nothing_else(client: TestClient) -> None:
    documented = {(path, method) for path, item in edge_document()["paths"].items() for method in item}
    templates = [(re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", path) + "$"), path, method)
                 for path, method in documented]
    routes = {(re.sub(r"\{(\w+):\w+\}", r"{\1}", r.path), m.lower())  # {key:path} is {key}
              for r in client.app.routes if isinstance(r, Route)  # type: ignore[attr-defined]
              for m in (r.methods or ()) if m != "HEAD"}
    # A route is documented by its own path or by the template it is one case of (one flag's path).
    covered = {(template, method) for path, m in routes for regex, template, method in templates
               if m == method and (path == template or regex.match(path))}
    assert covered == documented and all(any(m == method and (path == t or regex.match(path))
                                             for regex, t, method in templates) for path, m in routes)


def test_the_served_document_is_the_one_in_the_repository(client: TestClient) -> None:
    served = client.get("/openapi.json")
    assert served.status_code == 200 and served.json()["openapi"] == "3.1.0"
    kept = (REPO / "docs" / "openapi" / "edge.json").read_bytes()
    assert served.content == render(edge_document()) == kept, \
        "docs/openapi/edge.json is stale: write render(edge_document()) to it"


def test_schemathesis_finds_no_5xx_and_no_nonconforming_answer(start_server: StartServer, snapshots: Path,
                                                              tmp_path: Path) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(tmp_path), "--access-log", "false")
    run = subprocess.run(
        [str(Path(sys.executable).parent / "schemathesis"), "run", f"{server.base}/openapi.json",
         "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                     "response_schema_conformance,response_headers_conformance",
         "--phases", "examples,coverage,fuzzing", "--max-examples", "25", "--seed", "1",
         "-H", f"x-api-token: {token(DEMO_KEY)}", "-H", f"X-API-KEY: {SHOP_KEY}"],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", run.stdout)
    assert selected and selected[1] == selected[2] and f"Tested: {selected[1]}" in run.stdout  # every operation
