"""ci (run the pipeline), ci generate, ci protect."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from torchlane import render
from torchlane.commands.options import json_option, repo_option, with_project

if TYPE_CHECKING:
    from torchlane.flow.publish import Forge
    from torchlane.project import Project


def _progress_listener(as_json: bool):  # type: ignore[no-untyped-def]
    from torchlane.ci.runner import StageResult, StageStatus

    def listen(result: StageResult) -> None:
        if as_json:
            return
        if result.status is StageStatus.RUNNING:
            render.say(f"  ... {result.name}", stderr=True)
        elif result.status in (StageStatus.PASSED, StageStatus.CACHED):
            render.say(
                f"  ok  {result.name} ({result.reason or f'{result.seconds:.1f} s'})", stderr=True
            )
        else:
            render.say(f"  !!  {result.name} {result.status.value} {result.reason}", stderr=True)

    return listen


@click.group("ci", invoke_without_command=True)
@click.option("--stage", "stages", multiple=True, help="Run only this stage (repeatable).")
@click.option(
    "--context",
    type=click.Choice(["topic", "develop", "release", "main"]),
    default=None,
    help="Run the stages CI runs for this kind of branch (default: from the current branch).",
)
@click.option(
    "--event",
    type=click.Choice(["push", "merge-request", "tag"]),
    default=None,
    help="Run exactly the stages the generated CI runs for this event.",
)
@click.option(
    "--branch",
    "event_branch",
    default=None,
    help="With --event: the pushed or merged branch (default: the current one).",
)
@click.option(
    "--target", default=None, help="With --event merge-request: the branch it merges into."
)
@click.option("--no-cache", is_flag=True, help="Run every stage even if its inputs are unchanged.")
@click.option("--jobs", type=click.IntRange(min=1), default=None, help="Stages run at once.")
@repo_option  # a group: it opens the project only when run without a subcommand
@json_option
@click.pass_context
def ci_group(
    click_ctx: click.Context,
    stages: tuple[str, ...],
    context: str | None,
    event: str | None,
    event_branch: str | None,
    target: str | None,
    no_cache: bool,
    jobs: int | None,
    repo: Path | None,
    as_json: bool,
) -> int:
    """Run the project's pipeline exactly as CI will: parallel stages, cached when unchanged."""
    if click_ctx.invoked_subcommand is not None:
        return 0
    from torchlane.ci.artifacts import _ICON
    from torchlane.ci.pipeline import run_ci
    from torchlane.ci.runner import StageStatus
    from torchlane.project import open_project

    ctx = open_project(repo)
    result, artifacts = run_ci(
        ctx,
        only=stages,
        context=context,  # type: ignore[arg-type]
        use_cache=not no_cache,
        jobs=jobs,
        listener=_progress_listener(as_json),
        event=event,  # type: ignore[arg-type]
        event_branch=event_branch,
        target=target,
    )
    if as_json:
        render.print_json({"passed": result.passed, "result": result, "artifacts": artifacts})
        return 0 if result.passed else 1
    if result.note:
        render.say(result.note)
    for stage in result.stages:
        if stage.status is StageStatus.FAILED:
            print(
                f"\n--- {stage.name} failed (exit {stage.exit_code}): {' '.join(stage.command)}",
                file=sys.stderr,
            )
            print("\n".join(stage.output.rstrip().splitlines()[-60:]), file=sys.stderr)
            if stage.reason:
                print(f"error: {stage.reason}.", file=sys.stderr)
    rows = [
        (
            s.name,
            _ICON.get(s.status, s.status.value),
            f"{s.seconds:.1f} s",
            "yes" if s.required else "no",
        )
        for s in result.stages
    ]
    render.print_table(
        f"torchlane ci ({result.context})", ["stage", "result", "time", "required"], rows
    )
    render.say(f"Artifacts: {', '.join(str(p.relative_to(ctx.root)) for p in artifacts)}")
    render.say(
        "Pipeline passed." if result.passed else "Pipeline failed: a required stage did not pass."
    )
    return 0 if result.passed else 1


@ci_group.command("generate")
@click.option("--provider", type=click.Choice(["github", "gitlab"]), required=True)
@click.option("--force", is_flag=True, help="Overwrite hand-edited files.")
@click.option("--dry-run", is_flag=True, help="Show the diff; write nothing.")
@with_project
@json_option
def generate_command(
    provider: Forge, force: bool, dry_run: bool, project: Project, as_json: bool
) -> None:
    """Write CI workflows for the whole branch model."""
    from torchlane.ci.generate import generate_ci

    outcomes = generate_ci(project, provider, force=force, dry_run=dry_run)
    _report_outcomes(outcomes, as_json)


@ci_group.command("protect")
@click.option("--provider", type=click.Choice(["github", "gitlab"]), required=True)
@click.option(
    "--apply/--no-apply", default=True, help="Apply with gh/glab when present and logged in."
)
@click.option("--force", is_flag=True, help="Overwrite hand-edited files.")
@with_project
@json_option
def protect_command(
    provider: Forge, apply: bool, force: bool, project: Project, as_json: bool
) -> None:
    """Write (and apply) the branch protection that makes the model hold on the platform."""
    from torchlane.ci.protect import protect

    result = protect(project, provider, apply=apply, force=force)
    if as_json:
        render.print_json(result)
        return
    _report_outcomes(result.files, False)
    for line in result.messages:
        render.say(line)


@ci_group.command("signing-key")
@click.option("--provider", type=click.Choice(["github", "gitlab"]), required=True)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the new private key goes (default: ~/.ssh/torchlane-REPO-PRINCIPAL).",
)
@click.option("--principal", default="torchlane-ci", show_default=True, help="The signer's name.")
@with_project
@json_option
def signing_key_command(
    provider: Forge, key_file: Path | None, principal: str, project: Project, as_json: bool
) -> None:
    """Create the key pair CI signs metrics records with, and allow it in the repository."""
    from torchlane.ci.signing import setup_signing

    result = setup_signing(project, provider, key_file=key_file, principal=principal)
    if as_json:
        render.print_json(result)
        return
    render.say(f"Private key: {result.private_key} (0600; never commit it)")
    render.say(
        f"{'Added' if result.added else 'Already in'} {result.allowed_signers}: "
        f"{result.principal} {result.public_key}"
    )
    render.say("Next:")
    for number, step in enumerate(result.steps, 1):
        render.say(f"  {number}. {step}")


def _report_outcomes(outcomes: list, as_json: bool) -> None:  # type: ignore[type-arg]
    from torchlane.generated import WriteStatus, refusal_error

    if as_json:
        render.print_json(outcomes)
    else:
        for outcome in outcomes:
            if outcome.diff and outcome.status in (WriteStatus.REFUSED, WriteStatus.PLANNED):
                sys.stdout.write(outcome.diff)
            render.say(f"{outcome.status.value:>9}  {outcome.path.as_posix()}")
    error = refusal_error(outcomes)
    if error is not None:
        raise error
