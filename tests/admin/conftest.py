"""Fixtures for the management API: a private demo config, an admin token, a client that sends it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kickit_edge.admin.app import create_admin_app
from kickit_edge.editing.credentials import add_admin_token

from .kickfolio import basic


@pytest.fixture
def config_dir(demo_config: Path) -> Path:
    return demo_config


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
