"""Operating the edge: Prometheus metrics (summed over workers), JSON logs, CORS."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx2 as httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from .conftest import DEMO_KEY, SHOP_KEY, MakeClient, StartServer, free_port, token, wait_until

DEMO = {"x-api-token": token(DEMO_KEY)}
VERSIONS = "/v1/versions?app_id=demo&app_version=1.2.0&platform=ios&environment=production"
AUTHENTICATE = {"user_id": "u1", "platform": "ios", "app_version": "1.2.0"}
ORIGIN = "https://app.example"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and sorted labels."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, tuple(sorted(labels.items()))))


def scrape_until(url: str, ready: Callable[[str], bool], what: str) -> str:
    """The first scrape of ``url`` for which ``ready`` holds (workers publish their counts every second)."""
    found: list[str] = []

    def attempt() -> bool:
        found[:] = [httpx.get(url).text]
        return ready(found[0])

    wait_until(attempt, what=what)
    return found[0]


def test_two_workers_are_summed_on_the_metrics_port(start_server: StartServer, snapshots: Path,
                                                    tmp_path: Path) -> None:
    metrics_port = free_port()
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(tmp_path), "--workers", "2",
                          "--metrics-port", str(metrics_port))
    scrape = f"http://127.0.0.1:{metrics_port}/metrics"
    # Both workers up: each serves the snapshot, so the info gauge counts two.
    digest = str(server.http.get("/status").json()["snapshot"]["digest"])
    scrape_until(scrape, lambda t: value(t, "kickit_snapshot_info", revision="test-rev", digest=digest) == 2.0,
                 "two workers")
    for _ in range(20):  # new connections: the kernel spreads them over both workers
        with httpx.Client(base_url=server.base) as fresh:
            assert fresh.get(VERSIONS, headers=DEMO).json()["force_update"] is True
    assert server.http.post("/v2/authenticate", headers=DEMO, json=AUTHENTICATE).status_code == 200
    assert server.http.get("/nope").status_code == 404
    text = scrape_until(scrape, lambda t: value(t, "kickit_requests_total", route="/v1/versions", status="200") == 20,
                        "20 counted")
    assert value(text, "kickit_verdicts_total", route="/v1/versions", verdict="hard") == 20.0  # force_update
    assert not [labels for name, labels in samples(text) if name == "kickit_verdicts_total"
                and ("route", "/status") in labels]  # operator answers carry no verdict
    assert value(text, "kickit_request_duration_seconds_count", route="/v1/versions") == 20.0
    assert value(text, "kickit_request_duration_seconds_bucket", route="/v1/versions", le="+Inf") == 20.0
    assert value(text, "kickit_snapshot_reloads_total", result="loaded") == 2.0  # one per worker
    assert value(text, "kickit_snapshot_reloads_total", result="rejected") == 0.0
    assert value(text, "kickit_source_poll_failures_total") == 0.0
    assert value(text, "kickit_event_write_failures_total") == 0.0
    assert (value(text, "kickit_snapshot_loaded_timestamp_seconds") or 0) > 1.7e9
    assert (value(text, "process_resident_memory_bytes") or 0) > 0
    scrape_until(scrape, lambda t: value(t, "kickit_events_written_total") == 1.0 and value(
        t, "kickit_requests_total", route="other", status="404") == 1.0, "the event and the 404")
    # The main port does not serve /metrics when it has its own listener (nor documents it); the listener
    # serves nothing else.
    assert server.http.get("/metrics").status_code == 404
    assert "/metrics" not in server.http.get("/openapi.json").json()["paths"]
    assert httpx.get(f"http://127.0.0.1:{metrics_port}/status").status_code == 404


def test_metrics_on_the_main_port_count_reloads_and_verdicts(make_client: MakeClient, snapshots: Path) -> None:
    client = make_client()
    assert client.get(VERSIONS, headers=DEMO).json()["force_update"] is True
    assert client.get("/v1/versions?app_id=demo&app_version=0.9.0&platform=ios&environment=production",
                      headers=DEMO).status_code == 200
    assert client.post("/api/v1/target-checks", headers={"X-API-KEY": SHOP_KEY}, json={}).status_code in (200, 400)
    (snapshots / "snapshot.json").write_bytes(b'{"truncated": ')
    wait_until(lambda: client.get("/status").json()["rejected"], what="the rejection")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=")
    text = response.text
    assert value(text, "kickit_snapshot_reloads_total", result="rejected") == 1.0
    verdicts = {labels: n for (name, labels), n in samples(text).items() if name == "kickit_verdicts_total"}
    assert sum(n for labels, n in verdicts.items() if ("route", "/v1/versions") in labels) == 2.0
    assert value(text, "kickit_requests_total", route="/v1/versions", status="200") == 2.0
    assert (value(text, "kickit_requests_total", route="/status", status="200") or 0) >= 1.0
    # Labels stay bounded: an unknown path is "other", whatever it was.
    client.get("/a/b/c/d")
    assert value(client.get("/metrics").text, "kickit_requests_total", route="other", status="404") == 1.0


def test_json_logs_one_object_per_line_with_the_access_fields(start_server: StartServer, snapshots: Path,
                                                              tmp_path: Path) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(tmp_path), "--log-format", "json")
    server.http.get(VERSIONS + "&token=LEAKED", headers=DEMO)
    wait_until(lambda: '"path": "/v1/versions"' in server.output, what="the access line")
    lines = [json.loads(line) for line in server.output.splitlines() if line.strip()]
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys()
        assert line["time"].endswith("Z") and datetime.fromisoformat(line["time"]).utcoffset() is not None
    access = next(line for line in lines if line.get("path") == "/v1/versions")
    assert access["logger"] == "kickit_edge.access" and access["level"] == "INFO"
    assert access["method"] == "GET" and access["status"] == 200 and access["bytes"] > 0
    assert access["query"] == "?app_id=demo&app_version=1.2.0&platform=ios&environment=production&token=***"
    assert access["message"].startswith(access["client"] + ' "GET /v1/versions?app_id=demo')
    assert access["request_id"] and access["rule"] and access["duration_ms"] >= 0
    assert any(line["logger"] == "kickit_edge.runtime" and "loaded" in line["message"] for line in lines)
    assert "LEAKED" not in server.output and token(DEMO_KEY) not in server.output


def test_text_logs_keep_the_access_line(start_server: StartServer, snapshots: Path, tmp_path: Path) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(tmp_path), "--log-format", "text")
    server.http.get(VERSIONS, headers=DEMO)
    wait_until(lambda: '"GET /v1/versions?' in server.output, what="the access line")
    line = next(line for line in server.output.splitlines() if '"GET /v1/versions?' in line)
    assert " INFO kickit_edge.access [" in line and '" 200 ' in line and " rid=" in line
    assert not line.startswith("{")


def test_no_cors_origin_means_no_cors(client: TestClient) -> None:
    preflight = client.options("/v1/versions", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in client.get(VERSIONS, headers={**DEMO, "Origin": ORIGIN}).headers


def test_cors_preflight_allows_the_check_headers_and_exposes_the_etag(make_client: MakeClient) -> None:
    client = make_client(cors_origin=(ORIGIN,))
    for path, method, asked in (
        ("/v1/versions", "GET", "x-api-token, if-none-match"),
        ("/api/v1/target-checks", "POST", "X-API-KEY, X-KICKIT-PLATFORM, X-KICKIT-APP-VERSION, content-type"),
    ):
        preflight = client.options(path, headers={"Origin": ORIGIN, "Access-Control-Request-Method": method,
                                                  "Access-Control-Request-Headers": asked})
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        assert method in preflight.headers["access-control-allow-methods"]
    answer = client.get(VERSIONS, headers={**DEMO, "Origin": ORIGIN})
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == ORIGIN
    # A browser client may read what the answer carries beside the body: the ETag, the rule and a deadline.
    assert {"etag", "x-request-id", "x-kickit-rule", "x-kickit-hard-from"} <= {
        name.strip() for name in answer.headers["access-control-expose-headers"].lower().split(",")}
    other = client.options("/v1/versions", headers={"Origin": "https://evil.example",
                                                    "Access-Control-Request-Method": "GET"})
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers


def test_cors_any_origin(make_client: MakeClient) -> None:
    client = make_client(cors_origin=("*",))
    answer = client.get(VERSIONS, headers={**DEMO, "Origin": "https://anywhere.example"})
    assert answer.headers["access-control-allow-origin"] == "*"


def test_cors_origins_from_repeated_flags_or_a_comma_separated_variable() -> None:
    import argparse

    from kickit_edge.settings import Settings

    parser = argparse.ArgumentParser()
    Settings.add_arguments(parser)
    args = parser.parse_args(["--cors-origin", "https://a.example", "--cors-origin", "*"])
    assert Settings.resolve(args, environ={}).cors_origin == ("https://a.example", "*")
    from_env = Settings.resolve(None, environ={"KICKIT_CORS_ORIGIN": "https://a.example, https://b.example"})
    assert from_env.cors_origin == ("https://a.example", "https://b.example")
    assert Settings.resolve(None, environ=from_env.to_environ()).cors_origin == from_env.cors_origin
    assert Settings.resolve(None, environ={}).cors_origin == ()
