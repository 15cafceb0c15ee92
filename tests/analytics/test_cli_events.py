"""The `events` commands as an operator meets them: clear errors, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from kickit_edge.cli import main

from .fleet import auth, write

SINCE_HELP = ("expected a duration like 30d or 12h (w, d, h), or a date like 2026-11-01 or an instant like "
              "2026-11-01T08:00:00Z")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit:  # argparse
        code = int(exit.code or 0)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, "\n".join(line for line in err.splitlines() if not line.startswith("["))


def test_a_missing_events_folder(tmp_path, capsys):
    for command in ("users", "adoption"):
        code, err = run(capsys, "events", command, "--events-dir", str(tmp_path / "nope"))
        assert (code, err) == (2, f"error: events folder '{tmp_path / 'nope'}' does not exist: expected the folder "
                                  "the server writes its event files to (--events-dir)")
    file = tmp_path / "file"
    file.write_text("")
    assert run(capsys, "events", "users", "--events-dir", str(file)) == (
        2, f"error: events folder '{file}' is not a folder")


@pytest.mark.parametrize("since", ["3x", "30", "yesterday", "2026-13-01", "2026-11-01T08:00:00"])
def test_a_bad_since(tmp_path, capsys, since):
    code, err = run(capsys, "events", "adoption", "--events-dir", str(tmp_path), "--since", since)
    assert code == 2
    assert err.splitlines()[-1] == f"kickit-edge events adoption: error: argument --since: {since!r}: {SINCE_HELP}"


@pytest.mark.parametrize("since", ["30d", "12h", "2w", "2026-11-01", "2026-11-01T08:00:00Z",
                                   "2026-11-01T08:00:00+02:00"])
def test_good_sinces(tmp_path, capsys, since):
    assert run(capsys, "events", "adoption", "--events-dir", str(tmp_path), "--since", since)[0] == 0


def test_an_unreadable_file_stops_the_run_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "events-20261122-web1-1-0.jsonl").mkdir()  # root reads any file; a folder it cannot
    out = tmp_path / "users.jsonl"
    code, err = run(capsys, "events", "users", "--events-dir", str(tmp_path), "--out", str(out))
    assert (code, err) == (2, f"error: cannot read {tmp_path / 'events-20261122-web1-1-0.jsonl'}: Is a directory")
    assert not out.exists()


def test_a_damaged_gz_is_reported_and_the_rest_is_read(tmp_path, capsys, frozen_now):
    write(tmp_path, "events-20261122-web1-1-0", [auth("11-22 08:00:00.000000", "alice", "1.0.0")])
    (tmp_path / "events-20261122-web1-1-1.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    code, err = run(capsys, "events", "users", "--events-dir", str(tmp_path))
    assert code == 0
    assert (f"warning: {tmp_path / 'events-20261122-web1-1-1.jsonl.gz'}: damaged compressed file "
            in err)
    assert err.splitlines()[-1] == "1 user record -> stdout"


def test_output_options_that_do_not_go_together(tmp_path, capsys):
    code, err = run(capsys, "events", "users", "--events-dir", str(tmp_path), "--db", str(tmp_path / "u.db"),
                    "--out", str(tmp_path / "u.jsonl"))
    assert (code, err) == (2, "error: --db keeps the records and their checkpoint in the database: give it "
                              "without --out and --checkpoint")
    text = tmp_path / "notes.txt"
    text.write_text("not a database, just words and more words to fill a page" * 20)
    code, err = run(capsys, "events", "users", "--events-dir", str(tmp_path), "--db", str(text))
    assert (code, err) == (2, f"error: cannot open {text} as a SQLite database: file is not a database")


def test_db_takes_no_format(tmp_path, capsys):
    code, err = run(capsys, "events", "users", "--events-dir", str(tmp_path), "--db", str(tmp_path / "u.db"),
                    "--format", "csv")
    assert (code, err) == (2, "error: --format csv applies to --out and stdout: --db writes the records as a "
                              "SQLite table")
    assert not (tmp_path / "u.db").exists()


def test_a_missing_snapshot(tmp_path, capsys):
    code, err = run(capsys, "events", "impact", "--events-dir", str(tmp_path), "--snapshot", str(tmp_path / "s"))
    assert code == 2
    assert err == (f"error: cannot read snapshot {tmp_path / 's'}: No such file or directory: expected a snapshot "
                   "file, or a folder holding snapshot.json (kickit-edge compile --out)")
    page = tmp_path / "adoption.html"
    page.write_text("<!doctype html>\n")
    code, err = run(capsys, "events", "impact", "--events-dir", str(tmp_path), "--snapshot", str(page))
    assert (code, err.split(": snapshot manifest")[0]) == (2, f"error: {page} is not a snapshot kickit-edge can read")


def test_bad_retention_days(tmp_path, capsys):
    code, err = run(capsys, "events", "users", "--events-dir", str(tmp_path), "--retention-days", "-1")
    assert code == 2 and err.endswith("argument --retention-days: expected a whole number of days, 0 or more, "
                                      "got '-1'")


def test_stdout_with_a_checkpoint_file(tmp_path, capsys, frozen_now):
    write(tmp_path, "events-20261122-web1-1-0", [auth("11-22 08:00:00.000000", "alice", "1.0.0")])
    checkpoint = tmp_path / "state" / "users.checkpoint"
    checkpoint.parent.mkdir()
    assert main(["events", "users", "--events-dir", str(tmp_path), "--checkpoint", str(checkpoint)]) == 0
    first = capsys.readouterr()
    assert main(["events", "users", "--events-dir", str(tmp_path), "--checkpoint", str(checkpoint)]) == 0
    second = capsys.readouterr()
    assert first.out == second.out and first.out.count("\n") == 1
    assert "read 0 new or changed files (incremental, from the checkpoint): 0 new lines" in second.err
    with duckdb.connect(str(checkpoint), read_only=True) as saved:  # the checkpoint is a DuckDB file
        assert dict(saved.execute("SELECT key, value FROM meta").fetchall()) == {
            "checkpoint": "kickit-edge users", "version": "2", "events_dir": str(tmp_path.resolve()),
            "retention_days": "365"}
        assert saved.execute("SELECT user_id, app_version FROM user_state").fetchall() == [("alice", "1.0.0")]


_HEAVY = ("duckdb", "_duckdb", "sqlglot", "httpx", "starlette", "jsonschema", "ruamel")
_LOADED = ("import sys; from kickit_edge.cli.main import main\n"
           "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
           f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({_HEAVY!r})), file=sys.stderr)")


def loaded(*argv: str) -> list[str]:
    """The heavy libraries a fresh ``kickit-edge argv`` imports."""
    done = subprocess.run([sys.executable, "-c", _LOADED, *argv], capture_output=True, text=True, check=True)
    return json.loads(done.stderr.strip().splitlines()[-1].replace("'", '"'))


def test_the_command_line_imports_only_what_the_command_needs(tmp_path):
    # Every command's parser is built on each run: it must not import what only some commands use.
    assert loaded("events", "users", "--help") == []
    write(tmp_path, "events-20261122-web1-1-0", [auth("11-22 08:00:00.000000", "alice", "1.0")])
    # The engine's compiled module, without the package around it (~0.07 s of a run's import time).
    assert loaded("events", "users", "--events-dir", str(tmp_path), "--out", str(tmp_path / "users.jsonl")) == \
        ["_duckdb"]
