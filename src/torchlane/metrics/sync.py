"""Share records through a remote: git does not fetch or push notes unless told to.

Pull fetches the remote's notes into a separate ref and unions them into the local ref with
`git notes merge -s cat_sort_uniq` (every line of both sides survives, duplicates once), on a
scratch copy moved by compare-and-swap. Push pulls first, so the local ref then descends from
the remote's, and pushes without force: the server's fast-forward check is the compare-and-swap,
and a writer that lost the race simply pulls and pushes again.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Literal

from torchlane.errors import TorchlaneError
from torchlane.git import Git
from torchlane.git_run import GitResult
from torchlane.notes import compare_and_swap, full_notes_ref, notes_identity

_PUSH_ATTEMPTS = 8


NotesSyncAction = Literal[
    "merged", "fast-forward", "up to date", "created", "nothing on the remote", "pushed"
]


@dataclass(frozen=True, kw_only=True)
class SyncResult:
    remote: str
    notes_ref: str
    action: NotesSyncAction
    local: str | None  # the local notes ref's commit after the operation
    attempts: int = 1


def tracking_ref(notes_ref: str, remote: str) -> str:
    """Where the remote's notes land locally: refs/notes/remotes/<remote>/<name>."""
    name = full_notes_ref(notes_ref).removeprefix("refs/notes/")
    return f"refs/notes/remotes/{remote}/{name}"


def _require_remote(git: Git, remote: str) -> None:
    if remote not in git.remotes():
        raise TorchlaneError(
            f"There is no remote named '{remote}'.",
            "Add it with `git remote add`, or set [tool.torchlane.metrics] remote.",
        )


def _remote_value(git: Git, remote: str, ref: str) -> str | None:
    result = git.run("ls-remote", "--refs", remote, ref, check=False)
    if not result.ok:
        raise TorchlaneError(
            f"Cannot reach the remote '{remote}': {result.stderr.strip().splitlines()[-1:]}",
            "Check the remote's URL and your credentials, then try again.",
        )
    for line in result.stdout.splitlines():
        value, _, name = line.partition("\t")
        if name == ref:
            return value
    return None


def pull(git: Git, notes_ref: str, remote: str) -> SyncResult:
    _require_remote(git, remote)
    ref = full_notes_ref(notes_ref)
    if _remote_value(git, remote, ref) is None:
        return SyncResult(
            remote=remote, notes_ref=ref, action="nothing on the remote", local=git.ref_value(ref)
        )
    tracking = tracking_ref(ref, remote)
    git.fetch(remote, f"+{ref}:{tracking}", options=["--no-tags"])
    theirs = git.resolve(tracking)
    before = git.ref_value(ref)
    action: NotesSyncAction
    if before is None:
        action = "created"
    elif git.is_ancestor(theirs, before):
        action = "up to date"
    elif git.is_ancestor(before, theirs):
        action = "fast-forward"
    else:
        action = "merged"

    identity = notes_identity(git)

    def union(scratch: str) -> None:
        if git.ref_value(scratch) is None:
            git.set_ref(scratch, theirs)
            return
        git.run(
            "notes",
            "--ref",
            scratch,
            "merge",
            "--quiet",
            "--strategy=cat_sort_uniq",
            tracking,
            env=identity,
        )

    compare_and_swap(git, ref, union, what=f"metrics merged from {remote}")
    return SyncResult(remote=remote, notes_ref=ref, action=action, local=git.ref_value(ref))


def _push_line(stdout: str, ref: str) -> tuple[str, str]:
    """The flag and summary of `git push --porcelain`'s line for `ref` ("=": up to date,
    "!": rejected, " ", "+" or "*": updated); ("", "") when git printed none."""
    for line in stdout.splitlines():
        flag, _, rest = line.partition("\t")
        spec, _, summary = rest.partition("\t")
        if len(flag) == 1 and spec.endswith(f":{ref}"):
            return flag, summary
    return "", ""


def _is_race(summary: str, stderr: str) -> bool:
    """Someone pushed after our pull: git's own non-fast-forward refusal, or the server losing
    its compare-and-swap on the ref to a push that landed at the same moment ("cannot lock ref
    ...: reference already exists" / "is at X but expected Y"). A hook or a permission check
    says "[remote rejected]" with other words and must not be retried."""
    if summary.startswith("[rejected]"):
        return "fetch first" in summary or "non-fast-forward" in summary
    lost_lock = "cannot lock ref" in stderr and (
        "reference already exists" in stderr or "but expected" in stderr
    )
    return summary.startswith("[remote rejected]") and lost_lock


def _rejection(result: GitResult, summary: str) -> str:
    """The server's own words: its `remote:` lines, git's summary and error lines."""
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    remote_lines = [line for line in lines if line.startswith("remote:")]
    errors = [line for line in lines if line.startswith(("error:", "fatal:"))]
    detail = [*remote_lines, *([summary] if summary else []), *errors]
    return "\n  ".join(detail or lines[-3:] or ["(git printed nothing)"])


def _denied(result: GitResult) -> bool:
    """The server refused this job the right to push (not a race, not a hook)."""
    text = result.stderr.lower()
    return any(
        s in text
        for s in ("error: 403", "not allowed to push", "permission denied", "permission to ")
    )


def denied_hint(token_variable: str) -> str:
    return (
        "The remote denied this job the right to push. In GitLab CI the job token "
        "(CI_JOB_TOKEN) cannot push: create a project access token with the write_repository "
        f"scope and store it in the CI/CD variable {token_variable} (masked; the name is "
        "[tool.torchlane.ci] gitlab_token_variable); the generated record jobs push with it. "
        "In GitHub Actions the job needs `permissions: contents: write`."
    )


def push(
    git: Git, notes_ref: str, remote: str, *, token_variable: str = "TORCHLANE_GITLAB_TOKEN"
) -> SyncResult:
    _require_remote(git, remote)
    ref = full_notes_ref(notes_ref)
    for attempt in range(1, _PUSH_ATTEMPTS + 1):
        pull(git, ref, remote)
        local = git.ref_value(ref)
        if local is None:
            raise TorchlaneError(
                f"There are no metrics to push: {ref} does not exist here.",
                "Record an evaluation first (`torchlane eval`).",
            )
        # Not --quiet: with it, --porcelain leaves out the lines of refs that did not fail,
        # and an up-to-date push could not be told from one that moved the ref.
        result = git.run("push", "--porcelain", remote, f"{ref}:{ref}", check=False)
        flag, summary = _push_line(result.stdout, ref)
        if result.ok:
            action: NotesSyncAction = "up to date" if flag == "=" else "pushed"
            return SyncResult(
                remote=remote, notes_ref=ref, action=action, local=local, attempts=attempt
            )
        if not _is_race(summary, result.stderr):
            raise TorchlaneError(
                f"The remote '{remote}' refused the push of {ref}:\n  {_rejection(result, summary)}",
                denied_hint(token_variable)
                if _denied(result)
                else "The lines above are the remote's own; fix what they name (permissions, a "
                "protected ref, a server hook), then run `torchlane metrics push` again.",
            )
        # Rejected as non-fast-forward: another writer pushed after our pull. Back off, retry.
        time.sleep(random.uniform(0.5, 1.0) * min(0.05 * 2**attempt, 2.0))
    raise TorchlaneError(
        f"Could not push {ref} to '{remote}': it moved again before each of {_PUSH_ATTEMPTS} "
        "attempts (other writers pushed metrics in between).",
        "Run `torchlane metrics push` again in a moment.",
    )
