"""Version ordering shared by the compiler and the runtime.

Mobile apps ship versions that are not always PEP 440 (``1.0.1-production``,
``3.2.0-SNAPSHOT``), yet rules such as "minimum version 2.0.0" must order them
all. The rule, documented in the README:

1. A leading ``v`` is ignored. A string that is valid PEP 440 orders exactly as
   :mod:`packaging` orders it, so ``2.1 == 2.1.0`` and
   ``2.0.0-alpha.1 < 2.0.0-beta.1 < 2.0.0-rc.1 < 2.0.0`` (PEP 440 reads the
   semver spellings ``-alpha.1``, ``-beta.1``, ``-rc.1`` as ``a1``, ``b1``,
   ``rc1``).
2. Any other string of the form ``1.2.3-label.ids+build`` is read the semver
   way: the part after ``-`` is a pre-release, so it sorts below ``1.2.3``.
   A label starting with ``alpha``/``a``, ``beta``/``b`` or ``rc``/``c``/``pre``
   sits among PEP 440's pre-releases of the same phase; any other label
   (``production``, ``SNAPSHOT``, ``hotfix``) sorts after ``rc`` and before the
   release. Identifiers compare the semver way: numbers numerically, below
   words, words in ASCII order. Build metadata after ``+`` is ignored.
3. Anything else (no leading number, empty, longer than
   :data:`MAX_VERSION_LENGTH`) cannot be ordered: :class:`InvalidVersion`.

Keys are plain tuples of ints and strings, so the order is total and
consistent between both kinds of string. Two strings with equal keys are the
same version for ordering; exact-version rules still match the string itself.
"""

from __future__ import annotations

import re
from functools import lru_cache

from packaging.version import InvalidVersion as _PEP440Invalid
from packaging.version import Version

__all__ = ["InvalidVersion", "MAX_VERSION_LENGTH", "VersionKey", "version_key", "orderable_key", "compare_versions"]

MAX_VERSION_LENGTH = 64

VersionKey = tuple[object, ...]

_FALLBACK = re.compile(
    r"^(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre>[0-9A-Za-z]+(?:[.\-_][0-9A-Za-z]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z]+(?:[.\-][0-9A-Za-z]+)*))?$"
)
_PHASES = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}
_UNKNOWN_PHASE = 3
_DEV_ONLY, _PRE, _NO_PRE = 0, 1, 2


class InvalidVersion(ValueError):
    """A version string that has no place in the order."""


def _trim(release: tuple[int, ...]) -> tuple[int, ...]:
    end = len(release)
    while end and release[end - 1] == 0:
        end -= 1
    return release[:end]


def _identifier(part: str) -> tuple[int, int | str]:
    # Semver: numeric identifiers sort below alphanumeric ones.
    return (0, int(part)) if part.isdigit() else (1, part)


def _pep440_key(version: Version) -> VersionKey:
    if version.pre is not None:
        label, number = version.pre
        pre: tuple[object, ...] = (_PRE, _PHASES[label], ((0, number),))
    elif version.post is None and version.dev is not None:
        pre = (_DEV_ONLY,)
    else:
        pre = (_NO_PRE,)
    post = (0,) if version.post is None else (1, version.post)
    dev = (1,) if version.dev is None else (0, version.dev)
    if version.local is None:
        local: tuple[object, ...] = (0,)
    else:
        # PEP 440: in a local label, words sort below numbers.
        parts = version.local.split(".")
        local = (1, tuple((1, int(p)) if p.isdigit() else (0, p) for p in parts))
    return (version.epoch, _trim(version.release), pre, post, dev, local)


def _fallback_key(text: str) -> VersionKey:
    match = _FALLBACK.match(text)
    if match is None:
        raise InvalidVersion(
            f"{text!r} is not a version: expected PEP 440 (2.5.0, 2.0.0rc1) "
            "or semver-like (1.0.1-production, 2.0.0-beta.2+45)"
        )
    release = tuple(int(p) for p in match["release"].split("."))
    parts = re.split(r"[.\-_]", match["pre"]) if match["pre"] else []
    if not parts:
        pre: tuple[object, ...] = (_NO_PRE,)
    else:
        head = parts[0].lower()
        phase = _PHASES.get(head)
        if phase is None:
            idents = tuple(_identifier(p) for p in parts)
            pre = (_PRE, _UNKNOWN_PHASE, idents)
        else:
            pre = (_PRE, phase, tuple(_identifier(p) for p in parts[1:]))
    return (0, _trim(release), pre, (0,), (1,), (0,))


def version_key(text: str) -> VersionKey:
    """Return the sort key of ``text``; raise :class:`InvalidVersion` if it has none."""
    key = _cached_key(text)
    if isinstance(key, InvalidVersion):
        raise InvalidVersion(*key.args)
    return key


def orderable_key(text: str) -> VersionKey | None:
    """The sort key of ``text``, or ``None`` when it has none (the hot path's form: no exception)."""
    key = _cached_key(text)
    return None if isinstance(key, InvalidVersion) else key


@lru_cache(maxsize=65536)
def _cached_key(text: str) -> VersionKey | InvalidVersion:
    # Cached, failures included: the runtime asks for client versions on every
    # minimum-rule check, and clients repeat the same few strings (bad ones too).
    try:
        return _key(text)
    except InvalidVersion as exc:
        return exc


def _key(text: str) -> VersionKey:
    if not isinstance(text, str):
        raise InvalidVersion(f"expected a version string, got {type(text).__name__}")
    if len(text) > MAX_VERSION_LENGTH:
        raise InvalidVersion(f"version is longer than {MAX_VERSION_LENGTH} characters")
    stripped = text.strip()
    if stripped != text or not text:
        raise InvalidVersion(f"{text!r} is not a version: expected no surrounding spaces")
    body = text[1:] if text[:1] in ("v", "V") else text
    if not body[:1].isdigit():
        raise InvalidVersion(
            f"{text!r} is not a version: expected it to start with a number, as in 2.5.0"
        )
    try:
        return _pep440_key(Version(body))
    except _PEP440Invalid:
        return _fallback_key(body)


def compare_versions(left: str, right: str) -> int:
    """Return -1, 0 or 1 as ``left`` orders before, with or after ``right``."""
    a, b = version_key(left), version_key(right)
    return (a > b) - (a < b)
