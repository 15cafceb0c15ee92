"""The event log on real files: rotation, compression, retention, failures, many processes."""

from __future__ import annotations

import gzip
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kickit_edge.errors import OperatorError
from kickit_edge.events import Event, MalformedEvent, decode_event, encode_event
from kickit_edge.runtime.eventlog import EventLog, EventWriteError

DAY = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NAME = re.compile(r"^events-(\d{8})-(.+)-(\d+)-(\d+)\.jsonl(\.gz)?$")


def sample(request_id: str, time: datetime = DAY) -> Event:
    return Event(
        time=time,
        type="target_check",
        app="demo",
        platform="ios",
        app_version="1.0.1-production",
        environment="production",
        snapshot="3f2a9c1",
        request_id=request_id,
        build_number="1000",
        os_version="10.5",
        verdict="ok",
        rule=None,
        data={"client": "My custome client data point"},
    )


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def read_lines(path: Path) -> list[bytes]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as file:
        return file.read().splitlines(keepends=True)


def files(folder: Path) -> list[str]:
    """Event files in write order: by day, then by sequence number."""

    def order(name: str) -> tuple[str, int]:
        match = NAME.match(name)
        assert match, name
        return match[1], int(match[4])

    return sorted((p.name for p in folder.iterdir()), key=order)


def all_lines(folder: Path) -> list[bytes]:
    return [line for name in files(folder) for line in read_lines(folder / name)]


def request_ids(lines: list[bytes]) -> list[str]:
    return [decode_event(line)["request_id"] for line in lines]


def test_first_write_opens_a_private_append_file_named_by_day_and_process(tmp_path: Path) -> None:
    with EventLog(tmp_path, now=Clock(DAY)) as events:
        events.write(sample("r-1"))
        assert events.path is not None
        match = NAME.match(events.path.name)
        assert match and match[1] == "20261122" and int(match[3]) == os.getpid()
        assert match[4] == "0" and not match[5]
        umask = os.umask(0)
        os.umask(umask)
        assert events.path.stat().st_mode & 0o777 == 0o640 & ~umask
        assert read_lines(events.path) == [encode_event(sample("r-1"))]


def test_size_rotation_keeps_every_line_in_order_and_compresses_closed_files(
    tmp_path: Path,
) -> None:
    line_size = len(encode_event(sample("r-00")))
    events = EventLog(tmp_path, max_bytes=3 * line_size + 10, now=Clock(DAY))
    for i in range(10):
        events.write(sample(f"r-{i:02d}"))
    # Closed files are compressed in the background while the log goes on;
    # only the file being written stays plain.
    deadline = time.monotonic() + 10
    # A plain file goes once its .gz is renamed into place and synced: wait for both.
    while ((len(list(tmp_path.glob("*.jsonl.gz"))) < 3 or len(list(tmp_path.glob("*.jsonl"))) > 1)
           and time.monotonic() < deadline):
        time.sleep(0.01)
    assert [p.name for p in tmp_path.glob("*.jsonl")] == [events.path.name]  # type: ignore[union-attr]
    assert not list(tmp_path.glob("*.tmp"))
    events.close()

    names = files(tmp_path)
    assert [NAME.match(n)[4] for n in names] == ["0", "1", "2", "3"]  # type: ignore[index]
    assert all(name.endswith(".jsonl.gz") for name in names)
    assert [len(read_lines(tmp_path / n)) for n in names] == [3, 3, 3, 1]
    assert all_lines(tmp_path) == [encode_event(sample(f"r-{i:02d}")) for i in range(10)]


def test_a_line_longer_than_max_bytes_gets_a_file_of_its_own(tmp_path: Path) -> None:
    with EventLog(tmp_path, max_bytes=10, now=Clock(DAY)) as events:
        for i in range(3):
            events.write(sample(f"r-{i}"))
    assert [len(read_lines(tmp_path / n)) for n in files(tmp_path)] == [1, 1, 1]


