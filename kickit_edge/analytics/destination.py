"""Where user records go, and where their checkpoint lives: stdout, a file, or a SQLite database.

=====================  ==========================================================
``--db FILE``          records and checkpoint in one SQLite file
``--out FILE``         JSON Lines or CSV in FILE, the checkpoint in FILE.checkpoint
                       (or ``--checkpoint``)
neither                records on stdout; a checkpoint only with ``--checkpoint``
=====================  ==========================================================

Every run writes every record, not only the changed ones: the output of an
incremental run is the whole result, byte for byte what a rebuild writes.
The output is written before the checkpoint, so a crash between the two only
makes the next run read some lines again, which changes nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import IO


from ..errors import OperatorError
from .checkpoint import load_checkpoint, make_atomically, save_checkpoint, write_atomically
from .database import load_db, save_db
from .engine import connect, duckdb
from ..vocabulary import RecordFormat
from .formats import write_records
from .users import RETENTION_DAYS, Checkpoint, FoldResult, fold_users

__all__ = ["Destination", "update_users"]


@dataclass(frozen=True)
class Destination:
    fmt: RecordFormat = "jsonl"
    out: str | None = None
    db: str | None = None
    checkpoint: str | None = None

    def __post_init__(self) -> None:
        if self.db is not None and (self.out is not None or self.checkpoint is not None):
            raise OperatorError("--db keeps the records and their checkpoint in the database: "
                                "give it without --out and --checkpoint")
        if self.db is not None and self.fmt != "jsonl":
            raise OperatorError(f"--format {self.fmt} applies to --out and stdout: --db writes the records as a "
                                "SQLite table")

    @property
    def checkpoint_path(self) -> str | None:
        if self.checkpoint is not None:
            return self.checkpoint
        return f"{self.out}.checkpoint" if self.out is not None else None

    def where(self) -> str:
        return self.db or self.out or "stdout"

    def load(self, engine: duckdb.DuckDBPyConnection | None = None) -> tuple[Checkpoint | None, str | None]:
        """The checkpoint kept with the records; a checkpoint file is attached to ``engine`` (see load_checkpoint)."""
        if self.db is not None:
            return load_db(self.db)
        path = self.checkpoint_path
        return load_checkpoint(path, engine) if path is not None else (None, None)

    def save(self, result: FoldResult) -> None:
        if self.db is not None:
            result.checkpoint.state = result.checkpoint.rows()
            save_db(self.db, result.checkpoint)
            return

        def write(out: IO[str]) -> None:
            if self.fmt == "jsonl" and result.engine is not None:
                out.writelines(result.json_lines())
            else:
                write_records(result.records, self.fmt, out)

        if self.out is None:
            write(sys.stdout)
            sys.stdout.flush()
        elif self.fmt == "jsonl" and result.engine is not None:
            make_atomically(self.out, result.write_json_lines)  # by the engine, not through Python
        else:
            write_atomically(self.out, write, newline="")
        if self.checkpoint_path is not None:
            save_checkpoint(self.checkpoint_path, result.checkpoint, result.engine)


def update_users(events_dir: str, destination: Destination, *, now: datetime, full: bool = False,
                 retention_days: int = RETENTION_DAYS, prune: bool = False,
                 progress: Callable[[str], None] | None = None) -> tuple[FoldResult, str | None]:
    """Fold what is new since the destination's checkpoint (all of it with ``full``) and write the records.

    Returns the result and, when a checkpoint existed but was not used, why.
    """
    engine = connect()  # one engine opens the checkpoint, folds and writes
    previous, unusable = (None, None) if full else destination.load(engine)
    result = fold_users(events_dir, previous, now=now, retention_days=retention_days, prune=prune,
                        progress=progress, engine=engine)
    destination.save(result)
    return result, unusable or result.rebuilt
