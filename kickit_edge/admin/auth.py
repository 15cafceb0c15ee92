"""Who may call the management API: admin tokens from the config, sent two ways.

As the Kickfolio seed says: ``Authorization: Basic base64(token)`` (a
``:password`` part, such as the ``X`` some clients insist on, is ignored) or
the ``auth_token`` query parameter. A token is ``<prefix>.<secret>``; the
config holds its prefix and the SHA-256 of its secret (``kickit-edge keys new
--admin NAME``), so lookup is by prefix and the comparison is constant-time.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import parse_qsl

from ..compiler.model import AdminToken
from ..keys import MAX_TOKEN_LENGTH, parse_key, secret_matches
from .errors import Unauthorized

__all__ = ["TOKEN_PARAM", "presented_token", "authenticate"]

TOKEN_PARAM = "auth_token"
HOW = "send Authorization: Basic base64(token) or the auth_token parameter"


def _from_basic(header: str) -> str:
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized(f"unsupported authorization scheme {scheme[:20]!r}: {HOW}")
    if len(credentials) > 4 * MAX_TOKEN_LENGTH:
        raise Unauthorized("invalid credentials")
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unauthorized(f"the Basic credentials are not base64: {HOW}") from None
    user, _, password = decoded.partition(":")
    return user or password


def presented_token(authorization: str | None, query_string: bytes) -> str | None:
    """The token the request carries: the Basic header first, else ``auth_token``; None if neither."""
    if authorization:
        return _from_basic(authorization)
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name == TOKEN_PARAM:
            return value
    return None


def authenticate(token: str | None, tokens: Sequence[AdminToken], now: datetime) -> AdminToken:
    """The admin token ``token`` is; raise Unauthorized (never saying which part was wrong)."""
    if not token:
        raise Unauthorized(f"authentication required: {HOW}")
    key = parse_key(token)
    if key is None:
        raise Unauthorized("invalid credentials")
    for candidate in tokens:
        if candidate.prefix == key.prefix and secret_matches(key.secret, candidate.sha256):
            if candidate.expires is not None and candidate.expires <= now:
                raise Unauthorized(f"the token expired at {candidate.expires:%Y-%m-%dT%H:%M:%SZ}: mint a new one "
                                   "with kickit-edge keys new --admin NAME")
            return candidate
    raise Unauthorized("invalid credentials")
