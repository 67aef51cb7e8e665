"""finish, sync, publish: the journaled branch-model operations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from torchlane import render
from torchlane.commands.options import json_option, with_project
from torchlane.errors import EXIT_FAILURE, usage_error
from torchlane.flow.transaction import AbortResult, ConflictReport

if TYPE_CHECKING:
    from torchlane.project import Project


def _check_flags(resume: bool, abort: bool, **others: object) -> None:
    if resume and abort:
        raise usage_error("--continue and --abort cannot be used together.", "Pick one.")
    given = [name for name, value in others.items() if value]
    if (resume or abort) and given:
        raise usage_error(
            f"--{'continue' if resume else 'abort'} takes no other arguments (got {', '.join(given)}).",
            "The operation in progress keeps the arguments it was started with.",
        )


def _say_conflict(conflict: ConflictReport) -> None:
    render.say(f"Stopped: conflicts while trying to {conflict.step}.", stderr=True)
    for path in conflict.files:
        render.say(f"  both modified: {path}", stderr=True)
    render.say("Next steps:", stderr=True)
    for number, step in enumerate(conflict.next_steps, start=1):
        render.say(f"  {number}. {step}", stderr=True)


def _say_abort(result: AbortResult) -> None:
    head = result.head.removeprefix("refs/heads/")
    restored = ", ".join(
        r.removeprefix("refs/heads/").removeprefix("refs/") for r in result.restored_refs
    )
    if result.as_before:
        render.say(f"Aborted the {result.operation} of {result.branch}: everything is as before.")
    else:
        render.say(
            f"Aborted the {result.operation} of {result.branch}: branches, tags and HEAD are "
            "as before; work done meanwhile is kept (below)."
        )
    if restored:
        render.say(f"- put back: {restored}")
    render.say(f"- HEAD is on {head}")
    if result.kept:
        render.say(f"- still changed in the work tree, as you left them: {', '.join(result.kept)}")
    if result.saved:
        render.say(
            f"warning: the uncommitted work of the pause (conflict resolutions included) is saved "
            f"at {result.saved}; `git show --stat {result.saved}` lists it, "
            f"`git checkout {result.saved} -- FILE` brings a file back.",
            stderr=True,
        )
    for ref, backup in result.rescued.items():
        render.say(
            f"warning: {ref} had commits made outside torchlane; they are kept at {backup}",
            stderr=True,
        )


@click.command("finish")
@click.argument("branch", required=False)
@click.option(
    "--continue", "resume", is_flag=True, help="Resume after resolving conflicts or a crash."
)
@click.option("--abort", is_flag=True, help="Put every branch, tag, HEAD and file back as before.")
@click.option("--keep", is_flag=True, help="Keep the finished branch (default: delete it).")
@click.option("--push", is_flag=True, help="Push the updated branches, then exactly the new tag.")
@click.option(
    "--fetch", is_flag=True, help="Fetch the remote first, to compare with its latest state."
)
@click.option(
    "--skip-gate",
    metavar="REASON",
    default=None,
    help="Finish although the merge gate failed or has no verdict; REASON goes into the merge.",
)
@click.option(
    "--no-model",
    is_flag=True,
    help="Release without binding an evaluated checkpoint to the tag (recorded as such).",
)
@with_project
@json_option
def finish_command(
    *,
    branch: str | None,
    resume: bool,
    abort: bool,
    keep: bool,
    push: bool,
    fetch: bool,
    skip_gate: str | None,
    no_model: bool,
    project: Project,
    as_json: bool,
) -> int:
    """Merge BRANCH (default: the current one) where the branch model sends it, with --no-ff."""
    from torchlane.flow.finish import continue_finish, finish_branch
    from torchlane.flow.transaction import abort as abort_operation

    _check_flags(
        resume,
        abort,
        BRANCH=branch,
        keep=keep,
        push=push,
        fetch=fetch,
        skip_gate=skip_gate,
        no_model=no_model,
    )
    if abort:
        aborted = abort_operation(project.git, "finish")
        render.print_json(aborted) if as_json else _say_abort(aborted)
        return 0
    if resume:
        result = continue_finish(project)
    else:
        result = finish_branch(
            project,
            branch,
            keep=keep,
            push=push,
            fetch=fetch,
            skip_gate=skip_gate,
            no_model=no_model,
        )
    if as_json:
        render.print_json(result)
    else:
        if result.gate:
            render.say(f"warning: {result.gate} (written into the merge commit)", stderr=True)
        for merge in result.merges:
            made = f"({merge.commit[:12]})" if merge.commit else "(already contained it)"
            render.say(f"- merged {merge.source} into {merge.target} {made}")
        if result.tag:
            render.say(f"- tagged {result.tag} (annotated)")
        if result.model:
            render.say(f"- {result.model}")
        for deleted in result.branches_deleted:
            render.say(f"- deleted the branch {deleted}")
        if result.pushed:
            shown = (
                r.removeprefix("refs/heads/").removeprefix("refs/tags/") for r in result.pushed
            )
            render.say(f"- pushed {', '.join(shown)}")
        for deleted in result.remote_branches_deleted:
            render.say(f"- deleted {deleted}")
        if result.conflict:
            _say_conflict(result.conflict)
        else:
            render.say(f"Finished {result.branch}.")
        for note in result.notes:
            render.say(note)
    return EXIT_FAILURE if result.conflict else 0


@click.command("sync")
@click.option("--merge", is_flag=True, help="Merge develop into the branch instead of rebasing.")
@click.option("--continue", "resume", is_flag=True, help="Resume after resolving conflicts.")
@click.option("--abort", is_flag=True, help="Put the branch back as it was before the sync.")
@with_project
@json_option
def sync_command(merge: bool, resume: bool, abort: bool, project: Project, as_json: bool) -> int:
    """Rebase the current topic branch onto develop (keeping a backup ref first)."""
    from torchlane.flow.sync import continue_sync, sync_branch
    from torchlane.flow.transaction import abort as abort_operation

    _check_flags(resume, abort, merge=merge)
    if abort:
        aborted = abort_operation(project.git, "sync")
        render.print_json(aborted) if as_json else _say_abort(aborted)
        return 0
    result = continue_sync(project) if resume else sync_branch(project, merge=merge)
    if as_json:
        render.print_json(result)
        return EXIT_FAILURE if result.conflict else 0
    for warning in result.warnings:
        render.say(f"warning: {warning}", stderr=True)
    if result.conflict:
        _say_conflict(result.conflict)
        return EXIT_FAILURE
    if result.up_to_date:
        render.say(f"'{result.branch}' already contains everything on '{result.onto}'.")
        return 0
    verb = "rebased onto" if result.mode == "rebase" else "merged"
    render.say(
        f"'{result.branch}' {verb} '{result.onto}'. Backup of the old tip: {result.backup_ref}"
    )
    if result.needs_force_push:
        render.say(
            "The branch was already pushed and its commits were rewritten: push it with "
            "`git push --force-with-lease`.",
        )
    return 0


@click.command("publish")
@with_project
@json_option
def publish_command(project: Project, as_json: bool) -> None:
    """Push the current branch with upstream tracking and print the pull-request URL."""
    from torchlane.flow.publish import publish_branch

    result = publish_branch(project)
    if as_json:
        render.print_json(result)
        return
    render.say(f"Pushed '{result.branch}' to {result.remote} (tracking {result.upstream}).")
    if result.url:
        render.say(f"Open the pull request into '{result.base}': {result.url}")
    elif result.note:
        render.say(result.note)
