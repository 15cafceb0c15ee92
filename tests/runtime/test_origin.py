"""The URL source against a misbehaving origin on 127.0.0.1: every failure is a rejected poll, never the end.

Also the last good snapshot across restarts (the cache folder) and a cold
start with a failing origin, on a real uvicorn.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest

from kickit_edge.runtime.origin import UrlSource, backoff
from kickit_edge.runtime.state import SnapshotState

from .conftest import StartServer, wait_until
from .origins import MODES, Origin
from .test_reload import NEW_TEXT, OLD_TEXT, message, snapshot_b, status

__all__ = ["snapshot_b"]  # a fixture, used here by name

# What each misbehaviour is reported as (the poll is rejected, the good snapshot stays).
EXPECTED = {
    "truncated": "RemoteProtocolError",
    "bad-status-line": "RemoteProtocolError",
    "long-header-line": "snapshot",  # accepted by the HTTP client; its "{}" body is no snapshot
    "huge": "the snapshot is larger than --max-snapshot-bytes (200000 bytes)",
    "drip": "no complete answer within 2 s",
    "hang": "no complete answer within 2 s",
    "redirect-loop": "TooManyRedirects",
    "error-500": "HTTP 500 Internal Server Error",
    "reset": "Error",
}


@pytest.fixture
def origin(snapshot_bytes: bytes) -> Origin:
    with Origin(snapshot_bytes) as running:
        yield running  # type: ignore[misc]


def test_each_hostile_answer_is_a_rejected_poll_and_the_good_snapshot_stays(origin: Origin, tmp_path: Path,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    state = SnapshotState()
    source = UrlSource(state, origin.url, deadline=2, max_bytes=200_000, cache_dir=tmp_path / "cache")
    assert source.refresh() == "loaded"
    good = state.current
    for mode in MODES:
        origin.mode = mode
        outcome = source.refresh()
        if mode == "101-headers":
            assert outcome == "unchanged", mode  # many headers are no fault of the snapshot: same content
            continue
        assert outcome == "rejected", mode
        assert state.rejected is not None and EXPECTED[mode] in state.rejected.error, (mode, state.rejected)
        assert state.rejected.error.startswith(f"cannot fetch {source.location}") or mode == "long-header-line"
        assert state.current is good and "SECRET" not in state.rejected.error
    origin.mode = "good"
    assert source.refresh() == "unchanged" and source.failures == 0 and source.last_success is not None
    assert "SECRET" not in caplog.text
    source.close()


def test_gzip_is_asked_for_and_one_connection_serves_every_poll(origin: Origin, tmp_path: Path,
                                                                 snapshot_b: bytes) -> None:
    state = SnapshotState()
    source = UrlSource(state, origin.url, cache_dir=tmp_path)
    origin.mode = "gzip"
    assert source.refresh() == "loaded" and origin.gzip_asked
    for _ in range(3):
        assert source.refresh() == "unchanged"
    origin.body = snapshot_b
    assert source.refresh() == "loaded" and state.current is not None and state.current.snapshot.revision == "rev-b"
    assert origin.requests == 5 and origin.connections == 1  # kept alive between polls
    # A small gzip body that inflates past the bound is refused as it inflates.
    source.max_bytes = len(snapshot_b) - 1
    origin.body = snapshot_b + b" "
    assert source.refresh() == "rejected" and "larger than --max-snapshot-bytes" in state.rejected.error  # type: ignore[union-attr]
    source.close()


def test_a_kept_alive_connection_the_origin_closed_is_retried_once_on_a_fresh_one(origin: Origin,
                                                                                  tmp_path: Path) -> None:
    state = SnapshotState()
    source = UrlSource(state, origin.url, cache_dir=tmp_path)
    origin.mode = "close-reused"  # answers a connection's first request, closes it at the second
    assert source.refresh() == "loaded"
    for polls in range(2, 5):
        assert source.refresh() == "unchanged" and source.failures == 0 and state.rejected is None
        assert origin.connections == polls
    source.close()


def test_the_same_failure_is_logged_once_then_counted(origin: Origin, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    state = SnapshotState()
    source = UrlSource(state, origin.url, cache_dir=tmp_path)
    origin.mode = "error-500"
    with caplog.at_level(logging.ERROR, "kickit_edge.runtime"):
        for _ in range(3):
            assert source.refresh() == "rejected"
    assert state.rejected is not None and state.rejected.repeats == 3 and state.rejections == 3
    assert sum("HTTP 500" in r.getMessage() for r in caplog.records) == 1
    assert source.failures == 3
    source.close()


def test_backoff_starts_short_doubles_and_is_capped_near_the_poll_interval() -> None:
    for failures, base in [(1, 1.25), (2, 2.5), (3, 5.0), (4, 10.0), (9, 10.0)]:
        delays = [backoff(failures, 10.0) for _ in range(50)]
        assert all(0.8 * base <= d <= 1.2 * base for d in delays), (failures, min(delays), max(delays))
        assert len(set(delays)) > 1  # jitter: replicas do not poll in step


def test_the_poll_loop_survives_every_failure_and_follows_a_new_snapshot(origin: Origin, tmp_path: Path,
                                                                         snapshot_b: bytes) -> None:
    state = SnapshotState()
    source = UrlSource(state, origin.url, poll_interval=0.05, deadline=1, max_bytes=200_000, cache_dir=tmp_path)
    source.refresh()
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_until_complete, args=(source.run(stop),), daemon=True)
    runner.start()
    try:
        for mode in ("truncated", "bad-status-line", "reset", "error-500", "redirect-loop", "hang"):
            origin.mode = mode
            before = origin.requests
            wait_until(lambda: origin.requests > before + 1, what=f"polls during {mode}")
        origin.body, origin.mode = snapshot_b, "good"
        wait_until(lambda: state.current is not None and state.current.snapshot.revision == "rev-b",
                   what="the new snapshot after the failures")
        assert runner.is_alive()
    finally:
        loop.call_soon_threadsafe(stop.set)
        runner.join(10)
    assert not runner.is_alive()


def test_a_cold_start_with_a_failing_origin_is_up_and_not_ready_then_ready(
        start_server: StartServer, origin: Origin, tmp_path: Path) -> None:
    origin.mode = "bad-status-line"
    server = start_server("--snapshot-url", origin.url, "--poll-interval", "0.1", "--events-dir", str(tmp_path),
                          "--cache-dir", str(tmp_path / "cache"))
    assert server.http.get("/health").status_code == 200
    assert server.http.get("/ready").status_code == 503
    assert "RemoteProtocolError" in status(server)["rejected"]["error"]
    origin.mode = "good"
    wait_until(lambda: server.http.get("/ready").status_code == 200, what="readiness once the origin recovers")
    assert message(server) == OLD_TEXT


def test_the_last_good_snapshot_survives_a_restart_while_the_origin_fails(
        start_server: StartServer, origin: Origin, tmp_path: Path, snapshot_b: bytes) -> None:
    cache = tmp_path / "cache"
    args = ("--snapshot-url", origin.url, "--poll-interval", "0.1", "--events-dir", str(tmp_path),
            "--cache-dir", str(cache))
    origin.body = snapshot_b
    first = start_server(*args)
    assert message(first) == NEW_TEXT
    first.stop()
    kept = list(cache.glob("snapshot-*.json"))
    assert len(kept) == 1 and kept[0].read_bytes() == snapshot_b and not list(cache.glob(".download-*"))
    origin.mode = "error-500"
    second = start_server(*args)
    assert message(second) == NEW_TEXT  # ready at once, with the last good policy
    snapshot = status(second)["snapshot"]
    assert snapshot["cached"] is True and snapshot["source"].startswith(str(kept[0]))
    assert status(second)["source"]["last_success"] is None  # the origin has not answered yet
    origin.mode = "good"
    wait_until(lambda: status(second)["snapshot"]["cached"] is False, what="the origin confirming the copy")
    assert status(second)["source"]["stale_seconds"] < 60


def test_a_cached_copy_that_is_bad_is_rejected_like_any_other(start_server: StartServer, origin: Origin,
                                                              tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    source = UrlSource(SnapshotState(), origin.url, cache_dir=cache)
    assert source.cache_file is not None
    cache.mkdir()
    source.cache_file.write_bytes(origin.body[:-10])
    origin.mode = "reset"
    server = start_server("--snapshot-url", origin.url, "--events-dir", str(tmp_path), "--cache-dir", str(cache))
    assert server.http.get("/ready").status_code == 503
    assert "does not match its digest" in status(server)["rejected"]["error"]
