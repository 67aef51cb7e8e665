"""Evaluation records in git notes: `refs/notes/torchlane` by default, one JSON record per line.

Writers never lose each other's records: a record is appended on a private temporary notes ref
and the shared ref is then moved with a compare-and-swap (`git update-ref NEW OLD`), retried
from the fresh value when another writer got there first.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

from torchlane.errors import TorchlaneError
from torchlane.git import Git
from torchlane.metrics.record import EvaluationRecord

DEFAULT_NOTES_REF = "refs/notes/torchlane"
_MAX_ATTEMPTS = 50


@dataclass(frozen=True)
class ReadResult:
    records: list[EvaluationRecord]
    problems: list[str]  # lines that could not be read, each with the reason


def _full_ref(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/notes/{ref}"


def _note_text(git: Git, notes_ref: str, commit: str) -> str:
    result = git.run("notes", "--ref", notes_ref, "show", commit, check=False)
    return result.stdout if result.ok else ""


def append_record(git: Git, record: EvaluationRecord, notes_ref: str = DEFAULT_NOTES_REF) -> None:
    ref = _full_ref(notes_ref)
    commit = git.rev(record.commit)
    if commit is None:
        raise TorchlaneError(f"Cannot record metrics: {record.commit} is not a commit here.")
    line = record.to_line()
    scratch = f"refs/notes/torchlane-scratch/{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        for _ in range(_MAX_ATTEMPTS):
            old = git.ref_value(ref)
            if old is None:
                git.run("update-ref", "-d", scratch)
            else:
                git.run("update-ref", scratch, old)
            existing = _note_text(git, scratch, commit)
            content = existing.rstrip("\n") + ("\n" if existing.strip() else "") + line + "\n"
            git.run("notes", "--ref", scratch, "add", "-f", "-F", "-", commit, input=content)
            new = git.out("rev-parse", scratch)
            expected = old if old is not None else "0" * 40
            if git.run(
                "update-ref", "-m", "torchlane: record metrics", ref, new, expected, check=False
            ).ok:
                return
        raise TorchlaneError(
            f"Could not record metrics: {ref} kept changing under {_MAX_ATTEMPTS} attempts.",
            "Another process is writing metrics in a loop; try again when it has finished.",
        )
    finally:
        git.run("update-ref", "-d", scratch, check=False)


def read_records(git: Git, rev: str, notes_ref: str = DEFAULT_NOTES_REF) -> ReadResult:
    """Every record attached to `rev`, oldest first. Unreadable lines are reported, not fatal."""
    commit = git.rev(rev)
    if commit is None:
        raise TorchlaneError(f"'{rev}' is not a commit in this repository.")
    records: list[EvaluationRecord] = []
    problems: list[str] = []
    for number, line in enumerate(_note_text(git, _full_ref(notes_ref), commit).splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(EvaluationRecord.from_line(line))
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{commit[:12]} note line {number}: {exc}")
    return ReadResult(records, problems)


def commits_with_records(git: Git, notes_ref: str = DEFAULT_NOTES_REF) -> set[str]:
    ref = _full_ref(notes_ref)
    if git.ref_value(ref) is None:
        return set()
    return {line.split()[1] for line in git.lines("notes", "--ref", ref, "list")}
