"""Upgrade safety over time: releases, grace, deadlines, schedules and OS gates, pinned by exact answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kickit_edge.compiler.compile import compile_config
from kickit_edge.compiler.timeline import rule_state
from kickit_edge.errors import ConfigError
from kickit_edge.evaluation import TargetRequest, check_target, check_versions
from kickit_edge.snapshot import AppIndex
from kickit_edge.versions import version_key
from tests.conftest import MINIMAL_APP, WriteConfig

# The shop of tests/conftest.py (production and staging), with an OS message and releases.
APP = MINIMAL_APP[:MINIMAL_APP.index("messages:")].replace("  default_locale: en\n", """\
  default_locale: en
  os_message: old_os
""") + """\
messages:
  soft:
    en: Please update.
  old_os:
    en: Please update iOS first.
releases:
  - platform: ios
    version: "2.0.0"
    available_from: "2026-12-01T00:00:00Z"
  - platform: ios
    version: "3.0.0"
    available_from: "2026-12-10T10:00:00"
    timezone: Europe/Berlin
    min_os: "16.0"
  - platform: ios
    version: "3.1.0"
    available_from: "2026-12-20T00:00:00Z"
    min_os: "15.0"
"""


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def compiled(write_config: WriteConfig, rules: str) -> AppIndex:
    result = compile_config(write_config({"apps/shop.yaml": APP + rules}), run_tests=False)
    return result.snapshot.apps["shop"]


def versions(app: AppIndex, when: str, version: str = "1.0.0", os_version: str | None = None) -> tuple[str, str | None, str | None]:
    answer = check_versions(app, "ios", "production", version, 1, at(when), os_version)
    body = json.loads(answer.body)
    return answer.verdict, body.get("update_message"), answer.hard_from


HARD_MINIMUM = """\
minimum_versions:
  - platform: ios
    environment: production
    version: "3.0.0"
    force_update: true
    message: soft
"""


def test_a_hard_minimum_waits_for_its_release(write_config: WriteConfig) -> None:
    app = compiled(write_config, HARD_MINIMUM)
    # 3.0.0 is available from 2026-12-10 10:00 Berlin = 09:00 UTC: not forced before.
    assert versions(app, "2026-12-10T08:59:59") == ("not_found", None, None)
    assert versions(app, "2026-12-10T09:00:00") == ("hard", "Please update.", None)
    assert app.changes == (at("2026-12-10T09:00:00"), at("2026-12-20T00:00:00"))


def test_grace_delays_the_rule_past_the_release(write_config: WriteConfig) -> None:
    app = compiled(write_config, HARD_MINIMUM + "    grace: 1d12h\n")
    assert versions(app, "2026-12-11T20:59:59")[0] == "not_found"
    assert versions(app, "2026-12-11T21:00:00")[0] == "hard"


def test_the_os_gate_answers_soft_with_the_os_message(write_config: WriteConfig) -> None:
    app = compiled(write_config, HARD_MINIMUM)
    # Until 3.1.0 (min_os 15.0) is out, installing a satisfying release needs iOS 16.
    assert versions(app, "2026-12-15T00:00:00", os_version="15.4") == ("soft", "Please update iOS first.", None)
    assert versions(app, "2026-12-15T00:00:00", os_version="16.0") == ("hard", "Please update.", None)
    assert versions(app, "2026-12-15T00:00:00") == ("hard", "Please update.", None)  # OS not said: the rule
    # From 2026-12-20 3.1.0 runs on iOS 15: the gate moves down.
    assert versions(app, "2026-12-20T00:00:00", os_version="15.4") == ("hard", "Please update.", None)
    assert versions(app, "2026-12-20T00:00:00", os_version="14.8") == ("soft", "Please update iOS first.", None)
    answer = check_versions(app, "ios", "production", "1.0.0", 2, at("2026-12-20T00:00:00"), "14.8")
    assert json.loads(answer.body)["force_update"] is False


def test_a_deadline_is_soft_before_and_hard_from_then(write_config: WriteConfig) -> None:
    app = compiled(write_config, HARD_MINIMUM.replace("force_update: true", "hard_from: \"2027-01-15T10:00:00Z\""))
    assert versions(app, "2026-12-15T00:00:00", os_version="16.1") == ("soft", "Please update.", "2027-01-15T10:00:00Z")
    assert versions(app, "2027-01-15T09:59:59") == ("soft", "Please update.", "2027-01-15T10:00:00Z")
    assert versions(app, "2027-01-15T10:00:00") == ("hard", "Please update.", None)
    soft = check_versions(app, "ios", "production", "1.0.0", 1, at("2027-01-15T09:59:59"))
    hard = check_versions(app, "ios", "production", "1.0.0", 1, at("2027-01-15T10:00:00"))
    assert soft.etag != hard.etag  # the ETag changes exactly when the answer does


def test_a_schedule_bounds_the_rule(write_config: WriteConfig) -> None:
    rules = """\
