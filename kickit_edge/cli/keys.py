"""``keys new``: mint an app key or an admin token and write its hash into the config; ``keys signing``: a key pair for signed snapshots."""

from __future__ import annotations

import argparse

from ..errors import OperatorError
from .console import Subparsers, err, now, out

__all__ = ["register"]


def cmd_keys_new(args: argparse.Namespace) -> int:
    from ..editing.credentials import add_admin_token, add_app_key

    if (args.app is None) == (args.admin is None):
        raise OperatorError("give exactly one of --app ID (an app key) or --admin NAME (a management API token)")
    _still_ahead(args.expires)
    if args.admin is not None:
        if args.environment:
            raise OperatorError("--environment applies to app keys only")
        key = add_admin_token(args.config, args.admin, args.expires, args.note)
        err(f"Admin token {args.admin!r} added to {args.config} (prefix {key.prefix}). Store it now; it is not shown again:")
    else:
        key = add_app_key(args.config, args.app, args.environment or None, args.expires, args.note)
        err(f"Key for app {args.app!r} added to {args.config} (prefix {key.prefix}). Store it now; it is not shown again.")
        # `base64 -w0` would be shorter, but macOS's base64 has no -w.
        err("AppCockpit clients send it base64-encoded: x-api-token: $(printf %s KEY | base64 | tr -d '\\n')")
    out(str(key))
    return 0


def _still_ahead(expires: str | None) -> None:
    """A new credential that has expired already would be refused on its first use: say so now."""
    from ..compiler.model import parse_instant

    try:
        moment = parse_instant(expires) if expires is not None else None
    except ValueError:
        return  # the writer names what is wrong with the text
    if moment is not None and moment <= now():
        raise OperatorError(f"--expires {expires!r} has passed already: a credential expiring then could never be "
                            "used; give a later date")


def cmd_keys_signing(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..signing import write_key_pair

    out_dir = Path(args.out).resolve()
    config = Path(args.config).resolve()
    if out_dir == config or config in out_dir.parents:
        raise OperatorError(f"--out {args.out} is inside the config folder {args.config}: a private key there "
                            "would be committed with the config; keep it in a secret store")
    key_path, public_path, key_id = write_key_pair(Path(args.out))
    err(f"Signing key {key_id}: private key {key_path} (keep it secret: the CI that compiles needs it), "
        f"public key {public_path} (give it to every edge: serve --verify-key {public_path}).")
    out(key_id)
    return 0


def register(sub: Subparsers) -> None:
    keys = sub.add_parser("keys", help="manage keys", description="Manage app keys and admin tokens.")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)
    p = keys_sub.add_parser("new", help="mint a key and write its hash into the config",
                            description="Mint a key, write its prefix and SHA-256 into the config, and print the key "
                                        "once, alone, as the last line of stdout.")
    p.add_argument("--app", metavar="ID", help="the app the key belongs to")
    p.add_argument("--admin", metavar="NAME", help="mint a management API token with this name instead")
    p.add_argument("--config", default="config", metavar="DIR", help="config folder (default: config)")
    p.add_argument("--environment", action="append", metavar="E", help="limit the key to this environment (repeatable)")
    p.add_argument("--expires", metavar="DATE", help="expiry, e.g. 2027-01-31 or 2027-01-31T12:00:00Z")
    p.add_argument("--note", help="a note stored beside the key (never the secret)")
    p.set_defaults(func=cmd_keys_new)
    p = keys_sub.add_parser("signing", help="make an Ed25519 key pair to sign snapshots",
                            description="Write a new Ed25519 key pair: DIR/signing.key (private, mode 0600; "
                                        "for compile --sign) and DIR/signing.pub (for serve --verify-key). "
                                        "Prints the key id. Never overwrites a key, never writes into the config "
                                        "folder.")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for signing.key and signing.pub")
    p.add_argument("--config", default="config", metavar="DIR",
                   help="the config folder, which the key must stay out of (default: config)")
    p.set_defaults(func=cmd_keys_signing)
