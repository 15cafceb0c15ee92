"""Signed snapshots: key pairs, compile --sign, and an edge that accepts only what its keys signed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from kickit_edge.cli import main
from kickit_edge.compiler.compile import compile_config
from kickit_edge.errors import SnapshotError
from kickit_edge.loader import load_snapshot
from kickit_edge.signing import Verifier, read_signing_key, read_verify_key, sign_manifest, write_key_pair
from kickit_edge.snapshot import canonical_json
from tests.conftest import DEMO_CONFIG


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two key pairs: (ours, another)."""
    root = tmp_path_factory.mktemp("keys")
    write_key_pair(root / "ours")
    write_key_pair(root / "other")
    return root / "ours", root / "other"


def signed(data: bytes, key_dir: Path) -> bytes:
    head, rest = data.split(b"\n", 1)
    manifest = sign_manifest(json.loads(head)["manifest"], read_signing_key(key_dir / "signing.key"))
    return canonical_json({"manifest": manifest}) + b"\n" + rest


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    return compile_config(str(DEMO_CONFIG), revision="r").data


def test_key_files_are_private_and_never_overwritten(tmp_path: Path) -> None:
    key, public, key_id = write_key_pair(tmp_path)
    assert (key.name, public.name) == ("signing.key", "signing.pub") and len(key_id) == 16
    assert os.stat(key).st_mode & 0o777 == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    with pytest.raises(Exception, match="signing.key already exists: keep it, or give another --out"):
        write_key_pair(tmp_path)
    with pytest.raises(Exception, match="expected an Ed25519 public key in PEM"):
        read_verify_key(key)


def test_keys_signing_refuses_the_config_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config"
    shutil.copytree(DEMO_CONFIG, config)
    assert main(["keys", "signing", "--out", str(config / "keys"), "--config", str(config)]) == 2
    assert "is inside the config folder" in capsys.readouterr().err and not (config / "keys").exists()
    assert main(["keys", "signing", "--out", str(tmp_path / "keys"), "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == Verifier([read_verify_key(tmp_path / "keys" / "signing.pub")]).keys.popitem()[0]


def test_compile_sign_keeps_the_digest_and_is_deterministic(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    config = tmp_path / "config"
    shutil.copytree(DEMO_CONFIG, config)
    key = str(keys[0] / "signing.key")
    for out in ("a", "b"):
        assert main(["compile", str(config), "--out", str(tmp_path / out), "--sign", key, "--revision", "r"]) == 0
    assert main(["compile", str(config), "--out", str(tmp_path / "plain"), "--revision", "r"]) == 0
    a, b, plain = ((tmp_path / name / "snapshot.json").read_bytes() for name in ("a", "b", "plain"))
    assert a == b  # Ed25519 is deterministic
    assert a.split(b"\n", 1)[1] == plain.split(b"\n", 1)[1]  # the content, its digest and ETags are untouched
    manifest = json.loads(a.split(b"\n", 1)[0])["manifest"]
    assert manifest["digest"] == json.loads(plain.split(b"\n", 1)[0])["manifest"]["digest"]
    assert manifest["signature"]["key_id"] == next(iter(Verifier([read_verify_key(keys[0] / "signing.pub")]).keys))
    (config / "signing.key").write_bytes((keys[0] / "signing.key").read_bytes())
    assert main(["compile", str(config), "--out", str(tmp_path / "c"), "--sign", str(config / "signing.key")]) == 2


def test_a_verifier_accepts_only_what_its_keys_signed(unsigned: bytes, keys: tuple[Path, Path]) -> None:
    ours, other = keys
    verify = Verifier([read_verify_key(ours / "signing.pub")])
    good = load_snapshot(signed(unsigned, ours), verify)
    assert good.manifest["signature"]["key_id"] in verify.keys
    rotated = Verifier([read_verify_key(other / "signing.pub"), read_verify_key(ours / "signing.pub")])
    assert load_snapshot(signed(unsigned, ours), rotated).digest == good.digest
    cases = {
        "unsigned": (unsigned, "snapshot is not signed; this edge accepts only snapshots signed by "),
        "foreign": (signed(unsigned, other), "which this edge does not trust (trusted: "),
        # The content changed and the digest was recomputed: the signature no longer holds.
        "altered": (_resealed(signed(unsigned, ours)), "does not verify: the snapshot was altered after it was signed"),
        # The content changed, the digest kept: the digest says so.
        "tampered": (signed(unsigned, ours).replace(b"A new version is available.", b"A new version is available!"),
                     "snapshot content does not match its digest"),
    }
    for name, (data, message) in cases.items():
        with pytest.raises(SnapshotError) as error:
            load_snapshot(data, verify)
        assert message in str(error.value), name


def _resealed(data: bytes) -> bytes:
    import hashlib

    head, rest = data.split(b"\n", 1)
    rest = rest.replace(b"A new version is available.", b"A new version is available!")
    manifest = json.loads(head)["manifest"]
    manifest["digest"] = "sha256:" + hashlib.sha256(rest).hexdigest()
    return canonical_json({"manifest": manifest}) + b"\n" + rest
