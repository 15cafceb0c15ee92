"""Condition coverage (snapshot.condition_covers), the one rule behind shadowed targets and forcing diffs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kickit_edge.snapshot import Condition, condition_covers
from kickit_edge.versions import version_key

VERSIONS = ["1.0", "1.5", "2.0", "2.0.1", "2.1-beta.1", "2.1", "3", "10.0", "1.0.1-production"]


@st.composite
def conditions(draw: st.DrawFn) -> Condition | None:
    if draw(st.booleans()) and draw(st.booleans()):
        return None
    values = draw(st.none() | st.frozensets(st.sampled_from(VERSIONS), min_size=1, max_size=3))
    low = draw(st.none() | st.sampled_from(VERSIONS[:-1]))
    high = draw(st.none() | st.sampled_from(VERSIONS[:-1]))
    return Condition(values, version_key(low) if low else None, version_key(high) if high else None)


def _accepts(condition: Condition | None, value: str) -> bool:
    return condition is None or condition.accepts(value)


@given(conditions(), conditions())
def test_a_covering_condition_accepts_everything_the_covered_one_does(wide: Condition | None,
                                                                     narrow: Condition | None) -> None:
    if condition_covers(wide, narrow):
        assert all(_accepts(wide, v) for v in VERSIONS if _accepts(narrow, v))


def test_coverage_of_ranges_and_sets() -> None:
    def span(low: str | None, high: str | None) -> Condition:
        return Condition(None, version_key(low) if low else None, version_key(high) if high else None)

    assert condition_covers(None, span("1.0", "2.0"))
    assert not condition_covers(span("1.0", "2.0"), None)
    assert condition_covers(span("1.0", "3"), span("1.5", "2.0"))
    assert not condition_covers(span("1.5", "3"), span("1.0", "2.0"))
    assert not condition_covers(span(None, "2.0"), span("1.0", None))
    assert condition_covers(span("1.0", "2.0"), Condition(frozenset({"1.5", "1.0"}), None, None))
    assert not condition_covers(span("1.0", "2.0"), Condition(frozenset({"1.5", "2.0"}), None, None))
    assert not condition_covers(Condition(frozenset({"1.5"}), None, None), span("1.5", "1.6"))
