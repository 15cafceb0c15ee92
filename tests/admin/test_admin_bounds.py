"""An alias bomb dropped into the admin's config folder costs milliseconds, is parsed once, and never a 500."""

from __future__ import annotations

import base64
from pathlib import Path
from unittest import mock

from starlette.testclient import TestClient

from kickit_edge.admin import store
from kickit_edge.editing.credentials import add_admin_token
from tests.compiler.test_yaml_bounds import BOMB

from .kickfolio import new_version


def test_a_bomb_in_the_folder_is_refused_with_its_place_and_parsed_once(client: TestClient, config_dir: Path) -> None:
    assert client.get("/api/apps").status_code == 200
    (config_dir / "apps" / "bomb.yaml").write_text(BOMB)
    with mock.patch.object(store, "read_config", wraps=store.read_config) as reads:
        for _ in range(3):
            assert client.get("/api/apps/DEMO1234").status_code == 200  # the last good config answers
            assert client.get("/api/apps/DEMO1234", headers={"Authorization": "Basic bm9wZQ=="}).status_code == 401
        assert reads.call_count == 1  # a folder known to be invalid is not parsed again per request
    response = client.post("/api/apps/DEMO1234/versions", json=new_version())
    assert response.status_code == 409 and response.json()["code"] == "config_invalid"
    assert "apps/bomb.yaml:1:26: YAML aliases expand this file to more than" in response.json()["message"]


def test_a_request_is_authenticated_before_any_app_file_is_read(client: TestClient, config_dir: Path,
                                                                 token: str) -> None:
    assert client.get("/api/apps").status_code == 200
    (config_dir / "apps" / "bomb.yaml").write_text(BOMB)
    with mock.patch.object(store, "read_config", wraps=store.read_config) as reads:
        for _ in range(3):
            answer = client.get("/api/apps/DEMO1234", headers={"Authorization": "Basic bm9wZQ=="})
            assert answer.status_code == 401 and answer.json()["code"] == "unauthorized"
            assert client.get("/api/apps", headers={"Authorization": ""}).status_code == 401
        assert reads.call_count == 0  # no token, no app file read
        assert client.get("/api/apps/DEMO1234").status_code == 200
        assert reads.call_count == 1


def test_a_token_minted_after_start_is_seen_and_a_revoked_one_refused(client: TestClient, config_dir: Path) -> None:
    fresh = add_admin_token(str(config_dir), "release-bot")
    basic = {"Authorization": "Basic " + base64.b64encode(str(fresh).encode()).decode()}
    assert client.get("/api/apps", headers=basic).status_code == 200
    tokens_file = config_dir / "admin.yaml"
    text = tokens_file.read_text()
    tokens_file.write_text(text[: text.index("- name: release-bot")])
    assert client.get("/api/apps", headers=basic).status_code == 401
