"""Auth in both of the seed's forms, API versions from Accept, and an access log without tokens."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kickit_edge.admin.app import create_admin_app
from kickit_edge.editing.credentials import add_admin_token
from kickit_edge.runtime.accesslog import AccessLogWriter, filtered_params

from .kickfolio import basic

UNAUTHORIZED = {"message": "invalid credentials", "code": "unauthorized"}


@pytest.fixture
def anonymous(config_dir: Path, token: str) -> TestClient:
    with TestClient(create_admin_app(str(config_dir))) as client:
        yield client


def test_basic_with_and_without_a_password(anonymous: TestClient, token: str) -> None:
    assert anonymous.get("/api/apps", headers=basic(token, "X")).status_code == 200
    assert anonymous.get("/api/apps", headers=basic(token, None)).status_code == 200


def test_auth_token_parameter(anonymous: TestClient, token: str) -> None:
    assert anonymous.get(f"/api/apps?auth_token={token}").status_code == 200
    response = anonymous.post(f"/api/apps?auth_token={token}", json={"app": {"name": "Via Param"}})
    assert response.status_code == 201


def test_missing_credentials(anonymous: TestClient) -> None:
    response = anonymous.get("/api/apps")
    assert response.status_code == 401
    assert response.json() == {
        "message": "authentication required: send Authorization: Basic base64(token) or the auth_token parameter",
        "code": "unauthorized"}
    assert response.headers["www-authenticate"] == 'Basic realm="kickit-edge admin"'


@pytest.mark.parametrize("headers", [
    basic("0123456789abcdef." + "0" * 64),  # well formed, unknown
    basic("not-a-token"),
    {"Authorization": "Basic !!!not-base64"},
])
def test_wrong_credentials(anonymous: TestClient, headers: dict[str, str]) -> None:
    response = anonymous.get("/api/apps", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_right_prefix_wrong_secret(anonymous: TestClient, token: str) -> None:
    prefix = token.split(".")[0]
    response = anonymous.get("/api/apps", headers=basic(f"{prefix}.{'f' * 64}"))
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    assert anonymous.get(f"/api/apps?auth_token={prefix}.{'f' * 64}").status_code == 401


def test_other_schemes_are_refused(anonymous: TestClient, token: str) -> None:
    response = anonymous.get("/api/apps", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["message"].startswith("unsupported authorization scheme 'Bearer'")


def test_expired_token(config_dir: Path, anonymous: TestClient) -> None:
    old = add_admin_token(str(config_dir), "old", expires="2020-01-01")
    response = anonymous.get("/api/apps", headers=basic(str(old)))
    assert response.status_code == 401
    assert response.json()["message"].startswith("the token expired at 2020-01-01T00:00:00Z")


def test_token_minted_while_running_is_accepted(config_dir: Path, anonymous: TestClient) -> None:
    later = add_admin_token(str(config_dir), "later")
    assert anonymous.get("/api/apps", headers=basic(str(later))).status_code == 200


def test_auth_comes_before_routing(anonymous: TestClient) -> None:
    assert anonymous.get("/api/nothing").status_code == 401


# --- versioning ----------------------------------------------------------------------


@pytest.mark.parametrize("accept", [
    None, "application/vnd.kickfolio.v1", "application/vnd.kickfolio.v1+json", "application/json", "*/*",
    "application/vnd.kickfolio", "text/html, application/xhtml+xml, */*;q=0.8",
    "application/vnd.kickfolio.v9, application/vnd.kickfolio.v1",
])
def test_accept_selects_v1(client: TestClient, accept: str | None) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    assert client.get("/api/apps", headers=headers).status_code == 200


def test_unknown_version_is_406(client: TestClient) -> None:
    response = client.get("/api/apps", headers={"Accept": "application/vnd.kickfolio.v9"})
    assert response.status_code == 406
    assert response.json() == {
        "message": "API version v9 is not available: this server speaks v1 (send Accept: application/vnd.kickfolio.v1)",
        "code": "not_acceptable"}


def test_media_type_we_cannot_answer_is_406(client: TestClient) -> None:
    response = client.get("/api/apps", headers={"Accept": "text/csv"})
    assert response.status_code == 406
    assert response.json()["message"].startswith("cannot answer with text/csv")


# --- the access log ---------------------------------------------------------------------


def test_access_log_never_records_a_token(config_dir: Path, token: str, tmp_path: Path) -> None:
    destination = tmp_path / "access.log"
    with open(destination, "wb") as out:
        writer = AccessLogWriter(out.fileno(), name="kickit_edge.admin.access")
        with TestClient(create_admin_app(str(config_dir), access=writer)) as anonymous:
            anonymous.get(f"/api/apps?auth_token={token}&ids[]=x")
            anonymous.get(f"/api/apps?auth%5Ftoken={token}")
            anonymous.get("/api/apps", headers=basic(token))
            anonymous.get("/api/apps?auth_token=wrong-token-value")
            anonymous.get(f"/api/{token}/x?note={token.split('.')[1]}")
        writer.close()
    lines = destination.read_text().splitlines()
    assert len(lines) == 5
    assert all(" INFO kickit_edge.admin.access [" in line for line in lines)
    assert '"GET /api/apps?auth_token=[FILTERED]&ids[]=x" 200 ' in lines[0]
    assert '"GET /api/apps?auth%5Ftoken=[FILTERED]" 200 ' in lines[1]
    assert f'"GET /api/{token.split(".")[0]}.***?note=***" 401 ' in lines[4]  # the prefix is public
    secret = token.split(".")[1]
    assert all(secret not in line and "wrong-token-value" not in line for line in lines)


def test_redact_query() -> None:
    redact_query = filtered_params(["auth_token"])
    assert redact_query(b"auth_token=abc") == "?auth_token=[FILTERED]"
    assert redact_query(b"a=1&AUTH_TOKEN=abc&b=2&auth_token") == "?a=1&AUTH_TOKEN=[FILTERED]&b=2&auth_token=[FILTERED]"
    assert redact_query(b"auth+token=x&auth%5ftoken=y") == "?auth+token=x&auth%5ftoken=[FILTERED]"
