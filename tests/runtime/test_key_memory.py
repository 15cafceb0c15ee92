"""Key headers that authorized are remembered per snapshot; expiry and revocation still hold."""

from __future__ import annotations

from kickit_edge.evaluation import UNAUTHORIZED, Grant
from kickit_edge.keys import decode_token, parse_key
from kickit_edge.runtime.context import Runtime
from kickit_edge.runtime.state import SnapshotState
from kickit_edge.loader import load_snapshot

from .conftest import SHOP_KEY, token


def test_a_remembered_header_still_expires_and_is_forgotten_with_its_snapshot(snapshot_bytes: bytes) -> None:
    first, second = load_snapshot(snapshot_bytes), load_snapshot(snapshot_bytes)
    now = [1_000.0]
    runtime = Runtime(SnapshotState(), clock=lambda: now[0])
    header = token(SHOP_KEY).encode()
    grant = runtime.authorize_header(first, header, decode_token)
    assert isinstance(grant, Grant) and grant.key == parse_key(SHOP_KEY) and grant.app is first.apps[grant.record.app]
    assert runtime.authorize_header(first, header, decode_token) is grant  # from memory
    assert runtime.authorize_header(first, b"bm9wZQ==", decode_token) is UNAUTHORIZED
    # A remembered header is checked against its key's expiry on every use.
    prefix = SHOP_KEY.split(".")[0]
    object.__setattr__(first, "keys", {**first.keys, prefix: first.keys[prefix]._replace(expires=2_000.0)})
    runtime._verified.clear()
    assert isinstance(runtime.authorize_header(first, header, decode_token), Grant)
    now[0] = 2_000.0
    assert runtime.authorize_header(first, header, decode_token) is UNAUTHORIZED
    # A new snapshot starts with an empty memory: a key it no longer holds stops working at once.
    now[0] = 1_000.0
    assert isinstance(runtime.authorize_header(second, header, decode_token), Grant)
    object.__setattr__(first, "keys", {})
    assert runtime.authorize_header(first, header, decode_token) is UNAUTHORIZED
    # KickIt's raw X-API-KEY goes through the same memory, kept apart from x-api-token.
    assert isinstance(runtime.authorize_header(second, SHOP_KEY.encode(), parse_key), Grant)
