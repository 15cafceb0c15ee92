"""Events of requests handled together are written together, and none is answered before its line is kept."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kickit_edge.events import Event
from kickit_edge.runtime.app import create_app
from kickit_edge.runtime.eventcommit import FAILURE_LOG_INTERVAL, GroupCommit
from kickit_edge.runtime.eventlog import EventWriteError
from kickit_edge.settings import Settings

from .conftest import SHOP_KEY, token


class RecordingSink:
    """Keeps batches in memory; fails every batch while ``broken``."""

    def __init__(self) -> None:
        self.batches: list[list[Event]] = []
        self.broken = False

    def write(self, event: Event) -> None:
        self.write_many([event])

    def write_many(self, events: Sequence[Event]) -> None:
        if self.broken:
            raise EventWriteError("disk full")
        self.batches.append(list(events))


def _scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http", "method": "POST", "path": "/v2/authenticate", "raw_path": b"/v2/authenticate",
        "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        "headers": [(b"x-api-token", token(SHOP_KEY).encode()), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    }


async def _serve(snapshots: Path, events_dir: Path, sink: RecordingSink, users: int) -> list[tuple[int, bytes]]:
    app = create_app(Settings(snapshots=str(snapshots), events_dir=str(events_dir), access_log=False), events=sink)
    lifespan: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    started = asyncio.Event()

    async def life_send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()

    await lifespan.put({"type": "lifespan.startup"})
    runner = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, lifespan.get, life_send))
    await started.wait()

    async def call(user: int) -> tuple[int, bytes]:
        body = json.dumps({"user_id": f"u{user}", "platform": "ios", "app_version": "2.5.0"}).encode()
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(_scope(body), receive, send)
        return sent[0]["status"], sent[1]["body"]

    try:
        return list(await asyncio.gather(*(call(user) for user in range(users))))
    finally:
        await lifespan.put({"type": "lifespan.shutdown"})
        await runner


def test_concurrent_requests_share_one_write(snapshots: Path, events_dir: Path) -> None:
    sink = RecordingSink()
    answers = asyncio.run(_serve(snapshots, events_dir, sink, 20))
    assert [status for status, _ in answers] == [200] * 20
    assert [len(batch) for batch in sink.batches] == [20]
    assert sorted(event.user or "" for event in sink.batches[0]) == sorted(f"u{n}" for n in range(20))


def test_a_failed_batch_answers_every_request_of_it_with_the_seed_500(snapshots: Path, events_dir: Path) -> None:
    sink = RecordingSink()
    sink.broken = True
    answers = asyncio.run(_serve(snapshots, events_dir, sink, 5))
    assert answers == [(500, b'{"error":"Failed to update user version data"}')] * 5
    assert sink.batches == []


def test_a_persistent_failure_is_logged_once_per_interval_with_a_count(caplog: pytest.LogCaptureFixture) -> None:
    sink = RecordingSink()
    sink.broken = True
    now = [1_000.0]
    commit = GroupCommit(sink, clock=lambda: now[0])

    async def burst(size: int) -> list[bool]:
        return list(await asyncio.gather(*(commit.append(_event(n)) for n in range(size))))

    caplog.set_level(logging.ERROR, logger="kickit_edge.runtime")
    assert asyncio.run(burst(5)) == [False] * 5
    for second in (1, 2, 3):
        now[0] = 1_000.0 + second
        asyncio.run(burst(5))
    now[0] = 1_000.0 + FAILURE_LOG_INTERVAL
    asyncio.run(burst(5))
    commit.close()
    assert [r.getMessage() for r in caplog.records] == [
        "5 event(s) not written since the last report (5 in all): disk full",
        "20 event(s) not written since the last report (25 in all): disk full",
    ]
    assert (commit.failures, commit.last_failure) == (25, (1_000.0 + FAILURE_LOG_INTERVAL, "disk full"))


def test_the_write_runs_off_the_event_loop() -> None:
    threads: list[str] = []

    class Watching(RecordingSink):
        def write_many(self, events: Sequence[Event]) -> None:
            threads.append(threading.current_thread().name)
            super().write_many(events)

    commit = GroupCommit(Watching())
    assert asyncio.run(commit.append(_event(1))) is True
    commit.close()
    assert threads and threads[0] != threading.current_thread().name


def _event(n: int) -> Event:
    return Event(time=datetime.now(UTC), type="authenticate", app="demo", request_id=f"r-{n}", user=f"u{n}")
