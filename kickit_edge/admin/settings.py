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
    Setting("git-branch", None, "KICKIT_GIT_BRANCH", "NAME",
            "review mode: commit each write on branch NAME and push it to --git-remote, for CI to open a pull "
            "request; nothing is published directly"),
    Setting("git-remote", None, "KICKIT_GIT_REMOTE", "REMOTE", "review mode: the remote (a name or a URL) to push to"),
    Setting("git-push-delay", 0, "KICKIT_GIT_PUSH_DELAY", "SECONDS",
            "review mode: push once no write came for SECONDS (0: after each write)"),
    Setting("git-email-domain", "kickit-edge.invalid", "KICKIT_GIT_EMAIL_DOMAIN", "DOMAIN",
            "commits are authored by the admin token's name at this e-mail domain (token ci: ci@DOMAIN)"),
    Setting("host", "127.0.0.1", "KICKIT_ADMIN_HOST", "HOST", "address to listen on"),
    Setting("port", 8001, "KICKIT_ADMIN_PORT", "PORT", "port to listen on"),
)


def setting_default(setting: Setting) -> str | int | None:
    """The setting's environment variable if set (as text; the CLI converts it), else its default."""
    return os.environ.get(setting.env, setting.default)
