"""eval: evaluate the model of a commit and record its metrics in git notes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from torchlane import render
from torchlane.commands.options import json_option, with_project
from torchlane.evaluate.settings import check_device

if TYPE_CHECKING:
    from torchlane.project import Project


def _device(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_device(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("eval")
@click.argument("rev", required=False)
@click.option("--no-record", is_flag=True, help="Do not write the result into git notes.")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Evaluate, and run the checkpoint command, even if a cached result matches.",
)
@click.option("--device", callback=_device, default=None, help="auto, cpu, cuda, cuda:N or mps.")
@with_project
@json_option
def eval_command(
    rev: str | None,
    no_record: bool,
    no_cache: bool,
    device: str | None,
    project: Project,
    as_json: bool,
) -> None:
    """Evaluate REV (default: the working tree at HEAD) and record its metrics for that commit.

    A REV other than HEAD is evaluated in a temporary git worktree at that commit.
    """
    from torchlane.evaluate.commit import evaluate_commit
    from torchlane.evaluate.progress import progress_bar

    with progress_bar(enabled=True) as progress:
        outcome = evaluate_commit(
            project, rev, record=not no_record, use_cache=not no_cache, device=device,
            progress=progress,
        )  # fmt: skip
    if as_json:
        render.print_json(
            {
                "record": outcome.record.to_json(),
                "cached": outcome.cached,
                "recorded": outcome.recorded,
                "in_worktree": outcome.in_worktree,
            }
        )
        return
    record = outcome.record
    render.say(f"Evaluation of {record.commit[:12]}{' (dirty)' if record.dirty else ''}:")
    render.print_table(
        None,
        ["metric", "value"],
        [(name, f"{value:.6g}") for name, value in record.metrics.items()],
    )
    source = "cache" if outcome.cached else f"{record.extra.get('duration_s', 0):.2f} s"
    render.say(
        f"checkpoint {record.checkpoint_path} (sha256 {str(record.checkpoint_sha256)[:12]}), "
        f"device {record.environment.get('device')}, evaluated: {source}"
    )
    if outcome.in_worktree:
        render.say(f"Evaluated {record.commit[:12]} in a temporary worktree (removed).")
    if outcome.recorded:
        render.say(f"Recorded in git notes for {record.commit[:12]}.")
    elif not no_record:
        render.say("This commit already has this evaluation recorded; nothing added.")
