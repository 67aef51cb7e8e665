"""env check, env generate, env lock."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from torchlane import render
from torchlane.commands.options import json_option, repo_option, with_project

if TYPE_CHECKING:
    from torchlane.project import Project


@click.group("env")
def env_group() -> None:
    """Pinned, verified environments: check, generate, lock."""


@env_group.command("check")
@click.option("--no-cache", is_flag=True, help="Ignore the cached result of an earlier run.")
@click.option(
    "--quiet", is_flag=True, help="Print nothing when there was nothing to check (git hooks)."
)
@repo_option  # the pydantic-free fast path: it finds the repository and reads settings itself
@json_option
def check_command(no_cache: bool, quiet: bool, repo: Path | None, as_json: bool) -> int:
    """Check Dockerfiles, compose, requirement/lock and conda files against the compatibility data."""
    from torchlane.env.check.fast import run

    return run(str(repo or Path.cwd()), as_json, use_cache=not no_cache, quiet=quiet)


@env_group.command("generate")
@click.option("--force", is_flag=True, help="Overwrite files that were edited by hand.")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option(
    "--shared",
    is_flag=True,
    help="Also write shared/compose.<member>.yaml from [tool.torchlane.team].",
)
@with_project(required=False)  # writes files from the settings, in a repository or not
@json_option
def generate_command(
    force: bool, dry_run: bool, shared: bool, project: Project, as_json: bool
) -> None:
    """Write Dockerfile, .dockerignore, compose.yaml and .devcontainer/ from [tool.torchlane.env]."""
    from torchlane.env.generate.generator import generate
    from torchlane.errors import TorchlaneError
    from torchlane.team.quotas import team_plan

    root, spec = project.root, project.config.env
    team = team_plan(project.loaded) if shared else None
    if shared and team is None:
        raise TorchlaneError(
            "--shared needs a [tool.torchlane.team] table with at least one member.",
            "Declare the server's members: see 'Shared GPU server' in docs/environments.md.",
        )
    preview = generate(root, spec, dry_run=True, team=team)
    if not as_json:
        for warning in preview.warnings:
            render.say(f"warning: {warning}", stderr=True)
        for planned in preview.files:
            sys.stdout.write(planned.diff)
    result = preview if dry_run else generate(root, spec, force=force, team=team)
    if as_json:
        render.print_json(result)
        return
    for planned in result.files:
        verb = "would " + planned.status if dry_run else planned.status
        if planned.status == "hand-edited" and not dry_run:
            verb = "overwrote hand edits in"
        render.say(f"{verb:<24} {planned.path}")
    render.say(f"base image: {result.base_image}")
    for warning in team.warnings if team else []:
        render.say(f"warning: {warning}", stderr=True)


@env_group.command("lock")
@click.option(
    "--upgrade", is_flag=True, help="Resolve the newest allowed versions instead of keeping pins."
)
@click.option("--python", default=None, help="Resolve with this interpreter (it needs pip-tools).")
@with_project(required=False)  # resolves the declared files, in a repository or not
@json_option
def lock_command(upgrade: bool, python: str | None, project: Project, as_json: bool) -> None:
    """Resolve the declared requirement files into a fully pinned lock with hashes (pip-compile)."""
    from torchlane.env.lock.resolve import make_lock

    result = make_lock(project.root, project.config.env, upgrade=upgrade, python=python)
    if as_json:
        render.print_json(result)
        return
    for warning in result.warnings:
        render.say(f"warning: {warning}", stderr=True)
    render.say(
        f"Wrote {result.lock}: {result.packages} pinned package(s) with hashes from {', '.join(result.inputs)}."
    )
