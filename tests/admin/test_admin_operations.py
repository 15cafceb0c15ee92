"""Operating the admin: metrics (its own port or the main one), JSON logs, CORS."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2 as httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from kickit_edge.admin.app import create_admin_app

from .live import free_port, live_admin

ACCEPT = {"Accept": "application/vnd.kickfolio.v1"}


def _counts(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for f in text_string_to_metric_families(text)
            for s in f.samples if s.name == name}


def test_metrics_need_no_token_and_count_by_route_template(client: TestClient, config_dir: Path) -> None:
    apps = client.get("/api/apps", headers=ACCEPT).json()["apps"]
    client.get(f"/api/apps/{apps[0]['id']}/versions", headers=ACCEPT)
    anonymous = TestClient(create_admin_app(str(config_dir)))
    assert anonymous.get("/api/apps", headers=ACCEPT).status_code == 401
    scrape = anonymous.get("/metrics")
    assert scrape.status_code == 200
    assert _counts(scrape.text, "kickit_requests_total") == {(("route", "/api/apps"), ("status", "401")): 1.0}
    counts = _counts(client.get("/metrics").text, "kickit_requests_total")
    assert counts[(("route", "/api/apps"), ("status", "200"))] == 1.0
    # The id is not a label value: the route's template is.
    assert counts[(("route", "/api/apps/{app_id}/versions"), ("status", "200"))] == 1.0


def test_metrics_port_json_logs_and_cors_of_the_admin_command(config_dir: Path, tmp_path: Path, token: str) -> None:
    metrics_port = free_port()
    env = {"KICKIT_ADMIN_METRICS_PORT": str(metrics_port), "KICKIT_LOG_FORMAT": "json",
           "KICKIT_ADMIN_CORS_ORIGIN": "https://console.example"}
    with live_admin(config_dir, tmp_path, env=env) as admin:
        base = admin.base
        httpx.get(f"{base}/api/apps?auth_token={token}", headers=ACCEPT)
        assert httpx.get(f"{base}/metrics").status_code == 401  # on its own port only: the guard answers here
        scrape = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert _counts(scrape, "kickit_requests_total")[(("route", "/api/apps"), ("status", "200"))] == 1.0
        preflight = httpx.options(f"{base}/api/apps", headers={
            "Origin": "https://console.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://console.example"
    lines = [json.loads(line) for line in admin.output.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    access = next(line for line in lines if line["logger"] == "kickit_edge.admin.access" and line["path"] == "/api/apps")
    assert access["query"] == "?auth_token=[FILTERED]" and access["status"] == 200
    assert token.split(".")[1] not in admin.output
