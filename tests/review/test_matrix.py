"""`kickit-edge matrix` and the range machinery it shares with `diff`."""

from __future__ import annotations

import json
from pathlib import Path

from kickit_edge.cli import main
from kickit_edge.review.matrix import Cell, VersionRange, version_rows
from kickit_edge.review.side import open_side
from ..compiler.configpairs import BASE, edited, write_config

DEMO = Path(__file__).resolve().parents[2] / "config"


def rows(folder: Path, platform: str = "ios", environment: str = "production") -> list[tuple[str, str, str | None]]:
    app = open_side(str(folder)).snapshot.apps["shop"]
    return [(str(r.range), r.cells[0].verdict, r.cells[0].rule) for r in version_rows([app], platform, environment)]


# The demo's answers change with time (a release, a deadline): pin the instant.
AT = "2026-12-01T00:00:00Z"


def test_the_demo_policy_on_one_screen(capsys):
    assert main(["matrix", str(DEMO), "--app", "demo", "--at", AT]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"demo (KickItApp) in {DEMO}")
    assert lines[1:] == [
        "",
        "ios/production",
        "  < 2.0.0                hard       minimum:ios/production      apps/demo.yaml:68",
        "  >= 2.0.0 except 2.5.0  not found  no rule",
        "  = 2.5.0                soft       exact:ios/production/2.5.0  apps/demo.yaml:52",
        "",
        "ios/staging",
        "  all versions  not found  no rule",
        "",
        "android/production",
        "  < 3.1.0   soft       minimum:android/production  apps/demo.yaml:73",
        "  >= 3.1.0  not found  no rule",
        "",
        "android/staging",
        "  all versions  not found  no rule",
        "",
        "KickIt targets (hard first, then soft, in file order; the first match wins)",
        '  ios-below-10: hard; platforms ios; os_version < 10; "Your iOS version is no longer supported. '
        'Please update iOS and the app."  apps/demo.yaml:109',
        '  legacy-production-build: soft; platforms ios; version in [1.0.1-production]; build in [1000]; '
        '"Please install our newest version 0.0.2"  apps/demo.yaml:114',
        '  android-before-3: soft; platforms android; version < 3.0.0; '
        '"Please update. From February 1 this version will stop working."  apps/demo.yaml:119',
        "",
        "Maintenance",
        '  production: off; window 2027-03-14 01:00 UTC to 2027-03-14 03:00 UTC "Planned database upgrade"',
        '  staging: on (switch) "Scheduled Maintenance"',
    ]


def test_markdown_and_json(capsys):
    assert main(["matrix", str(DEMO), "--app", "demo", "--format", "markdown", "--at", AT]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2:6] == [
        "| Platform / environment | Versions | Verdict | Rule | Source |",
        "|---|---|---|---|---|",
        "| ios/production | `< 2.0.0` | hard | `minimum:ios/production` | apps/demo.yaml:68 |",
        "| ios/production | `>= 2.0.0 except 2.5.0` | not found | `no rule` |  |",
    ]
    assert main(["matrix", str(DEMO), "--app", "demo", "--format", "json", "--at", AT]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tables"][0]["rows"][2] == {
        "range": "= 2.5.0", "low": None, "high": None, "exact": "2.5.0", "except": [], "verdict": "soft",
        "rule": "exact:ios/production/2.5.0", "source": "apps/demo.yaml:52", "note": None}
    assert [t["id"] for t in report["targets"]] == ["ios-below-10", "legacy-production-build", "android-before-3"]


def test_an_exact_version_at_the_minimum(tmp_path):
    folder = write_config(tmp_path, edited('  - version: "2.5.0"\n', '  - version: "2.0.0"\n'))
    assert rows(folder) == [
        ("< 2.0.0 except 1.9.0", "hard", "minimum:ios/production"),
        ("= 1.9.0", "soft", "exact:ios/production/1.9.0"),
        (">= 2.0.0 except 2.0.0", "not_found", None),
        ("= 2.0.0", "soft", "exact:ios/production/2.0.0"),
    ]


def test_spellings_of_one_version_and_versions_without_order(tmp_path):
    # "2.5" orders as 2.5.0 but an exact record matches its own string only.
    extra = ('\nversions:\n  - {version: "2.5", platform: ios, environment: production, force_update: true}\n'
             '  - {version: "v2.5.0", platform: ios, environment: production, force_update: true}\n'
             '  - {version: "nightly", platform: ios, environment: production}\n')
    folder = write_config(tmp_path, edited("\nversions:\n", extra))
    assert rows(folder) == [
        ("< 2.0.0 except 1.9.0", "hard", "minimum:ios/production"),
        ("= 1.9.0", "soft", "exact:ios/production/1.9.0"),
        (">= 2.0.0 except 2.5, 2.5.0, v2.5.0", "not_found", None),
        ("= 2.5", "hard", "exact:ios/production/2.5"),
        ("= 2.5.0", "soft", "exact:ios/production/2.5.0"),
        ("= v2.5.0", "hard", "exact:ios/production/v2.5.0"),
        ("= nightly", "soft", "exact:ios/production/nightly"),
    ]


def test_a_platform_without_rules_and_the_same_answer_everywhere(tmp_path):
    folder = write_config(tmp_path, BASE)
    assert rows(folder, "ios", "staging") == [("all versions", "not_found", None)]
    app = open_side(str(folder)).snapshot.apps["shop"]
    # Two sides at once: each row carries one cell per side.
    (row, *_) = version_rows([app, app], "android", "production")
    assert row.range == VersionRange(None, "3.1.0") and row.cells == (Cell("soft", "minimum:android/production"),) * 2


def test_a_disabled_app_and_an_unknown_one(tmp_path, capsys):
    folder = write_config(tmp_path, edited("  default_locale: en\n", "  default_locale: en\n  disabled: true\n"))
    assert main(["matrix", str(folder), "--app", "shop"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"shop (Shop) in {folder}: app disabled (402 to every check)"
    assert main(["matrix", str(folder), "--app", "nope"]) == 2
    assert capsys.readouterr().err == f"error: no app 'nope' in {folder} (apps: shop)\n"
