"""The CLI as a user runs it: exit codes, output, and key minting that keeps the YAML as written."""

from __future__ import annotations

import base64
import difflib
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kickit_edge.cli import main
from kickit_edge.compiler.compile import compile_config
from kickit_edge.evaluation import Grant, authorize
from kickit_edge.keys import decode_token, hash_secret, parse_key

from .conftest import REPO

Capture = pytest.CaptureFixture[str]


def test_explain_shows_verdict_rule_and_exact_bodies(demo_config: Path, capsys: Capture) -> None:
    code = main(["explain", str(demo_config), "--app", "demo", "--platform", "ios", "--environment", "production",
                 "--version", "2.5.0", "--at", "2027-03-14T01:30:00Z"])
    out = capsys.readouterr().out
    assert code == 0
    assert "AppCockpit versions v1: soft - rule exact:ios/production/2.5.0 (apps/demo.yaml:" in out
    assert ('{"version":"2.5.0","platform":"ios","force_update":false,'
            '"update_message":"A new version is available."}') in out
    assert "Maintenance at 2027-03-14T01:30:00Z: maintenance - rule maintenance:production:windows[0]" in out
    assert '"title":"Planned database upgrade"' in out
    assert "KickIt target check: ok - no rule" in out


def test_explain_unknown_app_is_an_operator_error(demo_config: Path, capsys: Capture) -> None:
    code = main(["explain", str(demo_config), "--app", "nope", "--platform", "ios", "--environment", "production",
                 "--version", "1"])
    assert code == 2
    assert capsys.readouterr().err == f"error: no app 'nope' in {demo_config} (apps: demo)\n"


def test_explain_rejects_a_bad_time(demo_config: Path, capsys: Capture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["explain", str(demo_config), "--app", "demo", "--platform", "ios", "--environment", "production",
              "--version", "1", "--at", "tomorrow"])
    assert exit_.value.code == 2
    assert "argument --at: 'tomorrow' is not a time: expected ISO 8601" in capsys.readouterr().err


def test_explain_reads_the_platform_as_the_endpoints_do(demo_config: Path, capsys: Capture) -> None:
    args = ["explain", str(demo_config), "--app", "demo", "--environment", "production", "--version", "2.5.0",
            "--at", "2027-01-01T00:00:00Z", "--platform"]
    assert main([*args, "ios"]) == 0
    lower = capsys.readouterr().out
    assert main([*args, "IOS"]) == 0
    assert capsys.readouterr().out == lower
    with pytest.raises(SystemExit) as exit_:
        main([*args, "windows"])
    assert exit_.value.code == 2
    assert "argument --platform: 'windows': expected one of ios, android" in capsys.readouterr().err


