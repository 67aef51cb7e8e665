"""Evaluation records in git notes: `refs/notes/torchlane` by default, one JSON record per line.

Writers never lose each other's records: torchlane.notes appends with a compare-and-swap.
Several records per commit are normal (re-runs, other devices). Readers keep them in the order
of the note's lines: `torchlane eval` appends, so that is the order they were written in, until
`metrics pull` unions two diverged notes of one commit (`cat_sort_uniq`: the lines sorted, the
same order on every machine). Never by the `created_at` a record claims: anyone who can push
the notes ref can write any date (gate/trust.py says which record speaks for a commit).

With TORCHLANE_SIGNING_KEY set (a CI secret), every record appended is signed
(metrics/signing.py).
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from torchlane.errors import TorchlaneError
from torchlane.git import Git
from torchlane.metrics.record import EvaluationRecord
from torchlane.metrics.signing import sign, signer_from_env
from torchlane.notes import append_note_line, full_notes_ref, note_text

DEFAULT_NOTES_REF = "refs/notes/torchlane"
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


def parse_note(commit: str, text: str, *, per_example: bool = True) -> ReadResult:
    """The records of one note; `per_example=False` leaves their per-example data packed."""
    records: list[EvaluationRecord] = []
    problems: list[NoteProblem] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = EvaluationRecord.from_line(line, per_example=per_example)
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
    return ReadResult(records, problems)


def append_record(git: Git, record: EvaluationRecord, notes_ref: str = DEFAULT_NOTES_REF) -> None:
    commit = git.rev(record.commit)
    if commit is None:
        raise TorchlaneError(f"Cannot record metrics: {record.commit} is not a commit here.")
    line = record.to_line()
    with signer_from_env() as signer:
        if signer is not None:
            data = sign(record.to_json(), signer)
            line = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    append_note_line(git, notes_ref, commit, line, what="metrics")


def read_records(
    git: Git, rev: str, notes_ref: str = DEFAULT_NOTES_REF, *, per_example: bool = True
) -> ReadResult:
    """Every record attached to `rev`, in note order. Unreadable lines are reported, not fatal."""
    commit = git.rev(rev)
    if commit is None:
        raise TorchlaneError(
            f"'{rev}' is not a commit in this repository.",
            "Give a commit, branch or tag; in a shallow CI clone fetch more history first.",
        )
    text = note_text(git, full_notes_ref(notes_ref), commit)
    return parse_note(commit, text, per_example=per_example)


def commits_with_records(git: Git, notes_ref: str = DEFAULT_NOTES_REF) -> set[str]:
    ref = full_notes_ref(notes_ref)
    if git.ref_value(ref) is None:
        return set()
    return set(git.noted_commits(ref))


def note_texts(
    git: Git, commits: Iterable[str], notes_ref: str = DEFAULT_NOTES_REF
) -> dict[str, str]:
    """The raw note of each of many commits that has one, with one git process."""
    ref = full_notes_ref(notes_ref)
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
    found: dict[str, str] = {}
    for chunk in output.split("\x1e"):
        commit, sep, text = chunk.strip("\n").partition("\x00")
        if sep:
            found[commit] = text
    return found


def read_many(
    git: Git,
    commits: Iterable[str],
    notes_ref: str = DEFAULT_NOTES_REF,
    *,
    per_example: bool = True,
) -> dict[str, ReadResult]:
    """Records of many commits with one git process (history views read hundreds)."""
    return {
        commit: parse_note(commit, text, per_example=per_example)
        for commit, text in note_texts(git, commits, notes_ref).items()
    }
