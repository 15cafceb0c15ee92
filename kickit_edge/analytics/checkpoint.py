"""The checkpoint beside a users output: how far each file was read, and the fold state, in a DuckDB file.

Tables::

    meta         key, value: what the file is, its format version, the events
                 folder and the retention it was made with
    event_files  stem, byte_offset, lines, complete: how far each stem was read
    user_state   one row per record: app, user_id, platform, first_at, last_at,
                 request_id, app_version, environment

It is written after the output: a crash in between leaves the old checkpoint,
and reading its new lines again changes nothing, since the fold is idempotent.
A run that went on from this very file read the records it did not change
from it, and updates it in one transaction: the marks, and the records of
the users it saw (or dropped past the retention), no other; so ten thousand
new lines cost what they change, not what the file holds. Any other run
writes a new database beside it and renames it over the old one.

A checkpoint that cannot be read or is of another version is not an error:
the run rebuilds from the files and says why.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO


from ..atomicfile import atomic_file, sync_folder
from ..errors import OperatorError
from .engine import connect, duckdb, insert_columns
from .scan import Mark
from .users import STATE_COLUMNS, Checkpoint

__all__ = ["VERSION", "KIND", "load_checkpoint", "save_checkpoint", "write_atomically", "make_atomically"]

VERSION = 2
KIND = "kickit-edge users"


def load_checkpoint(path: str | os.PathLike[str], engine: duckdb.DuckDBPyConnection | None = None
                    ) -> tuple[Checkpoint | None, str | None]:
    """The checkpoint at ``path`` (None if there is none), or None and why it cannot be used.

    Given the ``engine`` of the fold to come, the file is attached to it as ``saved`` (and stays, if it is a
    checkpoint): the fold reads the records from there, and the file is opened once.
    """
    if not Path(path).exists():
        return None, None
    try:
        if engine is None:
            connection, prefix = duckdb.connect(str(path), read_only=True), ""
        else:
            engine.execute("ATTACH $file AS saved (READ_ONLY)", {"file": str(path)})
            connection, prefix = engine, "saved."
    except duckdb.Error:
        return None, f"{path} is not a kickit-edge users checkpoint (not a DuckDB database)"
    checkpoint = None
    try:
        meta = dict(connection.execute(f"SELECT key, value FROM {prefix}meta").fetchall())
        if meta.get("checkpoint") != KIND:
            return None, f"{path} is not a kickit-edge users checkpoint"
        if meta.get("version") != str(VERSION):
            return None, f"{path} is a checkpoint of version {meta.get('version')!r}, not {VERSION}"
        marks = {stem: Mark(offset, lines, complete) for stem, offset, lines, complete in connection.execute(
            f"SELECT stem, byte_offset, lines, complete FROM {prefix}event_files").fetchall()}
        connection.execute(f"SELECT {', '.join(STATE_COLUMNS)} FROM {prefix}user_state LIMIT 0")
        # The records stay in the file: the fold's engine reads them from there.
        checkpoint = Checkpoint(meta["events_dir"], int(meta["retention_days"]), marks, state_file=str(path))
        return checkpoint, None
    except (duckdb.Error, KeyError, ValueError) as exc:
        return None, f"{path} is damaged ({type(exc).__name__}: {str(exc).splitlines()[0]})"
    finally:
        if engine is None:
            connection.close()
        elif checkpoint is None:
            engine.execute("DETACH saved")


def save_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint,
                    engine: duckdb.DuckDBPyConnection | None = None) -> None:
    """Write ``checkpoint`` as a new file and rename it over ``path``; ``engine`` may hold its state as ``records``.

    The engine lets go of the checkpoint file it went on from (``saved``): the state is in ``path`` now.
    """
    target = Path(path)
    if engine is not None and checkpoint.continues is not None:
        if _same(checkpoint.continues, target):
            _update(target, checkpoint, engine)
            return
        _write(target, checkpoint, engine)
        engine.execute("DETACH saved")
        return
    _write(target, checkpoint, engine)


def _write(target: Path, checkpoint: Checkpoint, engine: duckdb.DuckDBPyConnection | None) -> None:
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    connection = engine or connect()
    try:
        connection.execute("ATTACH $file AS fresh", {"file": str(temporary)})
        connection.execute("CREATE TABLE fresh.meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        connection.executemany("INSERT INTO fresh.meta VALUES (?, ?)", [
            ("checkpoint", KIND), ("version", str(VERSION)), ("events_dir", checkpoint.events_dir),
            ("retention_days", str(checkpoint.retention_days))])
        connection.execute("CREATE TABLE fresh.event_files (stem VARCHAR, byte_offset BIGINT, lines BIGINT, "
                           "complete BOOLEAN)")
        insert_columns(connection, "fresh.event_files", [(stem, m.offset, m.lines, m.complete)
                                                         for stem, m in sorted(checkpoint.marks.items())], 4)
        connection.execute(f"CREATE TABLE fresh.user_state ({', '.join(f'{c} VARCHAR' for c in STATE_COLUMNS)})")
        if engine is None:
            insert_columns(connection, "fresh.user_state", checkpoint.rows(), len(STATE_COLUMNS))
        else:  # the records go from engine to file without passing through Python
            connection.execute(f"INSERT INTO fresh.user_state SELECT {', '.join(STATE_COLUMNS)} FROM records")
        connection.execute("CHECKPOINT fresh")  # all of it in the file itself, no write-ahead log beside it
        connection.execute("DETACH fresh")  # DuckDB syncs its file
        os.replace(temporary, target)
        sync_folder(target.parent)
    except (OSError, duckdb.Error) as exc:
        with contextlib.suppress(duckdb.Error):
            connection.execute("DETACH DATABASE IF EXISTS fresh")
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise OperatorError(f"cannot write {target}: {getattr(exc, 'strerror', None) or exc}") from None


def _same(path: str, target: Path) -> bool:
    try:
        return os.path.samefile(path, target)
    except OSError:
        return False


def _update(target: Path, checkpoint: Checkpoint, engine: duckdb.DuckDBPyConnection) -> None:
    """Rewrite, in one transaction, the marks and the records the run changed: not the others."""
    columns = ", ".join(STATE_COLUMNS)
    try:
        engine.execute("DETACH saved")  # the fold read it; now it is written
        engine.execute("ATTACH $file AS saved", {"file": str(target)})
        try:
            engine.execute("BEGIN")
            engine.execute("DELETE FROM saved.user_state WHERE EXISTS (SELECT 1 FROM changed AS c WHERE "
                           "c.app = user_state.app AND c.user_id = user_state.user_id "
                           "AND c.platform = user_state.platform)")
            engine.execute(f"INSERT INTO saved.user_state SELECT {columns} FROM user_rows "
                           "SEMI JOIN changed USING (app, user_id, platform)")
            engine.execute("DELETE FROM saved.event_files")
            insert_columns(engine, "saved.event_files", [(stem, m.offset, m.lines, m.complete)
                                                         for stem, m in sorted(checkpoint.marks.items())], 4)
            engine.execute("COMMIT")
        except duckdb.Error:
            engine.execute("ROLLBACK")
            raise
        finally:
            engine.execute("CHECKPOINT saved")  # all of it in the file itself, no write-ahead log beside it
            engine.execute("DETACH saved")
    except duckdb.Error as exc:
        raise OperatorError(f"cannot update {target}: {exc}") from None


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


def make_atomically(path: str | os.PathLike[str], make: Callable[[str], object]) -> None:
    """Replace ``path`` with the file ``make`` makes at the (temporary) path it is given, atomically.

    For the engine's COPY, which writes a file by name, in its own code.
    """
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with atomic_file(target, temporary=temporary):
            make(str(temporary))
            # The engine makes a new file at that name: sync that one (atomic_file syncs the one it opened).
            made = os.open(temporary, os.O_RDONLY)
            try:
                os.fsync(made)
            finally:
                os.close(made)
    except OSError as exc:
        raise OperatorError(f"cannot write {target}: {exc.strerror}") from None
    except duckdb.Error as exc:
        raise OperatorError(f"cannot write {target}: {str(exc).splitlines()[0]}") from None
