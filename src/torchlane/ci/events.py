"""Which CI jobs run for each event of the branch model, and which stages each job runs.

One table for the generated GitHub workflow, the generated GitLab pipeline and
`torchlane ci --event`: the generators build their jobs' `--stage` lists from `job_stages`, and
the local run takes the union of the jobs `event_plan` returns, so the three cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torchlane.ci.settings import Context
from torchlane.ci.stages import configured_stages
from torchlane.config.settings import TorchlaneConfig
from torchlane.errors import TorchlaneError, usage_error

Event = Literal["push", "merge-request", "tag"]
# checks: the stages that need no GPU; gate, record, release: the evaluation jobs (GPU runners).
CiJob = Literal["checks", "gate", "record", "release"]
# The kinds of event the branch model distinguishes; each has one context and its jobs.
EventKind = Literal[
    "push-topic", "push-develop", "push-main", "merge-request-develop", "merge-request-main", "tag"
]

BRANCH_MODEL: dict[EventKind, tuple[Context, tuple[CiJob, ...]]] = {
    "push-topic": ("topic", ("checks",)),
    "merge-request-develop": ("topic", ("checks", "gate")),
    "push-develop": ("develop", ("checks", "record")),
    "merge-request-main": ("release", ("release",)),
    # A release or hotfix merged into main, and its tag: evaluated and recorded, so the next
    # release's gate (which compares with the latest release tag) has a baseline.
    "push-main": ("main", ("checks", "record")),
    "tag": ("main", ("checks", "record")),
}

# A merge request whose checks are those of a push to its source branch (same context, so the
# same stages on the same commit): a provider that runs the branch's push pipeline anyway may
# take the merge request's checks from there instead of running them twice. GitHub does, for
# pull requests from a branch of the same repository (a fork's pull request has no push run);
# GitLab runs no branch pipeline while a merge request is open, so its merge request runs them.
CHECKS_FROM_PUSH: dict[EventKind, EventKind] = {"merge-request-develop": "push-topic"}

# Which stages a job takes from its context: False = those that need no GPU, True = the GPU
# ones, None = all of them (the release job is the whole release suite in one place).
_JOB_GPU: dict[CiJob, bool | None] = {
    "checks": False,
    "gate": True,
    "record": True,
    "release": None,
}


@dataclass(frozen=True, kw_only=True)
class JobStages:
    job: CiJob
    context: Context
    stages: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class EventPlan:
    event: Event
    branch: str | None
    target: str | None
    kind: EventKind | None  # None: the generated CI has no pipeline for this event
    context: Context | None
    jobs: tuple[JobStages, ...]
    note: str = ""  # why nothing runs, for the user

    @property
    def stages(self) -> tuple[str, ...]:
        seen: list[str] = []
        for job in self.jobs:
            seen += [s for s in job.stages if s not in seen]
        return tuple(seen)


def job_stages(config: TorchlaneConfig, job: CiJob, context: Context) -> tuple[str, ...]:
    """The stages `job` runs in `context`, in configuration order."""
    gpu = _JOB_GPU[job]
    return tuple(
        s.name
        for s in configured_stages(config)
        if context in s.contexts and (gpu is None or s.gpu == gpu)
    )


def kind_jobs(config: TorchlaneConfig, kind: EventKind) -> tuple[JobStages, ...]:
    """The jobs of one kind of event that have stages to run (a job with none is not generated)."""
    context, jobs = BRANCH_MODEL[kind]
    planned = (
        JobStages(job=j, context=context, stages=job_stages(config, j, context)) for j in jobs
    )
    return tuple(j for j in planned if j.stages)


def job_kinds(config: TorchlaneConfig, job: CiJob) -> dict[EventKind, JobStages]:
    """Where a job runs: each kind of event that has it, with its stages there."""
    found: dict[EventKind, JobStages] = {}
    for kind in BRANCH_MODEL:
        for planned in kind_jobs(config, kind):
            if planned.job == job:
                found[kind] = planned
    return found


def event_kind(
    config: TorchlaneConfig, event: Event, branch: str | None, target: str | None
) -> tuple[EventKind | None, str]:
    """The kind of event, or None with the reason the generated CI runs nothing for it."""
    develop, main = config.branches.develop, config.branches.main
    if event == "tag":
        return "tag", ""
    if event == "merge-request":
        if target == develop:
            return "merge-request-develop", ""
        if target == main:
            return "merge-request-main", ""
        return None, f"Merge requests run CI only into {develop} or {main}, not into {target}."
    if branch == develop:
        return "push-develop", ""
    if branch == main:
        return "push-main", ""
    # By prefix, as the generated triggers match branches (not the stricter naming rules).
    p = config.prefixes
    name = branch or ""
    if name.startswith((p.feature, p.bugfix, p.refactor)):
        return "push-topic", ""
    if name.startswith((p.release, p.hotfix)):
        return None, (
            f"A push to {branch} runs no pipeline: its checks run on its merge request into {main}."
        )
    return None, f"A push to {branch} runs no pipeline: it is not a branch of the model."


def event_plan(
    config: TorchlaneConfig, event: Event, *, branch: str | None, target: str | None = None
) -> EventPlan:
    """What the generated CI runs for `event` on `branch` (into `target` for a merge request)."""
    if event == "merge-request" and not target:
        raise usage_error(
            "A merge-request event needs the branch it merges into.",
            f"Add --target {config.branches.develop} (or {config.branches.main}).",
        )
    if event == "push" and not branch:
        raise usage_error(
            "A push event needs a branch, and HEAD is detached.", "Add --branch NAME."
        )
    kind, note = event_kind(config, event, branch, target)
    if kind is None:
        return EventPlan(
            event=event, branch=branch, target=target, kind=None, context=None, jobs=(), note=note
        )
    p = config.prefixes
    if kind == "merge-request-main" and not (branch or "").startswith((p.release, p.hotfix)):
        # The generated release job refuses the same way, before running anything.
        raise TorchlaneError(
            f"{config.branches.main} only takes {p.release}* and {p.hotfix}* branches, "
            f"not {branch}.",
            f"Merge {branch} into {config.branches.develop}, then release from there.",
        )
    context, _ = BRANCH_MODEL[kind]
    return EventPlan(
        event=event,
        branch=branch,
        target=target,
        kind=kind,
        context=context,
        jobs=kind_jobs(config, kind),
    )
