"""serve --verify-key on a real uvicorn: fail closed at cold start and on reload, last good kept, reason on /status."""

from __future__ import annotations

from pathlib import Path

from kickit_edge.compiler.publish import publish_snapshot
from kickit_edge.signing import write_key_pair
from tests.test_signing import signed

from .conftest import StartServer, wait_until
from .test_reload import NEW_TEXT, OLD_TEXT, message, snapshot_b, status

__all__ = ["snapshot_b"]  # a fixture, used here by name


def test_an_edge_with_a_verify_key_serves_only_signed_snapshots(start_server: StartServer, tmp_path: Path,
                                                                snapshot_bytes: bytes, snapshot_b: bytes) -> None:
    _, ours, our_id = write_key_pair(tmp_path / "ours")
    write_key_pair(tmp_path / "other")
    snapshots = tmp_path / "snapshots"
    publish_snapshot(snapshot_bytes, snapshots)  # unsigned
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(tmp_path), "--verify-key", str(ours),
                          "--watch", "poll", "--poll-interval", "0.1")
    assert server.http.get("/ready").status_code == 503  # fail closed at cold start
    assert status(server)["rejected"]["error"].startswith("snapshot is not signed; this edge accepts only")
    publish_snapshot(signed(snapshot_bytes, tmp_path / "ours"), snapshots)
    wait_until(lambda: server.http.get("/ready").status_code == 200, what="the signed snapshot")
    assert status(server)["snapshot"]["signed_by"] == our_id and message(server) == OLD_TEXT
    for data, reason in [(signed(snapshot_b, tmp_path / "other"), "which this edge does not trust"),
                         (snapshot_b, "snapshot is not signed")]:
        publish_snapshot(data, snapshots)
        wait_until(lambda: reason in ((status(server)["rejected"] or {}).get("error") or ""), what=reason)
        assert message(server) == OLD_TEXT  # the last good snapshot keeps serving
    publish_snapshot(signed(snapshot_b, tmp_path / "ours"), snapshots)
    wait_until(lambda: message(server) == NEW_TEXT, what="the next signed snapshot")
