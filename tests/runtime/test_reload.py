"""Hot reload on a real uvicorn: os.replace, a ConfigMap-style ..data swap, polling, a URL; bad snapshots refused."""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kickit_edge.compiler.compile import compile_config
from kickit_edge.compiler.publish import publish_snapshot

from .conftest import DEMO_KEY, Server, StartServer, token, wait_until, write_test_config

URL = "/v1/versions?app_id=demo&app_version=1.2.0&platform=ios&environment=production"
HEADERS = {"x-api-token": token(DEMO_KEY)}
OLD_TEXT = "This version is no longer supported. Please update to continue."
NEW_TEXT = "Version B, please update."


@pytest.fixture(scope="session")
def snapshot_b(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The test config with another text for the iOS minimum rule."""
    root = write_test_config(tmp_path_factory.mktemp("b") / "config")
    demo = root / "apps" / "demo.yaml"
    demo.write_text(demo.read_text().replace(f"en: {OLD_TEXT}", f"en: {NEW_TEXT}"))
    return compile_config(str(root), revision="rev-b").data


def message(server: Server) -> str | None:
    response = server.http.get(URL, headers=HEADERS)
    return response.json().get("update_message") if response.status_code == 200 else None


def status(server: Server) -> dict:  # type: ignore[type-arg]
    return server.http.get("/status").json()  # type: ignore[no-any-return]


def test_reload_through_os_replace(start_server: StartServer, snapshots: Path, tmp_path: Path,
                                   snapshot_b: bytes) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(tmp_path))
    assert message(server) == OLD_TEXT
    old_id = status(server)["snapshot"]["id"]
    publish_snapshot(snapshot_b, snapshots)  # hard link + os.replace of snapshot.json
    wait_until(lambda: message(server) == NEW_TEXT, what="the new snapshot")
    now = status(server)
    assert now["snapshot"]["id"] != old_id
    assert now["snapshot"]["revision"] == "rev-b"
    assert now["loads"] == 2 and now["rejected"] is None


def publish_like_a_configmap(folder: Path, data: bytes, generation: int) -> None:
    """Publish the way the kubelet updates a ConfigMap volume: a new hidden folder, then swap ..data."""
    stamp = folder / f"..2026_11_22_00_00_0{generation}.000000001"
    stamp.mkdir()
    (stamp / "snapshot.json").write_bytes(data)
    old = os.readlink(folder / "..data") if (folder / "..data").is_symlink() else None
    os.symlink(stamp.name, folder / "..data_tmp")
    os.rename(folder / "..data_tmp", folder / "..data")
    if not (folder / "snapshot.json").is_symlink():
        os.symlink("..data/snapshot.json", folder / "snapshot.json")
    if old is not None:
        shutil.rmtree(folder / old)


def test_reload_through_a_configmap_symlink_swap(start_server: StartServer, tmp_path: Path, snapshot_bytes: bytes,
                                                 snapshot_b: bytes) -> None:
    mount = tmp_path / "mount"
    mount.mkdir()
    publish_like_a_configmap(mount, snapshot_bytes, 1)
    server = start_server("--snapshots", str(mount), "--events-dir", str(tmp_path))
    assert message(server) == OLD_TEXT
    publish_like_a_configmap(mount, snapshot_b, 2)
    wait_until(lambda: message(server) == NEW_TEXT, what="the swapped snapshot")
    publish_like_a_configmap(mount, snapshot_bytes, 3)
    wait_until(lambda: message(server) == OLD_TEXT, what="the swap back")
    assert status(server)["rejected"] is None


def _bad_snapshots(good: bytes) -> dict[str, tuple[bytes | None, str]]:
    head, _, body = good.partition(b"\n")
    return {
        "truncated": (good[: len(good) // 2], "snapshot"),
        "manifest only": (head + b"\n", "snapshot is truncated"),
        "corrupt": (head + b"\n" + body.replace(b"Please update", b"Please updatX", 1), "does not match its digest"),
        "empty": (b"", "snapshot is empty"),
        "not JSON": (b"<html>502 Bad Gateway</html>\n", "snapshot"),
        "wrong schema": (good.replace(b'"schema_version":1', b'"schema_version":99', 1), "schema version is 99"),
        "missing": (None, "cannot read"),
    }


def test_every_kind_of_bad_snapshot_is_rejected_while_the_old_one_answers(
        start_server: StartServer, snapshots: Path, tmp_path: Path, snapshot_bytes: bytes, snapshot_b: bytes) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(tmp_path))
    current = snapshots / "snapshot.json"
    for kind, (data, error) in _bad_snapshots(snapshot_bytes).items():
        before = status(server)["rejections"]
        if data is None:
            current.unlink()
        else:
            staged = snapshots / ".staged"
            staged.write_bytes(data)
            os.replace(staged, current)
        rejected = wait_until(lambda: status(server)["rejections"] > before and status(server)["rejected"],
                              what=f"the {kind} snapshot to be rejected")
        assert error in rejected["error"], (kind, rejected)
        assert rejected["source"] == str(current)
        assert message(server) == OLD_TEXT, kind  # the last good snapshot keeps answering
        assert server.http.get("/ready").status_code == 200
    assert f"snapshot rejected from {current}" in server.output
    publish_snapshot(snapshot_b, snapshots)
    wait_until(lambda: message(server) == NEW_TEXT, what="a good snapshot after the bad ones")


def test_not_ready_until_the_first_good_snapshot(start_server: StartServer, tmp_path: Path,
                                                 snapshot_bytes: bytes) -> None:
    empty = tmp_path / "published"
    empty.mkdir()
    server = start_server("--snapshots", str(empty), "--events-dir", str(tmp_path))
    ready = server.http.get("/ready")
    assert (ready.status_code, ready.json()) == (503, {"ready": False, "snapshot": None})
    check = server.http.get(URL, headers=HEADERS)
    assert (check.status_code, check.json()) == (503, {"error": "Service Unavailable: no snapshot loaded yet"})
    assert "cannot read" in status(server)["rejected"]["error"]
    publish_snapshot(snapshot_bytes, empty)
    wait_until(lambda: server.http.get("/ready").status_code == 200, what="readiness")
    assert message(server) == OLD_TEXT


def test_polling_mode_follows_os_replace(start_server: StartServer, snapshots: Path, tmp_path: Path,
                                         snapshot_b: bytes) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(tmp_path), "--watch", "poll",
                          "--poll-interval", "0.1")
    source = status(server)["source"]
    assert {k: source[k] for k in ("kind", "location", "mode")} == {
        "kind": "folder", "location": str(snapshots / "snapshot.json"), "mode": "polling"}
    assert source["stale_seconds"] >= 0 and source["last_success"].endswith("Z")
    publish_snapshot(snapshot_b, snapshots)
    wait_until(lambda: message(server) == NEW_TEXT, what="the polled snapshot")


class _SnapshotHandler(http.server.BaseHTTPRequestHandler):
    data: bytes = b""
    etag: str = ""
    conditional: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        cls = type(self)
        sent = self.headers.get("If-None-Match")
        if sent is not None:
            cls.conditional.append(sent)
        if sent == cls.etag:
            self.send_response(304)
            self.send_header("ETag", cls.etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", cls.etag)
        self.send_header("Content-Length", str(len(cls.data)))
        self.end_headers()
        self.wfile.write(cls.data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def snapshot_host() -> Iterator[tuple[str, type[_SnapshotHandler]]]:
    handler = type("Handler", (_SnapshotHandler,), {"conditional": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/snapshot.json?signature=SECRET", handler
    httpd.shutdown()
    httpd.server_close()


def test_snapshot_url_is_polled_with_if_none_match(start_server: StartServer, tmp_path: Path, snapshot_bytes: bytes,
                                                   snapshot_b: bytes,
                                                   snapshot_host: tuple[str, type[_SnapshotHandler]]) -> None:
    url, handler = snapshot_host
    handler.data, handler.etag = snapshot_bytes, '"a"'
    server = start_server("--snapshot-url", url, "--poll-interval", "0.1", "--events-dir", str(tmp_path))
    assert message(server) == OLD_TEXT
    wait_until(lambda: '"a"' in handler.conditional, what="a conditional poll")
    handler.data, handler.etag = b"garbage", '"bad"'
    wait_until(lambda: (status(server)["rejected"] or {}).get("error", "").startswith("snapshot"), what="rejection")
    assert message(server) == OLD_TEXT
    handler.data, handler.etag = snapshot_b, '"b"'
    wait_until(lambda: message(server) == NEW_TEXT, what="the new snapshot from the URL")
    source = status(server)["source"]
    assert source["location"] == url.split("?")[0]  # the signature is never shown
    assert "SECRET" not in server.output


def test_a_watched_folder_deleted_and_recreated_is_watched_again(start_server: StartServer, snapshots: Path,
                                                                  tmp_path: Path, snapshot_b: bytes) -> None:
    server = start_server("--snapshots", str(snapshots), "--events-dir", str(tmp_path))
    assert message(server) == OLD_TEXT
    shutil.rmtree(snapshots)
    wait_until(lambda: "cannot read" in ((status(server)["rejected"] or {}).get("error") or ""),
               what="the missing file reported")
    assert message(server) == OLD_TEXT  # the last good snapshot keeps answering
    publish_snapshot(snapshot_b, snapshots)  # a new folder (a new inode) with a new snapshot
    wait_until(lambda: message(server) == NEW_TEXT, what="the snapshot in the recreated folder")
    assert status(server)["source"]["mode"] == "watchfiles"
