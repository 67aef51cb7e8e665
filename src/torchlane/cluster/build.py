"""`torchlane cluster render`: pick the manifests for a kind of work, and write them out."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from torchlane.cluster.manifests import (
    Kind,
    Rendered,
    batch_job,
    job_name,
    pytorch_job,
    to_yaml,
)
from torchlane.cluster.quotas import quota_documents
from torchlane.cluster.target import resolve_target
from torchlane.errors import usage_error
from torchlane.leanfs import write_atomic
from torchlane.project import Project


def render_manifests(
    ctx: Project,
    kind: Kind,
    *,
    rev: str = "HEAD",
    command: tuple[str, ...] = (),
    allow_dirty: bool = False,
    name: str | None = None,
    namespace: str | None = None,
) -> Rendered:
    config = ctx.config
    if kind == "quotas":
        if command:
            raise usage_error("`render quotas` takes no command.", "Drop what follows `--`.")
        return Rendered(
            kind="quotas",
            name=None,
            commit=None,
            branch=None,
            documents=quota_documents(ctx.loaded),
        )
    if kind == "eval" and command:
        raise usage_error(
            "`render eval` runs `torchlane eval` and `torchlane gate`; it takes no command.",
            "Use `torchlane cluster render run -- COMMAND...` to run your own command.",
        )
    if kind == "train" and not command:
        command = config.cluster.train.command
    if kind in ("run", "train") and not command:
        raise usage_error(
            f"`render {kind}` needs the command to run, after `--`.",
            f"For example: torchlane cluster render {kind} -- "
            + ("train.py --epochs 10" if kind == "train" else "python train.py")
            + (" (or set [tool.torchlane.cluster.train] command)." if kind == "train" else "."),
        )
    target = resolve_target(ctx, rev, allow_dirty)
    resolved_name = job_name(target, kind, command, name)
    where = namespace or config.cluster.namespace
    if kind == "train":
        document = pytorch_job(config, target, command=command, name=resolved_name, namespace=where)
    else:
        document = batch_job(
            config, target, kind, command=command, name=resolved_name, namespace=where
        )
    return Rendered(
        kind=kind,
        name=resolved_name,
        commit=target.commit,
        branch=target.branch,
        documents=[document],
    )


def write_manifests(rendered: Rendered, directory: Path) -> Rendered:
    """Write DIRECTORY/NAME.yaml whole or not at all (a temporary file renamed into place)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{rendered.name or 'torchlane-quotas'}.yaml"
    write_atomic(path, to_yaml(rendered))
    return replace(rendered, path=path)
