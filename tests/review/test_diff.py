"""`kickit-edge diff`: pairs of configs that differ by one change each, and the exact report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kickit_edge.cli import main
from ..compiler.configpairs import BASE, KEY_SHA, edited, git, init_repo, write_config


def diff(tmp_path: Path, capsys: pytest.CaptureFixture[str], head_text: str, *flags: str,
         base_text: str = BASE) -> tuple[int, list[str]]:
    """Exit code and report lines, without the header that names the two temp folders."""
    base = write_config(tmp_path / "base", base_text)
    head = write_config(tmp_path / "head", head_text)
    code = main(["diff", str(base), str(head), *flags])
    out = capsys.readouterr().out
    if "json" not in flags:
        assert str(base) in out.splitlines()[0] and str(head) in out.splitlines()[0]
    return code, out.splitlines()[2:]


REORDERED = """\
# The same rules, reordered and re-commented: records swapped, sections moved,
# mappings written in another order and flow style.
app:
  name: Shop                     # the display name
  id: shop
  environments: [production, staging]
  platforms: [ios, android]
  uuid: 11111111-2222-4333-8444-555555555555
  default_locale: en
  public_key: SHOP1234

minimum_versions:
  - {platform: android, environment: production, version: "3.1.0", force_update: false, message: soft_msg}
  - platform: ios
    environment: production
    version: "2.0.0"             # raised in 2026
    message: hard_msg
    force_update: true

versions:
  - {version: "1.9.0", platform: ios, environment: production, force_update: false, message: soft_msg}
  - version: "2.5.0"
    environment: production
    platform: ios
    message: soft_msg

targets:
  - id: legacy-build
    message: soft_msg
    build: {in: ["1000"]}
  - id: old-os                   # hard targets are tried first wherever they are written
    message: os_msg
    hard: true
    os_version: {below: "10"}
    platforms: [ios]
  - id: beta
    message: soft_msg
    version: {min: "3.0.0"}

messages:
  os_msg: {en: Update your OS.}
  hard_msg: {en: You must update.}
  soft_msg:
    de: Bitte aktualisieren.
    en: Please update.

maintenance:
  production:
    windows:
      - {start: "2027-03-14T02:00:00", end: "2027-03-14T04:00:00", timezone: UTC, title: Database upgrade}

keys:
  - sha256: %s
    prefix: 00000000000000aa
