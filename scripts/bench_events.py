#!/usr/bin/env python3
"""Benchmark the event analytics on synthetic event files (default 1,000,000 events for 100,000 users).

Writes a fleet's event folder: ``--workers`` processes over ``--days`` days,
one file per worker and day, every day but the last rotated and gzipped, the
last day's files plain, as the event log leaves them. Users authenticate on
one platform (a tenth on both), mostly on recent versions, across ``--apps``
apps, with a tenth of the lines being KickIt target checks (read and checked,
not folded). Then each command runs as a fresh ``kickit-edge`` process and is
measured for wall time and peak RSS, beside a baseline taken in the same run
(a fresh Python process that only decompresses and splits every file into
lines, the least any reader of these files does):

  * ``events users`` in full (targets for 1M events: <= 2 s; for 10M: <= 30 s
    and <= 2 GiB; each is also given as a ratio to the bare DuckDB reference
    of the same run, which tells a loaded machine from a slow command),
  * the same again with nothing new (the checkpoint), and after 10,000 more
    lines appended to a current file (target: <= 0.5 s),
  * ``events users --db`` (SQLite),
  * ``events adoption`` over 30 days as a table, and as the HTML page (which
    also counts each user's latest version per day),
  * ``events export`` to Parquet, its size against the JSON Lines (plain and
    gzipped), and ``events users`` over the export.

    python scripts/bench_events.py [--events 1000000] [--users 100000] [--work DIR]
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import kickit_edge
from kickit_edge.events import Event, encode_event

VERSIONS = ["3.2.0", "3.1.1", "3.1.0", "3.0.0", "2.9.4", "2.8.0", "2.5.0", "2.0.0", "1.0.1-production"]
WEIGHTS = [30, 20, 15, 10, 8, 6, 5, 4, 2]


def _event(rng: random.Random, at: datetime, users: int, apps: int, n: int) -> Event:
    user = rng.randrange(users)
    platform = "ios" if (user % 2 == 0) != (user % 10 == 0 and rng.random() < 0.5) else "android"
    common = dict(time=at, app=f"app{user % apps:05d}", platform=platform, environment="production",
                  app_version=rng.choices(VERSIONS, WEIGHTS)[0], snapshot="39a6be9b7e6c6854",
                  request_id=f"{n:032x}")
    if rng.random() < 0.1:
        return Event(type="target_check", build_number=str(rng.randrange(1000, 2000)), os_version="17.1",
                     verdict="ok", rule=None, data={"client": "bench"}, **common)  # type: ignore[arg-type]
    return Event(type="authenticate", user=f"user_{user:07d}", **common)  # type: ignore[arg-type]


def generate(folder: Path, events: int, users: int, apps: int, days: int, workers: int, seed: int) -> int:
    """Write the fleet's files; return their total size in bytes."""
    rng = random.Random(seed)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    per_file = events // (days * workers)
    extra = events - per_file * days * workers
    n = 0
    for d in range(days):
        day = today - timedelta(days=days - 1 - d)
        for w in range(workers):
            count = per_file + (1 if d * workers + w < extra else 0)
            # Times in a file are in order of arrival, which is not quite time order.
            stamps = sorted(day + timedelta(seconds=rng.random() * 86400) for _ in range(count))
            lines = []
            for at in stamps:
                lines.append(encode_event(_event(rng, at, users, apps, n)))
                n += 1
            data = b"".join(lines)
            stem = f"events-{day:%Y%m%d}-bench{w}-{1000 + w}-0"
            if d < days - 1:
                (folder / f"{stem}.jsonl.gz").write_bytes(gzip.compress(data, 6, mtime=0))
            else:
                (folder / f"{stem}.jsonl").write_bytes(data)
    return sum(p.stat().st_size for p in folder.iterdir())


def measured(argv: list[str], out: Path | None = None) -> tuple[float, int, str]:
    """Run ``kickit-edge argv`` in a fresh process: wall seconds, peak RSS in MiB, stderr."""
    command = [sys.executable, "-m", "kickit_edge.cli", *argv]
    started = time.perf_counter()
    with open(out or os.devnull, "wb") as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        # wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would be the peak of all children so far).
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        stderr.seek(0)
        text = stderr.read().decode()
    if process.returncode != 0:
        sys.exit(f"kickit-edge {' '.join(argv)} failed:\n{text}")
    return seconds, usage.ru_maxrss // 1024, text


BASELINE = """
import gzip, pathlib, sys
n = 0
for path in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    n += len(data.split(b"\\n"))
print(n, file=sys.stderr)
"""


# The fold as DuckDB does it bare: its JSON reader over every file, the user_records
# query, no checks, no report, no checkpoint: the floor the engine sets on this machine.
BARE = """
import sys, duckdb
from kickit_edge.analytics.queries import query
from kickit_edge.events import COMMON_KEYS
columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in COMMON_KEYS) + "}"
c = duckdb.connect()
c.execute("SET enable_progress_bar = false")
c.execute(f"CREATE TEMP TABLE events AS SELECT * FROM read_ndjson('{sys.argv[1]}/*', columns = {columns}, "
          "format = 'newline_delimited')")
c.execute(f"SELECT count(*) FROM ({query('user_records')})", {"cutoff": ""}).fetchall()
"""


