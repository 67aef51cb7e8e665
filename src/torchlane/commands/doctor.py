"""doctor: this machine's environment against the declaration and the lock."""

from __future__ import annotations

from pathlib import Path

import click

from torchlane import render
from torchlane.commands.options import json_option, repo_option

_MARK = {"ok": "ok", "info": "info", "warning": "WARN", "error": "ERROR"}


@click.command("doctor")
@repo_option
@json_option
def doctor_command(repo: Path | None, as_json: bool) -> int:
    """Compare python, torch build, CUDA, cuDNN, GPUs, driver, packages and variables with the declaration."""
    from torchlane.doctor.diagnose import run_doctor
    from torchlane.git import Git

    start = repo or Path.cwd()
    inside = Git(start).run("rev-parse", "--show-toplevel", check=False)
    root = Path(inside.stdout.strip()) if inside.ok else start
    report = run_doctor(root)
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