""" % KEY_SHA


def test_reordered_and_recommented_yaml_changes_no_verdict(tmp_path, capsys):
    code, lines = diff(tmp_path, capsys, REORDERED, "--fail-on", "any")
    assert (code, lines) == (0, ["No change in verdicts."])


def test_raising_a_minimum_forces_the_versions_in_between(tmp_path, capsys):
    head = edited('version: "2.0.0"', 'version: "2.3.0"')
    code, lines = diff(tmp_path, capsys, head, "--fail-on", "hard")
    assert code == 3
    assert lines == [
        "shop (Shop)",
        "  upgrade verdicts",
        "    ios/production: versions >= 2.0.0, < 2.3.0: not found -> hard (no rule -> minimum:ios/production)",
        "",
        "Forces users (gives a new hard verdict, turns maintenance on, or disables an app):",
        "  shop: ios/production versions >= 2.0.0, < 2.3.0: not found -> hard",
    ]


def test_raising_a_minimum_past_an_exact_version_names_the_exception(tmp_path, capsys):
    head = edited('version: "2.0.0"', 'version: "3.0.0"')
    code, lines = diff(tmp_path, capsys, head)
    assert code == 0  # without --fail-on, a forcing change is reported, not failed
    assert lines[2] == ("    ios/production: versions >= 2.0.0, < 3.0.0 except 2.5.0: not found -> hard"
                        " (no rule -> minimum:ios/production)")
    assert len([line for line in lines if line.startswith("    ")]) == 1  # 2.5.0 itself keeps its soft answer


def test_lowering_a_minimum_frees_users_and_does_not_fail(tmp_path, capsys):
    head = edited('version: "2.0.0"', 'version: "1.5.0"')
    code, lines = diff(tmp_path, capsys, head, "--fail-on", "hard")
    assert code == 0
    assert lines == [
        "shop (Shop)",
        "  upgrade verdicts",
        "    ios/production: versions >= 1.5.0, < 2.0.0 except 1.9.0: hard -> not found (minimum:ios/production -> no rule)",
    ]


def test_turning_a_soft_minimum_hard(tmp_path, capsys):
    head = edited('version: "3.1.0"\n    force_update: false', 'version: "3.1.0"\n    force_update: true')
    code, lines = diff(tmp_path, capsys, head, "--fail-on", "hard")
    assert code == 3
    assert lines[2] == "    android/production: versions < 3.1.0: soft -> hard (minimum:android/production)"


def test_removing_and_adding_exact_versions(tmp_path, capsys):
    head = edited('  - version: "2.5.0"\n', '  - version: "2.6.0"\n')
    code, lines = diff(tmp_path, capsys, head)
    assert lines[1:4] == [
        "  upgrade verdicts",
        "    ios/production: versions = 2.5.0: soft -> not found (exact:ios/production/2.5.0 -> no rule)",
        "    ios/production: versions = 2.6.0: not found -> soft (no rule -> exact:ios/production/2.6.0)",
    ]


def test_disabling_an_exact_version(tmp_path, capsys):
    head = edited('version: "1.9.0"\n    platform: ios\n', 'version: "1.9.0"\n    enabled: false\n    platform: ios\n')
    code, lines = diff(tmp_path, capsys, head, "--fail-on", "hard")
    assert code == 3
    assert lines[2] == ("    ios/production: versions = 1.9.0: soft -> hard"
                        " (exact:ios/production/1.9.0 -> minimum:ios/production)")


def test_a_new_platform_rule(tmp_path, capsys):
    head = edited("minimum_versions:\n", 'minimum_versions:\n  - {platform: ios, environment: staging, '
                  'version: "2.0.0", message: soft_msg}\n')
    code, lines = diff(tmp_path, capsys, head)
    assert lines[2] == "    ios/staging: versions < 2.0.0: not found -> soft (no rule -> minimum:ios/staging)"


def test_targets_added_removed_changed_and_reordered(tmp_path, capsys):
    head = edited("  - id: beta\n    message: soft_msg\n    version: {min: \"3.0.0\"}\n",
                  "  - id: tablet\n    hard: true\n    message: hard_msg\n    platforms: [android]\n"
                  "    version: {below: \"2.0\"}\n")
    head = edited('os_version: {below: "10"}', 'os_version: {below: "12"}', head)
    code, lines = diff(tmp_path, capsys, head, "--fail-on", "hard")
    assert code == 3
    assert lines == [
        "shop (Shop)",
        "  KickIt targets",
        '    removed beta: soft; version >= 3.0.0; "Please update."',
        '    changed old-os (os_version): hard; platforms ios; os_version < 10; "Update your OS." -> '
        'hard; platforms ios; os_version < 12; "Update your OS."',
        '    added tablet: hard; platforms android; version < 2.0; "You must update."',
        "",
        "Forces users (gives a new hard verdict, turns maintenance on, or disables an app):",
        '  shop: target old-os changed: hard; platforms ios; os_version < 12; "Update your OS."',
        '  shop: target tablet added: hard; platforms android; version < 2.0; "You must update."',
    ]


def test_narrowing_a_hard_target_does_not_force(tmp_path, capsys):
    head = edited('os_version: {below: "10"}', 'os_version: {below: "9"}')
    code, lines = diff(tmp_path, capsys, head, "--fail-on", "hard")
    assert code == 0
    assert lines[1:3] == ["  KickIt targets", '    changed old-os (os_version): hard; platforms ios; os_version < 10;'
                          ' "Update your OS." -> hard; platforms ios; os_version < 9; "Update your OS."']


def test_swapping_soft_targets_changes_which_matches_first(tmp_path, capsys):
    legacy = '  - id: legacy-build\n    message: soft_msg\n    build: {in: ["1000"]}\n'
    beta = '  - id: beta\n    message: soft_msg\n    version: {min: "3.0.0"}\n'
    code, lines = diff(tmp_path, capsys, edited(legacy + beta, beta + legacy))
    assert lines == ["shop (Shop)", "  KickIt targets",
                     "    order changed (first match wins): old-os, legacy-build, beta -> old-os, beta, legacy-build"]


def test_message_changes_per_locale(tmp_path, capsys):
    head = edited("    de: Bitte aktualisieren.\n", "    de: Bitte jetzt aktualisieren.\n    fr: Mettez a jour.\n")
    code, lines = diff(tmp_path, capsys, head)
    rules = "exact:ios/production/1.9.0, exact:ios/production/2.5.0, minimum:android/production"
    assert lines == [
        "shop (Shop)",
        "  messages",
        f'    [de] "Bitte aktualisieren." -> "Bitte jetzt aktualisieren." ({rules})',
        f'    [fr] (none) -> "Mettez a jour." ({rules})',
    ]


def test_a_target_message_change_is_a_target_change(tmp_path, capsys):
    head = edited("    en: Update your OS.\n", "    en: Please update your OS.\n")
    code, lines = diff(tmp_path, capsys, head)
    assert lines[1:3] == ["  KickIt targets", '    changed old-os (message): hard; platforms ios; os_version < 10; '
                          '"Update your OS." -> hard; platforms ios; os_version < 10; "Please update your OS."']


def test_maintenance_switch_and_windows(tmp_path, capsys):
    head = edited("    active: false\n", "    active: true\n    title: Down for now\n")
    head = edited('end: "2027-03-14T04:00:00"', 'end: "2027-03-14T05:00:00"', head)
    code, lines = diff(tmp_path, capsys, head, "--fail-on", "hard")
    assert code == 3
    assert lines == [
        "shop (Shop)",
        "  maintenance",
        '    production: switched on "Down for now"',
        '    production: window removed 2027-03-14 02:00 UTC to 2027-03-14 04:00 UTC "Database upgrade"',
        '    production: window added 2027-03-14 02:00 UTC to 2027-03-14 05:00 UTC "Database upgrade"',
        "",
        "Forces users (gives a new hard verdict, turns maintenance on, or disables an app):",
        '  shop: maintenance production: switched on "Down for now"',
    ]


def test_a_longer_window_turns_maintenance_on_and_a_shorter_one_does_not(tmp_path, capsys):
    longer = edited('end: "2027-03-14T04:00:00"', 'end: "2027-03-14T05:00:00"')
    assert diff(tmp_path / "a", capsys, longer, "--fail-on", "hard")[0] == 3
    shorter = edited('end: "2027-03-14T04:00:00"', 'end: "2027-03-14T03:00:00"')
    code, lines = diff(tmp_path / "b", capsys, shorter, "--fail-on", "hard")
    assert code == 0
    assert lines[2:4] == [
        '    production: window added 2027-03-14 02:00 UTC to 2027-03-14 03:00 UTC "Database upgrade"',
        '    production: window removed 2027-03-14 02:00 UTC to 2027-03-14 04:00 UTC "Database upgrade"',
    ]


def test_keys_are_named_by_prefix_never_by_hash(tmp_path, capsys):
    new_sha = "b" * 64
    head = edited(f"  - prefix: 00000000000000aa\n    sha256: {KEY_SHA}\n",
                  f"  - prefix: 00000000000000bb\n    sha256: {new_sha}\n    environments: [staging]\n"
                  f"    expires: \"2027-01-31\"\n")
    code, lines = diff(tmp_path, capsys, head, "--fail-on", "hard")
    assert code == 0
    assert lines == [
        "shop (Shop)",
        "  keys",
        "    revoked 00000000000000aa",
        "    added 00000000000000bb: environments staging; expires 2027-01-31 00:00 UTC",
    ]
    rotated = edited(f"sha256: {KEY_SHA}", f"sha256: {new_sha}")
    code, lines = diff(tmp_path / "r", capsys, rotated)
    assert lines[1:] == ["  keys", "    changed 00000000000000aa: secret replaced"]
    code, lines = diff(tmp_path / "j", capsys, rotated, "--format", "json")
    report = "\n".join(lines)
    assert "secret replaced" in report and KEY_SHA not in report and new_sha not in report


def test_disabling_an_app_forces(tmp_path, capsys):
    head = edited("  default_locale: en\n", "  default_locale: en\n  disabled: true\n")
    code, lines = diff(tmp_path, capsys, head, "--fail-on", "hard")
    assert (code, lines) == (3, [
        "shop (Shop)",
        "  settings",
        "    disabled: false -> true",
        "",
        "Forces users (gives a new hard verdict, turns maintenance on, or disables an app):",
        "  shop: disabled: False -> True",
    ])


def test_apps_added_and_removed(tmp_path, capsys):
    base = write_config(tmp_path / "base", BASE)
    head = write_config(tmp_path / "head", BASE)
    other = edited("  id: shop\n", "  id: shop2\n").replace("SHOP1234", "SHOP5678").replace(
        "11111111-2222", "21111111-2222").replace("00000000000000aa", "00000000000000cc")
    (head / "apps" / "shop2.yaml").write_text(other.replace("name: Shop", "name: Shop Two"))
    assert main(["diff", str(base), str(head)]) == 0
    assert capsys.readouterr().out.splitlines()[2:] == ["shop2 (Shop Two): app added"]
    assert main(["diff", str(head), str(base), "--fail-on", "hard"]) == 0
    assert capsys.readouterr().out.splitlines()[2:] == ["shop2 (Shop Two): app removed"]


def test_markdown_report(tmp_path, capsys):
    head = edited('version: "2.0.0"', 'version: "2.3.0"')
    head = edited("    de: Bitte aktualisieren.\n", "    de: Bitte jetzt aktualisieren.\n", head)
    code, lines = diff(tmp_path, capsys, head, "--format", "markdown")
    base, headdir = tmp_path / "base", tmp_path / "head"
    rules = "exact:ios/production/1.9.0, exact:ios/production/2.5.0, minimum:android/production"
    assert [f"### kickit-edge impact: `{base}` → `{headdir}`", ""] + lines == [
        f"### kickit-edge impact: `{base}` → `{headdir}`",
        "",
        "> [!WARNING]",
        "> **Forces users**: this change gives users a hard verdict they did not have, turns maintenance on, "
        "or disables an app. It needs a second reviewer.",
        ">",
        "> - shop: ios/production versions >= 2.0.0, < 2.3.0: not found -> hard",
        "",
        "#### `shop` (Shop)",
        "",
        "**Upgrade verdicts** (AppCockpit `/v1/versions`, `/v2/versions`)",
        "",
        "| Platform / environment | Versions | Before | After | Rule |",
        "|---|---|---|---|---|",
        "| ios/production | `>= 2.0.0, < 2.3.0` | not found | **hard** | `no rule -> minimum:ios/production` |",
        "",
        "**Messages**",
        "",
        f'- [de] "Bitte aktualisieren." -> "Bitte jetzt aktualisieren." ({rules})',
        "",
        "<sub>Verdicts: ok; soft (asked to update, may dismiss); hard (must update); not found (no rule: nothing "
        "to do). `= V` is exactly that version string; it takes precedence over the range it lies in.</sub>",
    ]


def test_markdown_without_changes(tmp_path, capsys):
    code, lines = diff(tmp_path, capsys, REORDERED, "--format", "markdown")
    assert lines == ["**No change in verdicts.** Every client gets the same answer as before."]


def test_json_report(tmp_path, capsys):
    head = edited('version: "2.0.0"', 'version: "2.3.0"')
    base = write_config(tmp_path / "base", BASE)
    write_config(tmp_path / "head", head)
    assert main(["diff", str(base), str(tmp_path / "head"), "--format", "json", "--fail-on", "any"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["base"]["kind"] == "config" and report["head"]["label"] == str(tmp_path / "head")
    assert report["forces"] == ["shop: ios/production versions >= 2.0.0, < 2.3.0: not found -> hard"]
    (app,) = report["apps"]
    assert app["versions"] == [{
        "platform": "ios", "environment": "production", "range": ">= 2.0.0, < 2.3.0",
        "low": "2.0.0", "high": "2.3.0", "exact": None, "except": [],
        "base": {"verdict": "not_found", "rule": None},
        "head": {"verdict": "hard", "rule": "minimum:ios/production"}, "forces": True,
    }]
    assert [app[k] for k in ("targets", "messages", "maintenance", "keys", "settings", "precedence")] == [
        [], [], [], [], [], None]


def test_a_snapshot_side(tmp_path, capsys):
    base = write_config(tmp_path / "base", BASE)
    assert main(["compile", str(base), "--out", str(tmp_path / "published")]) == 0
    capsys.readouterr()
    head = write_config(tmp_path / "head", edited('version: "2.0.0"', 'version: "2.3.0"'))
    for side in (tmp_path / "published", tmp_path / "published" / "snapshot.json"):
        assert main(["diff", str(side), str(head)]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[4] == ("    ios/production: versions >= 2.0.0, < 2.3.0: not found -> hard"
                            " (no rule -> minimum:ios/production)")
    assert main(["diff", str(tmp_path / "published"), str(base)]) == 0
    assert capsys.readouterr().out.splitlines()[2:] == ["No change in verdicts."]


def test_an_invalid_side_reports_its_diagnostics(tmp_path, capsys):
    head = edited("message: hard_msg", "message: nope")
    write_config(tmp_path / "base", BASE)
    write_config(tmp_path / "head", head)
    assert main(["diff", str(tmp_path / "base"), str(tmp_path / "head")]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'head'}/apps/shop.yaml:40:14: minimum_versions[0].message: unknown message 'nope'" in err


def test_an_unknown_side_is_an_operator_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "no-such-thing", "also-not"]) == 2
    assert "'no-such-thing' is neither a config folder, a snapshot, nor a git revision" in capsys.readouterr().err


# --- git revisions -------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with two commits: the base config, then the iOS minimum raised to 2.3.0."""
    root = init_repo(tmp_path, monkeypatch)
    write_config(root / "config", edited('version: "2.0.0"', 'version: "2.3.0"'))
    git(root, "commit", "-qam", "raise the iOS minimum")
    monkeypatch.chdir(root)
    return root


