"""The AppCockpit seed, row by row: every endpoint, every error, exact bodies, ETags and 304s."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from .conftest import (
    CLOSED_KEY, DEMO_KEY, SHOP_EXPIRED_KEY, SHOP_KEY, SHOP_STAGING_KEY, MakeClient, decoded_events, token,
)

DEMO = {"x-api-token": token(DEMO_KEY)}
V1_MINIMUM = (b'{"version":"2.0.0","platform":"ios","force_update":true,'
              b'"update_message":"This version is no longer supported. Please update to continue."}')
V1_EXACT = b'{"version":"2.5.0","platform":"ios","force_update":false,"update_message":"A new version is available."}'
# The seed's own V2 example, byte for byte (compact).
V2_EXACT = (b'{"version":"2.5.0","platform":"ios","force_update":false,'
            b'"default_update_message":"A new version is available.",'
            b'"update_messages":{"en":"A new version is available.","de":"Eine neue Version ist verfuegbar."}}')
# The seed's "Maintenance active" and "Maintenance inactive" examples.
MAINTENANCE_ACTIVE = (b'{"active":true,"title":"Scheduled Maintenance","description":"We\'re performing an upgrade. '
                      b'Back soon!","links":[{"title":"Status Page","url":"https://status.example.com"}]}')
MAINTENANCE_INACTIVE = b'{"active":false,"title":null,"description":null,"links":[]}'


def versions(version: str = "1.2.0", platform: str = "ios", environment: str = "production", app: str = "demo") -> str:
    return f"app_id={app}&app_version={version}&platform={platform}&environment={environment}"


def md5_etag(body: bytes) -> str:
    return '"' + hashlib.md5(body).hexdigest() + '"'


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def test_health_is_200_with_an_empty_body_and_no_auth(client: TestClient) -> None:
    response = client.get("/health")
    assert (response.status_code, response.content) == (200, b"")


@pytest.mark.parametrize("path", ["/v1/versions", "/versions"])
def test_v1_versions_minimum_rule(client: TestClient, path: str) -> None:
    response = client.get(f"{path}?{versions('1.2.0')}", headers=DEMO)
    assert (response.status_code, response.content) == (200, V1_MINIMUM)
    assert response.headers["content-type"] == "application/json"
    assert response.headers["etag"] == md5_etag(V1_MINIMUM)
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.headers["vary"] == "x-api-token"
    assert response.headers["x-kickit-rule"] == "minimum:ios/production"


def test_v1_versions_exact_match(client: TestClient) -> None:
    response = client.get(f"/v1/versions?{versions('2.5.0')}", headers=DEMO)
    assert (response.status_code, response.content) == (200, V1_EXACT)
    assert response.headers["x-kickit-rule"] == "exact:ios/production/2.5.0"


def test_v2_versions_gives_the_seed_example(client: TestClient) -> None:
    response = client.get(f"/v2/versions?{versions('2.5.0')}", headers=DEMO)
    assert (response.status_code, response.content) == (200, V2_EXACT)
    assert response.headers["etag"] == md5_etag(V2_EXACT)


def test_v2_versions_minimum_has_localized_messages(client: TestClient) -> None:
    response = client.get(f"/v2/versions?{versions('1.2.0')}", headers=DEMO)
    assert response.json() == {
        "version": "2.0.0", "platform": "ios", "force_update": True,
        "default_update_message": "This version is no longer supported. Please update to continue.",
        "update_messages": {"en": "This version is no longer supported. Please update to continue.",
                            "de": "Diese Version wird nicht mehr unterstuetzt. Bitte aktualisiere die App."},
    }


@pytest.mark.parametrize("path", ["/v1/versions", "/versions", "/v2/versions"])
@pytest.mark.parametrize("query", [
    versions("3.0.0"),                          # above the minimum, no exact record
    versions("2.4.0"),                          # disabled exact record falls through
    versions("1.2.0", environment="staging"),   # no rule in that environment
    versions("not a version"),                  # cannot be ordered: never older, never a 500
])
def test_versions_not_found(client: TestClient, path: str, query: str) -> None:
    # The demo's staging rule waits for a release in 2027: pin the clock before it.
    client.app.state.runtime.clock = lambda: at("2026-12-01T00:00:00Z")  # type: ignore[attr-defined]
    response = client.get(f"{path}?{query}", headers=DEMO)
    assert (response.status_code, response.content) == (404, b'{"error":"Version not found"}')
    assert response.headers["etag"] == md5_etag(b'{"error":"Version not found"}')
    assert "x-kickit-rule" not in response.headers


@pytest.mark.parametrize("path", ["/v1/versions", "/versions", "/v2/versions"])
@pytest.mark.parametrize(("query", "missing"), [
    ("", "app_id"),
    ("app_version=1&platform=ios&environment=production", "app_id"),
    ("app_id=demo&platform=ios&environment=production", "app_version"),
    ("app_id=demo&app_version=1.2.0&environment=production", "platform"),
    ("app_id=demo&app_version=1.2.0&platform=ios", "environment"),
    ("app_id=demo&app_version=&platform=ios&environment=production", "app_version"),  # empty is missing
    ("app_id=demo&platform=ios", "app_version"),  # the first missing one, in the seed's order
])
def test_versions_missing_parameters_in_the_seed_order(client: TestClient, path: str, query: str,
                                                         missing: str) -> None:
    response = client.get(f"{path}?{query}", headers=DEMO)
    assert (response.status_code, response.content) == (400, b'{"error":"%s is required"}' % missing.encode())


@pytest.mark.parametrize("path", ["/v1/maintenance", "/maintenance", "/v2/maintenance"])
@pytest.mark.parametrize(("query", "missing"), [
    ("", "app_id"), ("environment=production", "app_id"), ("app_id=demo", "environment"),
    ("app_id=demo&environment=", "environment"),
])
def test_maintenance_missing_parameters(client: TestClient, path: str, query: str, missing: str) -> None:
    response = client.get(f"{path}?{query}", headers=DEMO)
    assert (response.status_code, response.content) == (400, b'{"error":"%s is required"}' % missing.encode())


@pytest.mark.parametrize("path", ["/v1/maintenance", "/maintenance", "/v2/maintenance"])
def test_maintenance_switch_gives_the_seed_active_example(client: TestClient, path: str) -> None:
    response = client.get(f"{path}?app_id=demo&environment=staging", headers=DEMO)
    assert (response.status_code, response.content) == (200, MAINTENANCE_ACTIVE)
    assert response.headers["etag"] == md5_etag(MAINTENANCE_ACTIVE)
    assert response.headers["x-kickit-rule"] == "maintenance:staging:switch"


def test_maintenance_window_is_evaluated_at_request_time_and_changes_the_etag(client: TestClient) -> None:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    url = "/v1/maintenance?app_id=demo&environment=production"
    runtime.clock = lambda: at("2027-03-14T00:59:59Z")
    before = client.get(url, headers=DEMO)
    assert (before.status_code, before.content) == (200, MAINTENANCE_INACTIVE)
    runtime.clock = lambda: at("2027-03-14T01:00:00Z")  # 02:00 in Berlin: start inclusive
    during = client.get(url, headers=DEMO)
    assert during.json() == {
        "active": True, "title": "Planned database upgrade",
        "description": "The service is unavailable for up to two hours.",
        "links": [{"title": "Status Page", "url": "https://status.example.com"}],
    }
    assert during.headers["x-kickit-rule"] == "maintenance:production:windows[0]"
    assert during.headers["etag"] != before.headers["etag"]
    # A client holding the old ETag gets the new body, not a 304.
    revalidated = client.get(url, headers={**DEMO, "if-none-match": before.headers["etag"]})
    assert (revalidated.status_code, revalidated.content) == (200, during.content)
    runtime.clock = lambda: at("2027-03-14T03:00:00Z")  # end exclusive
    after = client.get(url, headers=DEMO)
    assert after.content == MAINTENANCE_INACTIVE


def test_maintenance_of_an_environment_without_a_plan_is_inactive(client: TestClient) -> None:
    response = client.get("/v2/maintenance?app_id=demo&environment=qa", headers=DEMO)
    assert (response.status_code, response.content) == (200, MAINTENANCE_INACTIVE)


# --- authentication: 401, 402, 403 --------------------------------------------------

UNAUTHORIZED = b'{"error":"Unauthorized"}'
BAD_TOKENS = {
    "missing": None,
    "empty": "",
    "not base64": "not base64!",
    "base64 of a non-key": base64.b64encode(b"hello").decode(),
    "the raw key, not base64": DEMO_KEY,
    "unknown prefix": token("ffffffffffffffff." + "a" * 64),
    "wrong secret": token(DEMO_KEY[:-1] + "0"),
    "expired key": token(SHOP_EXPIRED_KEY),
    "huge": "A" * 100_000,
    "base64 of non-ASCII": base64.b64encode("ключ".encode()).decode(),
}


@pytest.mark.parametrize("name", list(BAD_TOKENS))
@pytest.mark.parametrize("path", [f"/v1/versions?{versions()}", f"/v2/versions?{versions()}",
                                  "/v1/maintenance?app_id=demo&environment=staging"])
def test_bad_tokens_are_401(client: TestClient, name: str, path: str) -> None:
    value = BAD_TOKENS[name]
    response = client.get(path, headers={} if value is None else {"x-api-token": value})
    assert (response.status_code, response.content) == (401, UNAUTHORIZED)


def test_non_ascii_header_bytes_are_401_not_500(client: TestClient) -> None:
    # Raw Latin-1 bytes, as a broken client would send them.
    response = client.get(f"/v1/versions?{versions()}", headers=[(b"x-api-token", "Zé€".encode("utf-8"))])
    assert (response.status_code, response.content) == (401, UNAUTHORIZED)


def test_auth_comes_before_missing_parameters(client: TestClient) -> None:
    response = client.get("/v1/versions")
    assert response.status_code == 401


def test_disabled_app_is_402(client: TestClient) -> None:
    for path in (f"/v1/versions?{versions(app='closed')}", "/v1/maintenance?app_id=closed&environment=production",
                 "/v1/versions"):  # 402 comes before the 400s
        response = client.get(path, headers={"x-api-token": token(CLOSED_KEY)})
        assert (response.status_code, response.content) == (402, b'{"error":"Payment Required"}')


@pytest.mark.parametrize("path", [
    f"/v1/versions?{versions(app='shop')}",         # another app's id
    f"/v2/versions?{versions(app='nope')}",         # an app that does not exist
    "/v1/maintenance?app_id=shop&environment=staging",
])
def test_app_id_of_another_app_is_403(client: TestClient, path: str) -> None:
    response = client.get(path, headers=DEMO)
    assert (response.status_code, response.content) == (403, b'{"error":"Forbidden"}')


def test_environment_scoped_key_reads_only_its_environments(client: TestClient) -> None:
    staging = {"x-api-token": token(SHOP_STAGING_KEY)}
    allowed = client.get(f"/v1/versions?{versions('3.0.0', environment='staging', app='shop')}", headers=staging)
    assert allowed.json() == {"version": "3.0.0", "platform": "ios", "force_update": False,
                              "update_message": "Please update."}
    denied = client.get(f"/v1/versions?{versions('3.0.0', environment='production', app='shop')}", headers=staging)
    assert (denied.status_code, denied.content) == (403, b'{"error":"Forbidden"}')
    denied = client.get("/v1/maintenance?app_id=shop&environment=production", headers=staging)
    assert denied.status_code == 403
    # The unscoped key of the same app reads both.
    everything = {"x-api-token": token(SHOP_KEY)}
    assert client.get("/v1/maintenance?app_id=shop&environment=production", headers=everything).status_code == 200


def test_a_key_for_one_app_never_reads_another(client: TestClient) -> None:
    shop = {"x-api-token": token(SHOP_KEY)}
    assert client.get(f"/v1/versions?{versions('1.2.0')}", headers=shop).status_code == 403
    assert client.get("/v1/maintenance?app_id=demo&environment=staging", headers=shop).status_code == 403


# --- 304 -------------------------------------------------------------------------------

@pytest.mark.parametrize("if_none_match", [
    "{etag}", "W/{etag}", '"00000000000000000000000000000000", {etag}', "W/\"x\",W/{etag}", "*",
])
def test_matching_if_none_match_is_304_with_the_same_etag(client: TestClient, if_none_match: str) -> None:
    url = f"/v2/versions?{versions('2.5.0')}"
    etag = client.get(url, headers=DEMO).headers["etag"]
    response = client.get(url, headers={**DEMO, "if-none-match": if_none_match.format(etag=etag)})
    assert (response.status_code, response.content) == (304, b"")
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "private, no-cache"


@pytest.mark.parametrize("if_none_match", ['"00000000000000000000000000000000"', "", "garbage", "W/"])
def test_other_if_none_match_gets_the_body(client: TestClient, if_none_match: str) -> None:
    response = client.get(f"/v1/versions?{versions('2.5.0')}", headers={**DEMO, "if-none-match": if_none_match})
    assert (response.status_code, response.content) == (200, V1_EXACT)


def test_errors_are_never_304(client: TestClient) -> None:
    response = client.get(f"/v1/versions?{versions('9.9.9')}", headers={**DEMO, "if-none-match": "*"})
    assert (response.status_code, response.content) == (404, b'{"error":"Version not found"}')


def test_maintenance_304(client: TestClient) -> None:
    url = "/v1/maintenance?app_id=demo&environment=staging"
    response = client.get(url, headers={**DEMO, "if-none-match": md5_etag(MAINTENANCE_ACTIVE)})
    assert response.status_code == 304


def test_head_has_the_headers_and_no_body(client: TestClient) -> None:
    response = client.head(f"/v1/versions?{versions('2.5.0')}", headers=DEMO)
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["etag"] == md5_etag(V1_EXACT)


# --- authenticate ----------------------------------------------------------------------

SEED_USER = {"user_id": "user_12345", "platform": "ios", "app_version": "2.5.0", "environment": "production"}


def test_authenticate_seed_example_echoes_and_writes_one_event(client: TestClient, events_dir: Path) -> None:
    response = client.post("/v2/authenticate", headers=DEMO, json=SEED_USER)
    body = b'{"success":true,"user_id":"user_12345","platform":"ios","app_version":"2.5.0"}'
    assert (response.status_code, response.content) == (200, body)
    assert response.headers["etag"] == md5_etag(body)
    [event] = decoded_events(events_dir)
    assert event["type"] == "authenticate"
    assert (event["app"], event["user"], event["platform"], event["app_version"], event["environment"]) == (
        "demo", "user_12345", "ios", "2.5.0", "production")
    assert event["snapshot"] == "test-rev"
    assert event["request_id"] == response.headers["x-request-id"]
    assert DEMO_KEY.split(".")[1] not in str(event) and DEMO_KEY.split(".")[0] not in str(event)


def test_authenticate_environment_is_optional(client: TestClient, events_dir: Path) -> None:
    response = client.post("/v2/authenticate", headers=DEMO,
                           json={"user_id": "u", "platform": "android", "app_version": "3.0"})
    assert response.status_code == 200
    assert decoded_events(events_dir)[0]["environment"] is None


@pytest.mark.parametrize(("body", "error"), [
    (b"", "Invalid request body"),
    (b"{not json", "Invalid request body"),
    (b"[1, 2]", "Invalid request body"),
    (b'"text"', "Invalid request body"),
    (b"\xff\xfe\x00", "Invalid request body"),
    (b"[" * 50_000, "Invalid request body"),
    (b"{}", "user_id is required"),
    (b'{"user_id": "", "platform": "ios", "app_version": "1"}', "user_id is required"),
    (b'{"user_id": "  ", "platform": "ios", "app_version": "1"}', "user_id is required"),
    (b'{"user_id": 12345, "platform": "ios", "app_version": "1"}', "user_id is required"),
    (b'{"user_id": null, "platform": "ios", "app_version": "1"}', "user_id is required"),
    (b'{"user_id": "u", "app_version": "1"}', "platform is required"),
    (b'{"user_id": "u", "platform": "", "app_version": "1"}', "platform is required"),
    (b'{"user_id": "u", "platform": "ios"}', "app_version is required"),
    (b'{"user_id": "u", "platform": "ios", "app_version": 2.5}', "app_version is required"),
    (b'{"user_id": "u", "platform": "windows", "app_version": "1"}', "platform must be 'ios' or 'android'"),
    (b'{"platform": "windows"}', "user_id is required"),  # the seed's order: user_id first
    (b'{"user_id": "u", "platform": "ios", "app_version": "1", "environment": 3}', "Invalid request body"),
])
def test_authenticate_400s(client: TestClient, events_dir: Path, body: bytes, error: str) -> None:
    response = client.post("/v2/authenticate", headers={**DEMO, "content-type": "application/json"}, content=body)
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert decoded_events(events_dir) == []


def test_authenticate_auth_comes_first(client: TestClient) -> None:
    assert client.post("/v2/authenticate", content=b"{").status_code == 401
    closed = {"x-api-token": token(CLOSED_KEY)}
    assert client.post("/v2/authenticate", headers=closed, json=SEED_USER).status_code == 402


def test_authenticate_scoped_key_and_another_environment_is_403(client: TestClient) -> None:
    staging = {"x-api-token": token(SHOP_STAGING_KEY)}
    response = client.post("/v2/authenticate", headers=staging, json=SEED_USER)
    assert (response.status_code, response.content) == (403, b'{"error":"Forbidden"}')
    assert client.post("/v2/authenticate", headers=staging, json={**SEED_USER, "environment": "staging"}).is_success


def test_authenticate_body_over_the_limit_is_413(make_client: MakeClient, events_dir: Path) -> None:
    client = make_client(max_body=1024)
    big = {**SEED_USER, "user_id": "u" * 2000}
    response = client.post("/v2/authenticate", headers=DEMO, json=big)
    assert (response.status_code, response.content) == (413, b'{"error":"Request body is larger than 1024 bytes"}')
    # Streamed without a Content-Length, too.
    response = client.post("/v2/authenticate", headers=DEMO, content=iter([b'{"user_id":"', b"u" * 2000, b'"}']))
    assert response.status_code == 413
    assert decoded_events(events_dir) == []


def test_authenticate_write_failure_is_the_seed_500_and_checks_still_answer(
        make_client: MakeClient, tmp_path: Path) -> None:
    client = make_client(events_dir=str(tmp_path / "not-mounted"))  # the folder does not exist
    response = client.post("/v2/authenticate", headers=DEMO, json=SEED_USER)
    assert (response.status_code, response.content) == (500, b'{"error":"Failed to update user version data"}')
    assert client.get(f"/v1/versions?{versions()}", headers=DEMO).content == V1_MINIMUM
    status = client.get("/status").json()
    assert status["events"]["failures"] == 1
    assert "cannot write event" in status["events"]["last_failure"]["error"]


def test_authenticate_ignores_if_none_match(client: TestClient, events_dir: Path) -> None:
    first = client.post("/v2/authenticate", headers=DEMO, json=SEED_USER)
    again = client.post("/v2/authenticate", headers={**DEMO, "if-none-match": first.headers["etag"]}, json=SEED_USER)
    assert (again.status_code, again.content) == (200, first.content)
    assert len(decoded_events(events_dir)) == 2
