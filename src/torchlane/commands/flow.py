"""init, start, check-name."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from torchlane import render
from torchlane.commands.options import json_option, repo_option, with_project

if TYPE_CHECKING:
    from torchlane.project import Project


@click.command("init")
@click.option("--no-commit", is_flag=True, help="Write the configuration but do not commit it.")
@click.option("--force", is_flag=True, help="Rewrite an existing [tool.torchlane] configuration.")
@click.option(
    "--hooks/--no-hooks", default=False, help="Also install the pre-commit and pre-push hooks."
)
@click.option(
    "--filter/--no-filter",
    "notebook_filter",
    default=False,
    help="Also install the notebook-stripping git filter (this repository only).",
)
@repo_option  # init may create the repository and writes the settings a project would load
@json_option
def init_command(
    no_commit: bool,
    force: bool,
    hooks: bool,
    notebook_filter: bool,
    repo: Path | None,
    as_json: bool,
) -> None:
    """Adopt the branch model: main, develop, a shared configuration, a commented eval section
    and .gitignore entries; hooks and the notebook filter only when asked."""
    from torchlane.flow.init import init_repository

    result = init_repository(
        repo or Path.cwd(),
        commit=not no_commit,
        force=force,
        hooks=hooks,
        notebook_filter=notebook_filter,
    )
    if as_json:
        render.print_json(result)
        return
    for action in result.actions:
        render.say(f"- {action}")
    render.say(
        f"Branch model ready: '{result.main}' for releases, '{result.develop}' for integration."
    )
    if not result.committed and "wrote" in " ".join(result.actions):
        render.say(
            f"Commit {result.config_path.name} on '{result.develop}' to share it with the team."
        )
    render.say("Next:")
    for command in result.next_commands:
        render.say(f"  {command}")


@click.command("start")
@click.argument("branch_type", metavar="TYPE")
@click.argument("name")
@with_project
@json_option
def start_command(branch_type: str, name: str, project: Project, as_json: bool) -> None:
    """Start a branch: TYPE is feature, bugfix, refactor (NAME is a slug) or release, hotfix (NAME is a version)."""
    from torchlane.flow.start import start_branch

    result = start_branch(project, branch_type, name)
    if as_json:
        render.print_json(result)
        return
    for warning in result.warnings:
        render.say(f"warning: {warning}", stderr=True)
    render.say(f"Switched to a new branch '{result.branch}' from '{result.base}'.")
    render.say("When done: `torchlane finish` (or `torchlane publish` to open a pull request).")


@click.command("check-name")
@click.argument("name", required=False)
@with_project(tolerate_invalid=True)  # read-only: a settings typo must not stop it
@json_option
def check_name_command(name: str | None, project: Project, as_json: bool) -> int:
    """Check a branch name (default: the current branch) against the naming conventions."""
    from torchlane.errors import TorchlaneError
    from torchlane.naming import check_name
    from torchlane.naming_rules import print_verdict

    if name is None:
        name = project.git.current_branch()
        if name is None:
            raise TorchlaneError(
                "HEAD is detached, so there is no branch name to check.", "Pass NAME."
            )
    verdict = check_name(name, project.config)
    if as_json:
        render.print_json(verdict)
        return 0 if verdict.ok else 1
    return print_verdict(name, verdict.problems, verdict.suggestion)
