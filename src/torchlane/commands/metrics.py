"""metrics show / log / diff / push / pull: the records kept in git notes."""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING

import click

from torchlane import render
from torchlane.commands.options import json_option, with_project

if TYPE_CHECKING:
    from torchlane.project import Project


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2%}"


def _problems(problems: list[object]) -> None:
    for problem in problems:
        print(f"warning: unreadable metrics note: {problem}", file=sys.stderr)


@click.group("metrics")
def metrics_group() -> None:
    """Evaluation records stored in git notes: show, log, diff, push, pull, export."""


@metrics_group.command("show")
@click.argument("rev", default="HEAD")
@click.option("--notes-ref", default=None, help="Notes ref (default: from configuration).")
@with_project(tolerate_invalid=True)  # read-only: a settings typo must not stop it
@json_option
def show_command(rev: str, notes_ref: str | None, project: Project, as_json: bool) -> None:
    """Every record of one commit (default HEAD)."""
    from torchlane.metrics.history import jsonable, notes_ref_of, show

    result = show(project.git, rev, notes_ref_of(project, notes_ref))
    if as_json:
        render.print_json(jsonable(result))
        return
    _problems(list(result.problems))
    if not result.records:
        render.say(f"{result.commit[:12]} has no metrics recorded.")
        return
    for record in result.records:
        env = ", ".join(f"{k} {v}" for k, v in record.environment.items() if v)
        render.say(
            f"{result.commit[:12]}  {record.created_at}{'  (dirty tree)' if record.dirty else ''}"
        )
        render.say(f"  environment: {env or 'unknown'}")
        if record.signature is not None:
            # Verified by the gate, against develop's allowed signers (gate/trust.py).
            render.say(f"  signed by: {record.signature.principal} (the gate verifies it)")
        for name, value in sorted(record.metrics.items()):
            render.say(f"  {name}: {_num(value)}")


@metrics_group.command("log")
@click.argument("rev", required=False)
@click.option("-n", "--limit", default=20, show_default=True, help="How many commits to list.")
@click.option("--all", "all_commits", is_flag=True, help="Also list commits without metrics.")
@click.option("--notes-ref", default=None, help="Notes ref (default: from configuration).")
@with_project(tolerate_invalid=True)  # read-only: a settings typo must not stop it
@json_option
def log_command(
    *,
    rev: str | None,
    limit: int,
    all_commits: bool,
    notes_ref: str | None,
    project: Project,
    as_json: bool,
) -> None:
    """Metrics along the first-parent line of REV (default: develop)."""
    from torchlane.metrics.history import jsonable, log, notes_ref_of

    result = log(project, notes_ref_of(project, notes_ref), rev, limit, all_commits)
    if as_json:
        render.print_json(jsonable(result))
        return
    _problems(list(result.problems))
    names = sorted({n for e in result.entries for n in e.metrics})
    rows = [
        [e.commit[:12], e.date[:10], e.subject[:40]] + [_num(e.metrics.get(n)) for n in names]
        for e in result.entries
    ]
    render.print_table(f"metrics along {result.tip}", ["commit", "date", "subject", *names], rows)


@metrics_group.command("diff")
@click.argument("rev_a", metavar="A")
@click.argument("rev_b", metavar="B")
@click.option("--notes-ref", default=None, help="Notes ref (default: from configuration).")
@with_project(tolerate_invalid=True)  # read-only: a settings typo must not stop it
@json_option
def diff_command(
    rev_a: str, rev_b: str, notes_ref: str | None, project: Project, as_json: bool
) -> None:
    """Each metric of A and B, the change B − A and the relative change."""
    from torchlane.metrics.history import diff, jsonable, notes_ref_of

    result = diff(project.git, rev_a, rev_b, notes_ref_of(project, notes_ref))
    if as_json:
        render.print_json(jsonable(result))
        return
    _problems(list(result.problems))
    rows = [
        [r.metric, _num(r.a), _num(r.b), _num(r.change), _pct(r.relative_change)]
        for r in result.rows
    ]
    render.print_table(
        f"{result.a[:12]} → {result.b[:12]}", ["metric", rev_a, rev_b, "change", "relative"], rows
    )


def _sync(
    direction: str, remote: str | None, notes_ref: str | None, project: Project, as_json: bool
) -> None:
    from torchlane.metrics import sync
    from torchlane.metrics.history import notes_ref_of

    target = remote or project.config.metrics.remote
    ref = notes_ref_of(project, notes_ref)
    if direction == "push":
        token_variable = project.config.ci.gitlab_token_variable
        result = sync.push(project.git, ref, target, token_variable=token_variable)
    else:
        result = sync.pull(project.git, ref, target)
    if as_json:
        render.print_json(result)
    else:
        render.say(f"{result.notes_ref} {direction} {result.remote}: {result.action}.")


@metrics_group.command("push")
@click.argument("remote", required=False)
@click.option("--notes-ref", default=None, help="Notes ref (default: from configuration).")
@with_project
@json_option
def push_command(
    remote: str | None, notes_ref: str | None, project: Project, as_json: bool
) -> None:
    """Merge the remote's records into ours, then push (retried if another job pushed first)."""
    _sync("push", remote, notes_ref, project, as_json)


@metrics_group.command("pull")
@click.argument("remote", required=False)
@click.option("--notes-ref", default=None, help="Notes ref (default: from configuration).")
@with_project
@json_option
def pull_command(
    remote: str | None, notes_ref: str | None, project: Project, as_json: bool
) -> None:
    """Fetch the remote's records and keep every record of both sides."""
    _sync("pull", remote, notes_ref, project, as_json)


@metrics_group.command("export")
@click.option("--mlflow", "tracking_uri", envvar="MLFLOW_TRACKING_URI", required=True,
              metavar="URI", help="MLflow tracking server (default: $MLFLOW_TRACKING_URI).")  # fmt: skip
@click.option("--experiment", envvar="MLFLOW_EXPERIMENT_NAME", default=None,
              help="Experiment to export into (default: $MLFLOW_EXPERIMENT_NAME, else the repository's name).")  # fmt: skip
@click.option("--branch", default=None, help="Only records of commits in this branch's history.")
@click.option("--since", default=None, metavar="REV",
              help="Only records of commits that REV does not reach (newer work).")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Say what would be created; create nothing.")
@click.option("--notes-ref", default=None, help="Notes ref (default: from configuration).")
@with_project
@json_option
def export_command(
    *,
    tracking_uri: str, experiment: str | None, branch: str | None, since: str | None,
    dry_run: bool, notes_ref: str | None, project: Project, as_json: bool,
) -> None:  # fmt: skip
    """Mirror every record to an MLflow tracking server, one run per record, never twice."""
    from torchlane.metrics.export_mlflow import export_to_mlflow
    from torchlane.metrics.history import jsonable, notes_ref_of
    from torchlane.metrics.mlflow_records import export_items, repository_name

    items, problems = export_items(project, notes_ref_of(project, notes_ref), branch, since)
    name = experiment or repository_name(project)
    result = export_to_mlflow(items, tracking_uri, name, dry_run=dry_run, problems=problems)
    if as_json:
        render.print_json(jsonable(result))
        return
    _problems(list(result.problems))
    for run in result.runs:
        if run.action != "skipped":
            render.say(f"{run.action}: {run.commit[:12]} {run.created_at}  run {run.run_id or '—'}")
    counts = f"{result.would_create} would be created" if dry_run else f"{result.created} created"
    render.say(
        f"MLflow experiment '{result.experiment}' at {result.tracking_uri}: "
        f"{counts}, {result.skipped} already there."
    )
