"""Version ordering: total, consistent, PEP 440-exact, and kind to mobile version strings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from kickit_edge.versions import InvalidVersion, compare_versions, version_key

release = st.lists(st.integers(0, 30), min_size=1, max_size=4).map(lambda parts: ".".join(map(str, parts)))
pre = st.one_of(st.just(""), st.tuples(st.sampled_from(["a", "b", "rc", "-alpha.", "-beta.", "-rc."]),
                                        st.integers(0, 5)).map(lambda t: f"{t[0]}{t[1]}"))
post = st.one_of(st.just(""), st.integers(0, 3).map(lambda n: f".post{n}"))
dev = st.one_of(st.just(""), st.integers(0, 3).map(lambda n: f".dev{n}"))
local = st.one_of(st.just(""), st.lists(st.one_of(st.integers(0, 9).map(str), st.sampled_from(["abc", "ubuntu", "x"])),
                                        min_size=1, max_size=3).map(lambda p: "+" + ".".join(p)))
epoch = st.one_of(st.just(""), st.integers(1, 2).map(lambda n: f"{n}!"))
pep440 = st.builds(lambda e, r, p, po, d, lo: e + r + p + po + d + lo, epoch, release, pre, post, dev, local)

label = st.sampled_from(["production", "SNAPSHOT", "hotfix", "alpha", "beta", "rc", "x"])
ident = st.one_of(st.integers(0, 20).map(str), label)
semverish = st.builds(
    lambda r, ids, build: r + ("-" + ".".join(ids) if ids else "") + build,
    release, st.lists(ident, max_size=3), st.one_of(st.just(""), st.just("+45"), st.just("+build.7")),
)
any_version = st.one_of(pep440, semverish)


def sign(n: int) -> int:
    return (n > 0) - (n < 0)


@settings(max_examples=400)
@given(pep440, pep440)
def test_agrees_with_packaging_on_pep440(a: str, b: str) -> None:
    expected = sign((Version(a) > Version(b)) - (Version(a) < Version(b)))
    assert compare_versions(a, b) == expected


@settings(max_examples=300)
@given(any_version, any_version, any_version)
def test_order_is_total_and_transitive(a: str, b: str, c: str) -> None:
    assert compare_versions(a, b) == -compare_versions(b, a)
    assert compare_versions(a, a) == 0
    if compare_versions(a, b) <= 0 and compare_versions(b, c) <= 0:
        assert compare_versions(a, c) <= 0


@given(release)
def test_trailing_zeros_do_not_matter(r: str) -> None:
    assert compare_versions(r, r + ".0") == 0
    assert compare_versions(r + ".0.0", r) == 0


def test_two_one_equals_two_one_zero() -> None:
    assert compare_versions("2.1", "2.1.0") == 0
    assert version_key("v2.1") == version_key("2.1.0")


def test_semver_prereleases_in_order() -> None:
    chain = ["2.0.0-alpha.1", "2.0.0-alpha.4", "2.0.0-beta.1", "2.0.0-rc.1", "2.0.0"]
    for lower, higher in zip(chain, chain[1:]):
        assert compare_versions(lower, higher) == -1, (lower, higher)
    assert compare_versions("2.0.0-beta.2", "2.0.0-beta.11") == -1


def test_mobile_labels_sort_after_rc_and_before_the_release() -> None:
    assert compare_versions("1.0.1-rc.3", "1.0.1-production") == -1
    assert compare_versions("1.0.1-production", "1.0.1") == -1
    assert compare_versions("1.0.0", "1.0.1-production") == -1
    assert compare_versions("3.2.0-SNAPSHOT", "3.2.0") == -1
    assert compare_versions("1.0.1-alpha.x", "1.0.1-beta") == -1


def test_build_metadata_is_ignored_for_order() -> None:
    assert compare_versions("1.0.1-production+45", "1.0.1-production+46") == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "'' is not a version: expected no surrounding spaces"),
        (" 2.0", "' 2.0' is not a version: expected no surrounding spaces"),
        ("latest", "'latest' is not a version: expected it to start with a number, as in 2.5.0"),
        ("1.0..2", "'1.0..2' is not a version: expected PEP 440 (2.5.0, 2.0.0rc1) or semver-like "
                   "(1.0.1-production, 2.0.0-beta.2+45)"),
        ("1" * 65, "version is longer than 64 characters"),
    ],
)
def test_unorderable_strings_are_rejected_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidVersion) as error:
        version_key(text)
    assert str(error.value) == message
