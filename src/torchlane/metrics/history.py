"""Reading the store along history: one commit's records, develop's line, two commits compared."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from torchlane.errors import TorchlaneError
from torchlane.git import Git
from torchlane.metrics.record import EvaluationRecord, encode_number
from torchlane.metrics.store import NoteProblem, read_many, read_records
from torchlane.notes import full_notes_ref, notes_ref_problem
from torchlane.project import Project


def notes_ref_of(ctx: Project, override: str | None = None) -> str:
    """The notes ref to read or write: --notes-ref (checked like the setting), else the setting."""
    if override is not None:
        problem = notes_ref_problem(override)
        if problem is not None:
            raise TorchlaneError(
                f"--notes-ref: {problem}.", "Give a ref under refs/notes/, e.g. torchlane."
            )
    return full_notes_ref(override or ctx.config.metrics.notes_ref)


def pick_record(records: list[EvaluationRecord]) -> EvaluationRecord | None:
    """The record shown for a commit (log, diff, report): the last in note order from a clean
    tree, else the last. Never by claimed `created_at`. The gate chooses with gate/trust.py."""
    clean = [r for r in records if not r.dirty]
    chosen = clean or records
    return chosen[-1] if chosen else None


def develop_tip(ctx: Project) -> str:
    """develop, or the remote's develop where a CI checkout has no local branch."""
    for ref in (
        f"refs/heads/{ctx.develop}",
        f"refs/remotes/{ctx.config.flow.remote}/{ctx.develop}",
    ):
        if ctx.git.ref_value(ref) is not None:
            return ref
    raise TorchlaneError(
        f"Neither '{ctx.develop}' nor '{ctx.config.flow.remote}/{ctx.develop}' exists here.",
        f"Fetch it first: `git fetch {ctx.config.flow.remote} {ctx.develop}`.",
    )


@dataclass(frozen=True)
class LineCommit:
    commit: str
    date: str  # committer date, ISO 8601
    subject: str


def first_parent_line(git: Git, tip: str, limit: int | None = None) -> list[LineCommit]:
    """`tip` and its first parents, newest first."""
    args = ["log", "--first-parent", "--format=%H%x00%cI%x00%s"]
    if limit is not None:
        args.append(f"--max-count={limit}")
    found = []
    for line in git.lines(*args, tip, "--"):
        commit, date, subject = line.split("\x00", 2)
        found.append(LineCommit(commit, date, subject))
    return found


@dataclass(frozen=True)
class ShowResult:
    commit: str
    records: list[EvaluationRecord]
    problems: list[NoteProblem]


def show(git: Git, rev: str, notes_ref: str) -> ShowResult:
    # Only metrics are shown: per-example data (megabytes once decoded) stays packed.
    read = read_records(git, rev, notes_ref, per_example=False)
    commit = git.rev(rev) or rev
    return ShowResult(commit, read.records, read.problems)


@dataclass(frozen=True, kw_only=True)
class LogEntry:
    commit: str
    date: str
    subject: str
    metrics: dict[str, float]
    records: int
    dirty: bool


@dataclass(frozen=True)
class MetricsLog:
    tip: str
    entries: list[LogEntry]  # newest first; only commits with records unless all_commits
    problems: list[NoteProblem] = field(default_factory=list)


def log(
    ctx: Project, notes_ref: str, tip: str | None, limit: int, all_commits: bool = False
) -> MetricsLog:
    tip_ref = tip or develop_tip(ctx)
    if ctx.git.rev(tip_ref) is None:
        raise TorchlaneError(f"'{tip_ref}' is not a commit in this repository.")
    line = first_parent_line(ctx.git, tip_ref)
    found = read_many(ctx.git, (c.commit for c in line), notes_ref, per_example=False)
    entries: list[LogEntry] = []
    problems: list[NoteProblem] = []
    for item in line:
        read = found.get(item.commit)
        if read is not None:
            problems.extend(read.problems)
        record = pick_record(read.records) if read else None
        if record is None and not all_commits:
            continue
        entries.append(
            LogEntry(
                commit=item.commit,
                date=item.date,
                subject=item.subject,
                metrics=dict(record.metrics) if record else {},
                records=len(read.records) if read else 0,
                dirty=record.dirty if record else False,
            )
        )
        if len(entries) >= limit:
            break
    shown = tip_ref.removeprefix("refs/heads/").removeprefix("refs/remotes/")
    return MetricsLog(shown, entries, problems)


@dataclass(frozen=True)
class DiffRow:
    metric: str
    a: float | None
    b: float | None
    change: float | None  # b - a
    relative_change: float | None  # (b - a) / |a|


@dataclass(frozen=True)
class MetricsDiff:
    a: str
    b: str
    rows: list[DiffRow]
    problems: list[NoteProblem]


def _difference(a: float | None, b: float | None) -> tuple[float | None, float | None]:
    if a is None or b is None:
        return None, None
    change = b - a
    if a == 0 or not math.isfinite(a):
        return change, None
    return change, change / abs(a)


def diff(git: Git, rev_a: str, rev_b: str, notes_ref: str) -> MetricsDiff:
    side_a, side_b = show(git, rev_a, notes_ref), show(git, rev_b, notes_ref)
    for side, rev in ((side_a, rev_a), (side_b, rev_b)):
        if pick_record(side.records) is None:
            raise TorchlaneError(
                f"'{rev}' ({side.commit[:12]}) has no metrics recorded.",
                f"Evaluate it first (`torchlane eval {rev}`), or `torchlane metrics pull`.",
            )
    record_a, record_b = pick_record(side_a.records), pick_record(side_b.records)
    assert record_a is not None
    assert record_b is not None
    rows = []
    for name in sorted(set(record_a.metrics) | set(record_b.metrics)):
        a, b = record_a.metrics.get(name), record_b.metrics.get(name)
        rows.append(DiffRow(name, a, b, *_difference(a, b)))
    return MetricsDiff(side_a.commit, side_b.commit, rows, side_a.problems + side_b.problems)


def jsonable(value: Any) -> Any:
    """Plain JSON data from results; NaN and infinities become the strings the records use."""
    if isinstance(value, EvaluationRecord):
        return value.to_json()
    if hasattr(value, "__dataclass_fields__"):
        return {name: jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        return encode_number(value)
    return value
