"""Fixtures for the management API: the demo config copied into tmp_path, an admin token, a client."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from kickit_edge.admin.app import create_admin_app
from kickit_edge.compiler.credentials import add_admin_token

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"


def basic(token: str, password: str | None = "X") -> dict[str, str]:
    """``Authorization: Basic base64(token[:password])``, as the seed's clients send it."""
    text = token if password is None else f"{token}:{password}"
    return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode()}


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(REPO_CONFIG, target, ignore=shutil.ignore_patterns(".*"))
    return target


@pytest.fixture
def token(config_dir: Path) -> str:
    return str(add_admin_token(str(config_dir), "ci"))


@pytest.fixture
def headers(token: str) -> dict[str, str]:
    return basic(token)


@pytest.fixture
def client(config_dir: Path, headers: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_admin_app(str(config_dir)), headers=headers) as test_client:
        yield test_client


@pytest.fixture
def demo_yaml(config_dir: Path) -> Path:
    return config_dir / "apps" / "demo.yaml"


DEMO_UUID = "67005794-36b5-49e5-89bc-33f0221c5dac"


def new_version(**fields: Any) -> dict[str, Any]:
    body = {"version_string": "2.6.0", "bundle_url": "https://example.com/builds/2.6.0.zip"}
    body.update(fields)
    return {"version": body}
