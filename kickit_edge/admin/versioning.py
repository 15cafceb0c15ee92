"""API versions, chosen by the ``Accept`` header (``application/vnd.kickfolio.v1``).

No ``Accept``, ``*/*``, ``application/*`` and ``application/json`` mean the
latest version. A request that names only versions this server does not
speak, or only media types it cannot answer with, gets 406 ``not_acceptable``.
"""

from __future__ import annotations

import re
from typing import Literal

from .errors import NotAcceptable

__all__ = ["ApiVersion", "VERSIONS", "LATEST", "MEDIA_TYPE", "negotiate"]

ApiVersion = Literal["v1"]
VERSIONS: tuple[ApiVersion, ...] = ("v1",)
LATEST: ApiVersion = "v1"
MEDIA_TYPE = "application/vnd.kickfolio.v1"

_VENDOR = re.compile(r"^application/vnd\.kickfolio(?:\.(v\d+))?(?:\+json)?$")
_LATEST_RANGES = {"*/*", "application/*", "application/json"}
MAX_ACCEPT = 1024


def negotiate(accept: str | None) -> ApiVersion:
    """The API version the ``Accept`` header asks for; raise NotAcceptable if none is spoken here."""
    if accept is None or not accept.strip():
        return LATEST
    unknown: list[str] = []
    others: list[str] = []
    for media_range in accept[:MAX_ACCEPT].split(","):
        media = media_range.split(";", 1)[0].strip().lower()
        if not media:
            continue
        if media in _LATEST_RANGES:
            return LATEST
        match = _VENDOR.match(media)
        if match is None:
            others.append(media)
        elif match[1] is None:
            return LATEST
        elif match[1] == "v1":
            return "v1"
        else:
            unknown.append(match[1])
    spoken = ", ".join(VERSIONS)
    if unknown:
        raise NotAcceptable(f"API version {unknown[0]} is not available: this server speaks {spoken} "
                            f"(send Accept: {MEDIA_TYPE})")
    if not others:
        return LATEST
    raise NotAcceptable(f"cannot answer with {others[0][:60]}: this API answers JSON "
                        f"(send Accept: {MEDIA_TYPE} or application/json)")
