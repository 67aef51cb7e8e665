"""`torchlane ci generate`: the workflow files, written idempotently, hand edits kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torchlane.flow.context import FlowContext
from torchlane.generated import GeneratedFile, WriteOutcome, write_all


def to_yaml(document: dict[str, Any]) -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):
        # Shared dicts would become YAML anchors, which not every CI reader supports.
        def ignore_aliases(self, data: object) -> bool:
            return True

    def _multiline(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
        style = "|" if "\n" in text else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)

    _Dumper.add_representer(str, _multiline)
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True)


def ci_files(ctx: FlowContext, provider: str) -> list[GeneratedFile]:
    if provider == "github":
        from torchlane.ci.github import WORKFLOW_PATH, github_workflow

        return [GeneratedFile(Path(WORKFLOW_PATH), to_yaml(github_workflow(ctx.config)))]
    from torchlane.ci.gitlab import PIPELINE_PATH, gitlab_pipeline

    return [GeneratedFile(Path(PIPELINE_PATH), to_yaml(gitlab_pipeline(ctx.config)))]


def generate_ci(
    ctx: FlowContext, provider: str, *, force: bool = False, dry_run: bool = False
) -> list[WriteOutcome]:
    return write_all(ci_files(ctx, provider), ctx.root, force=force, dry_run=dry_run)
