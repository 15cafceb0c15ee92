"""`releases add` and `releases sync`: releases written into the YAML with every comment kept."""

from __future__ import annotations

import difflib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from kickit_edge.cli import main
from kickit_edge.compiler.builder import read_config
from tests.conftest import WriteConfig

Capture = pytest.CaptureFixture[str]


def added_lines(before: str, after: str) -> list[str]:
    """What changed, as diff lines: only insertions (+) and replacements show up."""
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_add_appends_a_release_and_keeps_every_comment(demo_config: Path, capsys: Capture) -> None:
    path = demo_config / "apps" / "demo.yaml"
    before = path.read_text()
    assert main(["releases", "add", "--config", str(demo_config), "--app", "demo", "--platform", "android",
                 "--version", "3.1.0", "--available-from", "2027-02-01T10:00:00+01:00", "--min-os", "8.0"]) == 0
    assert capsys.readouterr().out == (
        "added release android 3.1.0 of demo: available from 2027-02-01T09:00:00Z, min OS 8.0\n")
    after = path.read_text()
    assert added_lines(before, after) == [
        "+  - platform: android",
        '+    version: "3.1.0"',
        '+    available_from: "2027-02-01T09:00:00Z"',
        '+    min_os: "8.0"',
    ]
    # The new entry sits after the last release, before the comment that opens the targets.
    assert '    note: in review; the hard staging rule below waits for it\n  - platform: android\n' in after
    release = read_config(demo_config).app("demo").releases[-1]  # type: ignore[union-attr]
    assert (release.platform, release.version, release.min_os) == ("android", "3.1.0", "8.0")


def test_add_again_updates_the_release(demo_config: Path, capsys: Capture) -> None:
    path = demo_config / "apps" / "demo.yaml"
    before = path.read_text()
    assert main(["releases", "add", "--config", str(demo_config), "--app", "demo", "--platform", "ios",
                 "--version", "3.0.0", "--available-from", "2027-01-10T08:00:00Z"]) == 0
    assert capsys.readouterr().out == "updated release ios 3.0.0 of demo: available from 2027-01-10T08:00:00Z\n"
    assert added_lines(before, path.read_text()) == [
        '-    available_from: "2027-01-12T09:00:00"   # local time in `timezone`',
        "-    timezone: Europe/Berlin",
        '+    available_from: "2027-01-10T08:00:00Z"',
    ]


def test_add_refuses_what_would_break_the_config(demo_config: Path, capsys: Capture) -> None:
    path = demo_config / "apps" / "demo.yaml"
    before = path.read_text()
    args = ["releases", "add", "--config", str(demo_config), "--app", "demo", "--platform", "ios"]
    assert main([*args, "--version", "not a version"]) == 2
    assert capsys.readouterr().err.startswith("error: --version: 'not a version' ")
    assert main([*args, "--version", "4.0", "--available-from", "soon"]) == 2
    assert capsys.readouterr().err == ("error: --available-from 'soon' is not a time: expected ISO 8601 such as "
                                       "2027-01-12T09:00:00Z or 2027-01-12\n")
    assert main([*args[:5], "nope", *args[6:], "--version", "4.0"]) == 2
    assert capsys.readouterr().err == f"error: no app 'nope' in {demo_config} (apps: demo)\n"
    assert path.read_text() == before


class _Store:
    """A small local stand-in for the App Store lookup API: answers per country, records the queries."""

    def __init__(self, answers: dict[str, list[dict[str, str]]]) -> None:
        self.answers = answers
        self.queries: list[dict[str, list[str]]] = []


