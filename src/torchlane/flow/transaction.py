"""Running a journal's steps, and `--continue` / `--abort` for any journaled operation."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from torchlane.errors import TorchlaneError
from torchlane.flow.journal import (
    CONFLICT,
    DONE,
    Journal,
    git_operation_in_progress,
    load_journal,
    remove_journal,
    save_journal,
)
from torchlane.flow.steps import EXECUTORS, PUSH_KINDS, Stopped, mark_done
from torchlane.git import Git, GitError


@dataclass
class ConflictReport:
    operation: str
    step: str
    files: list[str]
    next_steps: list[str]


@dataclass
class AbortResult:
    operation: str
    branch: str
    restored_refs: list[str] = field(default_factory=list)
    head: str = ""
    rescued: dict[str, str] = field(default_factory=dict)  # ref -> backup ref of work kept
    saved: str | None = None  # the ref holding uncommitted work made during the pause
    kept: list[str] = field(default_factory=list)  # files still changed in the work tree

    @property
    def as_before(self) -> bool:
        """Whether everything is exactly as before the operation (nothing kept or saved)."""
        return not (self.rescued or self.saved or self.kept)


def _conflict(journal: Journal, stopped: Stopped) -> ConflictReport:
    op = journal.operation
    step = journal.steps[journal.current]
    files = stopped.files
    added = "git add " + " ".join(files) if files else "git add <the resolved files>"
    return ConflictReport(
        operation=op,
        step=step.describe(),
        files=files,
        next_steps=[
            "resolve the conflicts in the files listed (remove the <<<<<<< ======= >>>>>>> markers)",
            added,
            f"torchlane {op} --continue",
            f"or, to put every branch, tag and file back as before: torchlane {op} --abort",
        ],
    )


def _point_at_recovery(journal: Journal, error: TorchlaneError) -> None:
    """Whatever went wrong mid-operation, the user must learn it is paused, not lost."""
    op = journal.operation
    if f"torchlane {op} --" in (error.hint or ""):
        return
    subject = journal.arguments.get("branch", "")
    where = f"step {journal.current + 1}/{len(journal.steps)}"
    error.message = f"`torchlane {op}` of {subject} paused at {where}: {error.message}"
    first = f"{error.hint} Then run" if error.hint else "Fix what the error names, then run"
    error.hint = (
        f"{first} `torchlane {op} --continue`, or `torchlane {op} --abort` to put everything back."
    )


def drive(git: Git, journal: Journal) -> ConflictReport | None:
    """Run the remaining steps; the pointer moves on (and is saved) after each one."""
    while (step := journal.step) is not None:
        try:
            stopped = EXECUTORS[step.kind](git, journal, step)
        except TorchlaneError as error:
            _point_at_recovery(journal, error)
            raise
        if stopped is not None:
            step.state = CONFLICT
            try:
                journal.paused_tree = worktree_tree(git) or ""
            except GitError:  # then --abort saves every change it finds, which is safe
                journal.paused_tree = ""
            save_journal(git, journal)
            return _conflict(journal, stopped)
        mark_done(step)
        journal.current += 1
        save_journal(git, journal)
    remove_journal(git)
    return None


def resume(git: Git, operation: str) -> tuple[Journal, ConflictReport | None]:
    journal = _own_journal(git, operation)
    return journal, drive(git, journal)


def _own_journal(git: Git, operation: str) -> Journal:
    journal = load_journal(git)
    if journal is None:
        raise TorchlaneError(
            f"No torchlane operation is in progress, so there is nothing to {operation} "
            "--continue or --abort.",
            f"Run `torchlane {operation}` to start one.",
        )
    if journal.operation != operation:
        raise TorchlaneError(
            f"The operation in progress is {journal.summary()}, not a {operation}.",
            f"Use `torchlane {journal.operation} --continue` or "
            f"`torchlane {journal.operation} --abort`.",
        )
    if Path(journal.worktree).resolve() != git.cwd.resolve():
        raise TorchlaneError(
            f"{journal.summary()} was started in the work tree {journal.worktree}.",
            f"Run the command there: `torchlane -C {journal.worktree} ...`.",
        )
    return journal


def _rescue(git: Git, ref: str, value: str) -> str:
    """Keep a commit someone made on `ref` by hand during the operation, before rewinding it."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    short = ref.removeprefix("refs/heads/").removeprefix("refs/")
    backup = f"refs/torchlane/rescued/{short}/{stamp}"
    git.set_ref(backup, value)
    return backup


def _made_by_step(git: Git, journal: Journal, ref: str, value: str) -> bool:
    """Whether `value` is what one of our steps writes to `ref`, even if we died before noting it."""
    known = {journal.refs.get(ref), *journal.produced.get(ref, [])}
    for step in journal.steps:
        if not step.sha:
            continue
        if step.kind == "merge" and ref == f"refs/heads/{step.target}":
            first, *rest = git.out("rev-list", "--parents", "-n", "1", value).split()[1:] or [""]
            if first in known and rest == [step.sha]:
                return True
        elif step.kind == "tag" and ref == step.target:
            if git.rev(value) == step.sha and git.out("cat-file", "-t", value) == "tag":
                return True
        elif step.kind == "rebase" and ref == f"refs/heads/{step.target}":
            old = journal.refs.get(ref)
            # Every commit on top of the new base has a patch-equivalent in the old branch.
            cherry = git.lines("cherry", old, value, step.sha) if old else ["+"]
            if git.is_ancestor(step.sha, value) and all(c.startswith("-") for c in cherry):
                return True
    return False


