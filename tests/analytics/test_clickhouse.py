"""The ClickHouse dialect of every query, run on chDB (ClickHouse in process), gives DuckDB's rows.

chDB is large, so it is an extra of its own (``pip install -e '.[clickhouse]'``,
which .ci/run installs for this test); without it this module is skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from kickit_edge.analytics.queries import QUERY_NAMES, QueryName, query, translate
from kickit_edge.cli import main

from .fleet import NOW
from .test_users import write_fleet

chdb_session = pytest.importorskip("chdb.session")

PARAMETERS = {"since": "2026-11-21T00:00:00.000000Z", "app": "", "cutoff": "2025-11-22T00:00:00.000000Z"}
# A snapshot's verdict per version, as `events impact` would fill it.
VERDICTS = [("shop", "ios", "production", "2.0.0", "hard"), ("shop", "ios", "production", "2.1.0", "ok"),
            ("shop", "ios", "production", "1.0.0", "soft"), ("shop", "ios", "production", "1.1.0", "not_found"),
            ("shop", "android", "production", "2.1.0", "soft"), ("shop", "ios", None, "5.0", "hard"),
            ("kiosk", "ios", "production", "9.9.9", "ok")]


def normal(rows: list[list[Any]] | list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(row) for row in rows), key=lambda row: json.dumps(row))


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("events")
    write_fleet(folder)
    out = folder.parent / "export"
    assert main(["events", "export", "--events-dir", str(folder), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def engines(export: Path) -> tuple[duckdb.DuckDBPyConnection, Any]:
    files = f"{export}/*/*.parquet"
    duck = duckdb.connect()
    duck.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet('{files}')")
    duck.execute("CREATE TABLE verdicts (app VARCHAR, platform VARCHAR, environment VARCHAR, app_version VARCHAR, "
                 "verdict VARCHAR)")
    duck.executemany("INSERT INTO verdicts VALUES (?, ?, ?, ?, ?)", VERDICTS)
    house = chdb_session.Session()
    house.query("CREATE DATABASE IF NOT EXISTS kickit")
    house.query("USE kickit")
    house.query(f"CREATE TABLE events ENGINE = MergeTree ORDER BY tuple() AS SELECT * FROM file('{files}', Parquet)")
    house.query("CREATE TABLE verdicts (app String, platform String, environment Nullable(String), "
                "app_version String, verdict String) ENGINE = MergeTree ORDER BY tuple()")
    values = ", ".join("(" + ", ".join("NULL" if v is None else f"'{v}'" for v in row) + ")" for row in VERDICTS)
    house.query(f"INSERT INTO verdicts VALUES {values}")
    return duck, house


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_clickhouse_gives_the_rows_duckdb_gives(engines, name: QueryName):
    duck, house = engines
    sql = query(name)
    expected = duck.execute(sql, {k: v for k, v in PARAMETERS.items() if f"${k}" in sql}).fetchall()
    assert expected, "a query with no rows proves little"
    result = house.query(translate(name, "clickhouse", PARAMETERS), "JSONCompact")
    got = json.loads(result.bytes())["data"]
    assert normal([[int(v) if isinstance(v, str) and v.isdigit() and name != "user_records" else v for v in row]
                   for row in got]) == normal(expected)


def test_the_fixture_is_the_users_fleet(engines):
    duck, _ = engines
    assert duck.execute("SELECT count(*) FROM events").fetchone() == (16,)
    assert NOW.year == 2026
