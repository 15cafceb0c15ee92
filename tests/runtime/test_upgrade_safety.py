"""Upgrade safety on the wire: releases and deadlines over time, the OS gate on both APIs, any spelling of a platform."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kickit_edge.compiler.publish import publish_snapshot
from kickit_edge.compiler.compile import compile_config
from tests.conftest import MINIMAL_APP, WriteConfig

from .conftest import DEMO_KEY, MakeClient, decoded_events, token

DEMO = {"x-api-token": token(DEMO_KEY)}
TARGETS = "/api/v1/target-checks"


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def set_clock(client: TestClient, when: str) -> None:
    client.app.state.runtime.clock = lambda: at(when)  # type: ignore[attr-defined]


def staging(version: str = "2.5.0", os_version: str | None = None, platform: str = "ios", api: str = "v1") -> str:
    query = f"/{api}/versions?app_id=demo&app_version={version}&platform={platform}&environment=staging"
    return query + (f"&os_version={os_version}" if os_version is not None else "")


def test_a_hard_rule_waits_for_its_release_and_grace_then_the_etag_changes(client: TestClient) -> None:
    set_clock(client, "2027-01-13T07:59:59Z")  # 3.0.0 is out since 08:00 UTC the day before: grace 24h
    before = client.get(staging(), headers=DEMO)
    assert (before.status_code, before.content) == (404, b'{"error":"Version not found"}')
    set_clock(client, "2027-01-13T08:00:00Z")
    after = client.get(staging(), headers={**DEMO, "if-none-match": before.headers["etag"]})
    assert (after.status_code, after.json()) == (200, {
        "version": "3.0.0", "platform": "ios", "force_update": True,
        "update_message": "This version is no longer supported. Please update to continue."})
    assert after.headers["x-kickit-rule"] == "minimum:ios/staging"


def test_the_os_gate_on_appcockpit(client: TestClient) -> None:
    set_clock(client, "2027-01-13T08:00:00Z")
    old_os = client.get(staging(os_version="15.7"), headers=DEMO)
    assert old_os.json() == {"version": "3.0.0", "platform": "ios", "force_update": False,
                             "update_message": "This update needs a newer iOS. Please update iOS, then the app."}
    v2 = client.get(staging(os_version="15.7", api="v2"), headers=DEMO).json()
    assert (v2["force_update"], v2["update_messages"]) == (
        False, {"en": "This update needs a newer iOS. Please update iOS, then the app."})
    assert client.get(staging(os_version="16.0"), headers=DEMO).json()["force_update"] is True
    assert client.get(staging(os_version="not a version"), headers=DEMO).json()["force_update"] is True


def kickit(client: TestClient, **headers: str):  # type: ignore[no-untyped-def]
    sent = {f"X-KICKIT-{name.upper().replace('_', '-')}": value for name, value in headers.items()}
    return client.post(TARGETS, headers={"X-API-KEY": DEMO_KEY, **sent}, json={"data": {}})


def test_a_deadline_sends_x_kickit_hard_from_until_it_turns_hard(client: TestClient) -> None:
    set_clock(client, "2027-01-31T22:59:59Z")
    soft = kickit(client, app_version="2.9.0", platform="android")
    assert (soft.json()["matched"], soft.json()["hard_deprecation"]) == (True, False)
    assert soft.headers["x-kickit-hard-from"] == "2027-01-31T23:00:00Z"
    set_clock(client, "2027-01-31T23:00:00Z")
    hard = kickit(client, app_version="2.9.0", platform="android")
    assert (hard.json()["matched"], hard.json()["hard_deprecation"]) == (True, True)
    assert "x-kickit-hard-from" not in hard.headers
    assert soft.headers["etag"] != hard.headers["etag"]


# The shop of tests/conftest.py with the demo's key, an OS message, a release needing iOS 17.
OS_GATED = MINIMAL_APP[:MINIMAL_APP.index("messages:")].replace("  default_locale: en\n", """\
  default_locale: en
  os_message: old_os
keys:
  - prefix: 2d71d7ebb9e2c0ed
    sha256: 65adf9ebb4570b4eb0719c05a8d946664cf53c0f4692f1cc613d7a8d8a598c23
""") + """\
messages:
  update:
    en: Please update.
  old_os:
    en: Please update iOS first.
releases:
  - {platform: ios, version: "5.0", available_from: "2027-01-01T00:00:00Z", min_os: "17.0"}