minimum_versions:
  - platform: android
    environment: production
    version: "5.0.0"
    message: soft
    active_from: "2027-02-01"
    active_until: "2027-03-01T00:00:00"
    timezone: Europe/Berlin
"""
    app = compiled(write_config, rules)

    def android(when: str) -> str:
        return check_versions(app, "android", "production", "4.0", 1, at(when)).verdict

    assert android("2027-01-31T22:59:59") == "not_found"
    assert android("2027-01-31T23:00:00") == "soft"
    assert android("2027-02-28T22:59:59") == "soft"
    assert android("2027-02-28T23:00:00") == "not_found"


def test_apps_without_time_compile_to_the_same_bytes_as_before(write_config: WriteConfig) -> None:
    plain = APP.split("releases:")[0].replace("  os_message: old_os\n", "")
    data = compile_config(write_config({"apps/shop.yaml": plain + HARD_MINIMUM}), run_tests=False).data
    assert b'"timeline"' not in data and b'"os"' not in data and b'"hard_from"' not in data
    line = json.loads(data.split(b"\n")[2])
    assert set(line) == {"name", "uuid", "disabled", "platforms", "environments", "default_locale", "store_urls",
                         "exact", "minimum", "targets", "maintenance"}


TARGETS = """\
targets:
  - id: old-app
    message: soft
    version: {below: "3.0.0"}
    hard_from: "2027-01-15T10:00:00Z"
  - id: ancient
    hard: true
    message: soft
    version: {below: "1.0"}
"""


def target(app: AppIndex, when: str, platform: str = "ios", version: str = "2.0.0",
           os_version: str | None = None) -> tuple[bool, bool, str | None, str | None]:
    answer = check_target(app, TargetRequest(version, None, platform, os_version, "production"), at(when))
    body = json.loads(answer.body)
    return body["matched"], body["hard_deprecation"], body["message"], answer.hard_from


def test_targets_wait_for_releases_per_platform_and_turn_hard_at_their_deadline(write_config: WriteConfig) -> None:
    app = compiled(write_config, TARGETS)
    # Android lists no releases: the target applies there at once.
    assert target(app, "2026-11-01T00:00:00", "android") == (True, False, "Please update.", "2027-01-15T10:00:00Z")
    assert target(app, "2026-11-01T00:00:00") == (False, False, None, None)
    assert target(app, "2026-12-10T09:00:00") == (True, False, "Please update.", "2027-01-15T10:00:00Z")
    assert target(app, "2026-12-15T00:00:00", os_version="15.0") == (True, False, "Please update iOS first.", None)
    assert target(app, "2027-01-15T10:00:00", os_version="16.2") == (True, True, "Please update.", None)
    assert target(app, "2027-01-15T10:00:00", os_version="14.0") == (True, False, "Please update iOS first.", None)
    assert target(app, "2027-01-15T10:00:00", "android") == (True, True, "Please update.", None)


def errors(write_config: WriteConfig, rules: str, app: str = APP) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        compile_config(write_config({"apps/shop.yaml": app + rules}), run_tests=False)
    return [str(d).replace(str(caught.value.diagnostics[0].path), "shop.yaml") for d in caught.value.diagnostics]


def test_a_hard_rule_above_every_release_is_a_compile_error(write_config: WriteConfig) -> None:
    assert errors(write_config, HARD_MINIMUM.replace('"3.0.0"', '"4.0.0"')) == [
        "shop.yaml:31:14: minimum_versions[0].version: hard rule minimum:ios/production asks for '4.0.0' on ios, "
        "above every listed ios release (the highest is '3.1.0'): users could never comply; "
        "list the release or make the rule soft"]
    assert errors(write_config, TARGETS.replace('{below: "3.0.0"}', '{below: "9"}')) == [
        "shop.yaml:31:22: targets[0].version.below: hard rule target:old-app asks for '9' on ios, "
        "above every listed ios release (the highest is '3.1.0'): users could never comply; "
        "list the release or make the rule soft"]


def test_soft_rules_may_ask_for_an_unreleased_version(write_config: WriteConfig) -> None:
    app = compiled(write_config, HARD_MINIMUM.replace('"3.0.0"', '"4.0.0"').replace("force_update: true", "force_update: false"))
    assert versions(app, "2030-01-01T00:00:00")[0] == "not_found"


def test_schedule_and_release_mistakes_are_compile_errors(write_config: WriteConfig) -> None:
    rules = HARD_MINIMUM + '    hard_from: "2027-01-01"\n    active_from: "2027-02-01"\n    active_until: "2027-01-01"\n'
    assert errors(write_config, rules) == [
        "shop.yaml:34:16: minimum_versions[0].hard_from: hard_from makes the rule soft before and hard from then on, "
        "but force_update: true makes it hard already: remove force_update",
        "shop.yaml:36:19: minimum_versions[0].active_until: never applies: active_until 2027-01-01T00:00:00+00:00 "
        "is not after active_from 2027-02-01T00:00:00+00:00",
    ]
    no_message = APP.replace("  os_message: old_os\n", "")
    assert errors(write_config, "", no_message) == [
        f"shop.yaml:{line}:13: releases[{i}].min_os: a release with min_os needs app.os_message: "
        "the message clients whose OS is too old get instead" for i, line in ((1, 22), (2, 26))]
    bad_zone = APP.replace("timezone: Europe/Berlin", "timezone: Mars/Olympus")
    assert errors(write_config, "", bad_zone) == [
        "shop.yaml:22:15: releases[1].timezone: unknown time zone 'Mars/Olympus': "
        "expected an IANA name such as 'Europe/Berlin' or 'UTC'"]


def test_config_tests_take_an_instant(write_config: WriteConfig) -> None:
    cases = """\
