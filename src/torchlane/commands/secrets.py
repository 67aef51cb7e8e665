"""secrets scan."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from torchlane import render
from torchlane.commands.options import json_option, with_project

if TYPE_CHECKING:
    from torchlane.project import Project


@click.group("secrets")
def secrets_group() -> None:
    """Find API keys, tokens and private keys before they leave the machine."""


@secrets_group.command("scan")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--staged", is_flag=True, help="Scan the staged content of staged files.")
@click.option("--history", is_flag=True, help="Scan the lines every commit (all refs) added.")
@click.option(
    "--update-baseline",
    is_flag=True,
    help="Accept the current findings: record their hashes in the baseline file.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="List the files not scanned (binary, too large...)."
)
@with_project(keep_repo=True)
@json_option
def scan_command(
    *,
    paths: tuple[str, ...],
    staged: bool,
    history: bool,
    update_baseline: bool,
    verbose: bool,
    project: Project,
    repo: Path | None,
    as_json: bool,
) -> int:
    """Scan PATHs (default: every file in the repository), the index, or all history.

    Exit status 1 when a secret is found. Silence a line with a `torchlane: allow-secret`
    comment, or accept findings with --update-baseline. UTF-16 files and text with NUL bytes
    are scanned; binary files are skipped (--verbose lists them, --json has them as "skipped").
    """
    from torchlane.secrets.report import run_scan, scan_settings

    # Like `git -C`: with --repo, relative PATHs are relative to that directory.
    given = [str(repo / p) if repo is not None else p for p in paths]
    report = run_scan(
        project.git,
        paths=given,
        staged=staged,
        history=history,
        settings=scan_settings(project.config.secrets),
        write_baseline=update_baseline,
    )
    if as_json:
        render.print_json(report)
        return 0 if report.ok else 1
    unit = report.unit
    if verbose:
        for skip in report.skipped:
            where = f"{skip.commit[:12]} {skip.path}" if skip.commit else skip.path
            render.say(f"skipped {where}: {skip.reason}")
    skipped = (
        f"; {len(report.skipped)} file(s) skipped (--verbose lists them)"
        if report.skipped and not verbose
        else ""
    )
    if report.baseline_updated is not None:
        added, removed = report.baseline_updated
        render.say(
            f"{report.baseline}: accepted {report.baselined} finding(s) "
            f"({added} new, {removed} dropped) from {report.scanned} {unit}."
        )
        return 0
    for finding in report.findings:
        print(f"{finding.location}: {finding.description} ({finding.rule}): {finding.preview}")
    accepted = f", {report.baselined} accepted by {report.baseline}" if report.baselined else ""
    if report.findings:
        print(
            f"{len(report.findings)} secret(s) in {report.holding} {unit} "
            f"({report.scanned} scanned{accepted}){skipped}.",
            file=sys.stderr,
        )
        print(
            "hint: remove the secret and rotate it (it may already be copied); for a false "
            "positive add `# torchlane: allow-secret` on the line or run "
            "`torchlane secrets scan --update-baseline`.",
            file=sys.stderr,
        )
        return 1
    render.say(f"No secrets in {report.scanned} {unit}{accepted}{skipped}.")
    return 0
