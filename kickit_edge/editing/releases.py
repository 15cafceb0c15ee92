"""Writing store releases into an app's file: ``releases add`` (release pipelines), ``releases sync`` (App Store).

A release says which version users can install, from when, on which OS
(see DESIGN.md, "Never lock users out by accident"). Both commands edit the
app's YAML in place, keeping its comments and layout, and write only a config
that still compiles. Adding a release that is already listed (same platform
and version) updates it, so a pipeline can call ``releases add`` again.

``releases sync`` reads Apple's public lookup API
(``https://itunes.apple.com/lookup?bundleId=...&country=...``) for the app's
``bundle``: the live version, its release date and its minimum OS. Asked for
several countries, it records the lowest live version (the one every country
has) and the latest date it went live among them. Google Play has no public
lookup API; Android releases are recorded with ``releases add``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from ..errors import OperatorError
from ..versions import InvalidVersion, VersionKey, version_key
from ..compiler.model import AppConfig, parse_instant
from . import APP_STORE_LOOKUP
from .comments import append_entry, insert_entry, remove_entry, set_entry
from .edit import app_to_edit, apply_edits, dump_document, edit_lock, load_document

__all__ = ["Outcome", "ReleaseRecord", "add_release", "lookup_release", "APP_STORE_LOOKUP"]

LOOKUP_TIMEOUT = 20.0
MAX_LOOKUP_BYTES = 1 << 20


@dataclass(frozen=True)
class ReleaseRecord:
    """A release as written: ``available_from`` in UTC (``2027-01-12T08:00:00Z``)."""

    platform: str
    version: str
    available_from: str
    min_os: str | None = None
    note: str | None = None


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(text: str | None, now: datetime) -> str:
    if text is None:
        return _utc(now)
    try:
        return _utc(parse_instant(text))
    except ValueError:
        raise OperatorError(f"--available-from {text!r} is not a time: expected ISO 8601 such as "
                            "2027-01-12T09:00:00Z or 2027-01-12") from None


def _orderable(flag: str, text: str | None) -> None:
    try:
        if text is not None:
            version_key(text)
    except InvalidVersion as exc:
        raise OperatorError(f"{flag}: {exc}") from None


Outcome = Literal["added", "updated", "unchanged"]


def add_release(config_dir: str, app_id: str, platform: str, version: str, available_from: str | None = None,
                min_os: str | None = None, note: str | None = None,
                now: datetime | None = None, keep_note: bool = False) -> tuple[ReleaseRecord, Outcome]:
    """Write a release into the app's file (default available from ``now``); return it and what was done.

    An existing entry keeps its ``available_from`` as written (its time zone and comment too) when it is the
    same instant; with ``keep_note``, it keeps a note it has (``note`` then only starts one).
    """
    _orderable("--version", version)
    _orderable("--min-os", min_os)
    record = ReleaseRecord(platform, version, _instant(available_from, now or datetime.now(UTC)), min_os, note)
    with edit_lock(config_dir):
        app = app_to_edit(config_dir, app_id)
        if platform not in app.platforms:
            raise OperatorError(f"--platform {platform!r} is not one of the app's platforms {list(app.platforms)}")
        path = Path(app.where.source.path)
        document = load_document(path)
        if document.get("releases") is None:
            document["releases"] = CommentedSeq()
        releases = document["releases"]
        index = next((i for i, entry in enumerate(releases)
                      if entry.get("platform") == platform and str(entry.get("version")) == version), None)
        existing = releases[index] if index is not None else None
        if existing is not None:
            if not _same_instant(app, platform, version, record.available_from):
                # The old instant goes with its end-of-line comment (it described the old value) and its
                # timezone (the instant written is UTC); the comment lines that follow stay.
                position = list(existing).index("available_from")
                for name in ("available_from", "timezone"):
                    if name in existing:
                        remove_entry(releases, index, name)
                insert_entry(existing, position, "available_from", DoubleQuotedScalarString(record.available_from))
            if min_os is not None and str(existing.get("min_os")) != min_os:
                set_entry(existing, "min_os", DoubleQuotedScalarString(min_os))
            if note is not None and not (keep_note and existing.get("note")) and existing.get("note") != note:
                set_entry(existing, "note", note)
        else:
            entry = CommentedMap(platform=platform, version=DoubleQuotedScalarString(version),
                                 available_from=DoubleQuotedScalarString(record.available_from))
            if min_os is not None:
                entry["min_os"] = DoubleQuotedScalarString(min_os)
            if note is not None:
                entry["note"] = note
            append_entry(document, "releases", entry)
        text = dump_document(document)
        if text == path.read_text(encoding="utf-8"):
            return record, "unchanged"
        apply_edits(config_dir, {path: text})
    return record, "added" if existing is None else "updated"


def _same_instant(app: AppConfig, platform: str, version: str, instant: str) -> bool:
    """Whether the app's release ``platform`` ``version`` is available from ``instant`` (UTC, as written) already."""
    release = next((r for r in app.releases if r.platform == platform and r.version == version), None)
    return release is not None and release.available_from is not None and _utc(release.available_from) == instant


def _lookup(url: str, bundle: str, country: str) -> dict[str, object]:
    query = urllib.parse.urlencode({"bundleId": bundle, "country": country})
    address = f"{url}{'&' if '?' in url else '?'}{query}"
    try:
        with urllib.request.urlopen(address, timeout=LOOKUP_TIMEOUT) as response:  # noqa: S310 (http(s) only)
            data = response.read(MAX_LOOKUP_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OperatorError(f"cannot read the App Store lookup at {address}: {reason}") from None
    try:
        if len(data) > MAX_LOOKUP_BYTES:
            raise ValueError("answer too large")
        results = json.loads(data)["results"]
        if not isinstance(results, list):
            raise ValueError("results is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise OperatorError(f"the App Store lookup at {address} did not answer as expected: {exc}") from None
    found = next((r for r in results if isinstance(r, dict) and r.get("bundleId", bundle) == bundle), None)
    if found is None:
        raise OperatorError(f"the App Store lists no app with bundle id {bundle!r} in country {country!r}")
    return found


def lookup_release(app_bundle: str, countries: list[str], url: str = APP_STORE_LOOKUP) -> ReleaseRecord:
    """The iOS release live in every one of ``countries``, as the App Store lookup API reports it."""
    live: list[tuple[VersionKey, str, str, str | None]] = []
    for country in countries:
        found = _lookup(url, app_bundle, country)
        version, released, min_os = found.get("version"), found.get("currentVersionReleaseDate"), found.get(
            "minimumOsVersion")
        if not isinstance(version, str) or not isinstance(released, str):
            raise OperatorError(f"the App Store lookup for {app_bundle!r} in {country!r} has no version "
                                "and currentVersionReleaseDate")
        try:
            key = version_key(version)
            moment = _utc(parse_instant(released))
        except (InvalidVersion, ValueError) as exc:
            raise OperatorError(f"the App Store lookup for {app_bundle!r} in {country!r}: {exc}") from None
        live.append((key, version, moment, min_os if isinstance(min_os, str) else None))
    lowest = min(live, key=lambda item: item[0])
    same = [item for item in live if item[1] == lowest[1]]
    note = f"App Store ({', '.join(countries)})"
    return ReleaseRecord("ios", lowest[1], max(item[2] for item in same), lowest[3], note)
