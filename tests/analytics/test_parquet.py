"""`events export`: the valid events as Parquet by day, read back by every command with the same answers."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import sqlglot

from kickit_edge.analytics.queries import DIALECTS, QUERY_NAMES
from kickit_edge.analytics.users import fold_users
from kickit_edge.cli import main

from .fleet import NOW, auth, check, write
from .test_users import FLEET, fleet  # noqa: F401  (the fixture)


def test_an_export_holds_the_valid_events_by_day_and_reads_back_the_same(fleet, tmp_path, capsys, frozen_now):  # noqa: F811
    out = tmp_path / "export"
    assert main(["events", "export", "--events-dir", str(fleet), "--out", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "5 malformed lines skipped:"
    # An event's day is its time's: bob's line stamped 11-20 sits in a file of 11-21.
    assert err[-1] == f"exported 16 events (5 days: 2025-11-21 .. 2026-11-22) -> {out}"
    assert sorted(p.name for p in out.iterdir()) == ["day=2025-11-21", "day=2025-11-22", "day=2026-11-20",
                                                     "day=2026-11-21", "day=2026-11-22"]
    rows = duckdb.sql(f"SELECT type, count(*) FROM read_parquet('{out}/*/*.parquet') GROUP BY type ORDER BY type")
    # Valid records all, the authentication without a user too (reported, and counted for no one).
    assert rows.fetchall() == [("authenticate", 15), ("target_check", 1)]
    assert fold_users(out, now=NOW).records == FLEET == fold_users(fleet, now=NOW).records

    for command in (["adoption", "--format", "json"], ["adoption", "--format", "html"]):
        assert main(["events", *command, "--events-dir", str(fleet), "--since", "2026-11-20"]) == 0
        raw = capsys.readouterr().out
        assert main(["events", *command, "--events-dir", str(out), "--since", "2026-11-20"]) == 0
        assert capsys.readouterr().out == raw


def test_an_export_replaces_the_days_it_writes(tmp_path, capsys, frozen_now):
    folder = tmp_path / "events"
    folder.mkdir()
    write(folder, "events-20261121-web1-1-0", [auth("11-21 08:00:00.000000", "alice", "1.0.0")], gz=True)
    write(folder, "events-20261122-web1-1-1", [auth("11-22 08:00:00.000000", "bob", "1.0.0"), check("11-22 08:01:00.000000")])
    out = tmp_path / "export"
    assert main(["events", "export", "--events-dir", str(folder), "--out", str(out)]) == 0
    write(folder, "events-20261122-web1-1-2", [auth("11-22 09:00:00.000000", "carol", "1.0.0")])
    assert main(["events", "export", "--events-dir", str(folder), "--out", str(out), "--since", "2026-11-22"]) == 0
    assert capsys.readouterr().err.splitlines()[-1] == f"exported 3 events (1 day: 2026-11-22 .. 2026-11-22) -> {out}"
    users = duckdb.sql(f"SELECT day, \"user\" FROM read_parquet('{out}/*/*.parquet', hive_partitioning = true) "
                       "WHERE type = 'authenticate' ORDER BY 2").fetchall()
    assert [(str(day), user) for day, user in users] == [
        ("2026-11-21", "alice"), ("2026-11-22", "bob"), ("2026-11-22", "carol")]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_query_prints_in_every_dialect(dialect, capsys, frozen_now):
    assert main(["events", "sql", "--dialect", dialect, "--since", "2026-11-01", "--app", "shop"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[1] for line in out.splitlines() if line.startswith("-- ")] == list(QUERY_NAMES)
    statements = [s for s in out.split(";\n") if s.strip()]
    assert len(statements) == len(QUERY_NAMES)
    for statement in statements:
        sqlglot.parse_one(statement, read=dialect)  # the dialect's own parser reads it back
        assert "$" not in statement and "'2026-11-01T00:00:00.000000Z'" in statement or \
            "user_records" in statement.splitlines()[0]


def test_the_duckdb_dialect_runs_as_printed(fleet, capsys, frozen_now):  # noqa: F811
    assert main(["events", "export", "--events-dir", str(fleet), "--out", str(fleet.parent / "x")]) == 0
    assert main(["events", "sql", "--query", "user_records"]) == 0
    sql = capsys.readouterr().out.split("\n", 1)[1].rstrip().rstrip(";")
    connection = duckdb.connect()
    connection.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{fleet.parent / 'x'}/*/*.parquet')")
    rows = connection.execute(f"SELECT * FROM ({sql}) ORDER BY 1, 2, 3").fetchall()
    assert [row[:7] for row in rows] == [tuple(r) for r in FLEET]
    assert json.dumps(rows[0][:3]) == '["kiosk", "alice", "ios"]'
