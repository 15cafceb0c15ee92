"""Events from two uvicorn workers under concurrent load, across forced rotations: no line lost, split or merged."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx

from kickit_edge.events import decode_event

from .conftest import DEMO_KEY, StartServer, read_events, token

REQUESTS_PER_THREAD = 120
THREADS = 8
FILE_NAME = re.compile(r"^events-\d{8}-(?P<origin>.+-\d+)-\d+\.jsonl(\.gz)?$")


def _fire(base: str, worker: int) -> list[int]:
    statuses = []
    # Half the threads open a new connection per request, so both workers get work.
    headers = {"connection": "close"} if worker % 2 else {}
    with httpx.Client(base_url=base, timeout=30) as http:
        for i in range(REQUESTS_PER_THREAD):
            if i % 2:
                response = http.post("/v2/authenticate", headers={**headers, "x-api-token": token(DEMO_KEY)},
                                     json={"user_id": f"user-{worker}-{i}", "platform": "ios", "app_version": "2.5.0",
                                           "environment": "production"})
            else:
                response = http.post("/api/v1/target-checks",
                                     headers={**headers, "X-API-KEY": DEMO_KEY,
                                              "X-KICKIT-APP-VERSION": "1.0.1-production"},
                                     json={"data": {"worker": worker, "i": i, "pad": "x" * (i % 50)}})
            statuses.append(response.status_code)
    return statuses


def test_two_workers_under_load_across_rotation_lose_no_line(start_server: StartServer, snapshots: Path,
                                                             tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    server = start_server("--snapshots", str(snapshots), "--workers", "2", "--events-dir", str(events),
                          "--event-max-bytes", "4096", "--access-log", "false")
    with ThreadPoolExecutor(THREADS) as pool:
        statuses = [s for batch in pool.map(lambda w: _fire(server.base, w), range(THREADS)) for s in batch]
    server.stop()  # the workers close their logs: the last files are compressed too

    ok = statuses.count(200)
    assert ok == THREADS * REQUESTS_PER_THREAD, sorted(set(statuses))
    lines = read_events(events)
    assert len(lines) == ok
    records = [decode_event(line) for line in lines]  # every line is one valid record
    assert len({r["request_id"] for r in records}) == ok
    users = {r["user"] for r in records if r["type"] == "authenticate"}
    assert len(users) == ok // 2
    names = [p.name for p in events.iterdir()]
    origins = {FILE_NAME.match(name)["origin"] for name in names if FILE_NAME.match(name)}  # type: ignore[index]
    assert len(origins) == 2, names  # both worker processes wrote
    assert sum(name.endswith(".jsonl.gz") for name in names) > 10  # many rotations happened
