"""`torchlane ci generate`: the workflow files, written idempotently, hand edits kept."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchlane.generated import GeneratedFile, WriteOutcome, write_all
from torchlane.project import Project

if TYPE_CHECKING:
    from torchlane.flow.publish import Forge


def to_yaml(document: dict[str, Any]) -> str:
    from torchlane.yamlout import dump

    return dump(document)


def ci_files(ctx: Project, provider: Forge) -> list[GeneratedFile]:
    if provider == "github":
        from torchlane.ci.github import WORKFLOW_PATH, github_workflow_text

        return [GeneratedFile(Path(WORKFLOW_PATH), github_workflow_text(ctx.config))]
    from torchlane.ci.gitlab import PIPELINE_PATH, gitlab_pipeline

    return [GeneratedFile(Path(PIPELINE_PATH), to_yaml(gitlab_pipeline(ctx.config)))]


def generate_ci(
    ctx: Project, provider: Forge, *, force: bool = False, dry_run: bool = False
) -> list[WriteOutcome]:
    return write_all(ci_files(ctx, provider), ctx.root, force=force, dry_run=dry_run)
