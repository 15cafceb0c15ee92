"""The admin API on a real uvicorn: parallel writes, publishing, and the ``kickit-edge admin`` command."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest
import uvicorn
import yaml

from kickit_edge.admin.app import create_admin_app
from kickit_edge.compiler.builder import read_config
from kickit_edge.loader import load_snapshot

from .kickfolio import basic, new_version

PARALLEL = 16


def _serve(app: object) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def publish_dir(tmp_path: Path) -> Path:
    return tmp_path / "snapshots"


@pytest.fixture
def base_url(config_dir: Path, publish_dir: Path, token: str) -> Iterator[str]:
    yield from _serve(create_admin_app(str(config_dir), str(publish_dir)))


def test_parallel_version_creations_each_land_exactly_once(base_url: str, headers: dict[str, str],
                                                           demo_yaml: Path, config_dir: Path,
                                                           publish_dir: Path) -> None:
    wanted = [f"3.0.{i}" for i in range(PARALLEL)]

    def create(version: str) -> httpx.Response:
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
            return http.post("/api/apps/DEMO1234/versions", json=new_version(version_string=version))

    with ThreadPoolExecutor(PARALLEL) as pool:
        responses = list(pool.map(create, wanted))
    assert [r.status_code for r in responses] == [201] * PARALLEL
    ids = [r.json()["version"]["id"] for r in responses]
    assert len(set(ids)) == PARALLEL

    listed = httpx.get(f"{base_url}/api/apps/DEMO1234/versions", headers=headers).json()["versions"]
    counts = Counter(v["version_string"] for v in listed)
    assert all(counts[v] == 1 for v in wanted)
    assert {v["id"] for v in listed} >= set(ids)
    in_yaml = Counter(r["version"] for r in yaml.safe_load(demo_yaml.read_text())["versions"])
    assert all(in_yaml[v] == 1 for v in wanted)
    assert len(read_config(config_dir).app("demo").versions) == 2 + PARALLEL  # type: ignore[union-attr]
    # Snapshots were published in write order: the current one has every version.
    snapshot = load_snapshot((publish_dir / "snapshot.json").read_bytes())
    assert all(("ios", "production", v) in snapshot.apps["demo"].exact_v1 for v in wanted)


def test_parallel_creations_of_the_same_version_give_one(base_url: str, headers: dict[str, str]) -> None:
    def create(_: int) -> int:
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
            return http.post("/api/versions", json=new_version(app_id="DEMO1234", version_string="4.0.0")).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(create, range(8)))
    assert statuses == [201] + [422] * 7


def test_parallel_app_creations_with_one_name(base_url: str, headers: dict[str, str], config_dir: Path) -> None:
    def create(_: int) -> httpx.Response:
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
            return http.post("/api/apps", json={"app": {"name": "Same Name"}})

    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(create, range(6)))
    assert [r.status_code for r in responses] == [201] * 6
    assert sorted(r.json()["app"]["slug"] for r in responses) == [
        "same-name", "same-name-2", "same-name-3", "same-name-4", "same-name-5", "same-name-6"]


def test_each_write_publishes_a_snapshot(base_url: str, headers: dict[str, str], publish_dir: Path) -> None:
    with httpx.Client(base_url=base_url, headers=headers) as http:
        created = http.post("/api/apps/DEMO1234/versions", json=new_version(force_update=True)).json()["version"]
        snapshot = load_snapshot((publish_dir / "snapshot.json").read_bytes())
        answer = snapshot.apps["demo"].exact_v1[("ios", "production", "2.6.0")]
        assert json.loads(answer.body)["force_update"] is True
        http.delete(f"/api/versions/{created['id']}")
    snapshot = load_snapshot((publish_dir / "snapshot.json").read_bytes())
    assert ("ios", "production", "2.6.0") not in snapshot.apps["demo"].exact_v1


def test_the_admin_command(config_dir: Path, tmp_path: Path) -> None:
    """As a new user: mint a token, start ``kickit-edge admin --publish``, create an app and a version."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cli = [sys.executable, "-m", "kickit_edge.cli"]
    minted = subprocess.run([*cli, "keys", "new", "--admin", "release-bot", "--config", str(config_dir)],
                            capture_output=True, text=True, check=True, env=env)
    token = minted.stdout.strip().splitlines()[-1]
    out = tmp_path / "out"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "admin.log"
    with log.open("w") as log_file:
        server = subprocess.Popen([*cli, "admin", "--config", str(config_dir), "--publish", str(out),
                                   "--port", str(port), "--max-header-bytes", "4096"],
                                  stdout=log_file, stderr=subprocess.STDOUT, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/api/apps", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        first = (out / "snapshot.json").read_bytes()
        accept = {"Accept": "application/vnd.kickfolio.v1"}
        app = httpx.post(f"{base}/api/apps?auth_token={token}", headers=accept,
                         content=b'{"app": {"name": "Walkthrough"}}').json()["app"]
        response = httpx.post(f"{base}/api/apps/{app['id']}/versions", headers={**accept, **basic(token)},
                              json=new_version(force_update=False, message="2.6.0 is out"))
        assert response.status_code == 201
        snapshot = load_snapshot((out / "snapshot.json").read_bytes())
        assert (out / "snapshot.json").read_bytes() != first
        assert ("ios", "production", "2.6.0") in snapshot.apps["walkthrough"].exact_v1
        # A secret put in a path is not echoed by the 404, and a head past the bound is refused.
        missing = httpx.get(f"{base}/api/{token}", headers={**accept, **basic(token)})
        assert missing.status_code == 404 and token.split(".")[1] not in missing.text
        assert missing.json()["message"] == "no route for GET on this path: see /api/apps and /api/versions"
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            raw.sendall(b"GET /api/apps HTTP/1.1\r\nHost: x\r\nx-filler: " + b"a" * 5000 + b"\r\n")
            answer = b"".join(iter(lambda: raw.recv(65536), b""))
        assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
        assert answer.endswith(b'{"message":"the request head (request line and headers) is too large",'
                               b'"code":"bad_request"}')
    finally:
        server.terminate()
        server.wait(10)
    output = log.read_text()
    assert '"POST /api/apps?auth_token=[FILTERED]" 201' in output
    assert token.split(".")[1] not in output
    assert f'"GET /api/{token.split(".")[0]}.***" 404' in output


def test_a_failed_publish_keeps_the_write_and_says_why(config_dir: Path, tmp_path: Path, headers: dict[str, str],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    from starlette.testclient import TestClient

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the snapshots folder should be")
    with TestClient(create_admin_app(str(config_dir), str(blocked)), headers=headers) as client:
        response = client.post("/api/apps/DEMO1234/versions", json=new_version())
    assert response.status_code == 201
    assert "the change is written but publishing into" in caplog.text


def test_the_admin_command_refuses_an_invalid_config(write_config, capsys: pytest.CaptureFixture[str]) -> None:
    from kickit_edge.cli import main

    config = write_config({"apps/bad.yaml": "app:\n  id: bad\n"})
    assert main(["admin", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "'name' is a required property" in err and err.endswith("nothing published\n")
