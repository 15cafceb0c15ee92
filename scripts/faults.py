#!/usr/bin/env python3
"""Run the fault table against real servers on 127.0.0.1 and print ``N passed, N failed``.

Each case starts ``kickit-edge serve`` (a real uvicorn on a free loopback
port) or the compiler, breaks something the way a bad publisher, a bad
network, an attacker or an operator would, and checks what the issue
promises: the last good snapshot keeps answering, the bad one is rejected and
reported on /status, the worker stays up, nothing hangs. Every wait is bounded
(``wait_until`` deadlines, the hostile origin's own limits); no traffic leaves
the loopback interface.

    python scripts/faults.py [-k SUBSTRING]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kickit_edge.compiler.compile import compile_config  # noqa: E402
from kickit_edge.compiler.publish import publish_snapshot  # noqa: E402
from kickit_edge.signing import write_key_pair  # noqa: E402
from tests.runtime.conftest import DEMO_KEY, Server, token, wait_until, write_test_config  # noqa: E402
from tests.runtime.origins import Origin  # noqa: E402
from tests.runtime.test_reload import publish_like_a_configmap  # noqa: E402
from tests.test_signing import signed  # noqa: E402

URL = "/v1/versions?app_id=demo&app_version=1.2.0&platform=ios&environment=production"
HEADERS = {"x-api-token": token(DEMO_KEY)}
OLD_TEXT = "This version is no longer supported. Please update to continue."
NEW_TEXT = "Version B, please update."


class Bench:
    """A scratch folder, the two snapshots (A and B), and the servers a case started."""

    def __init__(self, work: Path, a: bytes, b: bytes) -> None:
        self.work, self.a, self.b = work, a, b
        self.servers: list[Server] = []
        self.cleanups: list[Callable[[], object]] = []

    def serve(self, *args: str) -> Server:
        events = [] if "--events-dir" in args else ["--events-dir", str(self.work)]
        server = Server([*args, *events, "--poll-interval", "0.1"], self.work)
        self.servers.append(server)
        return server

    def folder(self, data: bytes | None = None) -> Path:
        snapshots = self.work / "snapshots"
        snapshots.mkdir(exist_ok=True)
        if data is not None:
            publish_snapshot(data, snapshots)
        return snapshots

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        for cleanup in self.cleanups:
            cleanup()


def message(server: Server) -> str | None:
    response = server.http.get(URL, headers=HEADERS)
    return response.json().get("update_message") if response.status_code == 200 else None


def status(server: Server) -> dict:  # type: ignore[type-arg]
    return server.http.get("/status").json()  # type: ignore[no-any-return]


def rejected_with(server: Server, text: str, before: int = -1) -> None:
    def seen() -> bool:
        now = status(server)
        return now["rejections"] > before and text in ((now["rejected"] or {}).get("error") or "")
    wait_until(seen, timeout=15, what=f"a rejection saying {text!r}")


def _replace(path: Path, data: bytes) -> None:
    staged = path.with_name(".staged")
    staged.write_bytes(data)
    os.replace(staged, path)


# --- the cases ----------------------------------------------------------------------


def _bad_file(data: Callable[[bytes], bytes | None], reason: str) -> Callable[[Bench], None]:
    def case(bench: Bench) -> None:
        snapshots = bench.folder(bench.a)
        server = bench.serve("--snapshots", str(snapshots))
        assert message(server) == OLD_TEXT
        bad = data(bench.a)
        if bad is None:
            (snapshots / "snapshot.json").unlink()
        else:
            _replace(snapshots / "snapshot.json", bad)
        rejected_with(server, reason)
        assert message(server) == OLD_TEXT and server.http.get("/ready").status_code == 200
    return case


def three_replaces_in_100_ms(bench: Bench) -> None:
    snapshots = bench.folder(bench.a)
    server = bench.serve("--snapshots", str(snapshots))
    for data in (bench.b, bench.a, bench.b):
        _replace(snapshots / "snapshot.json", data)
        time.sleep(0.03)
    wait_until(lambda: message(server) == NEW_TEXT, what="the last of three quick replaces")


def configmap_data_symlink_swap(bench: Bench) -> None:
    mount = bench.work / "mount"
    mount.mkdir()

    publish_like_a_configmap(mount, bench.a, 1)
    server = bench.serve("--snapshots", str(mount))
    assert message(server) == OLD_TEXT
    publish_like_a_configmap(mount, bench.b, 2)
    wait_until(lambda: message(server) == NEW_TEXT, what="the ..data swap")


def polling_mtime_preserving_swap(bench: Bench) -> None:
    snapshots = bench.folder(bench.a)
    current = snapshots / "snapshot.json"
    stat = os.stat(current)
    server = bench.serve("--snapshots", str(snapshots), "--watch", "poll")
    staged = snapshots / ".staged"
    staged.write_bytes(bench.b)
    os.utime(staged, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: only the inode tells
    os.replace(staged, current)
    wait_until(lambda: message(server) == NEW_TEXT, what="the mtime-preserving swap")


def folder_deleted_and_recreated(bench: Bench) -> None:
    snapshots = bench.folder(bench.a)
    server = bench.serve("--snapshots", str(snapshots))
    shutil.rmtree(snapshots)
    rejected_with(server, "cannot read")
    bench.folder(bench.b)
    wait_until(lambda: message(server) == NEW_TEXT, timeout=15, what="the recreated folder")


def rejected_then_rewritten_in_place(bench: Bench) -> None:
    snapshots = bench.folder(bench.a)
    server = bench.serve("--snapshots", str(snapshots), "--watch", "poll", "--resync-interval", "2")
    current = snapshots / "snapshot.json"
    head, rest = bench.b.split(b"\n", 1)
    bad = head + b"\n" + rest.replace(b"Version B", b"Version X", 1)
    _replace(current, bad)
    rejected_with(server, "does not match its digest")
    stat = os.stat(current)
    with open(current, "r+b") as handle:  # same inode, size, first line and mtime
        handle.write(bench.b)
    os.utime(current, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    wait_until(lambda: message(server) == NEW_TEXT, timeout=20, what="the rewritten file (by the periodic re-read)")


def malformed_app_line(bench: Bench) -> None:
    import hashlib

    head, header, app, rest = bench.b.split(b"\n", 3)
    body = header + b"\n" + app[:-3] + b"\n" + rest
    manifest = json.loads(head)["manifest"]
    manifest["digest"] = "sha256:" + hashlib.sha256(body).hexdigest()  # a publisher bug: the digest matches
    _bad_file(lambda _: json.dumps({"manifest": manifest}).encode() + b"\n" + body, "is not valid")(bench)


def _cold_start(data: bytes | None, reason: str) -> Callable[[Bench], None]:
    def case(bench: Bench) -> None:
        snapshots = bench.folder()
        if data is not None:
            (snapshots / "snapshot.json").write_bytes(data)
        server = bench.serve("--snapshots", str(snapshots))
        assert server.http.get("/health").status_code == 200
        assert server.http.get("/ready").status_code == 503
        assert reason in status(server)["rejected"]["error"]
        publish_snapshot(bench.a, snapshots)
        wait_until(lambda: server.http.get("/ready").status_code == 200, what="readiness")
    return case


def _hostile_origin(mode: str) -> Callable[[Bench], None]:
    def case(bench: Bench) -> None:
        with Origin(bench.a) as origin:
            server = bench.serve("--snapshot-url", origin.url, "--download-timeout", "2", "--max-snapshot-bytes",
                                 str(4 * len(bench.a)), "--cache-dir", str(bench.work / "cache"))
            assert message(server) == OLD_TEXT
            before = status(server)["rejections"]
            origin.mode = mode  # type: ignore[assignment]
            if mode == "101-headers":
                seen = origin.requests
                wait_until(lambda: origin.requests > seen + 2, what="polls through 101 headers")
            else:
                wait_until(lambda: status(server)["rejections"] > before, timeout=15, what=f"{mode} rejected")
            assert message(server) == OLD_TEXT and server.http.get("/ready").status_code == 200
            origin.body, origin.mode = bench.b, "good"
            wait_until(lambda: message(server) == NEW_TEXT, timeout=15, what="the source polling on afterwards")
            assert "SECRET" not in server.output
    return case


def cold_start_origin_down_serves_the_cached_copy(bench: Bench) -> None:
    with Origin(bench.b) as origin:
        args = ("--snapshot-url", origin.url, "--cache-dir", str(bench.work / "cache"))
        first = bench.serve(*args)
        assert message(first) == NEW_TEXT
        first.stop()
        bench.servers.remove(first)
        origin.mode = "reset"
        second = bench.serve(*args)
        assert message(second) == NEW_TEXT and status(second)["snapshot"]["cached"] is True


def cold_start_origin_hangs(bench: Bench) -> None:
    with Origin(bench.a, mode="hang") as origin:
        server = bench.serve("--snapshot-url", origin.url, "--cache-dir", str(bench.work / "cache"))
        assert server.http.get("/health").status_code == 200  # up, after at most the first download's 10 s
        assert server.http.get("/ready").status_code == 503
        assert "no complete answer within 10 s" in status(server)["rejected"]["error"]
        origin.mode = "good"
        wait_until(lambda: server.http.get("/ready").status_code == 200, timeout=20, what="readiness")


def alias_bomb(bench: Bench) -> None:
    config = write_test_config(bench.work / "config")
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))
    (config / "apps" / "bomb.yaml").write_text(bomb)
    import subprocess

    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "kickit_edge.cli", "compile", str(config), "--dry-run"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "bomb.yaml:1:26: YAML aliases expand this file" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and time.monotonic() - started < 30


def _signed_case(make: Callable[[Bench], bytes], reason: str) -> Callable[[Bench], None]:
    def case(bench: Bench) -> None:
        write_key_pair(bench.work / "ours")
        write_key_pair(bench.work / "other")
        snapshots = bench.folder(signed(bench.a, bench.work / "ours"))
        server = bench.serve("--snapshots", str(snapshots), "--verify-key", str(bench.work / "ours" / "signing.pub"))
        assert message(server) == OLD_TEXT
        _replace(snapshots / "snapshot.json", make(bench))
        rejected_with(server, reason)
        assert message(server) == OLD_TEXT
    return case


def old_etag_across_a_maintenance_window(bench: Bench) -> None:
    config = write_test_config(bench.work / "config")
    start = datetime.now(UTC) + timedelta(seconds=6)
    demo = config / "apps" / "demo.yaml"
    text = demo.read_text()
    assert "maintenance:" in text
    window = (f'maintenance:\n  qa:\n    windows:\n      - start: "{start:%Y-%m-%dT%H:%M:%SZ}"\n'
              f'        end: "{start + timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}"\n        timezone: UTC\n'
              "        title: Soon\n        description: A window that opens during the case.\n")
    demo.write_text(text.replace("maintenance:\n", window.replace("maintenance:\n", "maintenance:\n", 1), 1)
                    .replace("environments: [production, staging]", "environments: [production, staging, qa]", 1))
    snapshots = bench.folder(compile_config(str(config), run_tests=False).data)
    server = bench.serve("--snapshots", str(snapshots))
    url = "/v1/maintenance?app_id=demo&environment=qa"
    before = server.http.get(url, headers=HEADERS)
    assert before.status_code == 200 and before.json()["active"] is False, before.text
    etag = before.headers["etag"]
    assert server.http.get(url, headers={**HEADERS, "If-None-Match": etag}).status_code == 304
    wait_until(lambda: datetime.now(UTC) > start + timedelta(seconds=1), timeout=15, what="the window to open")
    after = server.http.get(url, headers={**HEADERS, "If-None-Match": etag})
    assert after.status_code == 200 and after.json()["active"] is True and after.headers["etag"] != etag


# --- the request path and the event log (bounded HTTP, group commit, rotation) ----------


def _raw(server: Server, data: bytes, wait: float) -> bytes:
    """Send raw bytes, then read what comes back within ``wait`` seconds (b"" when the server closed)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as sock:
        sock.sendall(data)
        try:
            return sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            return b"<nothing>"


