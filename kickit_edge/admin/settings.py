"""The settings of the admin process, defined once: the CLI builds its flags from them, the README lists them."""

from __future__ import annotations

import os
from typing import NamedTuple

__all__ = ["Setting", "SETTINGS", "setting_default"]


class Setting(NamedTuple):
    name: str
    default: str | int | None
    env: str
    metavar: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("config", "config", "KICKIT_CONFIG", "DIR", "config folder the API edits"),
    Setting("publish", None, "KICKIT_PUBLISH", "DIR",
            "after each successful write, compile and publish a snapshot into DIR (the folder an edge watches)"),
    Setting("host", "127.0.0.1", "KICKIT_ADMIN_HOST", "HOST", "address to listen on"),
    Setting("port", 8001, "KICKIT_ADMIN_PORT", "PORT", "port to listen on"),
)


def setting_default(setting: Setting) -> str | int | None:
    """The setting's environment variable if set (as text; the CLI converts it), else its default."""
    return os.environ.get(setting.env, setting.default)
