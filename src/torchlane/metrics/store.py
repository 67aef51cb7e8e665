"""Evaluation records in git notes: `refs/notes/torchlane` by default, one JSON record per line.

Writers never lose each other's records: torchlane.notes appends with a compare-and-swap.
"""

from __future__ import annotations

from dataclasses import dataclass

from torchlane.errors import TorchlaneError
from torchlane.git import Git
from torchlane.metrics.record import EvaluationRecord
from torchlane.notes import annotated_commits, append_note_line, full_notes_ref, note_text

DEFAULT_NOTES_REF = "refs/notes/torchlane"


@dataclass(frozen=True)
class ReadResult:
    records: list[EvaluationRecord]
    problems: list[str]  # lines that could not be read, each with the reason


def append_record(git: Git, record: EvaluationRecord, notes_ref: str = DEFAULT_NOTES_REF) -> None:
    commit = git.rev(record.commit)
    if commit is None:
        raise TorchlaneError(f"Cannot record metrics: {record.commit} is not a commit here.")
    append_note_line(git, notes_ref, commit, record.to_line(), what="metrics")


def read_records(git: Git, rev: str, notes_ref: str = DEFAULT_NOTES_REF) -> ReadResult:
    """Every record attached to `rev`, oldest first. Unreadable lines are reported, not fatal."""
    commit = git.rev(rev)
    if commit is None:
        raise TorchlaneError(f"'{rev}' is not a commit in this repository.")
    records: list[EvaluationRecord] = []
    problems: list[str] = []
    for number, line in enumerate(
        note_text(git, full_notes_ref(notes_ref), commit).splitlines(), 1
    ):
        if not line.strip():
            continue
        try:
            records.append(EvaluationRecord.from_line(line))
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{commit[:12]} note line {number}: {exc}")
    return ReadResult(records, problems)


def commits_with_records(git: Git, notes_ref: str = DEFAULT_NOTES_REF) -> set[str]:
    return set(annotated_commits(git, notes_ref))
