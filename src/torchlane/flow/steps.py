"""The steps journaled operations are made of. Each one can tell whether it already happened.

A step may be re-run after a crash at any point (SIGKILL included): before acting it checks the
repository for its own effect ("the target already contains the source tip", "the tag exists and
points at the commit", "the branch is gone") and pins what it depends on in the journal first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from torchlane.errors import TorchlaneError
from torchlane.flow.journal import (
    CONFLICT,
    DONE,
    PENDING,
    SKIPPED,
    STARTED,
    Journal,
    Step,
    save_journal,
    unmerged_paths,
)
from torchlane.git import NO_OBJECT, Git, GitError, GitResult, failure_detail, push_rejections


@dataclass(frozen=True)
class Stopped:
    """A step stopped on conflicts the user must resolve."""

    files: list[str]


Outcome = Stopped | None


def _head_branch(git: Git) -> str | None:
    return git.current_branch()


def _switch(git: Git, branch: str) -> None:
    if _head_branch(git) != branch:
        git.switch(branch)


def _pin(git: Git, journal: Journal, step: Step, source: str) -> str:
    """Resolve `source` once and keep the answer, so a re-run works on the same commit."""
    if not step.sha:
        sha = git.rev(source)
        if sha is None:
            raise TorchlaneError(
                f"Cannot {step.describe()}: '{source}' does not exist any more.",
                f"Restore it, or run `torchlane {journal.operation} --abort`.",
            )
        step.sha = sha
        save_journal(git, journal)
    return step.sha


def _started(git: Git, journal: Journal, step: Step) -> None:
    if step.state == PENDING:
        step.state = STARTED
        save_journal(git, journal)


def _abandoned(journal: Journal, step: Step, what: str) -> TorchlaneError:
    return TorchlaneError(
        f"The {what} torchlane stopped in ({step.describe()}) is no longer in progress, and "
        "its result is not there: it was ended outside torchlane (e.g. `git "
        f"{what} --abort`).",
        f"Run `torchlane {journal.operation} --abort` to put every branch back as it was before "
        f"`torchlane {journal.operation}`, then start again.",
    )


def _refused(result: GitResult, step: Step) -> TorchlaneError:
    return TorchlaneError(
        f"git refused to {step.describe()} and changed nothing: {failure_detail(result)}",
        "Fix what git names (e.g. move an untracked file out of the way).",
    )


def run_merge(git: Git, journal: Journal, step: Step) -> Outcome:
    target_ref = f"refs/heads/{step.target}"
    source = _pin(git, journal, step, step.source)
    merge_head = git.rev("MERGE_HEAD")
    if merge_head is not None:
        if merge_head != source or _head_branch(git) != step.target:
            raise TorchlaneError(
                f"A merge other than `{step.describe()}` is in progress.",
                "Finish or abort that merge with git first (`git merge --abort`).",
            )
        if git.is_ancestor(source, target_ref):
            # git moved the branch to the merge commit and died before removing its state files.
            git.run("merge", "--quit")
        else:
            conflicted = unmerged_paths(git)
            if conflicted:
                return Stopped(conflicted)
            _commit_merge(git, step, target_ref, source)
    elif git.is_ancestor(source, target_ref):
        if step.state == PENDING:  # contained before we merged anything: nothing to do
            step.state = SKIPPED
            return None
    elif step.state == CONFLICT:
        raise _abandoned(journal, step, "merge")
    else:
        _started(git, journal, step)
        _switch(git, step.target)
        merged = git.run("merge", "--no-ff", "--quiet", "-m", step.message, source, check=False)
        if not merged.ok:
            conflicted = unmerged_paths(git)
            if git.rev("MERGE_HEAD") is None or not conflicted:
                raise _refused(merged, step)
            return Stopped(conflicted)
    step.result = git.resolve(target_ref)
    journal.note_produced(target_ref, step.result)
    return None


def _commit_merge(git: Git, step: Step, target_ref: str, source: str) -> None:
    """Conclude the merge git left in progress as the two-parent commit `merge --no-ff` makes.

    Not `git commit`: where a kill left MERGE_HEAD without MERGE_MODE, it drops the first parent
    when the target is an ancestor of the source, and main moves by a fast-forward.
    """
    tree = git.out("write-tree")
    head = git.rev(target_ref)
    if head is None:
        raise TorchlaneError(
            f"Cannot {step.describe()}: the branch '{step.target}' does not exist any more.",
            "Restore it (`git reflog` shows where it was), then --continue.",
        )
    commit = git.out("commit-tree", tree, "-p", head, "-p", source, "-m", step.message)
    git.set_ref(target_ref, commit, expected=head, message=f"torchlane: {step.describe()}")
    git.run("merge", "--quit")  # MERGE_HEAD, MERGE_MSG, MERGE_MODE; the index already matches


def _rebase_in_progress(git: Git) -> bool:
    return any(path.exists() for path in git.git_paths("rebase-merge", "rebase-apply"))


def run_rebase(git: Git, journal: Journal, step: Step) -> Outcome:
    branch_ref = f"refs/heads/{step.target}"
    onto = _pin(git, journal, step, step.source)
    if _rebase_in_progress(git):
        conflicted = unmerged_paths(git)
        if conflicted:
            return Stopped(conflicted)
        resumed = git.run("rebase", "--continue", check=False)
        if not resumed.ok:
            conflicted = unmerged_paths(git) if _rebase_in_progress(git) else []
            if conflicted:
                return Stopped(conflicted)
            # Not a conflict (e.g. an index.lock a killed git left behind): git's own words.
            raise GitError(resumed, "Fix what git names, then run the same --continue again.")
    elif git.is_ancestor(onto, branch_ref):
        if step.state == PENDING:
            step.state = SKIPPED
            return None
    elif step.state == CONFLICT:
        raise _abandoned(journal, step, "rebase")
    else:
        _started(git, journal, step)
        _switch(git, step.target)
        rebased = git.run("rebase", "--quiet", onto, check=False)
        if not rebased.ok:
            conflicted = unmerged_paths(git) if _rebase_in_progress(git) else []
            if conflicted:
                return Stopped(conflicted)
            if _rebase_in_progress(git):
                raise GitError(rebased, "Fix what git names, then run the same --continue again.")
            raise _refused(rebased, step)
    step.result = git.resolve(branch_ref)
    journal.note_produced(branch_ref, step.result)
    return None


def run_tag(git: Git, journal: Journal, step: Step) -> Outcome:
    commit = _pin(git, journal, step, step.source)
    name = step.target.removeprefix("refs/tags/")
    existing = git.rev(step.target)
    if existing is None:
        git.create_tag(name, commit, step.message)
    elif existing != commit:
        raise TorchlaneError(
            f"The tag {name} already exists and points at {existing[:12]}, not at {commit[:12]}.",
            f"Delete or rename that tag (`git tag -d {name}`), then --continue.",
        )
    step.result = commit
    journal.note_produced(step.target, git.ref_value(step.target))
    return None


def run_switch(git: Git, journal: Journal, step: Step) -> Outcome:
    _switch(git, step.target)
    return None


_ERE_SPECIAL = re.compile(r"[.^$*+?()\[\]{}|\\]")  # what POSIX regexes (git config) treat specially


def run_delete_branch(git: Git, journal: Journal, step: Step) -> Outcome:
    tip = git.rev(f"refs/heads/{step.target}")
    if tip is None:
        return None
    if not git.is_ancestor(tip, f"refs/heads/{step.source}"):
        raise TorchlaneError(
            f"Not deleting '{step.target}': it has commits that are not in '{step.source}'.",
            f"Merge them first, or keep the branch: run `torchlane {journal.operation} "
            "--continue` after deciding.",
        )
    if _head_branch(git) == step.target:
        _switch(git, step.source)
    # `git branch -D` drops the branch's upstream settings; keep them so --abort can restore them.
    pattern = "^branch\\." + _ERE_SPECIAL.sub(r"\\\g<0>", step.target) + "\\."
    step.config = git.config_entries(pattern)
    save_journal(git, journal)
    git.delete_branch(step.target)
    step.result = tip
    return None


def run_push(git: Git, journal: Journal, step: Step) -> Outcome:
    # finish --push is the sanctioned way main and develop advance: torchlane's own pre-push
    # hook lets it through (its secret scan of the outgoing commits still runs).
    pushed = git.push(step.source, *step.refs, env={"TORCHLANE_ALLOW_PUSH": "1"}, check=False)
    if not pushed.ok:
        raise GitError(pushed, _push_hint(pushed, step.source, journal.operation))
    return None


def _push_hint(pushed: GitResult, remote: str, operation: str) -> str:
    """The next step for the refs the remote did not take: a stale branch is merged first (a
    --continue alone would fail the same way again); a refusal is the remote's to explain."""
    rejected = push_rejections(pushed)
    stale = [r.branch for r in rejected if r.stale]
    refused = [r for r in rejected if r.by_remote]
    again = f"then run `torchlane {operation} --continue` (the local part is complete)"
    if stale:
        merges = " and ".join(
            f"merge {remote}/{b} first (`git fetch {remote} && git switch {b} && "
            f"git merge --no-ff {remote}/{b}`)"
            for b in dict.fromkeys(stale)
        )
        return f"{remote} has commits that your {', '.join(dict.fromkeys(stale))} lacks: {merges}; {again}."
    if refused:
        names = ", ".join(dict.fromkeys(f"{r.branch} ({r.reason})" for r in refused))
        return (
            f"{remote} refused {names}; its reason is the `remote:` part of the message. Do "
            f"what it asks (or settle it with the remote's administrators), {again}."
        )
    return f"Fix the cause (network, credentials, the remote's message), {again}."


