"""status, verify."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from torchlane import render
from torchlane.commands.options import json_option, with_project
from torchlane.commands.status_view import print_status

if TYPE_CHECKING:
    from torchlane.flow.verify import VerifyReport
    from torchlane.project import Project


@click.command("status")
@click.option(
    "--no-conflicts", is_flag=True, help="Skip predicting merge conflicts into develop (faster)."
)
@with_project(tolerate_invalid=True)  # read-only: a settings typo must not stop it
@json_option
def status_command(no_conflicts: bool, project: Project, as_json: bool) -> None:
    """Every topic, release and hotfix branch: drift, age, merge conflicts, naming, staleness."""
    from torchlane.flow.status import collect_status

    report = collect_status(project, predict_conflicts=not no_conflicts)
    if as_json:
        render.print_json(report)
    else:
        print_status(report)


def _print_verify(report: VerifyReport) -> None:
    for violation in report.violations:
        where = f" {violation.commit[:10]} {violation.subject!r}" if violation.commit else ""
        print(f"[{violation.rule}]{where}: {violation.message}", file=sys.stderr)
        print(f"  hint: {violation.hint}", file=sys.stderr)
    if report.ok:
        since = report.since if report.since == "the root commit" else report.since[:12]
        render.say(
            f"OK: {report.checked_main_commits} commit(s) on '{report.main}' since {since}, "
            f"{report.checked_branches} branch name(s): the model was followed."
        )
    else:
        print(f"{len(report.violations)} violation(s) of the branch model.", file=sys.stderr)


@click.command("verify")
@with_project(tolerate_invalid=True)  # read-only: a settings typo must not stop it
@json_option
def verify_command(project: Project, as_json: bool) -> int:
    """Check (for CI) that history followed the branch model since it was adopted; exit 1 if not."""
    from torchlane.flow.verify import verify_repository

    report = verify_repository(project)
    if as_json:
        render.print_json(report)
    else:
        _print_verify(report)
    return 0 if report.ok else 1
