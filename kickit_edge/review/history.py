"""Who changed the config, what, and when: the git log of the config folder, each commit with its verdict changes.

Every commit that touched the folder is compared with its first parent by the
code behind ``kickit-edge diff`` (:func:`~.diff.diff_sides` over two
:func:`~.side.revision_side`), so a write through the management API and a
hand edit in an ordinary commit read the same way. A revision is compiled
once, however many entries it is a side of. A commit whose config (or whose
parent's) is invalid is listed with the reason instead of its changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ..compiler.builder import build_config, read_config
from ..errors import ConfigError, OperatorError
from .diff import Diff, diff_sides
from ..vocabulary import ReportFormat
from .report import render_diff
from ..compiler.repository import Repository
from .side import Side, config_side, revision_side

__all__ = ["Entry", "read_history", "render_history"]

_FIELD, _RECORD = "\x1f", "\x1e"


@dataclass(frozen=True)
class Entry:
    """One commit of the config folder."""

    commit: str
    parent: str | None  # the first parent; None for the first commit
    author: str
    email: str
    time: datetime
    subject: str
    files: tuple[str, ...]  # changed, relative to the config folder
    diff: Diff | None  # None when ``problem`` says why
    problem: str | None = None


class _Sides:
    """Each revision compiled once: a Side, or the reason there is none."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        # The side before the first commit of the folder: no apps at all.
        self.cache: dict[str | None, Side | str] = {None: config_side("(nothing)", build_config(".", [])[0])}

    def get(self, commit: str | None) -> Side | str:
        if commit not in self.cache:
            assert commit is not None
            names = self.repo.output("ls-tree", "-r", "--name-only", commit, "--", self.repo.inside).split("\n")
            if not any(name.endswith((".yaml", ".yml")) for name in names):
                return self.cache[None]  # the config came later: before it, no app at all
            try:
                self.cache[commit] = revision_side(self.repo, commit, commit[:7])
            except (ConfigError, OperatorError) as error:
                first = str(error).split("\n", 1)[0]
                self.cache[commit] = f"the config at {commit[:7]} is invalid: {first}"
        return self.cache[commit]


def _entries(repo: Repository, since: datetime | None) -> list[tuple[list[str], list[str]]]:
    """(header fields, changed files) for each commit that touched the folder, newest first."""
    fields = _FIELD.join(["%H", "%P", "%an", "%ae", "%aI", "%s"])
    args = ["log", f"--format={_RECORD}{fields}", "--name-only", "--no-renames"]
    if since is not None:
        args.append(f"--since={since.isoformat()}")
    if repo.commit_of("HEAD") is None:
        return []  # a repository without commits has no history
    out = repo.output(*args, "--", repo.inside)
    found = []
    for record in out.split(_RECORD)[1:]:
        header, *files = record.strip("\n").split("\n")
        found.append((header.split(_FIELD), [f for f in files if f]))
    return found


def _relative(repo: Repository, name: str) -> str:
    return name if repo.inside == "." else str(PurePosixPath(name).relative_to(repo.inside))


def _only(diff: Diff, app: str) -> Diff:
    return Diff(diff.base, diff.head, [a for a in diff.apps if a.id == app])


def read_history(config_dir: str, app: str | None = None, since: datetime | None = None) -> list[Entry]:
    """The commits of ``config_dir``, newest first; with ``app``, those that change it (its verdicts or its file)."""
    if not Path(config_dir).is_dir():
        raise OperatorError(f"config folder {config_dir!r} not found: expected a folder of YAML files")
    repo = Repository.find(config_dir)
    if repo is None:
        raise OperatorError(f"{config_dir} is not inside a git repository, so it has no history")
    sides = _Sides(repo)
    entries = []
    for (commit, parents, author, email, when, subject), names in _entries(repo, since):
        parent = parents.split()[0] if parents else None
        files = tuple(_relative(repo, n) for n in names)
        base, head = sides.get(parent), sides.get(commit)
        diff: Diff | None = None
        problem: str | None = None
        if isinstance(head, str):
            problem = head
        elif isinstance(base, str):
            problem = base
        else:
            # What the commit changed from the moment it was made, and later: a config with
            # releases or deadlines answers differently at different times.
            diff = diff_sides(base, head, datetime.fromisoformat(when).timestamp())
        if app is not None:
            touched = f"apps/{app}.yaml" in files or f"apps/{app}.yml" in files
            if diff is not None:
                diff = _only(diff, app)
                touched = touched or bool(diff.changed)
            if not touched:
                continue
        time = datetime.fromisoformat(when).astimezone(UTC)
        entries.append(Entry(commit, parent, author, email, time, subject, files, diff, problem))
    if app is not None and not entries:
        _known(config_dir, app)
    return entries


def _known(config_dir: str, app: str) -> None:
    """No commit changed ``app``: an error if the config does not know it either (a typo, most likely)."""
    try:
        config = read_config(config_dir)
    except ConfigError:
        return  # the config as it is cannot say; no commit changed the app, as reported
    if config.app(app) is None:
        known = ", ".join(sorted(a.id for a in config.apps)) or "none"
        raise OperatorError(f"no app {app!r} in {config_dir} (apps: {known})")


# --- output --------------------------------------------------------------------------


def _when(entry: Entry) -> str:
    return f"{entry.time:%Y-%m-%d %H:%M} UTC"


def _text(entries: list[Entry]) -> str:
    out = []
    for e in entries:
        out += [f"{e.commit[:7]}  {_when(e)}  {e.author} <{e.email}>", f"    {e.subject}"]
        if e.files:
            out.append(f"    files: {', '.join(e.files)}")
        verdicts = e.problem if e.diff is None else render_diff(e.diff, "text").rstrip("\n")
        out += [f"    {line}".rstrip() for line in (verdicts or "").split("\n")]
        out.append("")
    return "\n".join(out) if entries else "No commits changed the config.\n"


def _markdown(entries: list[Entry]) -> str:
    if not entries:
        return "No commits changed the config.\n"
    out = []
    for e in entries:
        files = ", ".join(f"`{f}`" for f in e.files)
        out += [f"## `{e.commit[:7]}` {e.subject}", "", f"{e.author} <{e.email}>, {_when(e)}; {files}", ""]
        out += [e.problem or "", ""] if e.diff is None else [render_diff(e.diff, "markdown").rstrip("\n"), ""]
    return "\n".join(out)


def _json(entries: list[Entry]) -> str:
    rows: list[dict[str, Any]] = []
    for e in entries:
        rows.append({
            "commit": e.commit, "parent": e.parent, "author": {"name": e.author, "email": e.email},
            "time": e.time.strftime("%Y-%m-%dT%H:%M:%SZ"), "subject": e.subject, "files": list(e.files),
            "verdicts": None if e.diff is None else json.loads(render_diff(e.diff, "json")),
            "changed": None if e.diff is None else bool(e.diff.changed),
            "problem": e.problem,
        })
    return json.dumps({"history": rows}, indent=2, ensure_ascii=False) + "\n"


def render_history(entries: list[Entry], fmt: ReportFormat = "text") -> str:
    """The entries as terminal text, Markdown (e.g. for a release note) or JSON; each with diff's own rendering."""
    if fmt == "markdown":
        return _markdown(entries)
    if fmt == "json":
        return _json(entries)
    return _text(entries)
