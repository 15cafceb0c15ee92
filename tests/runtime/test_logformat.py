"""The processes' log handler: the same lines as logging's StreamHandler, and never a wait for the destination."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest

from kickit_edge.runtime.logformat import TEXT_FORMAT, BackgroundHandler, JsonFormatter


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("kickit_edge.runtime", logging.WARNING, __file__, 1, message, args, None)


@pytest.mark.parametrize("formatter", [logging.Formatter(TEXT_FORMAT), JsonFormatter()], ids=["text", "json"])
def test_the_lines_are_those_of_a_stream_handler(tmp_path: Path, formatter: logging.Formatter) -> None:
    records = [_record("snapshot %s rejected: %s", "x.json", "not JSON: ünïcode"), _record("plain")]
    outputs = []
    for make in (logging.StreamHandler, BackgroundHandler):
        path = tmp_path / f"{make.__name__}.log"
        with path.open("w", encoding="utf-8") as stream:
            handler = make(stream)
            handler.setFormatter(formatter)
            for record in records:
                handler.handle(record)
            handler.flush()
            handler.close()
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1] and outputs[0].count(b"\n") == 2


def test_a_full_pipe_never_blocks_the_caller_lines_are_dropped_counted_and_reported() -> None:
    read_end, write_end = os.pipe()
    try:
        with os.fdopen(os.dup(write_end), "w") as stream:
            handler = BackgroundHandler(stream, max_pending=64 * 1024)
            handler.setFormatter(logging.Formatter(TEXT_FORMAT))
            done = threading.Event()

            def log_a_lot() -> None:
                for n in range(20_000):  # ~2 MB: far more than the pipe and the queue hold
                    handler.handle(_record("line %d %s", n, "x" * 40))
                done.set()

            thread = threading.Thread(target=log_a_lot, daemon=True)
            thread.start()
            assert done.wait(60), "logging waited for a pipe nobody reads"
            assert handler.dropped > 0
            # The reader comes back: what was kept comes out, then the count of what was not.
            taken = bytearray()
            reader = threading.Thread(target=lambda: [taken.extend(chunk) for chunk in
                                                      iter(lambda: os.read(read_end, 1 << 16), b"")], daemon=True)
            reader.start()
            handler.flush()  # until the queue is written
            handler.handle(_record("after"))
            handler.close()
        os.close(write_end)
        write_end = -1
        reader.join(30)
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
    text = taken.decode()
    assert "WARNING kickit_edge.runtime" in text and "line 0 " in text
    assert "log lines dropped so far: the log destination was too slow" in text
    assert text.endswith(" after\n")
