"""User records as text: JSON Lines (one object per record) or CSV (a header, then one row each).

Both list the fields in the order of :data:`~.users.FIELDS`, records sorted by
app, user and platform, so the same events always give the same bytes. A
missing environment is ``null`` in JSON Lines and an empty cell in CSV.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import IO

from ..vocabulary import RecordFormat
from .users import FIELDS, UserRecord

__all__ = ["write_records"]


def write_records(records: Iterable[UserRecord], fmt: RecordFormat, out: IO[str]) -> None:
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FIELDS)
        writer.writerows(records)
        return
    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    out.writelines(encode(dict(zip(FIELDS, record))) + "\n" for record in records)