def test_day_rotation_starts_a_file_for_the_new_utc_day(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 11, 22, 23, 59, 59, 999999, tzinfo=UTC))
    with EventLog(tmp_path, now=clock) as events:
        events.write(sample("before-1", clock.now))
        events.write(sample("before-2", clock.now))
        clock.now += timedelta(microseconds=1)
        events.write(sample("after-1", clock.now))
    names = files(tmp_path)
    assert [NAME.match(n)[1] for n in names] == ["20261122", "20261123"]  # type: ignore[index]
    assert all(n.endswith("-0.jsonl.gz") for n in names)  # the sequence restarts each day
    assert [request_ids(read_lines(tmp_path / n)) for n in names] == [
        ["before-1", "before-2"],
        ["after-1"],
    ]


def test_a_name_is_never_reused_by_another_log_of_the_same_process(tmp_path: Path) -> None:
    # What a restarted container (same host name, same pid) looks like.
    with EventLog(tmp_path, now=Clock(DAY)) as first:
        first.write(sample("first"))
        with EventLog(tmp_path, now=Clock(DAY)) as second:
            second.write(sample("second"))
            assert second.path != first.path
    with EventLog(tmp_path, now=Clock(DAY)) as third:
        third.write(sample("third"))
    assert sorted(request_ids(all_lines(tmp_path))) == ["first", "second", "third"]
    assert len(files(tmp_path)) == 3


def test_retention_at_start_deletes_only_files_past_the_retention(tmp_path: Path) -> None:
    old = [
        "events-20251121-h-1-0.jsonl.gz",  # 366 days before 2026-11-22
        "events-20251121-h-1-1.jsonl",
        "events-20200101-h-1-0.jsonl.gz.tmp",
    ]
    kept = [
        "events-20251122-h-1-0.jsonl.gz",  # exactly 365 days: kept
        "events-20261122-h-2-0.jsonl",  # another process's current file
        "notes-20200101.txt",
        "events-2020-h-1-0.jsonl",  # not a name this log writes
    ]
    for name in old + kept:
        (tmp_path / name).write_bytes(b"")
    EventLog(tmp_path, now=Clock(DAY)).close()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)


def test_retention_runs_again_when_the_day_changes(tmp_path: Path) -> None:
    (tmp_path / "events-20251122-h-1-0.jsonl.gz").write_bytes(b"")
    clock = Clock(DAY)
    with EventLog(tmp_path, retention_days=365, now=clock) as events:
        events.write(sample("r-1"))
        clock.now += timedelta(days=1)
        events.write(sample("r-2"))
    assert not (tmp_path / "events-20251122-h-1-0.jsonl.gz").exists()
    assert request_ids(all_lines(tmp_path)) == ["r-1", "r-2"]


def test_a_plain_file_left_beside_its_gz_by_a_crash_is_removed(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "events-20261122-h-1-0.jsonl.gz", "wb") as file:
        file.write(encode_event(sample("r-1")))
    (tmp_path / "events-20261122-h-1-0.jsonl").write_bytes(encode_event(sample("r-1")))
    EventLog(tmp_path, now=Clock(DAY)).close()
    assert request_ids(all_lines(tmp_path)) == ["r-1"]


def test_writing_after_close_raises(tmp_path: Path) -> None:
    events = EventLog(tmp_path)
    events.close()
    with pytest.raises(EventWriteError, match="is closed"):
        events.write(sample("late"))


@pytest.mark.parametrize("breakage", ["missing folder", "parent is a file"])
def test_an_unusable_folder_raises_and_the_log_recovers_when_it_is_fixed(
    tmp_path: Path, breakage: str
) -> None:
    # Works as root too: no permission bit is involved.
    parent = tmp_path / "var"
    if breakage == "parent is a file":
        parent.write_text("not a folder")
    folder = parent / "events"
    with EventLog(folder, now=Clock(DAY)) as events:
        with pytest.raises(EventWriteError, match=f"cannot write event to {folder}: ") as caught:
            events.write(sample("lost"))
        assert isinstance(caught.value, OperatorError)
        assert events.path is None
        if parent.is_file():
            parent.unlink()
        folder.mkdir(parents=True)
        events.write(sample("kept"))
    assert request_ids(all_lines(folder)) == ["kept"]


def write_into_a_read_only_folder(folder: str) -> str:
    """Take write permission away, fail a write, give it back, write again; return the error."""
    path = Path(folder)
    path.chmod(0o500)
    message = "no error"
    try:
        with EventLog(path, now=Clock(DAY)) as events:
            try:
                events.write(sample("lost"))
            except EventWriteError as exc:
                message = str(exc)
            path.chmod(0o700)
            events.write(sample("kept"))
    finally:
        path.chmod(0o700)
    return message