minimum_versions:
  - platform: android
    environment: production
    version: "5.0"
    hard_from: "2027-06-01T00:00:00Z"
    message: update
targets:
  - id: below-5
    hard: true
    message: update
    platforms: [ios]
    version: {below: "5.0"}
"""


@pytest.fixture
def gated(write_config: WriteConfig, make_client: MakeClient, tmp_path: Path) -> TestClient:
    folder = tmp_path / "gated-snapshots"
    publish_snapshot(compile_config(write_config({"apps/gate.yaml": OS_GATED}, name="gated")).data, folder)
    return make_client(snapshots=str(folder))


def test_the_os_gate_on_kickit(gated: TestClient) -> None:
    set_clock(gated, "2027-02-01T00:00:00Z")
    forced = kickit(gated, app_version="4.0", platform="ios", platform_os_version="17.1")
    assert (forced.json()["hard_deprecation"], forced.json()["message"]) == (True, "Please update.")
    cannot = kickit(gated, app_version="4.0", platform="ios", platform_os_version="16.4")
    assert (cannot.json()["matched"], cannot.json()["hard_deprecation"], cannot.json()["message"]) == (
        True, False, "Please update iOS first.")
    assert cannot.headers["x-kickit-rule"] == "target:below-5"
    set_clock(gated, "2026-12-31T23:59:59Z")  # before the release: the hard target does not apply
    assert kickit(gated, app_version="4.0", platform="ios", platform_os_version="17.1").json()["matched"] is False


def test_a_soft_minimum_with_a_deadline_sends_the_header_on_appcockpit(gated: TestClient) -> None:
    set_clock(gated, "2027-05-31T23:59:59Z")
    url = "/v1/versions?app_id=shop&app_version=4.0&platform=android&environment=production"
    soft = gated.get(url, headers=DEMO)
    assert (soft.json()["force_update"], soft.headers["x-kickit-hard-from"]) == (False, "2027-06-01T00:00:00Z")
    set_clock(gated, "2027-06-01T00:00:00Z")
    hard = gated.get(url, headers=DEMO)
    assert hard.json()["force_update"] is True and "x-kickit-hard-from" not in hard.headers


# --- spelling ------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["IOS", "iOS", "Ios", "%20ios%20"])
@pytest.mark.parametrize("path", ["/v1/versions", "/versions", "/v2/versions"])
def test_any_case_of_a_platform_is_that_platform_on_versions(client: TestClient, path: str, platform: str) -> None:
    query = f"app_id=demo&app_version=%201.2.0%20&platform={platform}&environment=production"
    response = client.get(f"{path}?{query}", headers=DEMO)
    assert (response.status_code, response.headers["x-kickit-rule"]) == (200, "minimum:ios/production")
    assert response.json()["force_update"] is True


@pytest.mark.parametrize("path", ["/v1/versions", "/versions", "/v2/versions"])
def test_another_platform_is_400_on_versions(client: TestClient, path: str) -> None:
    response = client.get(f"{path}?app_id=demo&app_version=1.2.0&platform=windows&environment=production",
                          headers=DEMO)
    assert (response.status_code, response.content) == (400, b"{\"error\":\"platform must be 'ios' or 'android'\"}")


def test_authenticate_accepts_any_case_echoes_it_and_records_lower_case(client: TestClient, events_dir: Path) -> None:
    response = client.post("/v2/authenticate", headers=DEMO,
                           json={"user_id": "u1", "platform": "iOS", "app_version": " 2.5.0 "})
    assert (response.status_code, response.content) == (
        200, b'{"success":true,"user_id":"u1","platform":"iOS","app_version":" 2.5.0 "}')
    [event] = decoded_events(events_dir)
    assert (event["platform"], event["app_version"]) == ("ios", "2.5.0")


def test_kickit_matches_any_case_of_a_platform_and_rejects_others(client: TestClient, events_dir: Path) -> None:
    response = kickit(client, app_version="2.5.0", platform="iOS", platform_os_version="9.3")
    assert (response.json()["hard_deprecation"], response.headers["x-kickit-rule"]) == (True, "target:ios-below-10")
    assert response.json()["target_meta"]["platform"] == "ios"
    [event] = decoded_events(events_dir)
    assert event["platform"] == "ios"
    wrong = kickit(client, app_version="2.5.0", platform="Windows Phone")
    assert (wrong.status_code, json.loads(wrong.content)) == (400, {"error": "platform must be 'ios' or 'android'"})