@pytest.fixture
def store() -> Iterator[tuple[str, _Store]]:
    state = _Store({})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            query = parse_qs(urlparse(self.path).query)
            state.queries.append(query)
            results = state.answers.get(query.get("country", [""])[0], [])
            body = json.dumps({"resultCount": len(results), "results": results}).encode()
            self.send_response(200)
            self.send_header("content-type", "text/javascript; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/lookup", state
    server.shutdown()
    server.server_close()


def live(version: str, date: str, min_os: str = "16.0") -> dict[str, str]:
    return {"bundleId": "com.example.kickit", "version": version, "currentVersionReleaseDate": date,
            "minimumOsVersion": min_os, "trackName": "KickItApp"}


def test_sync_records_the_version_live_in_every_country(demo_config: Path, store: tuple[str, _Store],
                                                        capsys: Capture) -> None:
    url, state = store
    state.answers = {"us": [live("3.1.0", "2027-01-20T08:00:00Z", "16.4")],
                     "de": [live("3.0.0", "2027-01-12T07:00:00Z")]}
    path = demo_config / "apps" / "demo.yaml"
    before = path.read_text()
    assert main(["releases", "sync", "--config", str(demo_config), "--app", "demo", "--country", "us",
                 "--country", "de", "--lookup-url", url]) == 0
    assert capsys.readouterr().out == (
        "updated release ios 3.0.0 of demo: live since 2027-01-12T07:00:00Z, min OS 16.0\n")
    assert [q["bundleId"] for q in state.queries] == [["com.example.kickit"], ["com.example.kickit"]]
    # The note written by hand stays; the store's note goes only into entries sync starts.
    assert added_lines(before, path.read_text()) == [
        '-    available_from: "2027-01-12T09:00:00"   # local time in `timezone`',
        "-    timezone: Europe/Berlin",
        '+    available_from: "2027-01-12T07:00:00Z"',
    ]
    state.answers = {"us": [live("3.1.0", "2027-01-20T08:00:00Z", "16.4")]}
    assert main(["releases", "sync", "--config", str(demo_config), "--app", "demo", "--lookup-url", url]) == 0
    assert capsys.readouterr().out == "added release ios 3.1.0 of demo: live since 2027-01-20T08:00:00Z, min OS 16.4\n"
    assert "# Store releases: what users can actually install" in path.read_text()
    assert '    version: "3.1.0"\n    available_from: "2027-01-20T08:00:00Z"\n    min_os: "16.4"\n' \
           '    note: App Store (us)\n' in path.read_text()


def test_sync_leaves_an_entry_that_already_says_it_as_written(demo_config: Path, store: tuple[str, _Store],
                                                              capsys: Capture) -> None:
    url, state = store
    # The demo's 3.0.0 is available from 09:00 Berlin time, 08:00 UTC: the store says the same instant.
    state.answers = {"us": [live("3.0.0", "2027-01-12T08:00:00Z", "16.0")]}
    path = demo_config / "apps" / "demo.yaml"
    before = path.read_text()
    assert main(["releases", "sync", "--config", str(demo_config), "--app", "demo", "--lookup-url", url]) == 0
    assert capsys.readouterr().out == (
        "release ios 3.0.0 of demo already recorded: live since 2027-01-12T08:00:00Z, min OS 16.0\n")
    assert path.read_text() == before
    # A later release date, and a new minimum OS: the instant is written in UTC, the note stays.
    state.answers = {"us": [live("3.0.0", "2027-01-13T08:00:00Z", "16.2")]}
    assert main(["releases", "sync", "--config", str(demo_config), "--app", "demo", "--lookup-url", url]) == 0
    assert capsys.readouterr().out == "updated release ios 3.0.0 of demo: live since 2027-01-13T08:00:00Z, min OS 16.2\n"
    assert added_lines(before, path.read_text()) == [
        '-    available_from: "2027-01-12T09:00:00"   # local time in `timezone`',
        "-    timezone: Europe/Berlin",
        '-    min_os: "16.0"                          # clients on an older iOS get os_message instead',
        '+    available_from: "2027-01-13T08:00:00Z"',
        '+    min_os: "16.2"                          # clients on an older iOS get os_message instead',
    ]


def test_sync_explains_what_it_cannot_read(demo_config: Path, store: tuple[str, _Store], capsys: Capture) -> None:
    url, _ = store
    args = ["releases", "sync", "--config", str(demo_config), "--app", "demo", "--country", "fr"]
    assert main([*args, "--lookup-url", url]) == 2
    assert capsys.readouterr().err == (
        "error: the App Store lists no app with bundle id 'com.example.kickit' in country 'fr'\n")
    assert main([*args, "--lookup-url", "http://127.0.0.1:9/lookup"]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read the App Store lookup at http://127.0.0.1:9/lookup?")
    with pytest.raises(SystemExit) as usage:
        main([*args[:-1], "usa", "--lookup-url", url])
    assert usage.value.code == 2
    assert capsys.readouterr().err.endswith(
        "error: argument --country: 'usa': expected a two-letter country code such as us or de\n")


def test_add_to_an_app_without_releases_starts_the_list(write_config: WriteConfig, capsys: Capture) -> None:
    config = write_config()
    path = config / "apps" / "shop.yaml"
    before = path.read_text()
    assert main(["releases", "add", "--config", str(config), "--app", "shop", "--platform", "ios",
                 "--version", "3.0.0", "--available-from", "2027-01-01"]) == 0
    assert capsys.readouterr().out == "added release ios 3.0.0 of shop: available from 2027-01-01T00:00:00Z\n"
    assert path.read_text() == before + (
        'releases:\n  - platform: ios\n    version: "3.0.0"\n    available_from: "2027-01-01T00:00:00Z"\n')
