"""The error hierarchy: drawn whole in errors.py, and the texts that report an error live on its class."""

from __future__ import annotations

import importlib
import pkgutil

import kickit_edge
from kickit_edge.errors import ConfigError, ConfigTestFailure, Diagnostic, KickitError


def _subclasses(cls: type[KickitError]) -> set[type[KickitError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_the_hierarchy_in_the_docstring_names_every_error_class() -> None:
    for module in pkgutil.walk_packages(kickit_edge.__path__, "kickit_edge."):
        if not module.name.endswith(".__main__"):  # that one runs the command
            importlib.import_module(module.name)
    import kickit_edge.errors as errors

    drawn = {line.split()[1] for line in (errors.__doc__ or "").splitlines() if line.strip().startswith("+--")}
    assert {cls.__name__ for cls in _subclasses(KickitError)} == drawn


def test_a_config_error_reports_every_diagnostic_then_how_many() -> None:
    error = ConfigError([Diagnostic("config/apps/b.yaml", 3, 5, "app.id", "duplicate app id 'x'"),
                         Diagnostic("config/apps/a.yaml", 14, 5, "", "YAML syntax error: found a tab")])
    assert error.report("nothing published") == [
        "config/apps/a.yaml:14:5: YAML syntax error: found a tab",
        "config/apps/b.yaml:3:5: app.id: duplicate app id 'x'",
        "2 problems found; nothing published",
    ]
    one = ConfigError([Diagnostic("config", 1, 1, "", "no YAML files found")])
    assert one.report("still serving the last good snapshot (if any)")[-1] == (
        "1 problem found; still serving the last good snapshot (if any)")


def test_a_config_test_failure_reports_every_failing_case_then_how_many() -> None:
    failure = ConfigTestFailure(["a.yaml:25:5: tests[0]: test 'x': expected verdict soft, got hard"])
    assert failure.lines == ["FAIL a.yaml:25:5: tests[0]: test 'x': expected verdict soft, got hard"]
    assert failure.report("nothing published") == [*failure.lines, "1 config test failed; nothing published"]
    assert ConfigTestFailure(["a", "b"]).report("x")[-1] == "2 config tests failed; x"
