"""The errors of kickit-edge, split by who must act.

::

    KickitError                     base; the CLI turns it into a message and exit code
    +-- ConfigError                 the YAML author: the config is invalid (carries diagnostics)
    +-- ConfigTestFailure           the YAML author: a config test case does not hold
    +-- SnapshotError               the operator: a snapshot is missing, corrupt or of another schema
    +-- OperatorError               the operator: a bad flag, an unwritable folder, a missing app
        +-- EventWriteError         (runtime.eventlog) an event line could not be appended

Client mistakes on the wire are not exceptions of this tree: each API answers
them in its seed's error shape with the seed's texts.
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


class ConfigTestFailure(KickitError):
    """One or more config test cases do not hold."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        super().__init__("\n".join(failures))


class SnapshotError(KickitError):
    """A snapshot could not be read, parsed or verified."""


class OperatorError(KickitError):
    """The operator asked for something that cannot be done (bad flag, unwritable folder)."""

    exit_code = 2