def oversized_headers(bench: Bench) -> None:
    server = bench.serve("--snapshots", str(bench.folder(bench.a)))
    big = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000
    for head in (big, big + b"\r\n\r\n"):  # unfinished (headers that keep coming), and whole in one piece
        answer = _raw(server, head, 5)
        assert answer.startswith(b"HTTP/1.1 431") or answer == b"", answer[:80]
    assert message(server) == OLD_TEXT


def slow_headers(bench: Bench) -> None:
    server = bench.serve("--snapshots", str(bench.folder(bench.a)), "--header-timeout", "1")
    started = time.monotonic()
    answer = _raw(server, b"GET /health HTTP/1.1\r\nHost: x\r\n", 8)  # and nothing more
    assert answer.startswith(b"HTTP/1.1 408") or answer == b"", answer[:80]
    assert time.monotonic() - started < 6 and message(server) == OLD_TEXT


def _authenticate_load(server: Server, seconds: float, threads: int = 4,
                       stop: Callable[[], bool] = lambda: False) -> int:
    """POST /v2/authenticate from several threads for ``seconds``; the number of 200s (acknowledged events)."""
    import concurrent.futures

    import httpx2 as httpx

    deadline = time.monotonic() + seconds

    def worker(n: int) -> int:
        ok = 0
        with httpx.Client(base_url=server.base, timeout=5) as http:
            i = 0
            while time.monotonic() < deadline and not stop():
                i += 1
                body = {"user_id": f"u{n}-{i}", "platform": "ios", "app_version": "2.5.0", "environment": "production"}
                try:
                    ok += http.post("/v2/authenticate", headers=HEADERS, json=body).status_code == 200
                except httpx.TransportError:
                    return ok  # the server went away
        return ok

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(worker, range(threads)))


