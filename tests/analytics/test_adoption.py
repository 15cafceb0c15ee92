"""`events adoption`: active users per version, newest first, as a table, JSON and an offline HTML page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kickit_edge.analytics.active import scan_active
from kickit_edge.analytics.adoption import adoption_of, newest_first
from kickit_edge.cli import main

from .fleet import NOW, auth, write
from .test_impact import snapshot  # noqa: F401  (the fixture)


@pytest.fixture
def events(tmp_path: Path) -> Path:
    folder = tmp_path / "events"
    folder.mkdir()
    write(folder, "events-20261001-web1-1-0", [auth("10-01 10:00:00.000000", "u6", "1.0.0")], gz=True)
    write(folder, "events-20261120-web1-1-1", [
        auth("11-20 10:00:00.000000", "u1", "2.0.0"),
        auth("11-20 11:00:00.000000", "u1", "2.0.0", "android"),
    ], gz=True)
    write(folder, "events-20261121-web2-2-0", [
        auth("11-21 10:00:00.000000", "u2", "2.1.0"),
        auth("11-21 11:00:00.000000", "u5", "1.9"),
        auth("11-21 12:00:00.000000", "u7", "2.1.0", environment="staging"),
    ])
    write(folder, "events-20261122-web1-1-2", [
        auth("11-22 09:00:00.000000", "u1", "2.1.0"),  # u1 upgraded: counted once, on 2.1.0
        auth("11-22 09:10:00.000000", "u3", "2.10.0"),
        auth("11-22 09:20:00.000000", "u4", "beta-x"),  # cannot be ordered: last
        auth("11-22 09:30:00.000000", "u1", "3.0", "android"),
        auth("11-22 09:40:00.000000", "u8", "2.1.0", environment=None),
        auth("11-22 09:50:00.000000", "u9", "<b>1.0</b>", app="kiosk"),
    ])
    return folder


def test_versions_newest_first_unorderable_last():
    assert newest_first(["2.1.0", "beta-x", "2.10.0", "1.9", "2.1", "v3", "abc"]) == [
        "v3", "2.10.0", "2.1", "2.1.0", "1.9", "abc", "beta-x"]


def test_table(events, capsys, frozen_now):
    assert main(["events", "adoption", "--events-dir", str(events)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Active users since 2026-10-23 12:00 UTC: 9, each counted once per app and platform, under the version "
        "of their latest authentication",
        "",
        "kiosk  ios / production  (1 user)",
        "  VERSION     USERS   SHARE",
        "  <b>1.0</b>      1  100.0%",
        "",
        "shop  android / production  (1 user)",
        "  VERSION  USERS   SHARE",
        "  3.0          1  100.0%",
        "",
        "shop  ios / production  (5 users)",
        "  VERSION  USERS  SHARE",
        "  2.10.0       1  20.0%",
        "  2.1.0        2  40.0%",
        "  1.9          1  20.0%",
        "  beta-x       1  20.0%",
        "",
        "shop  ios / staging  (1 user)",
        "  VERSION  USERS   SHARE",
        "  2.1.0        1  100.0%",
        "",
        "shop  ios / (no environment)  (1 user)",
        "  VERSION  USERS   SHARE",
        "  2.1.0        1  100.0%",
    ]


def test_json_with_days_and_an_app(events, capsys, frozen_now):
    assert main(["events", "adoption", "--events-dir", str(events), "--app", "shop", "--since", "2026-11-20",
                 "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["since"], report["until"], report["active_users"]) == (
        "2026-11-20T00:00:00Z", "2026-11-22T12:00:00Z", 8)
    assert [(g["platform"], g["environment"], g["users"]) for g in report["groups"]] == [
        ("android", "production", 1), ("ios", "production", 5), ("ios", "staging", 1), ("ios", None, 1)]
    ios = report["groups"][1]
    assert ios["versions"] == [
        {"app_version": "2.10.0", "users": 1, "share": 0.2}, {"app_version": "2.1.0", "users": 2, "share": 0.4},
        {"app_version": "1.9", "users": 1, "share": 0.2}, {"app_version": "beta-x", "users": 1, "share": 0.2}]
    assert ios["days"] == [
        {"day": "2026-11-20", "users": 1, "versions": {"2.0.0": 1}},
        {"day": "2026-11-21", "users": 2, "versions": {"2.1.0": 1, "1.9": 1}},
        {"day": "2026-11-22", "users": 3, "versions": {"2.10.0": 1, "2.1.0": 1, "beta-x": 1}},
    ]


def test_the_window_reads_only_its_days(events):
    active = scan_active(events, datetime(2026, 11, 22, tzinfo=UTC), NOW)
    assert active.report.files_read == 2  # the day before is read too, for a clock that crossed midnight
    users = active.connection.execute("SELECT user_id FROM active_users ORDER BY user_id").fetchall()
    assert [user for user, in users] == ["u1", "u1", "u3", "u4", "u8", "u9"]


def test_html_is_one_offline_page_with_a_chart_per_group(events, tmp_path, capsys, frozen_now):
    page = tmp_path / "adoption.html"
    assert main(["events", "adoption", "--events-dir", str(events), "--since", "7d", "--format", "html",
                 "--out", str(page)]) == 0
    assert f"wrote {page}" in capsys.readouterr().err
    html = page.read_text()
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    for external in ("http:", "https:", "<script", "src=", "href=", "url(", "@import", "<link"):
        assert external not in html
    assert html.count("<svg") == 5 and html.count("<section>") == 5
    assert "&lt;b&gt;1.0&lt;/b&gt;" in html and "<b>1.0</b>" not in html  # client text is escaped
    assert "<title>2026-11-22 2.10.0: 1 of 3 users (33.3%)</title>" in html
    # Eight days (11-15 .. 11-22), labelled on the axis.
    assert re.findall(r">(11-\d\d)</text>", html)[:2] == ["11-15", "11-16"]


def test_no_users_in_the_window(events, capsys, frozen_now):
    assert main(["events", "adoption", "--events-dir", str(events), "--app", "none"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "No authentications in this window."


def test_each_version_with_its_verdict_and_each_day_with_its_volume(events, snapshot, tmp_path, capsys,
                                                                    frozen_now):  # noqa: F811
    assert main(["events", "adoption", "--events-dir", str(events), "--app", "shop", "--snapshot",
                 str(snapshot)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[6:12] == [
        "shop  ios / production  (5 users)",
        "  VERSION  VERDICT    USERS  SHARE",
        "  2.10.0   not found      1  20.0%",
        "  2.1.0    not found      2  40.0%",
        "  1.9      hard           1  20.0%",
        "  beta-x   not found      1  20.0%",
    ]
    page = tmp_path / "adoption.html"
    assert main(["events", "adoption", "--events-dir", str(events), "--since", "2026-11-20", "--format", "html",
                 "--snapshot", str(snapshot), "--out", str(page)]) == 0
    html = page.read_text()
    assert '<td><span class="verdict v-hard">hard</span></td>' in html
    assert "<title>2026-11-22: 3 users</title>" in html and "<title>2026-11-21: 2 users</title>" in html
    assert "svg { max-width: 100%; height: auto; }" in html and "@media (max-width: 600px)" in html
    assert main(["events", "adoption", "--events-dir", str(events), "--format", "json", "--snapshot",
                 str(snapshot)]) == 0
    ios = json.loads(capsys.readouterr().out)["groups"][2]
    assert ios["versions"][2] == {"app_version": "1.9", "users": 1, "share": 0.2, "verdict": "hard"}
