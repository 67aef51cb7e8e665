"""model: the checkpoints releases shipped (bindings in git notes, files in the model store)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from torchlane import render
from torchlane.commands.options import json_option, with_project

if TYPE_CHECKING:
    from torchlane.models.binding import ModelBinding
    from torchlane.project import Project


@click.group("model")
def model_group() -> None:
    """The model each release shipped: show, list, diff, push to and pull from the store."""


def _value(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _say_binding(binding: ModelBinding) -> None:
    render.say(
        f"{binding.tag} ({binding.commit[:12]}, evaluated at {binding.evaluated_commit[:12]})"
    )
    if binding.no_model:
        render.say("released without a model (--no-model)")
        return
    size = "-" if binding.size is None else f"{binding.size:,} bytes"
    render.say(f"checkpoint {binding.checkpoint_path} ({size})")
    render.say(f"sha256 {binding.digest}")
    render.say(f"weights {binding.weights_digest}")
    render.say(f"data {binding.data_fingerprint or '-'}")
    env = binding.environment
    render.say(
        "environment "
        + ", ".join(f"{k} {env[k]}" for k in ("python", "torch", "cuda", "device") if env.get(k))
    )
    if binding.run:
        render.say(
            f"trained by run {binding.run.run_id} at {binding.run.commit[:12]} "
            f"(`torchlane reproduce {binding.run.run_id}`)"
        )
    if binding.gate:
        render.say(f"gate: {binding.gate}")
    render.print_table(
        None, ["metric", "value"], [(k, _value(v)) for k, v in binding.metrics.items()]
    )


@model_group.command("show")
@click.argument("tag")
@with_project(tolerate_invalid=True)
@json_option
def show_command(tag: str, project: Project, as_json: bool) -> None:
    """Show what release TAG shipped: checkpoint digest, metrics, data, environment, run."""
    from torchlane.models.ops import find_binding

    binding = find_binding(project, tag)
    if as_json:
        render.print_json(binding.to_json())
    else:
        _say_binding(binding)


@model_group.command("list")
@with_project(tolerate_invalid=True)
@json_option
def list_command(project: Project, as_json: bool) -> None:
    """List every release's bound model, lowest version first."""
    from torchlane.models.ops import all_bindings, binding_summary

    bindings = all_bindings(project)
    if as_json:
        render.print_json([binding_summary(b) for b in bindings])
        return
    if not bindings:
        render.say("No release has a bound model yet (`torchlane finish` of a release binds one).")
        return
    rows = [
        (
            b.tag,
            b.commit[:12],
            "no model" if b.no_model else str(b.digest)[:12],
            ", ".join(f"{k} {_value(v)}" for k, v in b.metrics.items()),
        )
        for b in bindings
    ]
    render.print_table(None, ["tag", "commit", "sha256", "metrics"], rows)


@model_group.command("diff")
@click.argument("old")
@click.argument("new")
@with_project(tolerate_invalid=True)
@json_option
def diff_command(old: str, new: str, project: Project, as_json: bool) -> None:
    """Compare the models two releases shipped: metrics, data and environment."""
    from torchlane.models.ops import diff_models

    diff = diff_models(project, old, new)
    if as_json:
        render.print_json(
            {
                "old": diff.old.tag,
                "new": diff.new.tag,
                "metrics": diff.metrics,
                "data_changed": diff.data_changed,
                "environment": diff.environment,
                "same_weights": diff.same_weights,
            }
        )
        return

    def delta(before: object, after: object) -> str:
        if isinstance(before, float) and isinstance(after, float):
            return f"{after - before:+.4g}"
        return "-"

    render.print_table(
        f"{diff.old.tag} -> {diff.new.tag}",
        ["metric", diff.old.tag, diff.new.tag, "change"],
        [
            (c.name, _value(c.before), _value(c.after), delta(c.before, c.after))
            for c in diff.metrics
        ],
    )
    render.say(f"weights: {'identical' if diff.same_weights else 'different'}")
    render.say(f"data: {'changed' if diff.data_changed else 'the same'}")
    if diff.environment:
        for change in diff.environment:
            render.say(
                f"environment {change.name}: {_value(change.before)} -> {_value(change.after)}"
            )
    else:
        render.say("environment: the same")


