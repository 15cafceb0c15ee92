"""``kickit-edge admin`` as a subprocess on a free loopback port, for the tests that need the real command."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

from ..runtime.conftest import wait_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveAdmin:
    base: str
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text()


@contextlib.contextmanager
def live_admin(config_dir: Path, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[LiveAdmin]:
    """Start the admin on ``config_dir``; yield once it answers; stop it on the way out."""
    port = free_port()
    admin = LiveAdmin(f"http://127.0.0.1:{port}", tmp_path / f"admin-{port}.log")
    with admin.log.open("w") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "kickit_edge.cli", "admin", "--config", str(config_dir), "--port", str(port), *args],
            stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    def answers() -> bool:
        assert server.poll() is None, admin.output
        try:
            return httpx.get(f"{admin.base}/openapi.json", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(answers, what=f"the admin on {admin.base}")
        yield admin
    finally:
        server.terminate()
        server.wait(10)