def as_nobody(folder: str) -> str:
    """In a child process: drop root for the unprivileged user, for whom permission bits hold."""
    import pwd  # Unix only; the test is skipped elsewhere

    nobody = pwd.getpwnam("nobody")
    # A first write as root loads every module the write path imports lazily:
    # the interpreter may live where nobody cannot read (such as /root).
    with tempfile.TemporaryDirectory() as scratch, EventLog(scratch, now=Clock(DAY)) as events:
        events.write(sample("warm-up"))
    os.setgroups([])
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)
    return write_into_a_read_only_folder(folder)


@pytest.mark.skipif(sys.platform == "win32", reason="needs Unix permission bits")
def test_a_read_only_folder_raises_and_the_log_recovers_when_it_is_writable(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        folder = tmp_path
        message = write_into_a_read_only_folder(str(folder))
        kept = request_ids(all_lines(folder))
    else:
        # Root ignores permission bits (CI runs as root): the same steps run in
        # a child that has dropped to nobody, in a folder nobody owns and can
        # reach (pytest's own temporary folders are closed to other users).
        import pwd

        nobody = pwd.getpwnam("nobody")
        base = Path(tempfile.mkdtemp())
        try:
            base.chmod(0o711)
            folder = base / "events"
            folder.mkdir()
            os.chown(folder, nobody.pw_uid, nobody.pw_gid)
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                message = pool.submit(as_nobody, str(folder)).result(timeout=60)
            kept = request_ids(all_lines(folder))
        finally:
            shutil.rmtree(base)
    assert message.startswith(f"cannot write event to {folder}: ") and "Permission denied" in message, message
    assert kept == ["kept"]


def write_until_the_file_size_limit(folder: str, limit: int) -> tuple[list[str], str, str]:
    """In a child process: fail a write half-way with RLIMIT_FSIZE, then lift the limit."""
    import resource  # Unix only; the test is skipped elsewhere

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    written: list[str] = []
    with EventLog(folder, now=Clock(DAY)) as events:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
        try:
            for i in range(100):
                try:
                    events.write(sample(f"r-{i:03d}"))
                except EventWriteError as exc:
                    failed, message = f"r-{i:03d}", str(exc)
                    break
                written.append(f"r-{i:03d}")
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        events.write(sample("after"))
        written.append("after")
    return written, failed, message


@pytest.mark.skipif(sys.platform == "win32", reason="needs Unix resource limits")
def test_a_write_failing_half_way_raises_and_the_torn_line_is_cut_back(tmp_path: Path) -> None:
    # A real short write: the kernel writes up to the file size limit, then the
    # next write fails with EFBIG (Python ignores SIGXFSZ). Done in a child so
    # the limit cannot touch pytest's own files.
    line_size = len(encode_event(sample("r-000")))
    limit = 11 * line_size + line_size // 2
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        written, failed, message = pool.submit(
            write_until_the_file_size_limit, str(tmp_path), limit
        ).result(timeout=60)
    assert failed == "r-011" and "File too large" in message
    assert written == [f"r-{i:03d}" for i in range(11)] + ["after"]

    names = files(tmp_path)
    assert len(names) == 2
    first, second = (read_lines(tmp_path / name) for name in names)
    assert len(first) == 11  # the half of r-011 that fit is gone: only whole lines stay
    for line in first + second:
        decode_event(line)
    assert request_ids(first + second) == written


def write_from_a_process(folder: str, process: int, start: threading.Barrier) -> None:
    """In a child process: two threads write 1000 events each, rotating every few lines."""
    with EventLog(folder, max_bytes=16 * 1024) as events:
        start.wait()

        def write_many(thread: int) -> None:
            for i in range(1000):
                events.write(sample(f"{process}-{thread}-{i}", datetime.now(UTC)))

        threads = [threading.Thread(target=write_many, args=(t,)) for t in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def test_four_processes_lose_no_line_across_many_rotations(tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(4)
    processes = [
        spawn.Process(target=write_from_a_process, args=(str(tmp_path), n, start)) for n in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]

    names = files(tmp_path)
    assert all(name.endswith(".jsonl.gz") for name in names)  # each log closed and compressed
    pids = {NAME.match(name)[3] for name in names}  # type: ignore[index]
    assert pids == {str(p.pid) for p in processes}
    assert len(names) > 4 * 20  # many rotations per process
    lines = all_lines(tmp_path)
    assert len(lines) == 8000
    ids = request_ids(lines)  # every line decodes
    assert len(set(ids)) == 8000
    assert set(ids) == {f"{p}-{t}-{i}" for p in range(4) for t in range(2) for i in range(1000)}


def test_write_many_keeps_a_batch_as_whole_lines_in_order(tmp_path: Path) -> None:
    with EventLog(tmp_path, max_bytes=10_000) as log:
        log.write(sample("r0"))
        log.write_many([sample(f"r{n}") for n in range(1, 4)])
        path = log.path
        assert path is not None
        assert request_ids(read_lines(path)) == ["r0", "r1", "r2", "r3"]
    assert request_ids(all_lines(tmp_path)) == ["r0", "r1", "r2", "r3"]


KILLED_WRITER = """
import sys
from datetime import UTC, datetime
from kickit_edge.events import Event
from kickit_edge.runtime.eventlog import EventLog
log = EventLog(sys.argv[1])
for i in range(3):
    log.write(Event(time=datetime.now(UTC), type="authenticate", app="demo", request_id=f"k-{i}", user="u"))
print("written", flush=True)
sys.stdin.read()
"""


def test_the_plain_file_of_a_worker_killed_with_sigkill_is_compressed_by_the_next_start(tmp_path: Path) -> None:
    import signal
    import subprocess

    worker = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert worker.stdout is not None and worker.stdout.readline() == "written\n"
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    [left] = [path.name for path in tmp_path.iterdir()]
    assert left.endswith(f"-{worker.pid}-0.jsonl")
    # Another process's live file is not touched: pid 1 is alive, and a file of today.
    alive = tmp_path / left.replace(f"-{worker.pid}-0.jsonl", "-1-0.jsonl")
    alive.write_bytes(b"")
    with EventLog(tmp_path):
        deadline = time.monotonic() + 20
        while not (tmp_path / (left + ".gz")).exists() or (tmp_path / left).exists():
            assert time.monotonic() < deadline, sorted(p.name for p in tmp_path.iterdir())
            time.sleep(0.02)
    assert request_ids(read_lines(tmp_path / (left + ".gz"))) == ["k-0", "k-1", "k-2"]
    assert alive.exists()


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs, to fill or make read-only (needs the right to mount, as root in CI has)."""
    import subprocess

    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_leaves_only_whole_lines_and_the_log_recovers(full_disk: Path) -> None:
    events = EventLog(full_disk, max_bytes=1024 * 1024, now=Clock(DAY))
    written = []
    with pytest.raises(EventWriteError, match="No space left on device"):
        for i in range(10_000):
            # Batches of three lines, so the disk fills in the middle of a write.
            batch = [sample(f"r-{i:05d}-{n}") for n in range(3)]
            events.write_many(batch)
            written.extend(event.request_id for event in batch)
    events.close()  # waits for the background compression (which may fail here: the disk is full)
    kept = [path for path in full_disk.iterdir() if not path.name.endswith(".tmp")]
    lines = [line for path in kept for line in read_lines(path)]
    assert all(line.endswith(b"\n") for line in lines)
    for line in lines:
        decode_event(line)  # no torn line: each one parses
    assert sorted(request_ids(lines)) == sorted(written)
    for path in full_disk.iterdir():
        path.unlink()  # space again
    with EventLog(full_disk, now=Clock(DAY)) as again:
        again.write(sample("after"))
    assert request_ids([line for path in full_disk.iterdir() for line in read_lines(path)]) == ["after"]


def test_a_read_only_mount_raises_and_the_log_recovers_when_it_is_writable_again(full_disk: Path) -> None:
    import subprocess

    def remount(mode: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{mode}", str(full_disk)], check=True)

    with EventLog(full_disk, now=Clock(DAY)) as events:
        remount("ro")
        try:
            with pytest.raises(EventWriteError, match="Read-only file system"):
                events.write(sample("lost"))
        finally:
            remount("rw")
        events.write(sample("kept"))
    assert request_ids(all_lines(full_disk)) == ["kept"]
