"""status, verify."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from torchlane import render
from torchlane.commands.options import json_option, with_project

if TYPE_CHECKING:
    from torchlane.flow.status import BranchStatus, StatusReport
    from torchlane.flow.verify import VerifyReport
    from torchlane.project import Project


def _days(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}d" if value >= 1 else f"{value * 24:.0f}h"


def _merge_cell(branch: BranchStatus, predicted: bool) -> str:
    if not predicted:
        return "-"
    if branch.conflict is None:
        return "unknown"
    if not branch.conflict:
        return "clean"
    return f"CONFLICT ({len(branch.conflict_files)})"  # the files are named in the hints


def _flags(branch: BranchStatus) -> str:
    flags = []
    if branch.naming_problems:
        flags.append("bad-name")
    if branch.merged:
        flags.append("merged")
    if branch.stale:
        flags.append("stale")
    if branch.long_lived:
        flags.append("sync")
    return ", ".join(flags)


def _print_status(report: StatusReport) -> None:
    if not report.branches:
        render.say(f"No branches besides '{report.main}' and '{report.develop}'.")
        return
    rows = [
        [
            b.name,
            b.type.value if b.type else "?",
            f"+{b.ahead} -{b.behind}" + ("" if b.base == report.develop else f" {b.base}"),
            _days(b.last_commit_days),
            _days(b.forked_days),
            _merge_cell(b, report.conflicts_predicted),
            _flags(b),
        ]
        for b in report.branches
    ]
    columns = ["branch", "type", "+ahead -behind", "last", "forked", "merge", "flags"]
    title = f"Against {report.develop} (hotfixes: {report.main}); merge = into {report.develop}"
    render.print_table(title, columns, rows)
    for branch in report.branches:
        if branch.conflict_error:
            render.say(f"{branch.name}: merge not predicted: {branch.conflict_error}")
        for problem in branch.naming_problems:
            render.say(f"{branch.name}: {problem}")
        for hint in branch.hints:
            render.say(f"{branch.name}: {hint}")


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
        _print_status(report)


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
