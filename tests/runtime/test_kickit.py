"""The KickIt target-checks seed: its own example, every header, the body rules, auth, events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from .conftest import CLOSED_KEY, DEMO_KEY, SHOP_EXPIRED_KEY, SHOP_KEY, SHOP_STAGING_KEY, MakeClient, decoded_events

URL = "/api/v1/target-checks"
SEED_DATA = {"client": "My custome client data point", "some_other_custom_field": "custom_value"}


def check(client: TestClient, key: str | None = DEMO_KEY, body: object = None, **headers: str):  # type: ignore[no-untyped-def]
    sent = {} if key is None else {"X-API-KEY": key}
    sent.update({f"X-KICKIT-{name.upper().replace('_', '-')}": value for name, value in headers.items()})
    payload = {"data": SEED_DATA} if body is None else body
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(URL, headers={**sent, "content-type": "application/json"}, content=content)


def test_the_seed_request_example_is_matched_soft(client: TestClient, events_dir: Path) -> None:
    # Exactly the seed's request: only X-API-KEY and X-KICKIT-APP-VERSION.
    response = check(client, app_version="1.0.1-production")
    assert response.status_code == 200
    assert response.content == (
        b'{"matched":true,"message":"Please install our newest version 0.0.2","hard_deprecation":false,'
        b'"target_meta":{"app_name":"KickItApp","version":"1.0.1-production","build_number":"1000",'
        b'"platform":"ios","platform_version":null}}')
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["cache-control"] == "max-age=0, private, must-revalidate"
    assert response.headers["x-kickit-rule"] == "target:legacy-production-build"
    assert response.headers["etag"].startswith('"') and response.headers["x-request-id"]
    [event] = decoded_events(events_dir)
    assert event["type"] == "target_check"
    assert (event["app"], event["app_version"], event["environment"], event["verdict"], event["rule"]) == (
        "demo", "1.0.1-production", "production", "soft", "target:legacy-production-build")
    assert event["data"] == SEED_DATA
    assert event["request_id"] == response.headers["x-request-id"]
    assert DEMO_KEY.split(".")[1] not in json.dumps(event)


def test_all_headers_as_in_the_seed_table(client: TestClient) -> None:
    response = check(client, app_name="KickItApp", app_version="1.0.1-production", build_number="1000",
                     platform="ios", platform_os_version="10.4")
    assert response.json() == {
        "matched": True, "message": "Please install our newest version 0.0.2", "hard_deprecation": False,
        "target_meta": {"app_name": "KickItApp", "version": "1.0.1-production", "build_number": "1000",
                        "platform": "ios", "platform_version": "10.4"},
    }


def test_hard_target(client: TestClient) -> None:
    response = check(client, app_version="2.5.0", platform="ios", platform_os_version="9.3")
    assert response.json() == {
        "matched": True, "message": "Your iOS version is no longer supported. Please update iOS and the app.",
        "hard_deprecation": True,
        "target_meta": {"app_name": "KickItApp", "version": "2.5.0", "build_number": None, "platform": "ios",
                        "platform_version": "9.3"},
    }
    assert response.headers["x-kickit-rule"] == "target:ios-below-10"


def test_no_target_matches(client: TestClient, events_dir: Path) -> None:
    response = check(client, app_version="2.5.0", build_number="2500", platform="ios", platform_os_version="17.1")
    assert response.json() == {
        "matched": False, "message": None, "hard_deprecation": False,
        "target_meta": {"app_name": "KickItApp", "version": "2.5.0", "build_number": "2500", "platform": "ios",
                        "platform_version": "17.1"},
    }
    assert "x-kickit-rule" not in response.headers
    assert decoded_events(events_dir)[0]["verdict"] == "ok"


def test_no_headers_at_all_is_a_sensible_answer(client: TestClient) -> None:
    response = check(client, body={"data": {}})
    assert response.status_code == 200
    assert response.json()["target_meta"]["app_name"] == "KickItApp"


@pytest.mark.parametrize(("body", "error"), [
    (b"", "Invalid request body"),
    (b"{", "Invalid request body"),
    (b"[]", "Invalid request body"),
    (b"{}", "data is required"),
    (b'{"client": "x"}', "data is required"),
    (b'{"data": null}', "data must be an object"),
    (b'{"data": "text"}', "data must be an object"),
    (b'{"data": [1]}', "data must be an object"),
])
def test_body_must_be_an_object_with_a_data_object(client: TestClient, events_dir: Path, body: bytes,
                                                    error: str) -> None:
    response = check(client, body=body, app_version="1.0.1-production")
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert decoded_events(events_dir) == []


@pytest.mark.parametrize("key", [None, "", "garbage", DEMO_KEY[:-1], "ffffffffffffffff." + "a" * 64,
                                 SHOP_EXPIRED_KEY, "x" * 50_000, "é" * 10])
def test_bad_keys_are_401(client: TestClient, key: str | None) -> None:
    if key is not None and not key.isascii():
        response = client.post(URL, headers=[(b"x-api-key", key.encode("utf-8"))], json={"data": {}})
    else:
        response = check(client, key=key)
    assert (response.status_code, response.content) == (401, b'{"error":"Unauthorized"}')


def test_disabled_app_is_402(client: TestClient) -> None:
    response = check(client, key=CLOSED_KEY)
    assert (response.status_code, response.content) == (402, b'{"error":"Payment Required"}')


def test_another_app_name_is_403(client: TestClient) -> None:
    response = check(client, app_name="ShopApp", app_version="1.0.1-production")
    assert (response.status_code, response.content) == (403, b'{"error":"Forbidden"}')
    assert check(client, key=SHOP_KEY, app_name="KickItApp").status_code == 403
    assert check(client, key=SHOP_KEY, app_name="ShopApp").status_code == 200


def test_environment_header_then_key_scope_then_first_environment(client: TestClient, events_dir: Path) -> None:
    staging_target = {"matched": True, "message": "Staging builds must update."}
    # No header, unscoped key: the app's first environment (production): the staging target does not apply.
    assert check(client, key=SHOP_KEY).json()["matched"] is False
    # The header decides.
    assert check(client, key=SHOP_KEY, environment="staging").json().items() >= staging_target.items()
    # A key limited to one environment implies it.
    assert check(client, key=SHOP_STAGING_KEY).json().items() >= staging_target.items()
    # ... and may not ask for another one.
    denied = check(client, key=SHOP_STAGING_KEY, environment="production")
    assert (denied.status_code, denied.content) == (403, b'{"error":"Forbidden"}')
    assert [e["environment"] for e in decoded_events(events_dir)] == ["production", "staging", "staging"]


def test_overlong_header_is_400(client: TestClient) -> None:
    response = check(client, app_version="1" * 129)
    assert (response.status_code, response.json()) == (
        400, {"error": "X-KICKIT-APP-VERSION is longer than 128 characters"})


def test_body_over_the_limit_is_413(make_client: MakeClient) -> None:
    client = make_client(max_body=100)
    response = check(client, body={"data": {"x": "y" * 200}})
    assert (response.status_code, response.content) == (413, b'{"error":"Request body is larger than 100 bytes"}')


def test_large_client_data_is_bounded_in_the_event(client: TestClient, events_dir: Path) -> None:
    response = check(client, body={"data": {"blob": "z" * 10_000}})
    assert response.status_code == 200
    [event] = decoded_events(events_dir)
    assert event["data"] == {"_truncated": True, "_bytes": 10_011}


def test_event_write_failure_never_breaks_the_check(make_client: MakeClient, tmp_path: Path) -> None:
    client = make_client(events_dir=str(tmp_path / "missing"))
    response = check(client, app_version="1.0.1-production")
    assert response.status_code == 200 and response.json()["matched"] is True
    assert client.get("/status").json()["events"]["failures"] == 1


def test_get_is_405_json(client: TestClient) -> None:
    response = client.get(URL)
    assert (response.status_code, response.content) == (405, b'{"error":"Method Not Allowed"}')
    assert response.headers["allow"] == "POST"