RAISED = "    ios/production: versions >= 2.0.0, < 2.3.0: not found -> hard (no rule -> minimum:ios/production)"


def test_two_revisions(repo, capsys):
    assert main(["diff", "HEAD~1", "HEAD", "--fail-on", "hard"]) == 3
    lines = capsys.readouterr().out.splitlines()
    old, new = git(repo, "rev-parse", "--short=7", "HEAD~1"), git(repo, "rev-parse", "--short=7", "HEAD")
    assert lines[:5] == [f"kickit-edge diff HEAD~1 ({old}) -> HEAD ({new})", "", "shop (Shop)",
                         "  upgrade verdicts", RAISED]


def test_a_revision_against_the_working_folder(repo, capsys):
    # The head defaults to the config folder on disk, uncommitted edits included.
    write_config(repo / "config", edited('version: "2.0.0"', 'version: "2.1.0"'))
    assert main(["diff", "main"]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = git(repo, "rev-parse", "--short=7", "HEAD")
    assert lines[0] == f"kickit-edge diff main ({head}) -> config ({head}-dirty)"
    assert lines[4] == ("    ios/production: versions >= 2.1.0, < 2.3.0: hard -> not found"
                        " (minimum:ios/production -> no rule)")


def test_the_config_path_option_and_a_subdirectory(repo, capsys, monkeypatch):
    assert main(["diff", "HEAD~1", "HEAD", "--config-path", "./config/"]) == 0
    assert capsys.readouterr().out.splitlines()[4] == RAISED
    monkeypatch.chdir(repo / "config" / "apps")
    assert main(["diff", "HEAD~1", "HEAD", "--config-path", ".."]) == 0
    assert capsys.readouterr().out.splitlines()[4] == RAISED
    assert main(["diff", "HEAD~2", "HEAD", "--config-path", ".."]) == 2
    assert "'HEAD~2' is neither a config folder, a snapshot, nor a git revision" in capsys.readouterr().err


def test_a_branch_only_origin_has(repo, capsys, tmp_path, monkeypatch):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--branch", "main", str(repo), str(clone))
    git(clone, "checkout", "-q", "-b", "feature", "HEAD~1")
    git(clone, "branch", "-q", "-D", "main")  # as in a CI checkout: only origin/main
    monkeypatch.chdir(clone)
    assert main(["diff", "HEAD", "main"]) == 0
    assert capsys.readouterr().out.splitlines()[4] == RAISED


def test_a_revision_without_the_config_folder(repo, capsys):
    assert main(["diff", "HEAD~1", "HEAD", "--config-path", "elsewhere"]) == 2
    assert "no config folder 'elsewhere' at revision HEAD~1" in capsys.readouterr().err


def test_an_invalid_config_at_a_revision_names_the_revision(repo, capsys):
    write_config(repo / "config", edited("message: hard_msg", "message: nope"))
    git(repo, "commit", "-qam", "break it")
    assert main(["diff", "HEAD~1", "HEAD"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("HEAD:config/apps/shop.yaml:40:14: minimum_versions[0].message: unknown message 'nope'")
