"""Real writers: worker processes append, rotate and compress while incremental folds run."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta
from pathlib import Path

from kickit_edge.analytics.users import fold_users
from kickit_edge.events import Event
from kickit_edge.runtime.eventlog import EventLog

from .fleet import NOW, oracle

PER_WORKER = 400


def events_of(worker: int) -> list[Event]:
    return [Event(time=NOW + timedelta(milliseconds=(i * 7919 + worker * 13) % 5000), type="authenticate",
                  app="shop", user=f"u{i % 60}", platform=("ios", "android")[(i + worker) % 2],
                  app_version=f"1.{(i * worker + i) % 9}", environment="production",
                  request_id=f"w{worker}-{i}") for i in range(PER_WORKER)]


def work(folder: str, worker: int) -> None:
    # Small files: about 8 lines each, so a worker rotates and compresses ~50 times.
    with EventLog(folder, max_bytes=2000) as log:
        for event in events_of(worker):
            log.write(event)


def test_folds_during_writes_end_equal_to_a_rebuild(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=work, args=(str(tmp_path), w)) for w in (1, 2, 3)]
    for process in workers:
        process.start()
    checkpoint, runs = None, 0
    while any(p.is_alive() for p in workers) or runs == 0:
        checkpoint = fold_users(tmp_path, checkpoint, now=NOW).checkpoint
        runs += 1
    for process in workers:
        process.join()
        assert process.exitcode == 0
    last = fold_users(tmp_path, checkpoint, now=NOW)
    assert all(name.endswith(".jsonl.gz") for name in (p.name for p in tmp_path.iterdir()))
    expected = oracle([e for w in (1, 2, 3) for e in events_of(w)])
    assert last.scan.malformed == 0
    assert last.records == expected == fold_users(tmp_path, now=NOW).records
    assert len(expected) == 120  # 60 users, each on both platforms
