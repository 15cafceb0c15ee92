"""Signed snapshots: Ed25519 over the content digest, named by key id in the manifest.

A signed snapshot's manifest carries::

    "signature": {"key_id": "<16 hex>", "ed25519": "<base64 of the 64-byte signature>"}

The signed message is the manifest's ``digest`` (``sha256:<hex>``, UTF-8), and
the digest covers every byte after the manifest line, so a signature vouches
for the whole content while the content, its digest and the ETags stay exactly
what they are unsigned. Ed25519 signatures are deterministic: compiling the
same config with the same key gives the same bytes.

A key id is the first 16 hex digits of the SHA-256 of the raw 32-byte public
key. Keys are PEM files: ``signing.key`` (PKCS#8, mode 0600, never in the
config folder: it would be committed) and ``signing.pub``
(SubjectPublicKeyInfo). An edge given verification keys accepts only
snapshots signed by one of them (several keys: rotation).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import OperatorError, SnapshotError

__all__ = [
    "KEY_FILE", "PUBLIC_FILE", "key_id", "write_key_pair", "read_signing_key", "read_verify_key",
    "sign_manifest", "signer_of", "Verifier",
]

KEY_FILE = "signing.key"
PUBLIC_FILE = "signing.pub"


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def write_key_pair(out: Path) -> tuple[Path, Path, str]:
    """Write a new pair into ``out``: (private key file, public key file, key id). Never overwrites."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    key_path, public_path = out / KEY_FILE, out / PUBLIC_FILE
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path, data, mode in ((key_path, private, 0o600), (public_path, public, 0o644)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)  # O_EXCL: never replace a key
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
    except FileExistsError as exc:
        raise OperatorError(f"{exc.filename} already exists: keep it, or give another --out") from None
    except OSError as exc:
        raise OperatorError(f"cannot write the key pair into {out}: {exc.strerror or exc}") from None
    return key_path, public_path, key_id(key.public_key())


def _read_key(path: str | os.PathLike[str], private: bool) -> Ed25519PrivateKey | Ed25519PublicKey:
    kind, word, name = (Ed25519PrivateKey, "private", KEY_FILE) if private else (Ed25519PublicKey, "public", PUBLIC_FILE)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise OperatorError(f"cannot read the {word} key {path}: {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_private_key(data, None) if private else serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, kind):
        raise OperatorError(f"{path}: expected an Ed25519 {word} key in PEM (the {name} written by "
                            "`kickit-edge keys signing`)")
    return key


def read_signing_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    return cast(Ed25519PrivateKey, _read_key(path, private=True))


def read_verify_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    return cast(Ed25519PublicKey, _read_key(path, private=False))


def sign_manifest(manifest: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The manifest with the signature of its digest."""
    signature = key.sign(str(manifest["digest"]).encode("utf-8"))
    return dict(manifest, signature={"key_id": key_id(key.public_key()),
                                     "ed25519": base64.b64encode(signature).decode("ascii")})


def signer_of(manifest: dict[str, Any]) -> str | None:
    """The key id a manifest names as its signer (not verified), for /status."""
    signature = manifest.get("signature")
    found = signature.get("key_id") if isinstance(signature, dict) else None
    return found if isinstance(found, str) else None


class Verifier:
    """Refuses a manifest that is unsigned, signed by an unknown key, or whose signature does not hold.

    Used as the snapshot state's manifest check: fail closed, with the reason.
    """

    def __init__(self, keys: Sequence[Ed25519PublicKey]) -> None:
        self.keys = {key_id(key): key for key in keys}

    def __call__(self, manifest: dict[str, Any]) -> None:
        trusted = ", ".join(sorted(self.keys))
        signature = manifest.get("signature")
        if signature is None:
            raise SnapshotError(f"snapshot is not signed; this edge accepts only snapshots signed by {trusted}")
        signer = signer_of(manifest)
        if signer is None or not isinstance(signature.get("ed25519"), str):
            raise SnapshotError("snapshot signature is malformed: expected {\"key_id\": ..., \"ed25519\": ...}")
        key = self.keys.get(signer)
        if key is None:
            raise SnapshotError(f"snapshot is signed by key {signer}, which this edge does not trust "
                                f"(trusted: {trusted})")
        try:
            key.verify(base64.b64decode(signature["ed25519"], validate=True),
                       str(manifest.get("digest")).encode("utf-8"))
        except (InvalidSignature, binascii.Error, ValueError):
            raise SnapshotError(f"snapshot signature by key {signer} does not verify: "
                                "the snapshot was altered after it was signed") from None
