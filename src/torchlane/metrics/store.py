"""Evaluation records in git notes: `refs/notes/torchlane` by default, one JSON record per line.

Writers never lose each other's records: a record is appended on a private temporary notes ref
and the shared ref is then moved with a compare-and-swap (`git update-ref NEW OLD`), retried
from the fresh value when another writer got there first. Several records per commit are
normal (re-runs, other devices); readers order them by creation time.
"""

from __future__ import annotations

import os
import random
import struct
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from torchlane.errors import TorchlaneError
from torchlane.git import Git
from torchlane.metrics.record import EvaluationRecord

DEFAULT_NOTES_REF = "refs/notes/torchlane"
_MAX_ATTEMPTS = 50
# Everything a damaged note line can raise while being decoded.
_DECODE_ERRORS = (
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    struct.error,
    zlib.error,
)


@dataclass(frozen=True)
class NoteProblem:
    """A note line that is not a readable record: reported, never silently dropped."""

    commit: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.commit[:12]} note line {self.line}: {self.reason}"


@dataclass(frozen=True)
class ReadResult:
    records: list[EvaluationRecord]
    problems: list[NoteProblem] = field(default_factory=list)


def full_ref(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/notes/{ref}"


def parse_note(commit: str, text: str) -> ReadResult:
    records: list[EvaluationRecord] = []
    problems: list[NoteProblem] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = EvaluationRecord.from_line(line)
        except _DECODE_ERRORS as exc:
            problems.append(NoteProblem(commit, number, f"{type(exc).__name__}: {exc}"))
            continue
        if record.commit != commit:
            # Notes can be copied (`git notes copy`, rebase): the record describes another commit.
            problems.append(
                NoteProblem(commit, number, f"the record describes commit {record.commit[:12]}")
            )
            continue
        records.append(record)
    records.sort(key=lambda r: r.created_at)  # stable: equal times keep their note order
    return ReadResult(records, problems)


def notes_identity(git: Git) -> dict[str, str]:
    """An author for notes commits where none is configured (CI runners usually have none).

    Notes commits are bookkeeping; failing an evaluation job over a missing user.name helps no one.
    """
    if git.config_get("user.email") or os.environ.get("GIT_COMMITTER_EMAIL"):
        return {}
    return {
        "GIT_AUTHOR_NAME": os.environ.get("GIT_AUTHOR_NAME", "torchlane"),
        "GIT_AUTHOR_EMAIL": os.environ.get("GIT_AUTHOR_EMAIL", "torchlane@localhost"),
        "GIT_COMMITTER_NAME": os.environ.get("GIT_COMMITTER_NAME", "torchlane"),
        "GIT_COMMITTER_EMAIL": "torchlane@localhost",
    }


def _note_text(git: Git, notes_ref: str, commit: str) -> str:
    result = git.run("notes", "--ref", notes_ref, "show", commit, check=False)
    return result.stdout if result.ok else ""


def compare_and_swap(
    git: Git, ref: str, change: Callable[[str], None], message: str = "torchlane: record metrics"
) -> None:
    """Apply `change(scratch_ref)` to a private copy of `ref`, then move `ref` only if unchanged."""
    scratch = f"refs/notes/torchlane-scratch/{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        for attempt in range(_MAX_ATTEMPTS):
            old = git.ref_value(ref)
            if old is None:
                git.run("update-ref", "-d", scratch)
            else:
                git.run("update-ref", scratch, old)
            change(scratch)
            new = git.ref_value(scratch)
            if new is None or new == old:
                return
            expected = old if old is not None else "0" * 40
            if git.run("update-ref", "-m", message, ref, new, expected, check=False).ok:
                return
            # Lost the race: wait a random moment so that colliding writers spread out.
            time.sleep(random.uniform(0, min(0.25, 0.01 * 2**attempt)))
        raise TorchlaneError(
            f"Could not update {ref}: it kept changing under {_MAX_ATTEMPTS} attempts.",
            "Another process is writing metrics in a loop; try again when it has finished.",
        )
    finally:
        git.run("update-ref", "-d", scratch, check=False)


def append_record(git: Git, record: EvaluationRecord, notes_ref: str = DEFAULT_NOTES_REF) -> None:
    ref = full_ref(notes_ref)
    commit = git.rev(record.commit)
    if commit is None:
        raise TorchlaneError(f"Cannot record metrics: {record.commit} is not a commit here.")
    line = record.to_line()
    identity = notes_identity(git)

    def add_line(scratch: str) -> None:
        existing = _note_text(git, scratch, commit)
        content = existing.rstrip("\n") + ("\n" if existing.strip() else "") + line + "\n"
        git.run(
            "notes", "--ref", scratch, "add", "-f", "-F", "-", commit,
            input=content, env=identity,
        )  # fmt: skip

    compare_and_swap(git, ref, add_line)


def read_records(git: Git, rev: str, notes_ref: str = DEFAULT_NOTES_REF) -> ReadResult:
    """Every record attached to `rev`, oldest first. Unreadable lines are reported, not fatal."""
    commit = git.rev(rev)
    if commit is None:
        raise TorchlaneError(
            f"'{rev}' is not a commit in this repository.",
            "Give a commit, branch or tag; in a shallow CI clone fetch more history first.",
        )
    return parse_note(commit, _note_text(git, full_ref(notes_ref), commit))


def commits_with_records(git: Git, notes_ref: str = DEFAULT_NOTES_REF) -> set[str]:
    ref = full_ref(notes_ref)
    if git.ref_value(ref) is None:
        return set()
    return {line.split()[1] for line in git.lines("notes", "--ref", ref, "list")}


def read_many(
    git: Git, commits: Iterable[str], notes_ref: str = DEFAULT_NOTES_REF
) -> dict[str, ReadResult]:
    """Records of many commits with one git process (history views read hundreds)."""
    ref = full_ref(notes_ref)
    annotated = commits_with_records(git, ref)
    wanted = [c for c in dict.fromkeys(commits) if c in annotated]
    if not wanted:
        return {}
    # %x00 and %x1e cannot occur in a JSON note, so they delimit commit and note safely.
    output = git.run(
        "log",
        "--no-walk=unsorted",
        "--stdin",
        f"--notes={ref}",
        "--format=%H%x00%N%x1e",
        input="\n".join(wanted) + "\n",
    ).stdout
    found: dict[str, ReadResult] = {}
    for chunk in output.split("\x1e"):
        commit, sep, text = chunk.strip("\n").partition("\x00")
        if sep:
            found[commit] = parse_note(commit, text)
    return found
