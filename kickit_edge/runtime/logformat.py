"""The log formats of every process (edge and admin): ``text`` or ``json``, one line per record, on stderr.

``text``: ``2026-11-30 19:35:17,123 INFO kickit_edge.runtime [4711] message``.
``json``: one object per line with ``time`` (UTC, ISO 8601, milliseconds),
``level``, ``logger``, ``pid``, ``message`` (and ``exception`` when there is
one). Access lines (:mod:`.accesslog`) use the same fields, plus the request's.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from ..settings import LogFormat

__all__ = ["JsonFormatter", "log_config", "TEXT_FORMAT"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record; the time in UTC."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        out: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z", "level": record.levelname, "logger": record.name,
            "pid": record.process, "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def log_config(level: str, form: LogFormat = "text") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn's and our loggers, on stderr, in ``form``."""
    upper = level.upper()
    formatter = {"()": JsonFormatter} if form == "json" else {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}},
        "loggers": {
            "kickit_edge": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
