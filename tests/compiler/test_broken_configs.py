"""A corpus of broken configs: each is rejected with exact diagnostics, and nothing is published."""

from __future__ import annotations

from pathlib import Path

import pytest

from kickit_edge.cli import main
from tests.conftest import MINIMAL_APP, WriteConfig

APP = MINIMAL_APP
OTHER = APP.replace("id: shop", "id: other").replace("11111111-2222-4333-8444-555555555555",
                                                     "99999999-2222-4333-8444-555555555555").replace("SHOP1234", "OTHR1234")
KEY_A = "keys:\n  - prefix: 00112233aabbccdd\n    sha256: " + "a" * 64 + "\n"


def swap(old: str, new: str, extra: str = "") -> str:
    assert old in APP, old
    return APP.replace(old, new) + extra


CASES: list[tuple[str, dict[str, str], list[str]]] = [
    ("syntax: unclosed flow sequence",
     {"apps/shop.yaml": swap("platforms: [ios, android]", "platforms: [ios, android")},
     ["config/apps/shop.yaml:7:15: YAML syntax error: expected ',' or ']', but got ':'"]),
    ("syntax: tab indentation",
     {"apps/shop.yaml": swap("  name: ShopApp", "\tname: ShopApp")},
     ["config/apps/shop.yaml:3:1: YAML syntax error: found character '\\t' that cannot start any token"]),
    ("duplicate key in a mapping",
     {"apps/shop.yaml": swap("  name: ShopApp\n", "  name: ShopApp\n  name: Again\n")},
     ["config/apps/shop.yaml:4:3: app.name: duplicate key 'name'"]),
    ("empty file",
     {"apps/shop.yaml": APP, "apps/empty.yaml": "# nothing yet\n"},
     ["config/apps/empty.yaml:1:1: the file is empty: expected a mapping with 'app' or 'admin_tokens'"]),
    ("unknown kind of file",
     {"apps/shop.yaml": APP, "apps/list.yaml": "- a\n- b\n"},
     ["config/apps/list.yaml:1:1: expected a mapping with 'app' (an app file) or 'admin_tokens' (the admin token file)"]),
    ("missing required field",
     {"apps/shop.yaml": swap("  name: ShopApp\n", "")},
     ["config/apps/shop.yaml:2:3: app: 'name' is a required property"]),
    ("platform not in the enum",
     {"apps/shop.yaml": swap("platforms: [ios, android]", "platforms: [ios, windows]")},
     ["config/apps/shop.yaml:6:20: app.platforms[1]: 'windows' is not one of ['android', 'ios']"]),
    ("version written as a number",
     {"apps/shop.yaml": swap('- version: "3.0.0"', "- version: 3.0")},
     ["config/apps/shop.yaml:14:14: versions[0].version: 3.0 is not of type 'string'. Hint: quote it, as in '3.0'"]),
    ("yes read as a boolean",
     {"apps/shop.yaml": swap("    en: Please update.", "    en: yes")},
     ["config/apps/shop.yaml:11:9: messages.soft.en: True is not of type 'string'. "
      "Hint: YAML reads yes/no/on/off as booleans; quote the text"]),
    ("unknown field",
     {"apps/shop.yaml": swap("    message: soft\nminimum", "    message: soft\n    status: true\nminimum")},
     ["config/apps/shop.yaml:14:5: versions[0]: Additional properties are not allowed ('status' was unexpected)"]),
    ("malformed uuid",
     {"apps/shop.yaml": swap("11111111-2222-4333-8444-555555555555", "not-a-uuid")},
     ["config/apps/shop.yaml:4:9: app.uuid: 'not-a-uuid' does not match "
      "'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"]),
    ("secret stored instead of a hash",
     {"apps/shop.yaml": APP + "keys:\n  - prefix: 00112233aabbccdd\n    sha256: 00112233aabbccdd.deadbeef\n"},
     ["config/apps/shop.yaml:26:13: keys[0].sha256: '00112233aabbccdd.deadbeef' does not match '^[0-9a-f]{64}$' "
      "(SHA-256 of the secret; never the secret.)"]),
    ("invalid expiry date",
     {"apps/shop.yaml": APP + KEY_A + "    expires: 2027-02-30\n"},
     ["config/apps/shop.yaml:27:14: keys[0].expires: '2027-02-30' is not a valid date or date-time: "
      "day is out of range for month"]),
    ("duplicate app id across files",
     {"apps/shop.yaml": APP, "apps/shop2.yaml": OTHER.replace("id: other", "id: shop")},
     ["config/apps/shop2.yaml:2:7: app.id: duplicate app id 'shop': already used at config/apps/shop.yaml:2"]),
    ("duplicate uuid and public key across files",
     {"apps/shop.yaml": APP, "apps/other.yaml": APP.replace("id: shop", "id: other")},
     ["config/apps/shop.yaml:4:9: app.uuid: duplicate app uuid '11111111-2222-4333-8444-555555555555': "
      "already used at config/apps/other.yaml:4",
      "config/apps/shop.yaml:5:15: app.public_key: duplicate public_key 'SHOP1234': "
      "already used at config/apps/other.yaml:5"]),
    ("duplicate key prefix across apps",
     {"apps/shop.yaml": APP + KEY_A, "apps/other.yaml": OTHER + KEY_A},
     ["config/apps/shop.yaml:25:13: keys[0].prefix: duplicate key prefix '00112233aabbccdd': "
      "already used at config/apps/other.yaml:25"]),
    ("unknown message reference",
     {"apps/shop.yaml": swap("    message: soft\nminimum", "    message: sofft\nminimum")},
     ["config/apps/shop.yaml:17:14: versions[0].message: unknown message 'sofft': expected one of ['soft']"]),
    ("message without the default locale",
     {"apps/shop.yaml": swap("    en: Please update.\n", "")},
     ["config/apps/shop.yaml:11:5: messages.soft: message 'soft' has no text for the default locale 'en'"]),
    ("minimum version that cannot be ordered",
     {"apps/shop.yaml": swap('- version: "2.0.0"', "- version: latest")},
     ["config/apps/shop.yaml:19:14: minimum_versions[0].version: 'latest' is not a version: "
      "expected it to start with a number, as in 2.5.0"]),
    ("duplicate exact version",
     {"apps/shop.yaml": swap("minimum_versions:", "  - version: \"3.0.0\"\n    platform: ios\n"
                                                   "    environment: production\nminimum_versions:")},
     ["config/apps/shop.yaml:18:14: versions[1].version: duplicate exact version '3.0.0' for ios/production: "
      "already at line 14"]),
    ("second minimum for one platform and environment",
     {"apps/shop.yaml": APP + '  - version: "1.0.0"\n    platform: ios\n    environment: production\n'},
     ["config/apps/shop.yaml:24:5: minimum_versions[1]: never matches: the minimum version for ios/production "
      "at line 19 always wins (one minimum per platform and environment)"]),
    ("rule for an environment the app does not have",
     {"apps/shop.yaml": swap("    environment: production\n    message: soft\nminimum",
                             "    environment: prod\n    message: soft\nminimum")},
     ["config/apps/shop.yaml:16:18: versions[0].environment: environment 'prod' is not one of the app's "
      "environments ['production', 'staging']"]),
    ("window that ends before it starts",
     {"apps/shop.yaml": APP + "maintenance:\n  production:\n    windows:\n"
                              "      - {start: '2027-01-02T10:00', end: '2027-01-02T09:00', timezone: UTC, title: Up}\n"},
     ["config/apps/shop.yaml:27:42: maintenance.production.windows[0].end: window ends before it starts: "
      "end 2027-01-02T09:00:00+00:00 is not after start 2027-01-02T10:00:00+00:00"]),
    ("unknown time zone",
     {"apps/shop.yaml": APP + "maintenance:\n  production:\n    windows:\n"
                              "      - {start: '2027-01-02T10:00', end: '2027-01-02T11:00', timezone: Mars/Olympus, title: Up}\n"},
     ["config/apps/shop.yaml:27:72: maintenance.production.windows[0].timezone: unknown time zone 'Mars/Olympus': "
      "expected an IANA name such as 'Europe/Berlin' or 'UTC'"]),
    ("maintenance for an unknown environment",
     {"apps/shop.yaml": APP + "maintenance:\n  qa:\n    active: true\n"},
     ["config/apps/shop.yaml:26:5: maintenance.qa: environment 'qa' is not one of the app's environments "
      "['production', 'staging']"]),
    ("target shadowed by an earlier, wider target",
     {"apps/shop.yaml": APP + "targets:\n"
                              "  - {id: old, message: soft, version: {below: '2.0'}}\n"
                              "  - {id: older, message: soft, platforms: [ios], version: {below: '1.5'}}\n"},
     ["config/apps/shop.yaml:26:5: targets[1]: never matches: target 'old' (line 25) is checked first "
      "and matches everything this one does"]),
    ("hard target without conditions shadows every soft one",
     {"apps/shop.yaml": APP + "targets:\n"
                              "  - {id: nudge, message: soft, version: {in: ['1.0.0']}}\n"
                              "  - {id: everyone, hard: true, message: soft}\n"},
     ["config/apps/shop.yaml:25:5: targets[0]: never matches: target 'everyone' (line 26) is checked first "
      "and matches everything this one does"]),
    ("empty version range",
     {"apps/shop.yaml": APP + "targets:\n  - {id: t, message: soft, build: {min: '200', below: '100'}}\n"},
     ["config/apps/shop.yaml:25:35: targets[0].build: never matches: build range is empty "
      "(min '200' is not below '100')"]),
    ("range bound that cannot be ordered",
     {"apps/shop.yaml": APP + "targets:\n  - {id: t, message: soft, os_version: {below: 'ten'}}\n"},
     ["config/apps/shop.yaml:25:48: targets[0].os_version.below: 'ten' is not a version: "
      "expected it to start with a number, as in 2.5.0"]),
    ("duplicate target id",
     {"apps/shop.yaml": APP + "targets:\n  - {id: t, message: soft, platforms: [ios]}\n"
                              "  - {id: t, message: soft, platforms: [android]}\n"},
     ["config/apps/shop.yaml:26:10: targets[1].id: duplicate target id 't': already at line 25"]),
    ("not UTF-8",
     {"apps/shop.yaml": APP, "apps/latin1.yaml": "app:\n  name: Caf\udce9\n"},
     ["config/apps/latin1.yaml:1:1: not UTF-8 text: invalid continuation byte at byte 16"]),
    ("several problems are all reported at once",
     {"apps/shop.yaml": swap("platforms: [ios, android]", "platforms: [ios, windows]")
      .replace("    message: soft\nminimum", "    message: nope\nminimum"),
      "apps/other.yaml": OTHER.replace('- version: "2.0.0"', "- version: latest")},
     ["config/apps/other.yaml:19:14: minimum_versions[0].version: 'latest' is not a version: "
      "expected it to start with a number, as in 2.5.0",
      "config/apps/shop.yaml:6:20: app.platforms[1]: 'windows' is not one of ['android', 'ios']"]),
]


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if "\udce9" in text:
            path.write_bytes(text.encode("utf-8", "surrogateescape"))
        else:
            path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_config_is_rejected_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str],
                                           files: dict[str, str], expected: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "config", files)
    code = main(["compile", "config", "--out", "out"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err[:-1] == expected
    n = len(expected)
    assert err[-1] == f"{n} problem{'s' if n != 1 else ''} found; nothing published"
    assert not (tmp_path / "out").exists()


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25


def test_failing_config_test_names_the_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "config", {"apps/shop.yaml": APP + "tests:\n"
                                 "  - name: old iOS is forced\n    check: versions\n    platform: ios\n"
                                 "    environment: production\n    version: '1.0'\n"
                                 "    expect: {verdict: soft}\n"})
    code = main(["compile", "config", "--out", "out"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err == [
        "FAIL config/apps/shop.yaml:25:5: tests[0]: test 'old iOS is forced': expected verdict soft, "
        "got hard (rule minimum:ios/production)",
        "1 config test failed; nothing published",
    ]
    assert not (tmp_path / "out").exists()


def test_missing_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["compile", "nowhere", "--out", "out"]) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        "nowhere:1:1: config folder not found: expected a folder of YAML files")
