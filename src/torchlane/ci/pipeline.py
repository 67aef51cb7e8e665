"""`torchlane ci`: choose the stages for this branch, run them, write the artifacts."""

from __future__ import annotations

import os
from pathlib import Path

from torchlane.ci.artifacts import write_artifacts
from torchlane.ci.cache import StageCache
from torchlane.ci.events import Event, event_plan
from torchlane.ci.runner import Listener, PipelineResult, run_pipeline
from torchlane.ci.settings import Context
from torchlane.ci.stages import context_for_branch, pipeline_stages
from torchlane.errors import usage_error
from torchlane.project import Project


def run_ci(
    ctx: Project,
    *,
    only: tuple[str, ...] = (),
    context: Context | None = None,
    use_cache: bool = True,
    jobs: int | None = None,
    listener: Listener | None = None,
    event: Event | None = None,
    event_branch: str | None = None,
    target: str | None = None,
) -> tuple[PipelineResult, list[Path]]:
    """Run the stages of `context` (default: the current branch's), or `only` these, or, with
    `event`, exactly the stages the generated CI runs for that event (see ci/events.py)."""
    branch = ctx.git.current_branch()
    if event is None and (event_branch or target):
        raise usage_error(
            "--branch and --target describe an event; they need --event.",
            "Add --event push, --event merge-request or --event tag.",
        )
    if event is not None:
        if only or context:
            raise usage_error(
                "--event chooses the stages itself; it does not combine with --stage or --context.",
                "Drop --stage/--context, or drop --event.",
            )
        plan = event_plan(ctx.config, event, branch=event_branch or branch, target=target)
        if plan.context is None or not plan.stages:
            result = PipelineResult(
                context=plan.context or "none",
                branch=plan.branch,
                stages=[],
                seconds=0.0,
                note=plan.note or "The generated CI runs no stage for this event.",
            )
            return result, write_artifacts(result, ctx.root / ctx.config.ci.artifacts)
        chosen_context: Context = plan.context
        stages = pipeline_stages(ctx.config, chosen_context, plan.stages)
    else:
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
