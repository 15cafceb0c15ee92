"""Evaluation against the compiled demo: the seeds' example answers, precedence and auth."""

from __future__ import annotations

import json
from datetime import UTC, datetime
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kickit_edge.compiler.compile import compile_config
from kickit_edge.evaluation import (app_at, FORBIDDEN, PAYMENT_REQUIRED, UNAUTHORIZED, VERSION_NOT_FOUND, TargetRequest,
                                    Grant, authorize, check_maintenance, check_target, check_versions)
from kickit_edge.keys import Key, parse_key
from kickit_edge.snapshot import Snapshot, etag_of
from tests.conftest import DEMO_CONFIG, MINIMAL_APP, WriteConfig

SEED_KEY = "2d71d7ebb9e2c0ed.dd24791ce6985c826497ec3fdcb4126521deff88f613db6680eea15a0d9f9b01"


@pytest.fixture(scope="module")
def demo() -> Snapshot:
    return compile_config(str(DEMO_CONFIG), revision="test").snapshot


def body(answer: object) -> object:
    return json.loads(answer.body)  # type: ignore[attr-defined]


def test_seed_v1_example(demo: Snapshot) -> None:
    answer = check_versions(demo.apps["demo"], "ios", "production", "2.5.0", 1)
    assert answer.status == 200
    assert answer.body == (b'{"version":"2.5.0","platform":"ios","force_update":false,'
                           b'"update_message":"A new version is available."}')
    assert answer.etag == etag_of(answer.body)
    assert answer.rule == "exact:ios/production/2.5.0"


def test_seed_v2_example(demo: Snapshot) -> None:
    answer = check_versions(demo.apps["demo"], "ios", "production", "2.5.0", 2)
    assert body(answer) == {
        "version": "2.5.0", "platform": "ios", "force_update": False,
        "default_update_message": "A new version is available.",
        "update_messages": {"en": "A new version is available.", "de": "Eine neue Version ist verfuegbar."},
    }
    assert list(body(answer)) == ["version", "platform", "force_update", "default_update_message", "update_messages"]


# The demo lists its store releases: its minimum applies once a satisfying release is out (2024).
NOW = datetime(2026, 12, 1, tzinfo=UTC).timestamp()


def test_minimum_rule_answers_older_clients_only(demo: Snapshot) -> None:
    app = app_at(demo.apps["demo"], NOW)
    old = check_versions(app, "ios", "production", "1.2.0")
    assert (old.status, old.verdict, old.rule) == (200, "hard", "minimum:ios/production")
    assert body(old)["version"] == "2.0.0" and body(old)["force_update"] is True
    assert check_versions(app, "ios", "production", "2.0.0") is VERSION_NOT_FOUND
    assert check_versions(app, "ios", "production", "2.0") is VERSION_NOT_FOUND  # 2.0 == 2.0.0
    assert check_versions(app, "ios", "production", "2.0.0-rc.1").verdict == "hard"
    # Disabled exact record: falls through to the minimum rule, which does not apply.
    assert check_versions(app, "ios", "production", "2.4.0") is VERSION_NOT_FOUND
    assert check_versions(app, "ios", "staging", "1.0.0") is VERSION_NOT_FOUND


def test_unorderable_client_version_is_not_found_not_an_error(demo: Snapshot) -> None:
    app = demo.apps["demo"]
    for version in ["latest", "", "x" * 10_000, "1.0\n", "☃"]:
        assert check_versions(app, "ios", "production", version) is VERSION_NOT_FOUND
    assert VERSION_NOT_FOUND.body == b'{"error":"Version not found"}'


def test_maintenance_switch_window_and_off(demo: Snapshot) -> None:
    app = demo.apps["demo"]
    now = datetime(2026, 11, 22, tzinfo=UTC).timestamp()
    assert body(check_maintenance(demo, app, "staging", now)) == {
        "active": True, "title": "Scheduled Maintenance", "description": "We're performing an upgrade. Back soon!",
        "links": [{"title": "Status Page", "url": "https://status.example.com"}],
    }
    off = check_maintenance(demo, app, "production", now)
    assert off.body == b'{"active":false,"title":null,"description":null,"links":[]}'
    start = datetime(2027, 3, 14, 1, 0, tzinfo=UTC).timestamp()  # 02:00 Europe/Berlin (CET)
    assert check_maintenance(demo, app, "production", start - 1) == off
    during = check_maintenance(demo, app, "production", start)
    assert during.rule == "maintenance:production:windows[0]" and during.etag != off.etag
    assert check_maintenance(demo, app, "production", start + 7200) == off
    assert check_maintenance(demo, app, "qa", now) == off


