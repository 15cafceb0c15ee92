"""API keys: ``<prefix>.<secret>``, stored as the prefix and the SHA-256 of the secret.

The prefix (16 hex digits) is public and is how a key is found; the secret
(64 hex digits) is shown once when the key is minted and never stored. Both
AppCockpit (``x-api-token: base64(key)``), KickIt (``X-API-KEY: key``) and
OFREP (``X-API-Key: key`` or ``Authorization: Bearer key``) clients send the same key; admin tokens for the management API have the same
shape. Comparison is constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from typing import NamedTuple

__all__ = ["Key", "mint_key", "hash_secret", "parse_key", "decode_token", "decode_bearer", "secret_matches",
           "KEY_LENGTH", "mask_keys"]

PREFIX_HEX = 16
SECRET_HEX = 64
# A key is 81 characters; anything much longer is not a key and is not decoded.
MAX_TOKEN_LENGTH = 256

_KEY = re.compile(rf"^([0-9a-f]{{{PREFIX_HEX}}})\.([0-9a-f]{{{SECRET_HEX}}})$")
KEY_LENGTH = PREFIX_HEX + 1 + SECRET_HEX
# A key as client data may carry it: as is (in any case), or as the x-api-token an AppCockpit client sends: the
# base64 of a key (108 characters, 112 with a trailing newline encoded), a run of that alphabet of its own.
_TOKEN = KEY_LENGTH * 4 // 3
_KEY_IN_TEXT = re.compile(rf"([0-9a-fA-F]{{{PREFIX_HEX}}})\.[0-9a-fA-F]{{{SECRET_HEX}}}"
                          rf"|(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{{{_TOKEN},{_TOKEN + 4}}}={{0,2}}(?![A-Za-z0-9+/=])")


class Key(NamedTuple):
    prefix: str
    secret: str

    def __str__(self) -> str:
        return f"{self.prefix}.{self.secret}"


def mint_key() -> Key:
    """Return a fresh random key."""
    return Key(secrets.token_hex(PREFIX_HEX // 2), secrets.token_hex(SECRET_HEX // 2))


def hash_secret(secret: str) -> str:
    """Return the hex SHA-256 of a key's secret, as stored in the config."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def parse_key(text: str) -> Key | None:
    """Split a presented key into prefix and secret; ``None`` if it is not one."""
    if len(text) > MAX_TOKEN_LENGTH:
        return None
    match = _KEY.match(text.strip().lower())
    return Key(match[1], match[2]) if match else None


def decode_token(header: str) -> Key | None:
    """Read an AppCockpit ``x-api-token`` (base64 of the key); ``None`` if malformed."""
    if len(header) > MAX_TOKEN_LENGTH:
        return None
    try:
        raw = base64.b64decode(header.strip(), validate=True)
        return parse_key(raw.decode("ascii"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def decode_bearer(header: str) -> Key | None:
    """Read ``Authorization: Bearer <key>`` (the scheme in any case); ``None`` for any other form."""
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return parse_key(credentials)


def secret_matches(secret: str, stored_sha256: str) -> bool:
    """Compare a presented secret with a stored hash in constant time."""
    return hmac.compare_digest(hash_secret(secret), stored_sha256)


def mask_keys(text: str) -> str:
    """``text`` with every key in it masked: ``<prefix>.***`` (the prefix is public), ``***`` for its base64."""
    if len(text) < KEY_LENGTH:
        return text  # the shortest form of a key does not fit
    return _KEY_IN_TEXT.sub(_masked, text)


def _masked(found: re.Match[str]) -> str:
    if found[1] is not None:
        return f"{found[1].lower()}.***"
    return "***" if decode_token(found[0]) is not None else found[0]  # base64 of something else stays