def run_push_delete(git: Git, journal: Journal, step: Step) -> Outcome:
    tracking = f"refs/remotes/{step.source}/{step.target}"
    if git.ref_value(tracking) is None:
        return None
    lease = f"--force-with-lease=refs/heads/{step.target}:{step.sha}"
    deleted = git.push(step.source, f":refs/heads/{step.target}", options=[lease], check=False)
    if not deleted.ok:
        if "remote ref does not exist" in deleted.stderr:
            git.delete_ref(tracking)  # someone deleted it already
            return None
        raise GitError(
            deleted,
            f"'{step.target}' changed on {step.source} since it was checked; look at it, then "
            f"delete it by hand or run `torchlane {journal.operation} --continue`.",
        )
    return None


def run_backup(git: Git, journal: Journal, step: Step) -> Outcome:
    tip = _pin(git, journal, step, step.source)
    if git.ref_value(step.target) is None:
        git.set_ref(step.target, tip, expected=NO_OBJECT)
    journal.note_produced(step.target, tip)
    step.result = tip
    return None


EXECUTORS: dict[str, Callable[[Git, Journal, Step], Outcome]] = {
    "merge": run_merge,
    "rebase": run_rebase,
    "tag": run_tag,
    "switch": run_switch,
    "delete-branch": run_delete_branch,
    "push": run_push,
    "push-delete": run_push_delete,
    "backup": run_backup,
}

PUSH_KINDS = frozenset({"push", "push-delete"})


def mark_done(step: Step) -> None:
    if step.state != SKIPPED:
        step.state = DONE