def worktree_tree(git: Git) -> str | None:
    """The tracked content of the work tree as a tree object (conflict markers and all), or
    None when it matches HEAD. Built in a scratch index: the real one (with its conflict
    stages) is left alone."""
    changed = [p for p in git.run("diff", "--name-only", "-z", "HEAD").stdout.split("\0") if p]
    if not changed:
        return None
    with tempfile.TemporaryDirectory(prefix="torchlane-index-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        git.run("read-tree", "HEAD", env=env)
        git.run(
            "--literal-pathspecs", "add", "--all", "--pathspec-from-file=-",
            "--pathspec-file-nul", input="\0".join(changed), env=env,
        )  # fmt: skip
        return git.run("write-tree", env=env).stdout.strip()


def _save_work(git: Git, operation: str, tree: str) -> str:
    """Keep the uncommitted work the user did during the pause as a commit on a named ref."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    message = f"Uncommitted work saved by `torchlane {operation} --abort`"
    commit = git.out("commit-tree", tree, "-p", "HEAD", "-m", message)
    ref = f"refs/torchlane/saved/{operation}/{stamp}"
    git.set_ref(ref, commit)
    return ref


def _undo_git_operation(git: Git, result: AbortResult, tree: str | None) -> None:
    """End the merge or rebase git has in progress, keeping unrelated edits as git does."""
    in_progress = git_operation_in_progress(git)
    if in_progress == "merge" and not git.succeeds("merge", "--abort"):
        if not git.succeeds("reset", "--quiet", "--merge"):
            _reset_hard(git, result, tree)
    elif in_progress == "rebase" and not git.succeeds("rebase", "--abort"):
        git.run("rebase", "--quit")


def _reset_hard(git: Git, result: AbortResult, tree: str | None) -> None:
    """The last resort, only once whatever it would destroy has been saved."""
    if result.saved is None and (tree := worktree_tree(git)) is not None:
        result.saved = _save_work(git, result.operation, tree)
    git.run("reset", "--quiet", "--hard", "HEAD")


def _reapply_pause_edits(git: Git, paused_tree: str, saved: str) -> None:
    """Put back, file by file, the edits made during the pause that the undo discarded
    (`git rebase --abort` resets the work tree) and that still apply to the restored files.
    Edits to conflicted files rarely do (they were made on top of conflict markers); those
    stay in the saved commit only."""
    dirty = set(git.dirty_paths())
    changed = git.run("diff", "--name-only", "-z", paused_tree, saved).stdout.split("\0")
    for path in (p for p in changed if p and p not in dirty):
        patch = git.run("diff", "--binary", paused_tree, saved, "--", f":(literal){path}").stdout
        if patch and git.run("apply", "--check", input=patch, check=False).ok:
            git.run("apply", input=patch)


def abort(git: Git, operation: str) -> AbortResult:
    journal = _own_journal(git, operation)
    pushed = [s.describe() for s in journal.steps if s.kind in PUSH_KINDS and s.state == DONE]
    if pushed:
        raise TorchlaneError(
            f"Cannot abort: the remote already received part of the result ({'; '.join(pushed)}).",
            f"Complete the operation with `torchlane {operation} --continue`.",
        )
    result = AbortResult(operation, str(journal.arguments.get("branch", "")), head=journal.head)
    # Files touched or copied since the pause have stale stat data in the index; without a
    # refresh git takes them for modified ("Entry '…' not uptodate. Cannot merge.").
    git.run("update-index", "-q", "--refresh", check=False)
    tree = worktree_tree(git)
    if tree is not None and tree != journal.paused_tree:
        result.saved = _save_work(git, operation, tree)
    _undo_git_operation(git, result, tree)
    left_at = git.rev("HEAD")
    edited = bool(git.dirty_paths())
    updates: list[tuple[str, str | None, str | None]] = []
    for ref, old in journal.refs.items():
        current = git.ref_value(ref)
        if current == old:
            continue
        if current is not None and not (
            current in journal.produced.get(ref, []) or _made_by_step(git, journal, ref, current)
        ):
            result.rescued[ref] = _rescue(git, ref, current)
        updates.append((ref, old, current))
        result.restored_refs.append(ref)
    if updates:
        git.update_refs(updates, f"torchlane {operation} --abort")
    for step in journal.steps:  # upstream settings of branches deleted and now restored
        for entry in step.config if step.kind == "delete-branch" else []:
            key, _, value = entry.partition("\n")
            if git.config_get(key) is None:
                git.config_add(key, value)
    if journal.head.startswith("refs/"):
        git.run("symbolic-ref", "HEAD", journal.head)
    else:
        git.run("update-ref", "--no-deref", "HEAD", journal.head)
    # The tree was clean when the operation started; untracked files are left alone by reset.
    # Edits still in the work tree are carried to the restored HEAD as `git checkout` would.
    if not edited:
        git.run("reset", "--quiet", "--hard", "HEAD")
    elif left_at is None or not git.succeeds("read-tree", "-m", "-u", left_at, "HEAD"):
        _reset_hard(git, result, tree)
    if result.saved and journal.paused_tree:
        _reapply_pause_edits(git, journal.paused_tree, result.saved)
    result.kept = git.dirty_paths()
    remove_journal(git)
    return result
