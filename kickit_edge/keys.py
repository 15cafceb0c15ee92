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

__all__ = ["Key", "mint_key", "hash_secret", "parse_key", "decode_token", "decode_bearer", "secret_matches"]

PREFIX_HEX = 16
SECRET_HEX = 64
# A key is 81 characters; anything much longer is not a key and is not decoded.
MAX_TOKEN_LENGTH = 256

_KEY = re.compile(rf"^([0-9a-f]{{{PREFIX_HEX}}})\.([0-9a-f]{{{SECRET_HEX}}})$")


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
