"""`torchlane sync`: bring develop's new work into the current topic branch, journaled.

Rebases by default (`--merge`: a merge commit instead). A backup ref of the branch tip is kept in
refs/torchlane/backup/<branch>/<UTC time> before anything moves, and is kept afterwards too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from torchlane.errors import TorchlaneError, usage_error
from torchlane.flow.journal import (
    DONE,
    Journal,
    Step,
    git_operation_in_progress,
    new_journal,
    require_no_operation,
    save_journal,
)
from torchlane.flow.transaction import ConflictReport, drive, resume
from torchlane.git import Git
from torchlane.naming import ParsedBranch
from torchlane.project import Project

SyncMode = Literal["rebase", "merge"]


@dataclass(kw_only=True)
class SyncResult:
    branch: str
    onto: str
    mode: SyncMode
    old_tip: str
    new_tip: str | None = None
    backup_ref: str | None = None
    up_to_date: bool = False
    rewritten: bool = False  # the branch's commits were replaced by rebased copies
    needs_force_push: bool = False
    completed: bool = False
    conflict: ConflictReport | None = None
    warnings: list[str] = field(default_factory=list)


def _current_topic(ctx: Project) -> ParsedBranch:
    name = ctx.git.current_branch()
    if name is None:
        raise usage_error(
            "HEAD is detached, so there is no branch to sync.",
            "Switch to your topic branch (`git switch feature/<name>`) first.",
        )
    parsed = ctx.parse(name)
    if parsed is None or not parsed.type.is_topic:
        kind = "a long-lived branch" if name in (ctx.main, ctx.develop) else "not a topic branch"
        hint = "Switch to a feature, bugfix or refactor branch first."
        if parsed is not None and parsed.type.is_versioned:
            hint = (
                f"A {parsed.type.value} branch is not rebased: fixes reach it through "
                f"`torchlane finish` of a hotfix, or `git merge --no-ff {ctx.develop}` if you "
                "really want develop's new work in it."
            )
        raise TorchlaneError(f"'{name}' is {kind}; sync only updates topic branches.", hint)
    return parsed


def _backup_ref(git: Git, branch: str) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    ref, n = f"refs/torchlane/backup/{branch}/{stamp}", 1
    while git.ref_value(ref) is not None:
        n += 1
        ref = f"refs/torchlane/backup/{branch}/{stamp}-{n}"
    return ref


def _develop_warning(ctx: Project) -> list[str]:
    remote_ref = f"refs/remotes/{ctx.config.flow.remote}/{ctx.develop}"
    if ctx.git.ref_value(remote_ref) is None:
        return []
    if ctx.git.is_ancestor(remote_ref, f"refs/heads/{ctx.develop}"):
        return []
    return [
        f"'{ctx.develop}' is behind {ctx.config.flow.remote}/{ctx.develop}: synced onto your "
        f"local '{ctx.develop}'. Run `git fetch {ctx.config.flow.remote} "
        f"{ctx.develop}:{ctx.develop}` first to include your team's latest work."
    ]


def summarize(git: Git, journal: Journal, remote: str) -> SyncResult:
    args = journal.arguments
    branch = str(args["branch"])
    old_tip = journal.refs[f"refs/heads/{branch}"] or ""
    mode: SyncMode = "merge" if args["mode"] == "merge" else "rebase"
    result = SyncResult(branch=branch, onto=str(args["onto"]), mode=mode, old_tip=old_tip)
    result.backup_ref = journal.steps[0].target
    result.completed = journal.step is None
    if not result.completed:
        return result
    result.new_tip = git.rev(f"refs/heads/{branch}")
    main_step = journal.steps[1]
    result.up_to_date = main_step.state != DONE
    result.rewritten = result.mode == "rebase" and result.new_tip != old_tip
    tracking = git.rev(f"refs/remotes/{remote}/{branch}")
    result.needs_force_push = bool(
        result.rewritten
        and tracking is not None
        and result.new_tip is not None
        and not git.is_ancestor(tracking, result.new_tip)
    )
    return result


def sync_branch(ctx: Project, *, merge: bool) -> SyncResult:
    git, remote = ctx.git, ctx.config.flow.remote
    require_no_operation(git, "sync")
    ctx.require_initialized()
    parsed = _current_topic(ctx)
    in_progress = git_operation_in_progress(git)
    if in_progress:
        raise TorchlaneError(
            f"A git {in_progress} is in progress in this work tree.",
            f"Complete it or run `git {in_progress} --abort`, then sync again.",
        )
    ctx.require_clean(f"sync '{parsed.name}'")
    branch_ref, onto_ref = f"refs/heads/{parsed.name}", f"refs/heads/{ctx.develop}"
    mode: SyncMode = "merge" if merge else "rebase"
    warnings = _develop_warning(ctx)
    tip = git.resolve(branch_ref)
    if git.is_ancestor(onto_ref, branch_ref):
        return SyncResult(
            branch=parsed.name,
            onto=ctx.develop,
            mode=mode,
            old_tip=tip,
            new_tip=tip,
            backup_ref=None,
            up_to_date=True,
            completed=True,
            warnings=warnings,
        )
    backup = _backup_ref(git, parsed.name)
    steps = [Step("backup", target=backup, source=branch_ref)]
    if merge:
        message = f"Merge {ctx.develop} into {parsed.name}"
        steps.append(Step("merge", target=parsed.name, source=onto_ref, message=message))
    else:
        steps.append(Step("rebase", target=parsed.name, source=onto_ref))
    arguments = {"branch": parsed.name, "onto": ctx.develop, "mode": mode}
    journal = new_journal(git, "sync", arguments, steps, [branch_ref, backup])
    save_journal(git, journal, create=True)
    conflict = drive(git, journal)
    result = summarize(git, journal, remote)
    result.conflict, result.warnings = conflict, warnings
    return result


def continue_sync(ctx: Project) -> SyncResult:
    journal, conflict = resume(ctx.git, "sync")
    result = summarize(ctx.git, journal, ctx.config.flow.remote)
    result.conflict = conflict
    return result