@model_group.command("push")
@click.argument("tags", nargs=-1)
@with_project
@json_option
def push_command(tags: tuple[str, ...], project: Project, as_json: bool) -> None:
    """Upload the checkpoints releases bound (TAGS, default all) and push the bindings."""
    from torchlane.models.ops import push_models

    result = push_models(project, list(tags))
    if as_json:
        render.print_json(result)
        return
    for model in result.models:
        verb = "uploaded" if model.uploaded else "already in the store"
        render.say(f"- {model.tag}: {verb} ({model.location})")
    for reason in result.skipped:
        render.say(f"warning: {reason}", stderr=True)
    if result.notes_pushed:
        render.say("Pushed the model bindings and run manifests.")
    if not result.models and not result.skipped:
        render.say("No release has a bound model to push.")


@model_group.command("pull")
@click.argument("tag")
@click.option(
    "--to",
    "to",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to put it in (default: where the release's evaluation found it).",
)
@click.option("--force", is_flag=True, help="Overwrite a different file at the destination.")
@with_project
@json_option
def pull_command(tag: str, to: Path | None, force: bool, project: Project, as_json: bool) -> None:
    """Fetch the checkpoint release TAG shipped, verified against its bound digest."""
    from torchlane.models.ops import pull_model

    result = pull_model(project, tag, to, force=force)
    if as_json:
        render.print_json(result)
        return
    state = "fetched" if result.downloaded else "already there"
    render.say(f"{result.tag}: {result.path} ({state}, sha256 {result.digest[:12]} verified)")


@model_group.command("register")
@click.argument("tags", nargs=-1)
@click.option("--mlflow", "tracking_uri", required=True, metavar="URI", help="MLflow tracking URI.")
@click.option("--name", default=None, help="Registered model name (default: the project's name).")
@with_project
@json_option
def register_command(
    tags: tuple[str, ...], tracking_uri: str, name: str | None, project: Project, as_json: bool
) -> None:
    """Register the bound models (TAGS, default all) as versions in MLflow's Model Registry."""
    from torchlane.models.registry import register_models

    result = register_models(project, list(tags), tracking_uri, name)
    if as_json:
        render.print_json(result)
        return
    for version in result.versions:
        render.say(
            f"- {version.tag}: {result.model} version {version.version}, alias "
            f"@{version.alias} ({version.action})"
        )
    if not result.versions:
        render.say("No release has a bound model to register.")


@model_group.command("export")
@click.argument("tag")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["torchscript", "export", "onnx"]),
    required=True,
    help="torchscript (torch.jit), export (torch.export, .pt2) or onnx.",
)
@click.option("--rtol", type=float, default=1e-4, show_default=True, help="Relative tolerance.")
@click.option("--atol", type=float, default=1e-5, show_default=True, help="Absolute tolerance.")
@with_project
@json_option
def export_command(
    tag: str, fmt: str, rtol: float, atol: float, project: Project, as_json: bool
) -> None:
    """Export the model release TAG shipped, check it against the eager model, store it."""
    from torchlane.models.export import export_model

    result = export_model(project, tag, fmt, rtol=rtol, atol=atol)
    if as_json:
        render.print_json(result)
        return
    for warning in result.warnings:
        render.say(f"warning: {warning}", stderr=True)
    state = "stored" if result.uploaded else "already in the store"
    render.say(
        f"{result.tag}: {result.format} export matches the eager model on {result.batches} "
        f"validation batch(es) (max abs difference {result.max_abs_diff:.3g}); {state} at "
        f"{result.location}"
    )
