#!/usr/bin/env python3
"""Write a synthetic config of N apps for benchmarks and load tests.

Each app has 2 platforms x 2 environments x ~25 exact versions (so the
default 10,000 apps make about 1,000,000 rules), a minimum version per
platform and environment, two KickIt targets, localized messages, maintenance
with a window, and one key. The output is deterministic for a given seed.
Keys are written to ``--keys-out`` (never into the config): one
``app_id<TAB>key`` line per app, for load generators.

    python scripts/generate_config.py OUT_DIR [--apps 10000] [--versions 25] [--seed 1]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
import uuid
from pathlib import Path

PLATFORMS = ("ios", "android")
ENVIRONMENTS = ("production", "staging")


def _key(rng: random.Random) -> tuple[str, str]:
    prefix = "%016x" % rng.getrandbits(64)
    secret = "%064x" % rng.getrandbits(256)
    return prefix, secret


def app_yaml(index: int, versions: int, rng: random.Random) -> tuple[str, str, str]:
    """Return (app id, YAML text, key) for app number ``index``."""
    app_id = f"app{index:05d}"
    prefix, secret = _key(rng)
    app_uuid = uuid.UUID(int=rng.getrandbits(128), version=4)
    lines = [
        "app:",
        f"  id: {app_id}",
        f"  name: App {index}",
        f"  uuid: {app_uuid}",
        f"  public_key: PK{index:08d}",
        "  platforms: [ios, android]",
        "  environments: [production, staging]",
        "  default_locale: en",
        "keys:",
        f"  - prefix: \"{prefix}\"",  # quoted: an all-digit prefix would read as a number
        f"    sha256: {hashlib.sha256(secret.encode()).hexdigest()}",
        "messages:",
        "  soft:",
        "    en: A new version is available.",
        "    de: Eine neue Version ist verfuegbar.",
        "    fr: Une nouvelle version est disponible.",
        "  hard:",
        "    en: Please update to continue.",
        "    de: Bitte aktualisieren.",
        "versions:",
    ]
    for platform in PLATFORMS:
        for environment in ENVIRONMENTS:
            count = max(1, versions + rng.randint(-2, 2))
            for n in range(count):
                major, minor = 1 + n // 10, n % 10
                force = "true" if n < count // 4 else "false"
                enabled = "false" if n % 13 == 12 else "true"
                lines.append(f'  - {{version: "{major}.{minor}.0", platform: {platform}, '
                             f"environment: {environment}, enabled: {enabled}, force_update: {force}, "
                             f"message: {'hard' if force == 'true' else 'soft'}}}")
    lines.append("minimum_versions:")
    for platform in PLATFORMS:
        for environment in ENVIRONMENTS:
            lines.append(f'  - {{version: "1.{rng.randint(1, 9)}.0", platform: {platform}, '
                         f"environment: {environment}, force_update: true, message: hard}}")
    lines += [
        "targets:",
        "  - {id: old-os, hard: true, message: hard, platforms: [ios], os_version: {below: '12'}}",
        "  - {id: legacy, message: soft, version: {below: '1.5.0'}, build: {min: '100'}}",
        "maintenance:",
        "  staging:",
        "    active: false",
        "    windows:",
        "      - {start: '2030-01-01T02:00:00', end: '2030-01-01T03:00:00', timezone: UTC, title: Upgrade}",
    ]
    return app_id, "\n".join(lines) + "\n", f"{prefix}.{secret}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="config folder to write (created)")
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=25, help="exact versions per platform and environment")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keys-out", type=Path, help="write app_id<TAB>key lines here (default: OUT/../keys.tsv)")
    args = parser.parse_args(argv)
    if args.apps < 1 or args.versions < 1:
        parser.error("--apps and --versions must be at least 1")
    rng = random.Random(args.seed)
    apps_dir = args.out / "apps"
    apps_dir.mkdir(parents=True, exist_ok=True)
    keys_out = args.keys_out or args.out.parent / f"{args.out.name}-keys.tsv"
    started = time.monotonic()
    with keys_out.open("w") as keys:
        for i in range(args.apps):
            app_id, text, key = app_yaml(i, args.versions, rng)
            (apps_dir / f"{app_id}.yaml").write_text(text)
            keys.write(f"{app_id}\t{key}\n")
            if (i + 1) % 1000 == 0 or i + 1 == args.apps:
                print(f"\r{i + 1}/{args.apps} apps written", end="", file=sys.stderr, flush=True)
    print(f"\nwrote {args.apps} apps to {args.out} in {time.monotonic() - started:.1f} s; keys in {keys_out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