def baseline(folder: Path, script: str = BASELINE) -> tuple[float, int]:
    """Seconds and peak MiB of a process that runs ``script`` over the folder (by default: reads every line)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", script, str(folder)], stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss // 1024


def plain_size(folder: Path) -> int:
    return sum(len(gzip.decompress(p.read_bytes())) if p.name.endswith(".gz") else p.stat().st_size
               for p in folder.iterdir())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--apps", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", metavar="DIR", help="work folder (default: a temp folder, removed after)")
    args = parser.parse_args()

    # Byte-compiled first, as pip leaves an installed package: a fresh process then loads the bytecode (where
    # PYTHONDONTWRITEBYTECODE is set, it would otherwise compile every module of the package on every run).
    compileall.compile_dir(Path(kickit_edge.__file__).parent, quiet=1)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="kickit-bench-events-"))
    folder = work / "events"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for stale in ("users.jsonl", "users.jsonl.checkpoint", "users.db"):
        (work / stale).unlink(missing_ok=True)
    shutil.rmtree(work / "export", ignore_errors=True)
    try:
        started = time.perf_counter()
        size = generate(folder, args.events, args.users, args.apps, args.days, args.workers, args.seed)
        print(f"generated {args.events:,} events ({args.users:,} users, {args.apps} apps, {args.days} days, "
              f"{args.workers} workers): {len(list(folder.iterdir()))} files, {size / 2**20:.0f} MiB on disk, "
              f"in {time.perf_counter() - started:.1f} s")
        users = ["events", "users", "--events-dir", str(folder), "--out", str(work / "users.jsonl")]
        rows = []
        seconds, peak = baseline(folder)
        rows.append(("baseline: read and split every file (Python)", seconds, peak, ""))
        seconds, peak = baseline(folder, BARE)
        rows.append(("reference: DuckDB read_json + user_records, bare", seconds, peak, ""))
        seconds, peak, err = measured(users)
        records = err.strip().splitlines()[-1]
        rows.append(("events users (full fold)", seconds, peak, records))
        seconds, peak, _ = measured(users)
        rows.append(("events users (checkpoint, nothing new)", seconds, peak, ""))
        current = next(p for p in sorted(folder.iterdir()) if p.name.endswith(".jsonl"))
        rng = random.Random(args.seed + 1)
        with open(current, "ab") as file:
            now = datetime.now(UTC)
            file.write(b"".join(encode_event(_event(rng, now, args.users, args.apps, 10**9 + i))
                                for i in range(10_000)))
        seconds, peak, err = measured(users)
        rows.append(("events users (checkpoint, 10,000 new lines)", seconds, peak, err.strip().splitlines()[0]))
        seconds, peak, _ = measured(["events", "users", "--events-dir", str(folder), "--db", str(work / "users.db"),
                                     "--full"])
        rows.append(("events users --db (full fold into SQLite)", seconds, peak, ""))
        seconds, peak, _ = measured(["events", "adoption", "--events-dir", str(folder)])
        rows.append(("events adoption (30 days, table)", seconds, peak, ""))
        seconds, peak, _ = measured(["events", "adoption", "--events-dir", str(folder), "--format", "html"],
                                    work / "adoption.html")
        rows.append(("events adoption (30 days, html with daily shares)", seconds, peak, ""))
        export = work / "export"
        seconds, peak, _ = measured(["events", "export", "--events-dir", str(folder), "--out", str(export)])
        parquet = sum(p.stat().st_size for p in export.rglob("*.parquet"))
        jsonl, gz = plain_size(folder), sum(p.stat().st_size for p in folder.iterdir())
        rows.append(("events export (Parquet, by day)", seconds, peak,
                     f"{parquet / 2**20:.1f} MiB: JSON Lines {jsonl / 2**20:.0f} MiB ({jsonl / parquet:.1f}x), "
                     f"as the edge keeps them (gzip, last day plain) {gz / 2**20:.0f} MiB ({gz / parquet:.1f}x)"))
        seconds, peak, _ = measured(["events", "users", "--events-dir", str(export)])
        rows.append(("events users over the export", seconds, peak, ""))
        print()
        width = max(len(r[0]) for r in rows)
        base, bare = rows[0][1], rows[1][1]
        print(f"{'command':<{width}}  {'seconds':>8}  {'x base':>7}  {'x bare':>7}  {'peak MiB':>8}")
        for name, seconds, peak, note in rows:
            print(f"{name:<{width}}  {seconds:8.2f}  {seconds / base:7.2f}  {seconds / bare:7.2f}  {peak:8d}"
                  + (f"  {note}" if note else ""))
        print(f"\nx base: to the Python baseline; x bare: to the bare DuckDB reference, both of this run. "
              f"Targets for {args.events:,} events, as the bare reference's {bare:.2f} s compares with them: "
              + ("full fold <= 2 s, 10,000 new lines <= 0.5 s" if args.events <= 1_000_000
                 else "full fold <= 30 s in <= 2 GiB"))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
