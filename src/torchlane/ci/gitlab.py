"""GitLab CI pipeline for the whole branch model.

Every script line is plain POSIX shell (no heredocs, no multi-line blocks), so `sh -n` checks
each one; the merge-request note is posted by `python -m torchlane.ci.gitlab_note`.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from torchlane.ci.common import (
    ENSURE_GIT,
    checks_steps,
    ci_command,
    ci_image,
    git_setup_commands,
    install_commands,
    job_command,
)
from torchlane.ci.events import EventKind, job_kinds
from torchlane.ci.settings import Context
from torchlane.config.settings import TorchlaneConfig
from torchlane.errors import TorchlaneError

PIPELINE_PATH = ".gitlab-ci.yml"

# Job time limits: the checks, the evaluation jobs (training a missing checkpoint included),
# the image build.
CHECKS_TIMEOUT = "30 minutes"
EVALUATION_TIMEOUT = "2 hours"
IMAGE_TIMEOUT = "1 hour"

# GitLab's predefined branch of the pipeline: the merge request's source, else the pushed
# branch; empty in a tag pipeline, which stays on the tag's detached commit.
BRANCH_EXPR = "${CI_MERGE_REQUEST_SOURCE_BRANCH_NAME:-${CI_COMMIT_BRANCH:-}}"
SWITCH_TO_BRANCH = f'if [ -n "{BRANCH_EXPR}" ]; then git switch --force-create "{BRANCH_EXPR}"; fi'


def literal(text: str) -> str:
    """A string literal of a GitLab `rules: if:` expression, which has no escapes: the quote the
    text does not hold (names are validated at load, config.values, and hold neither)."""
    for quote in "\"'":
        if quote not in text and "\n" not in text:
            return f"{quote}{text}{quote}"
    raise ValueError(f"{text!r} cannot be written as a GitLab expression's string")


def _regex(prefixes: tuple[str, ...]) -> str:
    return "/^(" + "|".join(re.escape(p) for p in prefixes).replace("/", "\\/") + ")/"


def _job(
    config: TorchlaneConfig,
    script: list[str],
    rules: list[dict[str, Any]],
    *,
    gpu: bool,
    interruptible: bool,
) -> dict[str, Any]:
    job: dict[str, Any] = {
        "image": ci_image(config),
        "rules": rules,
        "timeout": EVALUATION_TIMEOUT if gpu else CHECKS_TIMEOUT,
        # A newer commit on the same ref cancels a pipeline only while its running jobs are
        # all interruptible: the record jobs never are (and develop's pipelines never cancel).
        "interruptible": interruptible,
        "before_script": [
            ENSURE_GIT,
            *git_setup_commands(config, None),
            SWITCH_TO_BRANCH,
            *install_commands(config),
        ],
        "script": script,
        "artifacts": {
            "when": "always",
            "paths": [f"{config.ci.artifacts}/"],
            "reports": {"junit": f"{config.ci.artifacts}/torchlane-ci.xml"},
        },
    }
    if gpu and config.ci.gitlab_gpu_tags:
        job["tags"] = list(config.ci.gitlab_gpu_tags)
    elif gpu and config.env.cuda_version:
        raise TorchlaneError(
            f"The environment declares {config.env.accelerator}, but no GPU runner tags are "
            "configured for the evaluation jobs.",
            'Set [tool.torchlane.ci] gitlab_gpu_tags = ["gpu"] (your GPU runners\' tags).',
        )
    return job


def notes_push_commands(config: TorchlaneConfig) -> list[str]:
    """Push the metrics notes with the write token (CI_JOB_TOKEN gets 403 on any push)."""
    token = "${" + config.ci.gitlab_token_variable + ":-}"
    url = (
        f"${{CI_SERVER_PROTOCOL}}://oauth2:{token}@${{CI_SERVER_HOST}}:${{CI_SERVER_PORT}}"
        "/${CI_PROJECT_PATH}.git"
    )
    remote = shlex.quote(config.metrics.remote)
    return [
        f'if [ -n "{token}" ]; then git remote set-url --push {remote} "{url}"; '
        f'else echo "{config.ci.gitlab_token_variable} is not set: pushing the metrics with '
        f'the job token, which GitLab refuses (403) unless the project allows it."; fi',
        "python -m torchlane metrics push",
    ]


def _image_job(config: TorchlaneConfig, tag_rule: str) -> dict[str, Any]:
    image = (config.ci.registry_image or "").lower()
    # $CI_REGISTRY_IMAGE keeps the project path's capitals; image names must be lowercase.
    name = (
        f"IMAGE={shlex.quote(image)}"
        if image
        else "IMAGE=\"$(printf '%s' \"$CI_REGISTRY_IMAGE\" | tr '[:upper:]' '[:lower:]')\""
    )
    return {
        "stage": "publish",
        # Buildah builds and pushes without a Docker daemon: no docker-in-docker service and no
        # privileged runner (GitLab's documented alternative to docker-in-docker).
        "image": "quay.io/buildah/stable:v1.39.0",
        "variables": {"STORAGE_DRIVER": "vfs", "BUILDAH_FORMAT": "docker"},
        "timeout": IMAGE_TIMEOUT,
        "interruptible": False,
        # In the last stage: it runs only after the tag's checks and record passed.
        "rules": [{"if": tag_rule}],
        "script": [
            'if [ ! -f Dockerfile ]; then echo "No Dockerfile in the repository: the image '
            "build is skipped. Add one (torchlane env generate writes it) to publish an image "
            'for each release tag."; exit 0; fi',
            'if ! command -v buildah >/dev/null 2>&1; then echo "buildah is not available in '
            'this job: the image cannot be built. Run the job in its buildah image."; exit 1; fi',
            name,
            'echo "$CI_REGISTRY_PASSWORD" | buildah login -u "$CI_REGISTRY_USER" '
            '--password-stdin "$CI_REGISTRY"',
            'buildah build --isolation chroot -t "$IMAGE:$CI_COMMIT_TAG" .',
            'buildah push "$IMAGE:$CI_COMMIT_TAG"',
        ],
    }


def _by_context(
    kinds: dict[EventKind, Any],
) -> list[tuple[Context, list[EventKind], tuple[str, ...]]]:
    """A job's kinds of event grouped by context (one GitLab job per context)."""
    grouped: dict[Context, list[EventKind]] = {}
    for kind, planned in kinds.items():
        grouped.setdefault(planned.context, []).append(kind)
    return [(c, ks, kinds[ks[0]].stages) for c, ks in grouped.items()]


