"""The access log's writer: lines of one batch written together, and a stuck destination never stops a request."""

from __future__ import annotations

import asyncio
import os
import threading

from kickit_edge.runtime.accesslog import FLUSH_INTERVAL, MAX_PENDING_BYTES, AccessLogWriter, filtered_params, \
    mask_secrets, shown_params

KEY = "2d71d7ebb9e2c0ed.dd24791ce6985c826497ec3fdcb4126521deff88f613db6680eea15a0d9f9b01"


def test_the_lines_of_one_batch_are_written_together() -> None:
    read, write = os.pipe()
    writer = AccessLogWriter(write)

    async def batch() -> None:
        for n in range(3):
            writer.add(f"line {n}")
        await asyncio.sleep(FLUSH_INTERVAL * 2)  # the batch is handed to the writer thread

    asyncio.run(batch())
    writer.close()
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        lines = pipe.read().decode().splitlines()
    assert [line.split(f"[{os.getpid()}] ")[1] for line in lines] == ["line 0", "line 1", "line 2"]
    assert all(" INFO kickit_edge.access [" in line for line in lines)


def test_a_destination_nobody_reads_drops_lines_instead_of_blocking() -> None:
    read, write = os.pipe()  # a pipe holds 64 KiB; nobody reads this one
    writer = AccessLogWriter(write)
    line = "x" * 1000

    async def flood() -> None:
        for _ in range(3 * MAX_PENDING_BYTES // 1000):
            writer.add(line)
            await asyncio.sleep(0)

    asyncio.run(flood())  # returns: the event loop never waited for the pipe
    assert writer.dropped > MAX_PENDING_BYTES // 1000
    drain = threading.Thread(target=lambda: [None for _ in iter(lambda: os.read(read, 1 << 20), b"")])
    drain.start()
    writer.close()
    os.close(write)
    drain.join(30)
    os.close(read)


def test_redaction() -> None:
    edge = shown_params(["app_id"])
    assert edge(b"app_id=demo&token=abc") == "?app_id=demo&token=***"
    assert edge(f"app_id={KEY}".encode()) == "?app_id=2d71d7ebb9e2c0ed.***"
    assert mask_secrets("/v1/" + KEY.split(".")[1] + "/x") == "/***"  # the segments around it go too
    assert mask_secrets("/v1/versions") == "/v1/versions"
    admin = filtered_params(["auth_token"])
    assert admin(b"auth_token=abc&ids[]=1") == "?auth_token=[FILTERED]&ids[]=1"
