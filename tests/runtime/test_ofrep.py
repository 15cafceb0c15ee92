"""OFREP on the edge, in-process: every answer checked against the OFREP OpenAPI document."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from starlette.testclient import TestClient

from kickit_edge.runtime.ofrep import OFREP_VERSION

from tests.conftest import WriteConfig

from .conftest import CLOSED_KEY, DEMO_KEY, SHOP_EXPIRED_KEY, SHOP_KEY, SHOP_STAGING_KEY, MakeClient, token
from .ofrepspec import BULK, SINGLE, conforms, version

FLAGS = "/ofrep/v1/evaluate/flags"
AUTH = {"X-API-Key": DEMO_KEY}
STORE_IOS = "https://apps.apple.com/app/id000000000"
REQUIRED_DE = "Diese Version wird nicht mehr unterstuetzt. Bitte aktualisiere die App."
REQUIRED_EN = "This version is no longer supported. Please update to continue."


def evaluate(client: TestClient, flag: str, context: Any = None, headers: dict[str, str] | None = None,
             body: bytes | None = None) -> tuple[int, Any]:
    """POST one flag; check the answer against the specification; return status and parsed body."""
    content = body if body is not None else json.dumps({"context": context if context is not None else {}}).encode()
    response = client.post(f"{FLAGS}/{flag}", content=content, headers=headers if headers is not None else AUTH)
    return response.status_code, conforms(SINGLE, response.status_code, response.headers, response.content)


def bulk(client: TestClient, context: Any = None, headers: dict[str, str] | None = None,
         body: bytes | None = None) -> tuple[int, Any, Any]:
    content = body if body is not None else json.dumps({"context": context if context is not None else {}}).encode()
    response = client.post(FLAGS, content=content, headers=headers if headers is not None else AUTH)
    return response.status_code, conforms(BULK, response.status_code, response.headers, response.content), response


def test_the_specification_version_is_the_one_the_code_names() -> None:
    assert version() == OFREP_VERSION == "0.3.0"


def test_hard_upgrade_in_the_best_locale_with_the_store_url(client: TestClient) -> None:
    context = {"targetingKey": "user-1", "appVersion": "1.2.0", "platform": "ios", "locale": "de-DE"}
    assert evaluate(client, "kickit.upgrade", context) == (200, {
        "key": "kickit.upgrade", "value": "hard", "reason": "TARGETING_MATCH", "variant": "hard",
        "metadata": {"rule": "minimum:ios/production", "message": REQUIRED_DE, "storeUrl": STORE_IOS},
    })
    assert evaluate(client, "kickit.force-update", context) == (200, {
        "key": "kickit.force-update", "value": True, "reason": "TARGETING_MATCH", "variant": "true",
        "metadata": {"rule": "minimum:ios/production", "message": REQUIRED_DE, "storeUrl": STORE_IOS},
    })


@pytest.mark.parametrize(("locale", "message"), [
    ("de", REQUIRED_DE), ("DE_at", REQUIRED_DE), ("fr-FR", REQUIRED_EN), (None, REQUIRED_EN), ("en-GB", REQUIRED_EN),
])
def test_locale_falls_back_to_the_language_then_the_default(client: TestClient, locale: str | None,
                                                            message: str) -> None:
    context = {"appVersion": "1.2.0", "platform": "ios", "locale": locale}
    status, body = evaluate(client, "kickit.upgrade", context)
    assert (status, body["metadata"]["message"]) == (200, message)


def test_soft_exact_match_and_no_rule(client: TestClient) -> None:
    status, body = evaluate(client, "kickit.upgrade", {"appVersion": "2.5.0", "platform": "ios"})
    assert (body["value"], body["reason"], body["metadata"]["rule"]) == ("soft", "TARGETING_MATCH",
                                                                         "exact:ios/production/2.5.0")
    assert evaluate(client, "kickit.force-update", {"appVersion": "2.5.0", "platform": "ios"})[1]["value"] is False
    assert evaluate(client, "kickit.upgrade", {"appVersion": "2.6.0", "platform": "iOS"}) == (200, {
        "key": "kickit.upgrade", "value": "none", "reason": "DEFAULT", "variant": "none",
        "metadata": {"storeUrl": STORE_IOS},
    })


def test_maintenance_carries_title_description_and_links(client: TestClient) -> None:
    assert evaluate(client, "kickit.maintenance", {"environment": "staging"}) == (200, {
        "key": "kickit.maintenance", "value": True, "reason": "TARGETING_MATCH", "variant": "true",
        "metadata": {"rule": "maintenance:staging:switch", "title": "Scheduled Maintenance",
                     "description": "We're performing an upgrade. Back soon!",
                     "links": '[{"title":"Status Page","url":"https://status.example.com"}]'},
    })
    assert evaluate(client, "kickit.maintenance", {}) == (200, {
        "key": "kickit.maintenance", "value": False, "reason": "DEFAULT", "variant": "false", "metadata": {}})


def test_target_check(client: TestClient) -> None:
    status, body = evaluate(client, "kickit.target", {"platform": "ios", "osVersion": "9.3", "appVersion": "2.5.0"})
    assert body == {"key": "kickit.target", "value": "hard", "reason": "TARGETING_MATCH", "variant": "hard",
                    "metadata": {"rule": "target:ios-below-10",
                                 "message": "Your iOS version is no longer supported. Please update iOS and the app."}}
    current = {"platform": "ios", "osVersion": "17.1", "appVersion": "2.5.0", "buildNumber": 2500}
    assert evaluate(client, "kickit.target", current)[1] == {
        "key": "kickit.target", "value": "none", "reason": "DEFAULT", "variant": "none", "metadata": {}}


def test_target_message_in_the_best_locale(client: TestClient) -> None:
    context = {"environment": "staging", "locale": "de"}
    status, body = evaluate(client, "kickit.target", context, {"X-API-Key": SHOP_KEY})
    assert (body["value"], body["metadata"]["message"]) == ("soft", "Staging builds must update.")


def test_the_seed_endpoints_and_ofrep_give_the_same_verdicts(client: TestClient) -> None:
    """One evaluation behind both: every upgrade answer agrees with /v2/versions."""
    headers = {"x-api-token": token(DEMO_KEY)}
    for platform in ("ios", "android"):
        for environment in ("production", "staging"):
            for app_version in ("1.0", "1.2.0", "2.0.0", "2.4.0", "2.5.0", "3.0.9", "3.1.0", "9", "x.y"):
                seed = client.get("/v2/versions", headers=headers, params={
                    "app_id": "demo", "app_version": app_version, "platform": platform, "environment": environment})
                context = {"appVersion": app_version, "platform": platform, "environment": environment,
                           "locale": "de"}
                flag = evaluate(client, "kickit.upgrade", context)[1]
                if seed.status_code == 404:
                    assert (flag["value"], flag["reason"]) == ("none", "DEFAULT")
                    continue
                answer = seed.json()
                assert flag["value"] == ("hard" if answer["force_update"] else "soft")
                assert flag["metadata"]["rule"] == seed.headers["x-kickit-rule"]
                assert flag["metadata"]["message"] == (answer["update_messages"] or {}).get(
                    "de", answer["default_update_message"])


def test_bulk_lists_every_flag_and_revalidates_with_its_etag(client: TestClient) -> None:
    context = {"targetingKey": "user-1", "appVersion": "1.2.0", "platform": "ios"}
    status, body, response = bulk(client, context)
    assert status == 200
    assert [(flag["key"], flag["value"]) for flag in body["flags"]] == [
        ("kickit.upgrade", "hard"), ("kickit.force-update", True), ("kickit.maintenance", False),
        ("kickit.target", "none")]
    etag = response.headers["etag"]
    again = client.post(FLAGS, json={"context": context}, headers={**AUTH, "If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    conforms(BULK, 304, again.headers, again.content)
    newer = client.post(FLAGS, json={"context": {**context, "appVersion": "2.6.0"}},
                        headers={**AUTH, "If-None-Match": etag})
    assert newer.status_code == 200 and newer.headers["etag"] != etag
    assert newer.json()["flags"][0]["value"] == "none"


def test_bulk_reports_a_flag_the_context_cannot_answer_and_evaluates_the_rest(client: TestClient) -> None:
    status, body, _ = bulk(client, {"environment": "staging"})
    assert status == 200
    assert body["flags"][:2] == [
        {"key": "kickit.upgrade", "errorCode": "INVALID_CONTEXT",
         "errorDetails": "appVersion is required to evaluate kickit.upgrade"},
        {"key": "kickit.force-update", "errorCode": "INVALID_CONTEXT",
         "errorDetails": "appVersion is required to evaluate kickit.force-update"},
    ]
    assert body["flags"][2]["value"] is True
    assert evaluate(client, "kickit.upgrade", {"appVersion": "1.0"}) == (400, {
        "key": "kickit.upgrade", "errorCode": "INVALID_CONTEXT",
        "errorDetails": "platform is required to evaluate kickit.upgrade"})


@pytest.mark.parametrize("flag", ["nope", "kickit.Upgrade", "kickit.upgrade/x", ""])
def test_unknown_flag_is_404_flag_not_found(client: TestClient, flag: str) -> None:
    status, body = evaluate(client, flag, {})
    assert (status, body["key"], body["errorCode"]) == (404, flag, "FLAG_NOT_FOUND")
    assert body["errorDetails"].startswith(f"flag {flag!r} was not found; the flags are kickit.upgrade, ")


@pytest.mark.parametrize(("headers", "status", "details"), [
    ({}, 401, "Unauthorized"),
    ({"X-API-Key": "nope"}, 401, "Unauthorized"),
    ({"X-API-Key": SHOP_EXPIRED_KEY}, 401, "Unauthorized"),
    ({"Authorization": f"Basic {DEMO_KEY}"}, 401, "Unauthorized"),
    ({"Authorization": DEMO_KEY}, 401, "Unauthorized"),
    ({"X-API-Key": CLOSED_KEY}, 403, "Forbidden: the app is disabled"),
])
def test_refused_keys(client: TestClient, headers: dict[str, str], status: int, details: str) -> None:
    assert evaluate(client, "kickit.upgrade", {}, headers) == (status, {"errorDetails": details})
    assert bulk(client, {}, headers)[:2] == (status, {"errorDetails": details})


@pytest.mark.parametrize("headers", [{"X-API-Key": DEMO_KEY}, {"Authorization": f"Bearer {DEMO_KEY}"},
                                     {"Authorization": f"bearer  {DEMO_KEY.upper()}"}])
def test_both_key_headers(client: TestClient, headers: dict[str, str]) -> None:
    assert evaluate(client, "kickit.maintenance", {}, headers)[0] == 200


def test_app_id_and_environment_scope(client: TestClient) -> None:
    assert evaluate(client, "kickit.maintenance", {"appId": "demo"})[0] == 200
    assert evaluate(client, "kickit.maintenance", {"appId": "67005794-36B5-49E5-89BC-33F0221C5DAC"})[0] == 200
    assert evaluate(client, "kickit.maintenance", {"appId": "shop"}) == (
        403, {"errorDetails": "Forbidden: appId is not the key's app"})
    staging_only = {"X-API-Key": SHOP_STAGING_KEY}
    assert evaluate(client, "kickit.maintenance", {"environment": "production"}, staging_only) == (
        403, {"errorDetails": "Forbidden: the key is not valid for this environment"})
    # A key limited to one environment reads that one by default, as for KickIt clients.
    status, body = evaluate(client, "kickit.upgrade", {"appVersion": "3.0.0", "platform": "ios"}, staging_only)
    assert (status, body["metadata"]["rule"]) == (200, "exact:ios/staging/3.0.0")


@pytest.mark.parametrize(("body", "code", "details"), [
    (b"{not json", "PARSE_ERROR", 'the request body is not JSON; the request body must be a JSON object such as '
                                  '{"context": {...}}'),
    (b"[1]", "PARSE_ERROR", 'the request body must be a JSON object such as {"context": {...}}'),
    (b'{"context": []}', "INVALID_CONTEXT", "context must be an object, got []"),
    (b'{"context": {"appVersion": 2.10}}', "INVALID_CONTEXT",
     "appVersion must be a string, got 2.1 (quote it: 2.10 and 2.1 are the same number)"),
    (b'{"context": {"buildNumber": true}}', "INVALID_CONTEXT", "buildNumber must be a string, got true"),
    (b'{"context": {"platform": "windows"}}', "INVALID_CONTEXT", "platform must be 'ios' or 'android', got 'windows'"),
    (b'{"context": {"environment": "prod"}}', "INVALID_CONTEXT",
     "environment 'prod' is not one of the app's environments: production, staging"),
    (b'{"context": {"locale": "' + b"x" * 129 + b'"}}', "INVALID_CONTEXT", "locale is longer than 128 characters"),
    (b'{"context": {"targetingKey": 7}}', "INVALID_CONTEXT", "targetingKey must be a string, got 7"),
])
def test_bad_requests_are_400_with_the_specification_codes(client: TestClient, body: bytes, code: str,
                                                           details: str) -> None:
    assert evaluate(client, "kickit.target", body=body) == (
        400, {"key": "kickit.target", "errorCode": code, "errorDetails": details})
    assert bulk(client, body=body)[:2] == (400, {"errorCode": code, "errorDetails": details})


def test_no_context_is_an_empty_context(client: TestClient) -> None:
    assert evaluate(client, "kickit.maintenance", body=b"{}")[0] == 200
    assert bulk(client, body=b"{}")[0] == 200


def test_body_over_the_limit_is_413(make_client: MakeClient) -> None:
    client = make_client(max_body=64)
    body = json.dumps({"context": {"note": "x" * 100}}).encode()
    assert evaluate(client, "kickit.target", body=body) == (413, {"errorDetails": "Request body is larger than 64 bytes"})


def test_not_ready_is_503(make_client: MakeClient, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    client = make_client(snapshots=str(empty))
    assert bulk(client, {})[:2] == (503, {"errorDetails": "Service Unavailable: no snapshot loaded yet"})


def test_get_is_405(client: TestClient) -> None:
    response = client.get(f"{FLAGS}/kickit.upgrade", headers=AUTH)
    assert (response.status_code, response.json()) == (405, {"error": "Method Not Allowed"})


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                  max_size=3), max_leaves=6)
_attributes = st.sampled_from(["appVersion", "platform", "environment", "buildNumber", "osVersion", "locale",
                               "targetingKey", "appId"])
_values = st.one_of(_json, st.sampled_from(["ios", "android", "IOS", "production", "staging", "demo", "1.2.0",
                                            "2.5.0", "9.3", "de-DE", " ", ""]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(context=st.dictionaries(_attributes, _values, max_size=8),
       flag=st.sampled_from(["kickit.upgrade", "kickit.force-update", "kickit.maintenance", "kickit.target"]))
def test_any_context_gets_an_answer_the_specification_describes(client: TestClient, context: dict[str, Any],
                                                                flag: str) -> None:
    status, _ = evaluate(client, flag, context)
    assert status in (200, 400, 403)
    assert bulk(client, context)[0] in (200, 400, 403)


# --- time and the OS: the same answers as the seed endpoints give at that instant ---------------------


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def set_clock(client: TestClient, when: str) -> None:
    client.app.state.runtime.clock = lambda: at(when)  # type: ignore[attr-defined]


STAGING_IOS = {"appVersion": "2.5.0", "platform": "ios", "environment": "staging"}


def test_a_hard_rule_waits_for_its_release_and_grace(client: TestClient) -> None:
    set_clock(client, "2027-01-13T07:59:59Z")
    assert evaluate(client, "kickit.upgrade", STAGING_IOS)[1]["value"] == "none"
    set_clock(client, "2027-01-13T08:00:00Z")
    status, body = evaluate(client, "kickit.upgrade", STAGING_IOS)
    assert (body["value"], body["metadata"]["rule"]) == ("hard", "minimum:ios/staging")
    assert evaluate(client, "kickit.force-update", STAGING_IOS)[1]["value"] is True


def test_an_os_too_old_for_the_release_gets_the_os_message_soft(client: TestClient) -> None:
    set_clock(client, "2027-01-13T08:00:00Z")
    status, body = evaluate(client, "kickit.upgrade", {**STAGING_IOS, "osVersion": "15.7"})
    assert (body["value"], body["metadata"]["message"]) == (
        "soft", "This update needs a newer iOS. Please update iOS, then the app.")
    assert evaluate(client, "kickit.upgrade", {**STAGING_IOS, "osVersion": "16.0"})[1]["value"] == "hard"


def test_a_deadline_is_hard_from_in_the_metadata_until_it_turns_hard(client: TestClient) -> None:
    context = {"appVersion": "2.9.0", "platform": "android"}
    set_clock(client, "2027-01-31T22:59:59Z")
    status, body = evaluate(client, "kickit.target", context)
    assert (body["value"], body["metadata"]["hardFrom"]) == ("soft", "2027-01-31T23:00:00Z")
    set_clock(client, "2027-01-31T23:00:00Z")
    status, body = evaluate(client, "kickit.target", context)
    assert body["value"] == "hard" and "hardFrom" not in body["metadata"]


def test_the_os_gate_on_the_target_flag(make_client: MakeClient, write_config: WriteConfig, tmp_path: Path) -> None:
    from kickit_edge.compiler.compile import compile_config
    from kickit_edge.compiler.publish import publish_snapshot

    from .test_upgrade_safety import OS_GATED

    folder = tmp_path / "gated-snapshots"
    publish_snapshot(compile_config(write_config({"apps/gate.yaml": OS_GATED}, name="gated")).data, folder)
    gated = make_client(snapshots=str(folder))
    set_clock(gated, "2027-02-01T00:00:00Z")
    context = {"appVersion": "4.0", "platform": "ios", "osVersion": "17.1"}
    assert evaluate(gated, "kickit.target", context)[1]["metadata"]["message"] == "Please update."
    status, body = evaluate(gated, "kickit.target", {**context, "osVersion": "16.4"})
    assert (body["value"], body["metadata"]) == ("soft", {"rule": "target:below-5", "message": "Please update iOS first."})
    set_clock(gated, "2027-05-31T23:59:59Z")
    android = {"appVersion": "4.0", "platform": "android"}
    status, body = evaluate(gated, "kickit.upgrade", android)
    assert (body["value"], body["metadata"]["hardFrom"]) == ("soft", "2027-06-01T00:00:00Z")
