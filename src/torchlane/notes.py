"""Line-per-record git notes shared by writers that must never lose each other's lines.

A line is appended on a private temporary notes ref and the shared ref is then moved with a
compare-and-swap (`git update-ref REF NEW OLD`), retried from the fresh value when another writer
got there first. Used for evaluation records (refs/notes/torchlane) and run manifests
(refs/notes/torchlane-runs).
"""

from __future__ import annotations

import os
import uuid

from torchlane.errors import TorchlaneError
from torchlane.git import Git

_MAX_ATTEMPTS = 50


def full_notes_ref(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/notes/{ref}"


def note_text(git: Git, notes_ref: str, commit: str) -> str:
    result = git.run("notes", "--ref", notes_ref, "show", commit, check=False)
    return result.stdout if result.ok else ""


def append_note_line(git: Git, notes_ref: str, commit: str, line: str, *, what: str) -> None:
    """Append one line to the note on `commit` (a full commit id). `what` names it in messages."""
    ref = full_notes_ref(notes_ref)
    scratch = f"refs/notes/torchlane-scratch/{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        for _ in range(_MAX_ATTEMPTS):
            old = git.ref_value(ref)
            if old is None:
                git.run("update-ref", "-d", scratch)
            else:
                git.run("update-ref", scratch, old)
            existing = note_text(git, scratch, commit)
            content = existing.rstrip("\n") + ("\n" if existing.strip() else "") + line + "\n"
            git.run("notes", "--ref", scratch, "add", "-f", "-F", "-", commit, input=content)
            new = git.out("rev-parse", scratch)
            expected = old if old is not None else "0" * 40
            if git.run(
                "update-ref", "-m", f"torchlane: record {what}", ref, new, expected, check=False
            ).ok:
                return
        raise TorchlaneError(
            f"Could not record {what}: {ref} kept changing under {_MAX_ATTEMPTS} attempts.",
            f"Another process is writing {what} in a loop; try again when it has finished.",
        )
    finally:
        git.run("update-ref", "-d", scratch, check=False)


def annotated_commits(git: Git, notes_ref: str) -> list[str]:
    """Commits that carry a note under `notes_ref`."""
    ref = full_notes_ref(notes_ref)
    if git.ref_value(ref) is None:
        return []
    return [line.split()[1] for line in git.lines("notes", "--ref", ref, "list")]
