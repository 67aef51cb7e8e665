"""Line-per-record git notes shared by writers that must never lose each other's lines.

A change is made on a private temporary notes ref and the shared ref is then moved with a
compare-and-swap (`git update-ref REF NEW OLD`), retried from the fresh value when another writer
got there first. Used for evaluation records (refs/notes/torchlane), run manifests
(refs/notes/torchlane-runs) and the merge of fetched notes.
"""

from __future__ import annotations

import os
import random
import re
import time
import uuid
from collections.abc import Callable

from torchlane.errors import TorchlaneError
from torchlane.git import Git

_MAX_ATTEMPTS = 50


def full_notes_ref(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/notes/{ref}"


# Refs torchlane itself keeps under refs/notes/: private scratch copies and fetched remote notes.
_RESERVED = ("refs/notes/torchlane-scratch/", "refs/notes/remotes/")


def notes_ref_problem(ref: str) -> str | None:
    """Why `ref` cannot hold notes (one sentence), or None. A short name means refs/notes/<name>.

    Anything outside refs/notes/ would make every record a commit on that ref: with
    "refs/heads/develop", `git notes` would commit notes trees onto the develop branch.
    """
    full = full_notes_ref(ref.strip())
    if not full.startswith("refs/notes/") or full == "refs/notes/":
        return (
            f"notes_ref must name a ref under refs/notes/ (e.g. refs/notes/torchlane or just "
            f"torchlane), not {ref!r}: a ref elsewhere would get notes commits written onto it"
        )
    if full.startswith(_RESERVED):
        return (
            f"notes_ref {ref!r} is inside {', '.join(_RESERVED)}, which torchlane keeps for itself"
        )
    name = full.removeprefix("refs/notes/")
    parts = name.split("/")
    bad = (
        re.search(r"[\x00-\x20\x7f~^:?*\[\\]", name)
        or ".." in name
        or "@{" in name
        or any(not p or p.startswith(".") or p.endswith(".lock") for p in parts)
        or name.endswith(".")
    )
    if bad:
        return f"notes_ref {ref!r} is not a valid git ref name"
    return None


def note_text(git: Git, notes_ref: str, commit: str) -> str:
    return git.note(notes_ref, commit) or ""


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


def compare_and_swap(
    git: Git, ref: str, change: Callable[[str], None], *, what: str = "metrics"
) -> None:
    """Apply `change(scratch_ref)` to a private copy of `ref`, then move `ref` only if unchanged."""
    scratch = f"refs/notes/torchlane-scratch/{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        for attempt in range(_MAX_ATTEMPTS):
            old = git.ref_value(ref)
            if old is None:
                git.delete_ref(scratch)
            else:
                git.set_ref(scratch, old)
            change(scratch)
            new = git.ref_value(scratch)
            if new is None or new == old:
                return
            expected = old if old is not None else "0" * 40
            if git.swap_ref(ref, new, expected, message=f"torchlane: record {what}"):
                return
            # Lost the race: wait a random moment so that colliding writers spread out.
            time.sleep(random.uniform(0, min(0.25, 0.01 * 2**attempt)))
        raise TorchlaneError(
            f"Could not record {what}: {ref} kept changing under {_MAX_ATTEMPTS} attempts.",
            f"Another process is writing {what} in a loop; try again when it has finished.",
        )
    finally:
        git.delete_ref(scratch, check=False)


def append_note_line(git: Git, notes_ref: str, commit: str, line: str, *, what: str) -> None:
    """Append one line to the note on `commit` (a full commit id). `what` names it in messages."""
    identity = notes_identity(git)

    def add_line(scratch: str) -> None:
        existing = note_text(git, scratch, commit)
        content = existing.rstrip("\n") + ("\n" if existing.strip() else "") + line + "\n"
        git.set_note(scratch, commit, content, env=identity)

    compare_and_swap(git, full_notes_ref(notes_ref), add_line, what=what)


def annotated_commits(git: Git, notes_ref: str) -> list[str]:
    """Commits that carry a note under `notes_ref`."""
    ref = full_notes_ref(notes_ref)
    if git.ref_value(ref) is None:
        return []
    return git.noted_commits(ref)
