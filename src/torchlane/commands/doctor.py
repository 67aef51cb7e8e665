"""doctor: this machine's environment against the declaration and the lock."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from torchlane import render
from torchlane.commands.options import json_option, with_project

if TYPE_CHECKING:
    from torchlane.project import Project

_MARK = {"ok": "ok", "info": "info", "warning": "WARN", "error": "ERROR"}


@click.command("doctor")
@with_project(required=False)  # a machine check: also in a directory that is not a repository
@json_option
def doctor_command(project: Project, as_json: bool) -> int:
    """Compare python, torch build, CUDA, cuDNN, GPUs, driver, packages and variables with the declaration."""
    from torchlane.doctor.diagnose import run_doctor

    report = run_doctor(project)
    if as_json:
        render.print_json(
            {
                "ok": report.ok,
                "errors": report.errors,
                "warnings": report.warnings,
                "config": report.config,
                "lock": report.lock,
                "machine": report.machine,
                "findings": report.findings,
            }
        )
        return 0 if report.ok else 1
    render.print_table(
        "torchlane doctor",
        ["status", "check", "found", "expected", "what to do"],
        [
            [
                _MARK[f.status.value],
                f.check,
                f.found,
                f.expected,
                "" if f.status.value == "ok" else f.fix,
            ]
            for f in report.findings
        ],
    )
    source = report.config or "defaults (no [tool.torchlane.env] found)"
    render.say(
        f"{report.errors} error(s), {report.warnings} warning(s); declaration: {source}.",
        stderr=not report.ok,
    )
    return 0 if report.ok else 1
