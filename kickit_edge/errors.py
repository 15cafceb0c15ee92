"""The errors of kickit-edge, split by who must act.

::

    KickitError                     base; the CLI turns it into a message and exit code
    +-- ConfigError                 the YAML author: the config is invalid (carries diagnostics)
    +-- ConfigTestFailure           the YAML author: a config test case does not hold
    +-- SnapshotError               the operator: a snapshot is missing, corrupt or of another schema
    +-- OperatorError               the operator: a bad flag, an unwritable folder, a missing app
        +-- EventWriteError         (runtime.eventlog) an event line could not be appended
        +-- DamagedFile             (analytics.eventfiles) a compressed event file ends early or is corrupt

Client mistakes on the wire are not exceptions of this tree: each API answers
them in its seed's error shape with the seed's texts (the admin API's own tree
is drawn in ``admin/errors.py``). Pure functions reject bad input with a
``ValueError`` that says what was expected (``InvalidVersion``,
``MalformedEvent``), which their callers turn into one of the errors above.

The texts that report an error to people live on its class: a ConfigError
prints every diagnostic and then how many (:meth:`ConfigError.report`), a
ConfigTestFailure every failing case (:meth:`ConfigTestFailure.report`).
"""

from __future__ import annotations

from dataclasses import dataclass


class KickitError(Exception):
    """Base of every error kickit-edge raises on purpose."""

    exit_code = 1


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in the config, located as ``path:line:col: where: what``."""

    path: str
    line: int
    column: int
    where: str
    message: str

    def __str__(self) -> str:
        where = f"{self.where}: " if self.where else ""
        return f"{self.path}:{self.line}:{self.column}: {where}{self.message}"


class ConfigError(KickitError):
    """The config is invalid; ``diagnostics`` lists every problem found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    def report(self, outcome: str) -> list[str]:
        """The lines to print: every diagnostic, then ``2 problems found; <outcome>``."""
        return [*map(str, self.diagnostics), f"{counted(len(self.diagnostics), 'problem')} found; {outcome}"]


class ConfigTestFailure(KickitError):
    """One or more config test cases do not hold."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        super().__init__("\n".join(failures))

    @property
    def lines(self) -> list[str]:
        """``FAIL <where>: <case>: expected ..., got ...``, one line for each case that does not hold."""
        return [f"FAIL {failure}" for failure in self.failures]

    def report(self, outcome: str) -> list[str]:
        """The lines to print: each failing case, then ``1 config test failed; <outcome>``."""
        return [*self.lines, f"{counted(len(self.failures), 'config test')} failed; {outcome}"]


class SnapshotError(KickitError):
    """A snapshot could not be read, parsed or verified."""


class OperatorError(KickitError):
    """The operator asked for something that cannot be done (bad flag, unwritable folder)."""

    exit_code = 2


def counted(n: int, noun: str) -> str:
    """``n`` (with thousands separators) and ``noun``, plural unless one: ``1 problem``, ``1,204 lines``."""
    return f"{n:,} {noun}{'s' if n != 1 else ''}"