def test_a_window_in_utc_needs_no_timezone(write_config: WriteConfig) -> None:
    config = write_config({"apps/shop.yaml": MINIMAL_APP + (
        "maintenance:\n  production:\n    windows:\n"
        "      - {start: '2027-01-02T10:00:00Z', end: '2027-01-02T12:00:00+01:00', title: Upgrade}\n")})
    snapshot = compile_config(str(config), revision="test").snapshot
    app = snapshot.apps["shop"]
    start = datetime(2027, 1, 2, 10, tzinfo=UTC).timestamp()
    title = [json.loads(check_maintenance(snapshot, app, "production", start + s).body)["title"]
             for s in (-1, 0, 3599, 3600)]
    assert title == [None, "Upgrade", "Upgrade", None]  # 12:00+01:00 is 11:00Z


def test_kickit_seed_example_with_only_the_version(demo: Snapshot) -> None:
    answer = check_target(demo.apps["demo"], TargetRequest(version="1.0.1-production", environment="production"))
    assert body(answer) == {
        "matched": True, "message": "Please install our newest version 0.0.2", "hard_deprecation": False,
        "target_meta": {"app_name": "KickItApp", "version": "1.0.1-production", "build_number": "1000",
                        "platform": "ios", "platform_version": None},
    }


def test_hard_targets_come_first_and_need_evidence(demo: Snapshot) -> None:
    app = demo.apps["demo"]
    full = TargetRequest("1.0.1-production", "1000", "ios", "10.4", "production")
    assert check_target(app, full).verdict == "soft"
    assert check_target(app, full._replace(os_version="9.3")).verdict == "hard"
    assert body(check_target(app, full._replace(os_version="9.3")))["hard_deprecation"] is True
    # No OS version sent: the hard target cannot apply.
    assert check_target(app, full._replace(os_version=None)).verdict == "soft"
    assert check_target(app, full._replace(platform="android")).rule == "target:android-before-3"
    assert check_target(app, full._replace(platform="android", version="3.0.0")).verdict == "ok"
    assert check_target(app, full._replace(build="1001")).verdict == "ok"


def test_authorize_maps_keys_to_apps_and_statuses(demo: Snapshot, write_config: WriteConfig) -> None:
    now = datetime(2026, 11, 22, tzinfo=UTC).timestamp()
    grant = authorize(demo, parse_key(SEED_KEY), now)
    assert isinstance(grant, Grant) and grant.app is demo.apps["demo"]
    assert authorize(demo, None, now) is UNAUTHORIZED
    wrong = Key("2d71d7ebb9e2c0ed", "0" * 64)
    assert authorize(demo, wrong, now) is UNAUTHORIZED
    assert authorize(demo, Key("ffffffffffffffff", "0" * 64), now) is UNAUTHORIZED
    assert UNAUTHORIZED.body == b'{"error":"Unauthorized"}' and UNAUTHORIZED.status == 401
    assert FORBIDDEN.body == b'{"error":"Forbidden"}' and FORBIDDEN.status == 403

    from kickit_edge.keys import hash_secret
    key = Key("00112233aabbccdd", "ab" * 32)
    text = MINIMAL_APP.replace("  default_locale: en\n", "  default_locale: en\n  disabled: true\n")
    text += f"keys:\n  - prefix: {key.prefix}\n    sha256: {hash_secret(key.secret)}\n    expires: '2027-01-01'\n"
    snapshot = compile_config(str(write_config({"shop.yaml": text})), revision="r").snapshot
    assert authorize(snapshot, key, now) is PAYMENT_REQUIRED
    assert PAYMENT_REQUIRED.status == 402 and PAYMENT_REQUIRED.body == b'{"error":"Payment Required"}'
    assert authorize(snapshot, key, datetime(2027, 1, 1, tzinfo=UTC).timestamp()) is UNAUTHORIZED



@settings(max_examples=80, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=12)), st.one_of(st.none(), st.text(max_size=6)),
       st.one_of(st.none(), st.sampled_from(["ios", "android", "web\"\\"])), st.one_of(st.none(), st.text(max_size=6)))
def test_target_bodies_equal_json_dumps(demo: Snapshot, version: str | None, build: str | None,
                                        platform: str | None, os_version: str | None) -> None:
    from kickit_edge.snapshot import render_body

    request = TargetRequest(version, build, platform, os_version, "production")
    answer = check_target(demo.apps["demo"], request)
    decoded = json.loads(answer.body)
    assert answer.body == render_body(decoded)
    assert answer.etag == etag_of(answer.body)
    meta = decoded["target_meta"]
    if version is not None:
        assert meta["version"] == version
    if os_version is not None:
        assert meta["platform_version"] == os_version
    assert check_target(demo.apps["demo"], request) is answer  # rendered once, then cached