def gitlab_pipeline(config: TorchlaneConfig) -> dict[str, Any]:
    p, develop, main = config.prefixes, config.branches.develop, config.branches.main
    topic = _regex((p.feature, p.bugfix, p.refactor))
    tag = "/^" + re.escape(config.flow.version_tag_prefix).replace("/", "\\/") + r"\d/"
    mr = '$CI_PIPELINE_SOURCE == "merge_request_event"'
    tag_rule = f"$CI_COMMIT_TAG =~ {tag}"
    report = f"{config.ci.artifacts}/report.md"
    develop, main = literal(develop), literal(main)
    # When each kind of event runs (events.BRANCH_MODEL says which jobs it has).
    when: dict[EventKind, str] = {
        "push-topic": f"$CI_COMMIT_BRANCH =~ {topic}",
        "merge-request-develop": f"{mr} && $CI_MERGE_REQUEST_TARGET_BRANCH_NAME == {develop}",
        "push-develop": f'$CI_COMMIT_BRANCH == {develop} && $CI_PIPELINE_SOURCE == "push"',
        "merge-request-main": f"{mr} && $CI_MERGE_REQUEST_TARGET_BRANCH_NAME == {main}",
        "push-main": f'$CI_COMMIT_BRANCH == {main} && $CI_PIPELINE_SOURCE == "push"',
        "tag": tag_rule,
    }
    gate_command = job_command(config, "gate", "topic")
    release_command = job_command(config, "release", "release")
    note = (
        f"python -m torchlane.ci.gitlab_note --token-variable "
        f"{config.ci.gitlab_token_variable} {shlex.quote(report)} || true"
    )
    never_cancel = {"auto_cancel": {"on_new_commit": "none"}}
    pipeline: dict[str, Any] = {
        "workflow": {
            # A newer push cancels the older pipeline's interruptible jobs (checks, gate).
            "auto_cancel": {"on_new_commit": "interruptible"},
            "rules": [
                {"if": mr},
                # Recording pipelines are never cancelled: every commit keeps its metrics.
                {"if": tag_rule, **never_cancel},
                {"if": f"$CI_COMMIT_BRANCH == {develop}", **never_cancel},
                {"if": f"$CI_COMMIT_BRANCH == {main}", **never_cancel},
                # A branch with an open merge request runs the merge-request pipeline only.
                {"if": f"$CI_COMMIT_BRANCH =~ {topic} && $CI_OPEN_MERGE_REQUESTS == null"},
            ],
        },
        "variables": {
            "GIT_DEPTH": "0",
            "GIT_STRATEGY": "clone",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        },
        "stages": ["checks", "gate", "record", "release", "publish"],
        **{
            "checks" if context == "topic" else f"checks-{context}": {
                "stage": "checks",
                **_job(
                    config,
                    [command],
                    [{"if": when[kind]} for kind in kinds],
                    gpu=False,
                    interruptible=True,
                ),
            }
            for context, kinds, command in checks_steps(config)
        },
    }
    if gate_command is not None:
        pipeline["gate"] = {
            "stage": "gate",
            **_job(
                config,
                [gate_command],
                [{"if": when["merge-request-develop"]}],
                gpu=True,
                interruptible=True,
            ),
            "after_script": [note],
        }
    for context, kinds, stages in _by_context(job_kinds(config, "record")):
        pipeline["record" if context == "develop" else f"record-{context}"] = {
            "stage": "record",
            **_job(
                config,
                [ci_command(context, stages), *notes_push_commands(config)],
                [{"if": when[kind]} for kind in kinds],
                gpu=True,
                interruptible=False,
            ),
        }
    if release_command is not None:
        pipeline["release"] = {
            "stage": "release",
            **_job(
                config,
                [
                    'case "$CI_MERGE_REQUEST_SOURCE_BRANCH_NAME" in '
                    f"{shlex.quote(p.release)}*|{shlex.quote(p.hotfix)}*) ;; *) echo "
                    + shlex.quote(
                        f"{config.branches.main} only takes {p.release}* and {p.hotfix}* branches"
                    )
                    + "; exit 1 ;; esac",
                    release_command,
                ],
                [{"if": when["merge-request-main"]}],
                gpu=True,
                interruptible=True,
            ),
            "after_script": [note],
        }
    pipeline["release-image"] = _image_job(config, tag_rule)
    return pipeline
