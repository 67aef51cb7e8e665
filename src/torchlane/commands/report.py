"""report: the gate's decision as markdown or JSON for a pull request, plus charts and exports."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from torchlane import render
from torchlane.commands.options import with_project
from torchlane.errors import TorchlaneError

if TYPE_CHECKING:
    from torchlane.project import Project


def _writable_folder(folder: Path, option: str) -> None:
    """Create `folder` (and its parents) now, or say in one sentence why it cannot be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass  # the folder may exist yet be read-only
    except OSError as exc:
        raise TorchlaneError(
            f"Cannot write {option} output to {folder}: {exc.strerror or exc}.",
            f"Give {option} a folder you can write to (it is created if missing).",
        ) from exc


@click.command("report")
@click.argument("rev", default="HEAD")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown",
              show_default=True)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to this file instead of printing it.")  # fmt: skip
@click.option("--baseline", default=None, help="Compare with this commit instead.")
@click.option("--artifact", "artifacts", multiple=True, metavar="[NAME=]PATH_OR_URL",
              help="Link an artifact in the report (repeatable).")  # fmt: skip
@click.option("--chart", "chart_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Write a PNG per gated metric along develop into this folder.")  # fmt: skip
@click.option("--tensorboard", "tb_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Write TensorBoard scalars of every evaluation (one run per branch).")  # fmt: skip
@click.option(
    "--wandb",
    "wandb_project",
    default=None,
    help="Also log the candidate to this W&B project (offline).",
)
@click.option(
    "--mlflow",
    "mlflow_experiment",
    default=None,
    help="Also log the candidate to this MLflow experiment.",
)
@click.option("--notes-ref", default=None, help="Notes ref (default: from configuration).")
@with_project
def report_command(
    *,
    rev: str, fmt: str, as_json: bool, output: Path | None, baseline: str | None,
    artifacts: tuple[str, ...], chart_dir: Path | None, tb_dir: Path | None,
    wandb_project: str | None, mlflow_experiment: str | None, notes_ref: str | None,
    project: Project,
) -> None:  # fmt: skip
    """Report REV's gate decision (the exit status does not depend on it: use `gate` to block)."""
    from torchlane.gate.decide import run_gate
    from torchlane.metrics.history import jsonable, log, notes_ref_of, pick_record
    from torchlane.metrics.store import read_records
    from torchlane.report.markdown import build_report, parse_artifact, to_markdown
    from torchlane.report.sinks import require

    # Before anything is written: a missing package or a folder that cannot be written must not
    # leave a half-done report (or a traceback).
    if wandb_project:
        require("wandb", "wandb", "Weights & Biases (the wandb package)")
    if mlflow_experiment:
        require("mlflow", "mlflow", "MLflow (the mlflow package)")
    if chart_dir is not None:
        require("matplotlib", "ml", "matplotlib", "draw the --chart PNGs")
        _writable_folder(chart_dir, "--chart")
    if tb_dir is not None:
        require(
            "tensorboard", "ml", "TensorBoard (the tensorboard package)", "write --tensorboard runs"
        )
        _writable_folder(tb_dir, "--tensorboard")
    if output is not None:
        _writable_folder(output.parent, "--output")
    ref = notes_ref_of(project, notes_ref)
    decision = run_gate(project, rev, ref, baseline)
    report = build_report(project, decision, ref, [parse_artifact(a) for a in artifacts])
    text = (
        render.to_json(jsonable(report)) + "\n" if as_json or fmt == "json" else to_markdown(report)
    )
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise TorchlaneError(
                f"Cannot write the report to {output}: {exc.strerror or exc}.",
                "Give --output a file path you can write to.",
            ) from exc
        render.say(f"Wrote {output}.", stderr=True)
    else:
        print(text, end="")
    candidate = pick_record(read_records(project.git, decision.candidate, ref).records)
    if chart_dir is not None:
        from torchlane.report.chart import write_charts

        history = log(project, ref, None, limit=200).entries
        metrics = dict(candidate.metrics) if candidate else {}
        for path in write_charts(history, decision, metrics, chart_dir):
            render.say(f"Wrote {path}.", stderr=True)
    if tb_dir is not None:
        from torchlane.metrics.history import develop_tip
        from torchlane.report.tensorboard import export_scalars

        develop = develop_tip(project).removeprefix("refs/heads/").removeprefix("refs/remotes/")
        branches = list(dict.fromkeys([develop, *project.git.branches()]))
        counts = export_scalars(project.git, branches, ref, tb_dir)
        render.say(
            f"Wrote TensorBoard runs to {tb_dir}: {sum(counts.values())} evaluations.", stderr=True
        )
    if candidate is not None and (wandb_project or mlflow_experiment):
        from torchlane.report import sinks

        if wandb_project:
            render.say(
                f"W&B offline run {sinks.send_to_wandb(candidate, wandb_project)}.", stderr=True
            )
        if mlflow_experiment:
            render.say(
                f"MLflow run {sinks.send_to_mlflow(candidate, mlflow_experiment)}.", stderr=True
            )