def _event_lines(folder: Path) -> list[bytes]:
    from tests.runtime.conftest import read_events

    lines = read_events(folder)
    for line in lines:
        json.loads(line)  # a torn line would not parse
    return lines


def two_workers_across_rotation(bench: Bench) -> None:
    events = bench.work / "events"
    events.mkdir()
    server = Server(["--snapshots", str(bench.folder(bench.a)), "--events-dir", str(events), "--workers", "2",
                     "--event-max-bytes", "4096"], bench.work)
    bench.servers.append(server)
    acknowledged = _authenticate_load(server, 4)
    server.stop()
    assert acknowledged > 50 and len(_event_lines(events)) == acknowledged, (acknowledged, len(_event_lines(events)))
    assert len([p for p in events.iterdir() if p.name.endswith(".gz")]) >= 2  # it did rotate


def _killed_under_load(kill: Callable[[Server], None]) -> Callable[[Bench], None]:
    def case(bench: Bench) -> None:
        import threading

        events = bench.work / "events"
        events.mkdir()
        server = Server(["--snapshots", str(bench.folder(bench.a)), "--events-dir", str(events)], bench.work)
        bench.servers.append(server)
        threading.Timer(1.5, kill, (server,)).start()
        acknowledged = _authenticate_load(server, 6)
        server.process.wait(15)
        lines = _event_lines(events)
        assert acknowledged > 20 and len(lines) >= acknowledged, (acknowledged, len(lines))  # none acknowledged is lost
    return case


