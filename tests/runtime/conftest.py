"""Runtime fixtures: a real config folder compiled and published into tmp_path, served in-process or by uvicorn."""

from __future__ import annotations

import base64
import gzip
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from kickit_edge.compiler.compile import compile_config
from kickit_edge.compiler.publish import publish_snapshot
from kickit_edge.events import decode_event
from kickit_edge.keys import hash_secret
from kickit_edge.runtime.app import create_app
from kickit_edge.settings import Settings

REPO = Path(__file__).resolve().parents[2]

# The KickIt docs' example key: the demo config holds its hash (DEMO ONLY).
DEMO_KEY = "2d71d7ebb9e2c0ed.dd24791ce6985c826497ec3fdcb4126521deff88f613db6680eea15a0d9f9b01"
SHOP_KEY = "1111111111111111." + "a" * 64
SHOP_STAGING_KEY = "2222222222222222." + "b" * 64
SHOP_EXPIRED_KEY = "3333333333333333." + "c" * 64
CLOSED_KEY = "4444444444444444." + "d" * 64


def token(key: str) -> str:
    """An AppCockpit x-api-token: base64 of the key."""
    return base64.b64encode(key.encode("ascii")).decode("ascii")


def _key_entry(key: str, extra: str = "") -> str:
    prefix, secret = key.split(".")
    return f"  - prefix: \"{prefix}\"\n    sha256: {hash_secret(secret)}\n{extra}"


_STAGING_ONLY = "    environments: [staging]\n"
_EXPIRED = '    expires: "2020-01-01T00:00:00Z"\n'

SHOP_APP = f"""\
app:
  id: shop
  name: ShopApp
  uuid: 11111111-2222-4333-8444-555555555555
  public_key: SHOP1234
  platforms: [ios, android]
  environments: [production, staging]
  default_locale: en
keys:
{_key_entry(SHOP_KEY)}{_key_entry(SHOP_STAGING_KEY, _STAGING_ONLY)}{_key_entry(SHOP_EXPIRED_KEY, _EXPIRED)}
messages:
  soft:
    en: Please update.
    de: Bitte aktualisieren.
  staging_only:
    en: Staging builds must update.
versions:
  - version: "3.0.0"
    platform: ios
    environment: staging
    message: soft
targets:
  - id: staging-builds
    message: staging_only
    environments: [staging]
maintenance:
  production:
    windows:
      - start: "2030-01-01T00:00:00Z"
        end: "2030-01-01T01:00:00Z"
        title: Window
        description: In the window.
        timezone: UTC
"""

CLOSED_APP = f"""\
app:
  id: closed
  name: ClosedApp
  uuid: 21111111-2222-4333-8444-555555555555
  public_key: CLOSED12
  platforms: [ios]
  environments: [production]
  default_locale: en
  disabled: true
keys:
{_key_entry(CLOSED_KEY)}
"""


def write_test_config(root: Path) -> Path:
    """The demo config plus a second app (scoped and expired keys) and a disabled one."""
    shutil.copytree(REPO / "config", root, ignore=shutil.ignore_patterns(".kickit-edit.lock"))
    (root / "apps" / "shop.yaml").write_text(SHOP_APP)
    (root / "apps" / "closed.yaml").write_text(CLOSED_APP)
    return root


def publish(config_dir: Path, out: Path) -> bytes:
    """Compile and publish; return the snapshot bytes."""
    compiled = compile_config(str(config_dir), revision="test-rev")
    publish_snapshot(compiled.data, out)
    return compiled.data


@pytest.fixture(scope="session")
def snapshot_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The test config's snapshot, compiled once per session (compiling is the slow part)."""
    root = tmp_path_factory.mktemp("session")
    return compile_config(str(write_test_config(root / "config")), revision="test-rev").data


@pytest.fixture
def snapshots(tmp_path: Path, snapshot_bytes: bytes) -> Path:
    folder = tmp_path / "snapshots"
    publish_snapshot(snapshot_bytes, folder)
    return folder


@pytest.fixture
def events_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "events"
    folder.mkdir()
    return folder


MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(snapshots: Path, events_dir: Path) -> Iterator[MakeClient]:
    """Start the app in-process (lifespan and watcher running) with settings overrides."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        values: dict[str, Any] = {"snapshots": str(snapshots), "events_dir": str(events_dir), "access_log": False}
        values.update(overrides)
        client = TestClient(create_app(Settings(**values)))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()


def read_events(folder: Path) -> list[bytes]:
    """Every line of every event file, plain and gzipped."""
    lines: list[bytes] = []
    for path in sorted(folder.iterdir()):
        if path.name.endswith(".jsonl"):
            data = path.read_bytes()
        elif path.name.endswith(".jsonl.gz"):
            data = gzip.decompress(path.read_bytes())
        else:
            continue
        lines.extend(data.splitlines())
    return lines


def decoded_events(folder: Path) -> list[dict[str, Any]]:
    return [decode_event(line) for line in read_events(folder)]


# --- a real uvicorn ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``condition`` until it is truthy; fail after ``timeout`` seconds (a deadline, not a timing test)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Server:
    """``kickit-edge serve`` in a subprocess on a free loopback port."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"server-{self.port}.log"
        self._log_file = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kickit_edge.cli", "serve", "--port", str(self.port), *args],
            cwd=cwd, stdout=self._log_file, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        self.http = httpx.Client(base_url=self.base, timeout=10)
        wait_until(self._alive, what=f"server on {self.base}\n{self.output}")

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _alive(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"server exited with {self.process.returncode}:\n{self.output}")
        try:
            return self.http.get("/health").status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


StartServer = Callable[..., Server]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    servers: list[Server] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Server:
        server = Server(list(args), tmp_path, env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
