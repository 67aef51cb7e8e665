"""`torchlane ci`: choose the stages for this branch, run them, write the artifacts."""

from __future__ import annotations

import os
from pathlib import Path

from torchlane.ci.artifacts import write_artifacts
from torchlane.ci.cache import StageCache
from torchlane.ci.runner import Listener, PipelineResult, run_pipeline
from torchlane.ci.settings import Context
from torchlane.ci.stages import context_for_branch, pipeline_stages
from torchlane.project import Project


def run_ci(
    ctx: Project,
    *,
    only: tuple[str, ...] = (),
    context: Context | None = None,
    use_cache: bool = True,
    jobs: int | None = None,
    listener: Listener | None = None,
) -> tuple[PipelineResult, list[Path]]:
    branch = ctx.git.current_branch()
    chosen_context = context or context_for_branch(branch, ctx.config)
    stages = pipeline_stages(ctx.config, chosen_context, only)
    workers = jobs or ctx.config.ci.jobs or os.cpu_count() or 1
    cache = StageCache(ctx.state_dir) if use_cache else None
    result = run_pipeline(
        ctx.git,
        stages,
        context=chosen_context,
        branch=branch,
        cache=cache,
        jobs=workers,
        listener=listener,
        excluded=(ctx.config.ci.artifacts,),
    )
    artifacts = write_artifacts(result, ctx.root / ctx.config.ci.artifacts)
    return result, artifacts
