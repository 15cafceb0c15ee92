"""The checkpoint file beside a users output: how far each file was read, and the fold state.

JSON Lines: a header, then one line per record::

    {"checkpoint":"kickit-edge users","version":1,"events_dir":"/srv/events","retention_days":365,
     "marks":{"events-20261122-web1-7-0":[1048576,4312,true], ...}}
    ["shop","user_1","ios","2026-11-22T...Z","2026-11-23T...Z","<request id>","2.5.0","production"]

A mark is [content offset, complete lines, whether the .gz was read to its end].
The file is replaced atomically (temp file, fsync, rename), after the output:
a crash in between leaves the old checkpoint, and reading its new lines again
changes nothing, since the fold is idempotent.

A checkpoint that cannot be read or is of another version is not an error:
the run rebuilds from the files and says why.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ..atomicfile import atomic_file
from ..errors import OperatorError
from .scan import Mark
from .users import Checkpoint, State, UserKey

__all__ = ["VERSION", "load_checkpoint", "save_checkpoint", "write_atomically", "state_rows", "state_of_rows"]

VERSION = 1
_KIND = "kickit-edge users"


def state_rows(state: dict[UserKey, State]) -> list[tuple[Any, ...]]:
    """Rows (app, user, platform, first, last, request_id, app_version, environment), sorted."""
    return [(*key, *record) for key, record in sorted(state.items())]


def state_of_rows(rows: Any) -> dict[UserKey, State]:
    return {(app, user, platform): [first, last, rid, version, env]
            for app, user, platform, first, last, rid, version, env in rows}


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[Checkpoint | None, str | None]:
    """The checkpoint at ``path`` (None if there is none), or None and why it cannot be used."""
    try:
        with open(path, "rb") as file:
            head = json.loads(file.readline())
            if not isinstance(head, dict) or head.get("checkpoint") != _KIND:
                return None, f"{path} is not a kickit-edge users checkpoint"
            if head.get("version") != VERSION:
                return None, f"{path} is a checkpoint of version {head.get('version')!r}, not {VERSION}"
            marks = {stem: Mark(offset, lines, complete) for stem, (offset, lines, complete) in head["marks"].items()}
            state = state_of_rows(json.loads(line) for line in file)
            return Checkpoint(head["events_dir"], head["retention_days"], marks, state), None
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cannot read {path}: {exc.strerror}"
    except (ValueError, KeyError, TypeError) as exc:
        return None, f"{path} is damaged ({type(exc).__name__}: {exc})"


def save_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint) -> None:
    head = {"checkpoint": _KIND, "version": VERSION, "events_dir": checkpoint.events_dir,
            "retention_days": checkpoint.retention_days,
            "marks": {stem: [m.offset, m.lines, m.complete] for stem, m in sorted(checkpoint.marks.items())}}
    encode = json.JSONEncoder(separators=(",", ":")).encode

    def write(out: IO[str]) -> None:
        out.write(encode(head) + "\n")
        out.writelines(encode(row) + "\n" for row in state_rows(checkpoint.state))

    write_atomically(path, write)


def write_atomically(path: str | os.PathLike[str], write: Callable[[IO[str]], object], *,
                     newline: str | None = None) -> None:
    """Replace the UTF-8 text file ``path`` with what ``write`` writes, atomically."""
    target = Path(path)
    try:
        with atomic_file(target) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline=newline)
            write(text)
            text.flush()
            text.detach()  # the binary file stays open for atomic_file to fsync and rename
    except OSError as exc:
        raise OperatorError(f"cannot write {target}: {exc.strerror}") from None