def _tmpfs(bench: Bench) -> Path:
    import subprocess

    folder = bench.work / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True,
                             text=True)
    assert mounted.returncode == 0, f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}"
    bench.cleanups.append(lambda: subprocess.run(["umount", "-l", str(folder)], check=False))
    return folder


def full_disk(bench: Bench) -> None:
    small = _tmpfs(bench)
    server = bench.serve("--snapshots", str(bench.folder(bench.a)), "--events-dir", str(small))
    body = {"user_id": "u", "platform": "ios", "app_version": "2.5.0", "environment": "production"}
    statuses = [server.http.post("/v2/authenticate", headers=HEADERS, json=body).status_code for _ in range(800)]
    assert 500 in statuses and statuses[0] == 200, set(statuses)
    failed = server.http.post("/v2/authenticate", headers=HEADERS, json=body)
    assert failed.status_code == 500 and failed.json() == {"error": "Failed to update user version data"}
    assert len(_event_lines(small)) == statuses.count(200)  # whole lines only, each acknowledged one kept
    assert message(server) == OLD_TEXT  # checks that write nothing go on


def read_only_events_folder(bench: Bench) -> None:
    import subprocess

    small = _tmpfs(bench)
    subprocess.run(["mount", "-o", "remount,ro", str(small)], check=True)  # read-only from the start
    server = bench.serve("--snapshots", str(bench.folder(bench.a)), "--events-dir", str(small))
    body = {"user_id": "u", "platform": "ios", "app_version": "2.5.0", "environment": "production"}
    failed = server.http.post("/v2/authenticate", headers=HEADERS, json=body)
    assert failed.status_code == 500 and failed.json() == {"error": "Failed to update user version data"}, failed.text
    assert message(server) == OLD_TEXT and server.http.get("/ready").status_code == 200
    subprocess.run(["mount", "-o", "remount,rw", str(small)], check=True)
    wait_until(lambda: server.http.post("/v2/authenticate", headers=HEADERS, json=body).status_code == 200,
               what="events written again once the folder is writable")