def test_test_command_lists_every_case(demo_config: Path, capsys: Capture) -> None:
    assert main(["test", str(demo_config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "ok   demo: 2.5.0 on iOS production gets the soft prompt -> soft (exact:ios/production/2.5.0)"
    assert out[-1] == "16 passed"


def test_test_command_shows_expected_and_actual(demo_config: Path, capsys: Capture) -> None:
    demo = demo_config / "apps" / "demo.yaml"
    demo.write_text(demo.read_text().replace("expect: {verdict: hard, rule: minimum:ios/production}",
                                             "expect: {verdict: soft, rule: minimum:ios/production}"))
    assert main(["test", str(demo_config)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"FAIL {demo}:")
    assert out[0].endswith("test 'iOS below 2.0.0 must update': expected verdict soft, got hard "
                           "(rule minimum:ios/production)")
    assert out[-1] == "1 failed"


def test_keys_new_writes_only_the_hash_and_keeps_comments(demo_config: Path, capsys: Capture) -> None:
    demo = demo_config / "apps" / "demo.yaml"
    before = demo.read_text()
    code = main(["keys", "new", "--app", "demo", "--config", str(demo_config), "--environment", "production",
                 "--expires", "2030-01-01"])
    captured = capsys.readouterr()
    assert code == 0
    printed = captured.out.splitlines()[-1]
    key = parse_key(printed)
    assert key is not None and captured.out == printed + "\n"
    after = demo.read_text()
    assert key.secret not in after and key.prefix in after
    # Every line that was there stays byte for byte; only the new entry's lines are added.
    changes = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:2] in ("- ", "+ ")]
    assert changes == [f"+   - prefix: {key.prefix}", f"+     sha256: {hash_secret(key.secret)}",
                       "+     environments: [production]", "+     expires: '2030-01-01'"]
    snapshot = compile_config(str(demo_config)).snapshot
    now = datetime(2026, 11, 22, tzinfo=UTC).timestamp()
    grant = authorize(snapshot, key, now)
    assert isinstance(grant, Grant) and grant.app is snapshot.apps["demo"]
    assert snapshot.keys[key.prefix].environments == frozenset({"production"})
    # The hint's shell command, run as printed (with the key for KEY), makes a header that carries this key.
    hint = captured.err.splitlines()[-1]
    assert hint == "AppCockpit clients send it base64-encoded: x-api-token: $(printf %s KEY | base64 | tr -d '\\n')"
    command = hint.split("x-api-token: ", 1)[1].replace("KEY", shlex.quote(printed))
    header = subprocess.run(["sh", "-c", f"printf %s {command}"], capture_output=True, text=True, check=True).stdout
    assert header == base64.b64encode(printed.encode()).decode() and decode_token(header) == key


def test_keys_new_admin_token_creates_the_admin_file(demo_config: Path, capsys: Capture) -> None:
    assert main(["keys", "new", "--admin", "release", "--config", str(demo_config)]) == 0
    token = parse_key(capsys.readouterr().out.splitlines()[-1])
    assert token is not None
    text = (demo_config / "admin.yaml").read_text()
    assert "name: release" in text and token.secret not in text
    assert main(["keys", "new", "--admin", "release", "--config", str(demo_config)]) == 2
    assert "an admin token named 'release' already exists" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["--app", "nope"], "error: no app 'nope' in {cfg} (apps: demo)"),
    (["--app", "demo", "--environment", "qa"],
     "error: --environment 'qa' is not one of the app's environments ['production', 'staging']"),
    (["--app", "demo", "--expires", "soon"],
     "error: --expires 'soon' is not a date: expected 2027-01-31 or 2027-01-31T12:00:00Z"),
    ([], "error: give exactly one of --app ID (an app key) or --admin NAME (a management API token)"),
    (["--admin", "ci", "--expires", "2020-01-01"],
     "error: --expires '2020-01-01' has passed already: a credential expiring then could never be used; "
     "give a later date"),
])
def test_keys_new_refuses_bad_requests(demo_config: Path, capsys: Capture, argv: list[str], message: str) -> None:
    before = (demo_config / "apps" / "demo.yaml").read_text()
    assert main(["keys", "new", "--config", str(demo_config), *argv]) == 2
    assert capsys.readouterr().err.strip() == message.format(cfg=demo_config)
    assert (demo_config / "apps" / "demo.yaml").read_text() == before


def test_compile_prints_id_and_digest(demo_config: Path, tmp_path: Path, capsys: Capture) -> None:
    assert main(["compile", str(demo_config), "--out", str(tmp_path / "s"), "--revision", "r1"]) == 0
    first, second = capsys.readouterr().out.splitlines()
    snapshot_id, digest = first.split()[1:]
    assert digest.startswith("sha256:") and digest[7:23] == snapshot_id
    assert second.startswith(f"published: {tmp_path / 's'}/snapshot.json (1 apps, ")
    assert second.endswith("revision r1, 16 config tests passed)")


def test_every_command_has_help() -> None:
    commands = [["compile"], ["test"], ["explain"], ["keys", "new"], ["rollback"], ["serve"], ["admin"], ["diff"],
                ["matrix"], ["schema"], ["events", "users"], ["events", "adoption"], ["events", "impact"]]
    for argv in [["--help"], *([*command, "--help"] for command in commands)]:
        done = subprocess.run([sys.executable, "-m", "kickit_edge.cli", *argv], capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout.startswith("usage: kickit-edge"), argv


@pytest.mark.parametrize(("argv", "status"), [
    (["explain", "{cfg}", "--app", "demo", "--platform", "ios", "--environment", "production", "--version", "1"], 141),
    (["test", "{cfg}"], 141), (["schema"], 141), (["matrix", "{cfg}", "--app", "demo"], 141),
    (["diff", "{cfg}", "{cfg}"], 141), (["compile", "{cfg}", "--dry-run"], 141),
    (["--help"], 0),  # argparse ignores a failed write of the help
])
def test_a_reader_that_goes_away_ends_the_command_quietly(demo_config: Path, argv: list[str], status: int) -> None:
    """As `kickit-edge ... | head` when head has read enough: no traceback, the shell's SIGPIPE status."""
    process = subprocess.Popen([sys.executable, "-m", "kickit_edge.cli", *(a.format(cfg=demo_config) for a in argv)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first line is written
    error = process.stderr.read().decode()
    assert (process.wait(), error) == (status, "")



def test_the_readmes_compile_sample_is_what_compile_prints(tmp_path: Path, capsys: Capture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("kickit-edge compile config --out snapshots\n", 1)[1].split("```", 1)[0]
    sample = [line.removeprefix("# ") for line in block.splitlines()]
    revision = sample[1].split(" revision ", 1)[1].split(",", 1)[0]  # the git commit the sample was taken at
    monkeypatch.chdir(tmp_path)
    assert main(["compile", str(REPO / "config"), "--out", "snapshots", "--revision", revision]) == 0
    assert capsys.readouterr().out.splitlines() == sample
