"""cluster render, cluster submit, cluster logs: hand work to Kubernetes and Kubeflow."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from torchlane import render
from torchlane.commands.options import json_option, repo_option, with_project

if TYPE_CHECKING:
    from torchlane.cluster.manifests import Rendered
    from torchlane.project import Project

F = TypeVar("F", bound=Callable[..., Any])
KIND_CHOICES = ("eval", "run", "train", "quotas")


def _render_options(func: F) -> F:
    options = [
        click.argument("kind", type=click.Choice(KIND_CHOICES), default="eval"),
        click.option("--rev", default="HEAD", show_default=True, help="Commit to run."),
        click.option("--name", default=None, help="Job name (default: project-kind-commit)."),
        click.option(
            "-n",
            "--namespace",
            default=None,
            help="Namespace (default: [cluster] namespace, else kubectl's).",
        ),
        click.option(
            "--allow-dirty", is_flag=True, help="Render although tracked files have changes."
        ),
        with_project,
        json_option,
        click.argument("command", nargs=-1, type=click.UNPROCESSED),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _render(
    kind: str,
    rev: str,
    name: str | None,
    namespace: str | None,
    allow_dirty: bool,
    project: Project,
    command: tuple[str, ...],
) -> Rendered:
    from torchlane.cluster.build import render_manifests

    return render_manifests(
        project,
        kind,  # type: ignore[arg-type]  # click.Choice checked it
        rev=rev,
        command=command,
        allow_dirty=allow_dirty,
        name=name,
        namespace=namespace,
    )


@click.group("cluster")
def cluster_group() -> None:
    """Run evaluation, commands and training on Kubernetes (Jobs, Kubeflow PyTorchJobs)."""


@cluster_group.command("render")
@_render_options
@click.option("--output", "output", type=click.Path(file_okay=False, path_type=Path), help="Write DIR/NAME.yaml instead of printing.")  # fmt: skip
def render_command(
    kind: str,
    rev: str,
    name: str | None,
    namespace: str | None,
    allow_dirty: bool,
    project: Project,
    as_json: bool,
    command: tuple[str, ...],
    output: Path | None,
) -> None:
    """Write the manifests that run KIND (eval, run, train, quotas) at one commit.

    \b
    torchlane cluster render eval                 # torchlane eval + gate, in a Job
    torchlane cluster render run -- python x.py   # torchlane run -- COMMAND, in a Job
    torchlane cluster render train -- train.py    # torchrun, in a Kubeflow PyTorchJob
    torchlane cluster render quotas               # team namespaces, quotas, defaults
    """
    from torchlane.cluster.build import write_manifests
    from torchlane.cluster.manifests import to_yaml

    rendered = _render(kind, rev, name, namespace, allow_dirty, project, command)
    if output is not None:
        rendered = write_manifests(rendered, output)
    if as_json:
        render.print_json(rendered)
    elif rendered.path is not None:
        render.say(f"wrote {rendered.path}")
    else:
        click.echo(to_yaml(rendered), nl=False)


@cluster_group.command("submit")
@_render_options
@click.option("--dry-run", is_flag=True, help="Let the API server validate; create nothing.")
def submit_command(
    kind: str,
    rev: str,
    name: str | None,
    namespace: str | None,
    allow_dirty: bool,
    project: Project,
    as_json: bool,
    command: tuple[str, ...],
    dry_run: bool,
) -> None:
    """Render KIND at one commit and `kubectl apply` it to the current context."""
    from torchlane.cluster.kubectl import apply, open_kubectl
    from torchlane.cluster.manifests import to_yaml

    kubectl = open_kubectl()
    rendered = _render(kind, rev, name, namespace, allow_dirty, project, command)
    result = apply(kubectl, to_yaml(rendered), dry_run=dry_run)
    if as_json:
        render.print_json({"rendered": rendered, "apply": result})
        return
    for line in result.applied:
        render.say(line)
    if rendered.name and not dry_run:
        scope = f" -n {namespace}" if namespace else ""
        render.say(
            f"follow it with: torchlane cluster logs {rendered.name}{scope} --follow", stderr=True
        )


@cluster_group.command("logs")
@click.argument("job")
@click.option("-f", "--follow", is_flag=True, help="Stream the logs until the job ends.")
@click.option(
    "-n",
    "--namespace",
    default=None,
    help="Namespace (default: [cluster] namespace, else kubectl's).",
)
@repo_option  # works outside a repository too (kubectl's namespace); reads no settings with -n
def logs_command(job: str, follow: bool, namespace: str | None, repo: Path | None) -> int:
    """Print the logs of JOB (NAME, job/NAME or pytorchjob/NAME; the master pod for training)."""
    from torchlane.cluster.kubectl import open_kubectl, stream_logs
    from torchlane.config.load import load_config
    from torchlane.errors import TorchlaneError
    from torchlane.git import open_repo

    if namespace is None:
        try:
            root: Path | None = open_repo(repo).toplevel()
        except TorchlaneError:  # outside a repository: kubectl's own namespace
            root = None
        namespace = load_config(root).config.cluster.namespace if root else None
    return stream_logs(open_kubectl(), job, follow=follow, namespace=namespace)