tests:
  - name: before the release nothing is forced
    check: versions
    platform: ios
    environment: production
    version: "1.0.0"
    at: "2026-12-10T08:59:59Z"
    expect: {verdict: not_found}
  - name: after it, forced
    check: versions
    platform: ios
    environment: production
    version: "1.0.0"
    at: "2026-12-10T09:00:00Z"
    expect: {verdict: hard, rule: minimum:ios/production}
  - name: too old an OS gets the OS message
    check: versions
    platform: ios
    environment: production
    version: "1.0.0"
    os_version: "15.0"
    at: "2026-12-10T09:00:00Z"
    expect: {verdict: soft, message: Please update iOS first.}
"""
    result = compile_config(write_config({"apps/shop.yaml": APP + HARD_MINIMUM + cases}), run_tests=True)
    assert [r.verdict for r in result.results] == ["not_found", "hard", "soft"]


def test_a_timed_app_carries_one_view_per_interval(write_config: WriteConfig) -> None:
    result = compile_config(write_config({"apps/shop.yaml": APP + HARD_MINIMUM + TARGETS}), run_tests=False)
    line = json.loads(result.data.split(b"\n")[2])
    # 2.0.0 satisfies "ancient" (below 1.0), 3.0.0 the rest; 3.1.0 loosens the OS gate; then the deadline.
    assert line["timeline"]["changes"] == [at("2026-12-01T00:00:00"), at("2026-12-10T09:00:00"),
                                           at("2026-12-20T00:00:00"), at("2027-01-15T10:00:00")]
    assert len(line["timeline"]["views"]) == 4
    assert line["timeline"]["why"] == [["ios 2.0.0 released"], ["ios 3.0.0 released"], ["ios 3.1.0 released"],
                                       ["target:old-app turns hard"]]
    # Before any iOS release the targets apply on Android only (it lists no releases).
    assert [(t["id"], t["platforms"]) for t in line["targets"]] == [("ancient", ["android"]), ("old-app", ["android"])]
    assert [(t["id"], t["hard"]) for t in line["timeline"]["views"][3]["targets"]] == [("old-app", True), ("ancient", True)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moment=st.integers(int(at("2026-11-25T00:00:00")), int(at("2027-02-01T00:00:00"))),
       os_version=st.sampled_from([None, "14.0", "15.0", "15.9", "16.0", "17.0"]))
def test_the_compiled_intervals_answer_as_the_rules_say_at_every_instant(
        write_config: WriteConfig, moment: int, os_version: str | None) -> None:
    """The snapshot's views, looked up by bisection, agree with the rules evaluated directly at the instant."""
    config_dir = write_config({"apps/shop.yaml": APP + HARD_MINIMUM.replace(
        "force_update: true", 'hard_from: "2026-12-24T18:00:00Z"\n    grace: 6h')})
    result = compile_config(config_dir, run_tests=False)
    app = result.snapshot.apps["shop"]
    model = result.config.app("shop")
    assert model is not None
    when = datetime.fromtimestamp(moment, UTC)
    state = rule_state(model, model.minimums[0], when)
    answer = check_versions(app, "ios", "production", "1.0.0", 1, float(moment), os_version)
    if state is None:
        assert answer.verdict == "not_found"
        return
    gate = dict(state.os_gates).get("ios")
    blocked = gate is not None and os_version is not None and version_key(os_version) < version_key(gate)
    assert answer.verdict == ("soft" if blocked or not state.hard else "hard")
    assert answer.hard_from == (None if blocked or state.hard else "2026-12-24T18:00:00Z")
