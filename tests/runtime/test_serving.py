"""Serving as an operator and a newcomer see it: the CLI, dev mode, settings, access log, boundaries, odd requests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kickit_edge.cli import main

from .conftest import DEMO_KEY, REPO, SHOP_KEY, MakeClient, StartServer, token, wait_until

DEMO = {"x-api-token": token(DEMO_KEY)}
VERSIONS = "/v1/versions?app_id=demo&app_version=1.2.0&platform=ios&environment=production"


def test_bad_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--port", "http"])
    assert exit_.value.code == 2
    assert "argument --port: expected a port from 0 to 65535, got 'http'" in capsys.readouterr().err


def test_explicit_events_dir_must_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["serve", "--snapshots", str(tmp_path), "--events-dir", str(tmp_path / "volume")])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: --events-dir '{tmp_path / 'volume'}' is not a folder: create it (or mount the volume) first\n")


def test_dev_mode_without_a_config_folder_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["serve"]) == 2
    assert "config folder 'config' not found: run from the folder that holds config/" in capsys.readouterr().err


# --- boundaries --------------------------------------------------------------------------

def test_the_runtime_never_loads_the_compiler() -> None:
    code = ("import sys, kickit_edge.runtime.server, kickit_edge.runtime.app; "
            "bad = sorted(m for m in sys.modules if m.startswith(('kickit_edge.compiler', 'kickit_edge.admin', 'yaml'))); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr


# --- odd requests ---------------------------------------------------------------------

def test_unknown_route_is_404_json(client: TestClient) -> None:
    for path in ("/nope", "/v1/versions/", "/v3/versions"):
        response = client.get(path)
        assert (response.status_code, response.content) == (404, b'{"error":"Not Found"}')
        assert response.headers["content-type"] == "application/json"


def test_wrong_method_is_405_json(client: TestClient) -> None:
    response = client.delete("/v1/versions")
    assert (response.status_code, response.content) == (405, b'{"error":"Method Not Allowed"}')
    assert client.get("/v2/authenticate").status_code == 405


def test_an_unexpected_error_is_a_json_500_without_details(make_client: MakeClient) -> None:
    client = make_client()
    client.app.state.runtime.clock = lambda: 1 / 0  # type: ignore[attr-defined]  # a bug, not a client mistake
    plain = TestClient(client.app, raise_server_exceptions=False)
    response = plain.get(VERSIONS, headers=DEMO)
    assert (response.status_code, response.content) == (500, b'{"error":"Internal Server Error"}')


def test_status_and_ready(client: TestClient) -> None:
    ready = client.get("/ready")
    status = client.get("/status").json()
    assert ready.json() == {"ready": True, "snapshot": status["snapshot"]["id"]}
    assert status["ready"] is True
    assert status["snapshot"]["revision"] == "test-rev"
    assert status["snapshot"]["apps"] == 3
    assert status["rejected"] is None
    assert status["source"]["kind"] == "folder"
    assert client.get("/status").headers["cache-control"] == "no-store"


# --- on a real uvicorn -------------------------------------------------------------------

def test_access_log_never_records_a_secret(start_server: StartServer, snapshots: Path, tmp_path: Path) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(tmp_path))
    server.http.get(VERSIONS + "&token=LEAKED", headers=DEMO)
    server.http.post("/api/v1/target-checks", headers={"X-API-KEY": SHOP_KEY}, json={"data": {"pw": "hunter2"}})
    server.http.post("/v2/authenticate", headers=DEMO,
                     json={"user_id": "u1", "platform": "ios", "app_version": "1", "secret": "hunter2"})
    server.http.get(f"/v1/{DEMO_KEY}?app_id={token(DEMO_KEY)}", headers=DEMO)
    # The last request's line: counting lines would also count the readiness probe's GET /health.
    wait_until(lambda: '" 404 ' in server.output, what="the access line of the last request")
    log = server.output
    assert '"GET /v1/versions?app_id=demo&app_version=1.2.0&platform=ios&environment=production&token=***" 200' in log
    assert f'"GET /v1/{DEMO_KEY.split(".")[0]}.***?app_id=***" 404' in log  # a key where it does not belong
    assert '"POST /api/v1/target-checks" 200' in log and '"POST /v2/authenticate" 200' in log
    for secret in (DEMO_KEY.split(".")[1], token(DEMO_KEY), SHOP_KEY.split(".")[1], "LEAKED", "hunter2"):
        assert secret not in log


def test_dev_mode_recompiles_on_edit_and_keeps_serving_through_a_yaml_error(start_server: StartServer,
                                                                               demo_config: Path) -> None:
    server = start_server("--config", str(demo_config))
    assert server.http.get(VERSIONS, headers=DEMO).json()["force_update"] is True
    assert (demo_config.parent / "var" / "events").is_dir()  # the default events folder, created in the cwd
    demo = demo_config / "apps" / "demo.yaml"
    original = demo.read_text()
    demo.write_text(original.replace("    force_update: true\n    message: update_required",
                                     "    force_update: false\n    message: update_required")
                            .replace("expect: {verdict: hard, rule: minimum:ios/production}",
                                     "expect: {verdict: soft, rule: minimum:ios/production}"))
    wait_until(lambda: server.http.get(VERSIONS, headers=DEMO).json()["force_update"] is False, what="recompile")
    demo.write_text(original.replace("platforms: [ios, android]", "platforms: [ios, windows]"))
    wait_until(lambda: "'windows' is not one of ['android', 'ios']" in server.output, what="the YAML error")
    assert "still serving the last good snapshot" in server.output
    assert server.http.get(VERSIONS, headers=DEMO).json()["force_update"] is False
    demo.write_text(original)
    wait_until(lambda: server.http.get(VERSIONS, headers=DEMO).json()["force_update"] is True, what="the fix")
