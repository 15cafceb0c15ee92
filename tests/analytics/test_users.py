"""`events users`: a fleet's event files folded into exact records; incremental runs equal a rebuild."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from kickit_edge.analytics.destination import Destination, update_users
from kickit_edge.analytics.formats import write_records
from kickit_edge.analytics.users import UserRecord, fold_users
from kickit_edge.cli import main
from kickit_edge.events import Event

from .fleet import NOW, append, auth, check, rotate, write

NAN_LINE = (b'{"time":"2026-11-22T07:00:00.000000Z","type":"authenticate","app":"shop","user":"erin",'
            b'"platform":"ios","app_version":NaN,"environment":null,"snapshot":null,"request_id":"x"}\n')
LATE_ERIN = (b'{"time":"2026-11-22T9:05:00.5Z","type":"authenticate","app":"shop","user":"erin","platform":"ios",'
             b'"app_version":"4.0.0","environment":"production","snapshot":null,"request_id":"e1"}\n')
NO_USER = (b'{"time":"2026-11-22T07:30:00.000000Z","type":"authenticate","app":"shop","user":null,'
           b'"platform":"ios","app_version":"1.0.0","environment":"production","snapshot":null,"request_id":"n"}\n')


def event_at(instant: datetime, user: str, version: str) -> Event:
    return Event(time=instant, type="authenticate", app="shop", user=user, platform="ios",
                 app_version=version, environment="production", request_id=f"{user}-old")


def write_fleet(folder: Path) -> None:
    """Three workers on two hosts, rotated and current files, and what crashes and clocks leave behind."""
    # Worker web1-101: yesterday's file rotated and compressed, today's still being written.
    write(folder, "events-20261121-web1-101-0", [
        auth("11-21 09:00:00.000000", "alice", "2.0.0"),
        check("11-21 09:00:01.000000"),
        auth("11-21 23:00:00.000000", "bob", "3.0.0"),
    ], gz=True)
    current = write(folder, "events-20261122-web1-101-1", [
        auth("11-22 08:00:00.000000", "alice", "2.1.0"),
        auth("11-21 22:00:00.000000", "bob", "2.9.0"),  # an older time in a newer file
        b"not json\n",
        auth("11-22 09:00:00.000000", "alice", "2.1.0", "android"),  # the same user on the other platform
    ])
    with open(current, "ab") as file:
        file.write(b'{"time":"2026-11-22T1')  # a line being written: left for the next run
    # Worker web2-202: a crash came between compressing and removing the plain file.
    lines = [
        auth("11-20 10:00:00.000000", "bob", "2.8.0"),
        auth("11-22 07:00:00.000000", "carol", "1.1.0", rid="r-b"),
        auth("11-21 10:00:00.000000", "dave", "5.0", environment=None),
    ]
    write(folder, "events-20261121-web2-202-0", lines, gz=True)
    write(folder, "events-20261121-web2-202-0", lines)  # the leftover: same content, read once
    (folder / "events-20261122-web2-202-1.jsonl.gz.tmp").write_bytes(b"half a gzip")
    # Worker web1-303, same host as 101: bad lines, another tenant, a time written loosely, a torn end.
    path = write(folder, "events-20261122-web1-303-0", [
        auth("11-22 07:00:00.000000", "carol", "1.0.0", rid="r-a"),  # same microsecond: r-b wins
        NAN_LINE,
        b'{"type":"login"}\n',
        NO_USER,
        auth("11-22 06:00:00.000000", "alice", "9.9.9", app="kiosk"),
        LATE_ERIN,
        b'{"time":"2026',
    ], gz=True)
    assert path.name.endswith(".gz")
    # Retention: the file of a day before the cutoff (2025-11-22) goes; in the first kept day's
    # file, a line stamped just before midnight is ignored and one at midnight is kept.
    write(folder, "events-20251121-web1-55-0", [
        event_at(datetime(2025, 11, 21, 12, tzinfo=UTC), "ghost", "0.1")], gz=True)
    write(folder, "events-20251122-web1-55-1", [
        event_at(datetime(2025, 11, 21, 23, 59, 59, 999999, tzinfo=UTC), "alice", "0.5"),
        event_at(datetime(2025, 11, 22, tzinfo=UTC), "frank", "0.9"),
    ], gz=True)
    (folder / "README").write_text("not an event file")


FLEET = [
    UserRecord("kiosk", "alice", "ios", "2026-11-22T06:00:00.000000Z", "2026-11-22T06:00:00.000000Z",
               "9.9.9", "production"),
    UserRecord("shop", "alice", "android", "2026-11-22T09:00:00.000000Z", "2026-11-22T09:00:00.000000Z",
               "2.1.0", "production"),
    UserRecord("shop", "alice", "ios", "2026-11-21T09:00:00.000000Z", "2026-11-22T08:00:00.000000Z",
               "2.1.0", "production"),
    UserRecord("shop", "bob", "ios", "2026-11-20T10:00:00.000000Z", "2026-11-21T23:00:00.000000Z",
               "3.0.0", "production"),
    UserRecord("shop", "carol", "ios", "2026-11-22T07:00:00.000000Z", "2026-11-22T07:00:00.000000Z",
               "1.1.0", "production"),
    UserRecord("shop", "dave", "ios", "2026-11-21T10:00:00.000000Z", "2026-11-21T10:00:00.000000Z", "5.0", None),
    UserRecord("shop", "erin", "ios", "2026-11-22T09:05:00.500000Z", "2026-11-22T09:05:00.500000Z",
               "4.0.0", "production"),
    UserRecord("shop", "frank", "ios", "2025-11-22T00:00:00.000000Z", "2025-11-22T00:00:00.000000Z",
               "0.9", "production"),
]


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    folder = tmp_path / "events"
    folder.mkdir()
    write_fleet(folder)
    return folder


def test_a_fleet_folds_into_exact_records(fleet):
    result = fold_users(fleet, now=NOW)
    assert result.records == FLEET
    a1, c0 = fleet / "events-20261122-web1-101-1.jsonl", fleet / "events-20261122-web1-303-0.jsonl.gz"
    assert result.scan.problems == [
        f"{a1}:3: line is not JSON: Expecting value: line 1 column 1 (char 0)",
        f"{c0}:2: line is not JSON: NaN is not allowed in JSON",
        f"{c0}:3: type: expected one of ['authenticate', 'target_check'], got 'login'",
        f"{c0}:4: authenticate event without user",
        f"{c0}:7: unterminated last line; line is not JSON: Unterminated string starting at: line 1 column 9 "
        "(char 8)",
    ]
    scan = result.scan
    assert (scan.files_read, scan.lines, scan.malformed, scan.authentications, scan.too_old) == (5, 19, 5, 12, 1)
    # A report deletes nothing: the file past the retention is left, and not read.
    assert result.removed == [] and result.past == ["events-20251121-web1-55-0.jsonl.gz"]
    assert (fleet / "events-20251121-web1-55-0.jsonl.gz").exists()
    pruned = fold_users(fleet, now=NOW, prune=True)
    assert pruned.removed == ["events-20251121-web1-55-0.jsonl.gz"] and pruned.records == FLEET
    assert not (fleet / "events-20251121-web1-55-0.jsonl.gz").exists()
    assert (fleet / "README").exists() and (fleet / "events-20261122-web2-202-1.jsonl.gz.tmp").exists()


def test_the_summary_reports_problems_removals_and_the_retention(fleet, tmp_path, capsys, frozen_now):
    out = tmp_path / "users.jsonl"
    assert main(["events", "users", "--events-dir", str(fleet), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    err = [line for line in captured.err.splitlines() if not line.startswith("[")]
    a1, c0 = fleet / "events-20261122-web1-101-1.jsonl", fleet / "events-20261122-web1-303-0.jsonl.gz"
    assert err == [
        "read 5 new or changed files (full): 19 new lines, 12 authentications",
        "5 malformed lines skipped:",
        f"  {a1}:3: line is not JSON: Expecting value: line 1 column 1 (char 0)",
        f"  {c0}:2: line is not JSON: NaN is not allowed in JSON",
        f"  {c0}:3: type: expected one of ['authenticate', 'target_check'], got 'login'",
        f"  {c0}:4: authenticate event without user",
        f"  {c0}:7: unterminated last line; line is not JSON: Unterminated string starting at: line 1 column 9 "
        "(char 8)",
        "skipped 1 file past the retention (days before 2025-11-22); --prune deletes them",
        "ignored 1 authentication before 2025-11-22 (past the retention)",
        f"8 user records -> {out}",
    ]
    assert [UserRecord(**json.loads(line)) for line in out.read_text().splitlines()] == FLEET
    assert (fleet / "events-20251121-web1-55-0.jsonl.gz").exists()  # a report deletes nothing by default
    assert main(["events", "users", "--events-dir", str(fleet), "--out", str(out), "--full", "--prune"]) == 0
    assert "removed 1 file past the retention (days before 2025-11-22): events-20251121-web1-55-0.jsonl.gz" \
        in capsys.readouterr().err.splitlines()
    assert not (fleet / "events-20251121-web1-55-0.jsonl.gz").exists()


def test_jsonl_and_csv_output(fleet, tmp_path):
    for fmt in ("jsonl", "csv"):
        update_users(str(fleet), Destination(fmt, str(tmp_path / f"users.{fmt}")), now=NOW)  # type: ignore[arg-type]
    lines = (tmp_path / "users.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {
        "app": "kiosk", "user_id": "alice", "platform": "ios", "first_authenticated_at": "2026-11-22T06:00:00.000000Z",
        "last_authenticated_at": "2026-11-22T06:00:00.000000Z", "app_version": "9.9.9", "environment": "production"}
    assert [UserRecord(**json.loads(line)) for line in lines] == FLEET
    assert (tmp_path / "users.csv").read_text().splitlines()[:2] + [
        (tmp_path / "users.csv").read_text().splitlines()[6]] == [
        "app,user_id,platform,first_authenticated_at,last_authenticated_at,app_version,environment",
        "kiosk,alice,ios,2026-11-22T06:00:00.000000Z,2026-11-22T06:00:00.000000Z,9.9.9,production",
        "shop,dave,ios,2026-11-21T10:00:00.000000Z,2026-11-21T10:00:00.000000Z,5.0,",
    ]


def test_the_engine_writes_the_json_lines_file_as_the_records_are_written_anywhere(tmp_path, capsys, frozen_now):
    folder = tmp_path / "events"
    folder.mkdir()
    names = ["plain", "ünï 漢字 😀", 'quo"te', "back\\slash", "sl/ash <&>", "", "com,ma", "ta\tb", "new\nline"]
    write(folder, "events-20261122-web1-1-0",
          [auth("11-22 08:00:00.000000", name, f"1.{i}", environment=None if i % 2 else "production")
           for i, name in enumerate(names)])
    out = tmp_path / "users.jsonl"
    result, _ = update_users(str(folder), Destination("jsonl", str(out)), now=NOW)
    text = io.StringIO()
    write_records(result.records, "jsonl", text)
    assert out.read_text(encoding="utf-8") == text.getvalue()
    assert len(result.records) == len(names)
    assert main(["events", "users", "--events-dir", str(folder)]) == 0
    assert capsys.readouterr().out == text.getvalue()


def test_sqlite_output_keeps_records_and_checkpoint(fleet, tmp_path):
    db = tmp_path / "users.db"
    update_users(str(fleet), Destination(db=str(db)), now=NOW)
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT app, user_id, platform, first_authenticated_at, last_authenticated_at, app_version, environment"
            " FROM user_versions ORDER BY app, user_id, platform").fetchall()
        assert [UserRecord(*row) for row in rows] == FLEET
        assert connection.execute("SELECT last_request_id FROM user_versions WHERE user_id = 'carol'").fetchone() \
            == ("r-b",)
    append(fleet / "events-20261122-web1-101-1.jsonl", [b'Z"}\n', auth("11-22 11:00:00.000000", "carol", "1.2.0")])
    result, _ = update_users(str(fleet), Destination(db=str(db)), now=NOW)
    assert result.incremental and result.scan.lines == 2 and result.scan.malformed == 1
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT app_version, first_authenticated_at FROM user_versions "
                                  "WHERE user_id = 'carol'").fetchone() == ("1.2.0", "2026-11-22T07:00:00.000000Z")


def test_incremental_runs_read_only_what_is_new_and_equal_a_rebuild(tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    out = tmp_path / "users.jsonl"
    run = ["events", "users", "--events-dir", str(folder), "--out", str(out)]
    a = write(folder, "events-20261122-web1-1-0", [auth("11-22 08:00:00.000000", "alice", "1.0.0")])
    b = write(folder, "events-20261122-web2-2-0", [auth("11-22 08:30:00.000000", "bob", "1.0.0"), b"{bad\n"])
    assert main(run) == 0
    first = fold_users(folder, now=NOW).checkpoint.marks
    assert {stem: (m.offset, m.lines, m.complete) for stem, m in first.items()} == {
        "events-20261122-web1-1-0": (a.stat().st_size, 1, False),
        "events-20261122-web2-2-0": (b.stat().st_size, 2, False)}

    # A file grew, another was rotated (last lines, then compressed), and new files came.
    append(a, [auth("11-22 09:00:00.000000", "alice", "1.1.0"), auth("11-22 09:00:00.000000", "alice", "1.1.0", "android")])
    rotate(b, [auth("11-22 07:00:00.000000", "bob", "0.9.0")])  # an earlier time, seen later
    write(folder, "events-20261122-web2-2-1", [auth("11-22 10:00:00.000000", "bob", "1.2.0"), b"[1]\n"])
    write(folder, "events-20261122-web3-3-0", [auth("11-22 10:30:00.000000", "carol", "2.0.0")], gz=True)
    result, unusable = update_users(str(folder), Destination("jsonl", str(out)), now=NOW)
    assert unusable is None and result.incremental
    # Only the new lines: 2 appended, 1 after the offset inside the .gz, 2 + 1 in the new files.
    assert (result.scan.lines, result.scan.authentications, result.scan.malformed) == (6, 5, 1)
    assert result.scan.problems == [f"{folder / 'events-20261122-web2-2-1.jsonl'}:2: expected a JSON object, got list"]

    rebuilt = tmp_path / "rebuilt.jsonl"
    update_users(str(folder), Destination("jsonl", str(rebuilt)), now=NOW)
    assert out.read_bytes() == rebuilt.read_bytes()
    # The checkpoint updated in place holds what a new one holds.
    assert saved_state(f"{out}.checkpoint") == saved_state(f"{rebuilt}.checkpoint")
    assert [json.loads(line)["user_id"] for line in out.read_text().splitlines()] == ["alice", "alice", "bob", "carol"]
    bob = json.loads(out.read_text().splitlines()[2])
    assert (bob["first_authenticated_at"], bob["app_version"]) == ("2026-11-22T07:00:00.000000Z", "1.2.0")

    # Nothing new: nothing read, the same bytes; the finished .gz is not even opened.
    result, _ = update_users(str(folder), Destination("jsonl", str(out)), now=NOW)
    assert (result.scan.files_read, result.scan.lines) == (0, 0)
    assert out.read_bytes() == rebuilt.read_bytes()


def saved_state(path: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    connection = duckdb.connect(path, read_only=True)
    try:
        return (connection.execute("SELECT * FROM user_state ORDER BY ALL").fetchall(),
                connection.execute("SELECT * FROM event_files ORDER BY ALL").fetchall())
    finally:
        connection.close()


def test_a_checkpoint_updated_in_place_drops_what_expired(tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    write(folder, "events-20261120-web1-1-0", [auth("11-20 08:00:00.000000", "alice", "1.0.0")])
    current = write(folder, "events-20261122-web1-1-1", [auth("11-22 08:00:00.000000", "bob", "1.0.0")])
    out, rebuilt = str(tmp_path / "users.jsonl"), str(tmp_path / "rebuilt.jsonl")
    update_users(str(folder), Destination("jsonl", out), now=NOW, retention_days=5)
    later = datetime(2026, 11, 26, tzinfo=UTC)  # the cutoff moves to 11-21: alice expires
    append(current, [auth("11-22 09:00:00.000000", "carol", "1.0.0")])
    inode = Path(out + ".checkpoint").stat().st_ino
    result, _ = update_users(str(folder), Destination("jsonl", out), now=later, retention_days=5)
    assert result.incremental and result.expired == 1 and result.scan.lines == 1
    assert Path(out + ".checkpoint").stat().st_ino == inode  # updated, not written anew
    assert not Path(out + ".checkpoint.wal").exists()
    update_users(str(folder), Destination("jsonl", rebuilt), now=later, retention_days=5)
    assert Path(out).read_bytes() == Path(rebuilt).read_bytes()
    users, marks = saved_state(out + ".checkpoint")
    assert [row[1] for row in users] == ["bob", "carol"]
    assert saved_state(out + ".checkpoint")[0] == saved_state(rebuilt + ".checkpoint")[0]
    assert [stem for stem, *_ in marks] == ["events-20261122-web1-1-1"]  # the past day is not read


def test_a_checkpoint_of_another_folder_or_retention_is_not_used(fleet, tmp_path):
    out = str(tmp_path / "users.jsonl")
    update_users(str(fleet), Destination("jsonl", out), now=NOW)
    result, why = update_users(str(fleet), Destination("jsonl", out), now=NOW, retention_days=400)
    assert not result.incremental and why == "the checkpoint was made with --retention-days 365"
    other = tmp_path / "other"
    other.mkdir()
    result, why = update_users(str(other), Destination("jsonl", out), now=NOW, retention_days=400)
    assert why == f"the checkpoint is of another events folder ({fleet.resolve()})"
    assert result.records == []
    Path(out + ".checkpoint").write_text("garbage\n")
    result, why = update_users(str(fleet), Destination("jsonl", out), now=NOW)
    assert why == f"{out}.checkpoint is not a kickit-edge users checkpoint (not a DuckDB database)"


def test_a_file_shorter_than_its_mark_is_read_again(tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    path = write(folder, "events-20261122-web1-1-0", [auth("11-22 08:00:00.000000", "alice", "1.0.0"),
                                                      auth("11-22 08:01:00.000000", "bob", "1.0.0")])
    first = fold_users(folder, now=NOW)
    write(folder, "events-20261122-web1-1-0", [auth("11-22 09:00:00.000000", "carol", "1.0.0")])
    assert path.stat().st_size < first.checkpoint.marks["events-20261122-web1-1-0"].offset
    again = fold_users(folder, first.checkpoint, now=NOW)
    assert again.scan.reread == ["events-20261122-web1-1-0"]
    assert [r.user_id for r in again.records] == ["alice", "bob", "carol"]


def test_records_last_seen_before_the_retention_expire(tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    write(folder, "events-20261120-web1-1-0", [auth("11-20 08:00:00.000000", "alice", "1.0.0")])
    write(folder, "events-20261122-web1-1-1", [auth("11-22 08:00:00.000000", "bob", "1.0.0")])
    first = fold_users(folder, now=NOW, retention_days=5)
    assert [r.user_id for r in first.records] == ["alice", "bob"]
    later = datetime(2026, 11, 26, tzinfo=UTC)  # the cutoff moves to 11-21
    result = fold_users(folder, first.checkpoint, now=later, retention_days=5)
    assert result.expired == 1 and [r.user_id for r in result.records] == ["bob"]
    assert result.removed == [] and result.past == ["events-20261120-web1-1-0.jsonl"]
    assert result.records == fold_users(folder, now=later, retention_days=5).records
