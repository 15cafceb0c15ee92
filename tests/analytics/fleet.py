"""Event files as a fleet of workers leaves them, written line by line for exact tests.

``auth(...)`` builds an authenticate event; ``write(folder, stem, lines, gz=...)``
writes a file under the event log's naming scheme, where a line is an
:class:`Event` (encoded as the writer encodes it) or raw bytes (a bad line).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from kickit_edge.analytics.users import UserRecord
from kickit_edge.events import Event, encode_event

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

Line = Event | bytes


def at(text: str) -> datetime:
    """``"11-21 10:00:00.000001"`` -> that instant of 2026, UTC."""
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)


def auth(when: str, user: str, version: str, platform: str = "ios", *, app: str = "shop",
         environment: str | None = "production", rid: str | None = None) -> Event:
    return Event(time=at(when), type="authenticate", app=app, user=user, platform=platform,
                 app_version=version, environment=environment, snapshot="3f2a9c1",
                 request_id=rid or f"{user}-{platform}-{when}")


def check(when: str, verdict: str = "ok") -> Event:
    return Event(time=at(when), type="target_check", app="shop", platform="ios", app_version="1.0.0",
                 environment="production", snapshot="3f2a9c1", request_id=f"check-{when}",
                 build_number="100", os_version="17.1", verdict=verdict, rule=None, data={"k": "v"})  # type: ignore[arg-type]


def encode(lines: Iterable[Line]) -> bytes:
    return b"".join(line if isinstance(line, bytes) else encode_event(line) for line in lines)


def write(folder: Path, stem: str, lines: Iterable[Line], *, gz: bool = False) -> Path:
    data = encode(lines)
    if gz:
        path = folder / f"{stem}.jsonl.gz"
        path.write_bytes(gzip.compress(data, mtime=0))
    else:
        path = folder / f"{stem}.jsonl"
        path.write_bytes(data)
    return path


def append(path: Path, lines: Iterable[Line]) -> None:
    with open(path, "ab") as file:
        file.write(encode(lines))


def rotate(path: Path, more: Iterable[Line] = ()) -> Path:
    """What the writer does at rotation: the last lines, then the .gz beside it, then the plain file gone."""
    append(path, more)
    target = path.with_name(path.name + ".gz")
    target.write_bytes(gzip.compress(path.read_bytes(), mtime=0))
    path.unlink()
    return target


def oracle(events: list[Event]) -> list[UserRecord]:
    """The seed's record, computed the plain way: sort, then take the first and the last."""
    out = []
    keys = sorted({(e.app, e.user, e.platform) for e in events})
    for app, user, platform in keys:
        mine = [e for e in events if (e.app, e.user, e.platform) == (app, user, platform)]
        first = min(e.time for e in mine)
        last = max(mine, key=lambda e: (e.time, e.request_id, e.app_version, e.environment or ""))
        stamp = "%Y-%m-%dT%H:%M:%S.%fZ"
        out.append(UserRecord(app, user or "", platform or "", first.strftime(stamp), last.time.strftime(stamp),
                              last.app_version or "", last.environment))
    return out