def cases() -> dict[str, Callable[[Bench], None]]:
    def resealed_unsigned(bench: Bench) -> bytes:
        return bench.b

    return {
        "truncated snapshot": _bad_file(lambda d: d[: len(d) // 2], "snapshot"),
        "wrong-schema snapshot": _bad_file(lambda d: d.replace(b'"schema_version":1', b'"schema_version":2', 1),
                                           "schema version is 2"),
        "schema_version true": _bad_file(lambda d: d.replace(b'"schema_version":1', b'"schema_version":true', 1),
                                         "schema version is true"),
        "deleted snapshot": _bad_file(lambda d: None, "cannot read"),
        "emptied snapshot": _bad_file(lambda d: b"", "snapshot is empty"),
        "malformed app line with a matching digest": malformed_app_line,
        "three replaces in 100 ms": three_replaces_in_100_ms,
        "..data symlink swap": configmap_data_symlink_swap,
        "polling-mode mtime-preserving swap": polling_mtime_preserving_swap,
        "watched folder deleted and recreated": folder_deleted_and_recreated,
        "rejected file rewritten in place": rejected_then_rewritten_in_place,
        "cold start with a corrupt snapshot": _cold_start(b'{"manifest":{"schema_version":1}}\n{', "digest"),
        "cold start with no snapshot": _cold_start(None, "cannot read"),
        **{f"hostile origin: {mode}": _hostile_origin(mode) for mode in (
            "truncated", "bad-status-line", "101-headers", "long-header-line", "huge", "drip", "hang",
            "redirect-loop", "error-500", "reset")},
        "cold start, origin down: cached last good": cold_start_origin_down_serves_the_cached_copy,
        "cold start, origin hangs: up and not ready": cold_start_origin_hangs,
        "alias bomb": alias_bomb,
        "tampered signed snapshot": _signed_case(
            lambda bench: signed(bench.b, bench.work / "ours").replace(b"Version B", b"Version X", 1),
            "does not match its digest"),
        "unsigned snapshot": _signed_case(resealed_unsigned, "snapshot is not signed"),
        "foreign-signed snapshot": _signed_case(lambda bench: signed(bench.b, bench.work / "other"),
                                                "which this edge does not trust"),
        "old ETag across a maintenance window boundary": old_etag_across_a_maintenance_window,
        "oversized headers": oversized_headers,
        "slow headers": slow_headers,
        "2 workers under load across rotation (lines == 200s)": two_workers_across_rotation,
        "kill -9 under load (no acknowledged event lost)": _killed_under_load(lambda s: s.process.kill()),
        "SIGTERM under load (no acknowledged event lost)": _killed_under_load(lambda s: s.process.terminate()),
        "full disk": full_disk,
        "read-only events folder": read_only_events_folder,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", default="", help="run only the cases whose name contains this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kickit-faults-") as scratch:
        root = Path(scratch)
        config = write_test_config(root / "config-a")
        a = compile_config(str(config), revision="rev-a").data
        demo = config / "apps" / "demo.yaml"
        demo.write_text(demo.read_text().replace(f"en: {OLD_TEXT}", f"en: {NEW_TEXT}"))
        b = compile_config(str(config), revision="rev-b").data
        passed = failed = 0
        for number, (name, case) in enumerate(cases().items()):
            if args.k not in name:
                continue
            work = root / f"case-{number}"
            work.mkdir()
            bench = Bench(work, a, b)
            started = time.monotonic()
            try:
                case(bench)
            except Exception as exc:  # noqa: BLE001 - a failed case is reported, the table goes on
                failed += 1
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                print(f"FAIL {name}: {reason}", flush=True)
                if not isinstance(exc, AssertionError):
                    traceback.print_exc()
            else:
                passed += 1
                print(f"ok   {name} ({time.monotonic() - started:.1f} s)", flush=True)
            finally:
                bench.close()
        print(f"{passed} passed, {failed} failed")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
