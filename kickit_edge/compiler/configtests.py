"""Config tests: expectation cases kept beside the rules, run against the compiled snapshot.

Cases are evaluated through the loaded snapshot and the shared evaluation
module, exactly as the runtime answers, so a passing case is a promise about
the wire. Every case is evaluated at its ``at``; a case without one at
``SOURCE_DATE_EPOCH`` when set, else now (pin ``at`` on every case whose
answer depends on time: schedules, deadlines, releases, windows).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

from ..evaluation import TargetRequest, check_maintenance, check_target, check_versions
from ..snapshot import Answer, Snapshot
from .model import Config, TestCase

__all__ = ["CaseResult", "run_config_tests"]


@dataclass(frozen=True)
class CaseResult:
    app: str
    case: TestCase
    verdict: str
    rule: str | None
    message: str | None
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = self.case.where.diagnostic(f"test {self.case.name!r}")
        return f"{head}: " + "; ".join(self.problems)


def _message(case: TestCase, answer: Answer) -> str | None:
    if answer.status != 200:
        return None
    body = json.loads(answer.body)
    field = {"versions": "update_message", "target": "message", "maintenance": "title"}[case.check]
    value = body.get(field)
    return value if isinstance(value, str) else None


def _evaluate(snapshot: Snapshot, app_id: str, case: TestCase) -> Answer | None:
    app = snapshot.apps[app_id]
    if app.disabled:
        return None
    if case.at is not None:
        at = case.at.timestamp()
    else:
        at = float(os.environ.get("SOURCE_DATE_EPOCH") or time.time())
    if case.check == "versions":
        assert case.platform and case.environment and case.version  # enforced by the checks
        return check_versions(app, case.platform, case.environment, case.version, 1, at, case.os_version)
    if case.check == "maintenance":
        assert case.environment
        return check_maintenance(snapshot, app, case.environment, at)
    request = TargetRequest(case.version, case.build, case.platform, case.os_version,
                            case.environment or app.environments[0])
    return check_target(app, request, at)


def run_config_tests(config: Config, snapshot: Snapshot) -> list[CaseResult]:
    """Run every case of every app; return one result per case, in file order."""
    results = []
    for app in config.apps:
        for case in app.tests:
            answer = _evaluate(snapshot, app.id, case)
            verdict = answer.verdict if answer is not None else "app_disabled"
            rule = answer.rule if answer is not None else None
            message = _message(case, answer) if answer is not None else None
            problems = []
            expected = case.expect
            if expected["verdict"] != verdict:
                problems.append(f"expected verdict {expected['verdict']}, got {verdict}"
                                + (f" (rule {rule})" if rule else " (no rule)"))
            if "rule" in expected and expected["rule"] != rule:
                problems.append(f"expected rule {expected['rule']}, got {rule}")
            if "message" in expected and expected["message"] != message:
                problems.append(f"expected message {expected['message']!r}, got {message!r}")
            results.append(CaseResult(app.id, case, verdict, rule, message, tuple(problems)))
    return results
