"""GitLab CI pipeline for the whole branch model."""

from __future__ import annotations

import re
from typing import Any

from torchlane.ci.common import (
    ENSURE_GIT,
    REPORT_MARKER,
    checks_steps,
    ci_image,
    git_setup_commands,
    install_commands,
    job_command,
)
from torchlane.ci.events import EventKind
from torchlane.config.settings import TorchlaneConfig
from torchlane.errors import TorchlaneError

PIPELINE_PATH = ".gitlab-ci.yml"

# Posts the report as one merge-request note, updated in place. Needs a project access token
# with `api` scope in the CI/CD variable TORCHLANE_GITLAB_TOKEN (CI_JOB_TOKEN cannot write notes).
_COMMENT_SCRIPT = f"""python - <<'PY'
import json, os, urllib.request
api = f"{{os.environ['CI_API_V4_URL']}}/projects/{{os.environ['CI_PROJECT_ID']}}/merge_requests/{{os.environ['CI_MERGE_REQUEST_IID']}}/notes"
headers = {{"PRIVATE-TOKEN": os.environ["TORCHLANE_GITLAB_TOKEN"], "Content-Type": "application/json"}}
marker = "{REPORT_MARKER}"
report = open(os.environ["REPORT"], encoding="utf-8").read()
body = report if marker in report else marker + "\\n" + report
def call(url, method="GET", data=None):
    request = urllib.request.Request(url, method=method, headers=headers, data=json.dumps(data).encode() if data else None)
    with urllib.request.urlopen(request) as response:
        return json.load(response)
notes = call(api + "?per_page=100")
mine = next((n for n in notes if marker in n.get("body", "")), None)
if mine:
    call(f"{{api}}/{{mine['id']}}", "PUT", {{"body": body}})
else:
    call(api, "POST", {{"body": body}})
PY"""


def _regex(prefixes: tuple[str, ...]) -> str:
    return "/^(" + "|".join(re.escape(p) for p in prefixes).replace("/", "\\/") + ")/"


def _job(
    config: TorchlaneConfig,
    script: list[str],
    rules: list[dict[str, Any]],
    gpu: bool,
    branch: str | None,
) -> dict[str, Any]:
    job: dict[str, Any] = {
        "image": ci_image(config),
        "rules": rules,
        "before_script": [
            ENSURE_GIT,
            *git_setup_commands(config, branch),
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


def gitlab_pipeline(config: TorchlaneConfig) -> dict[str, Any]:
    p, develop, main = config.prefixes, config.branches.develop, config.branches.main
    topic = _regex((p.feature, p.bugfix, p.refactor))
    tag = "/^" + re.escape(config.flow.version_tag_prefix) + r"\d/"
    mr = '$CI_PIPELINE_SOURCE == "merge_request_event"'
    branch_var = "${CI_MERGE_REQUEST_SOURCE_BRANCH_NAME:-$CI_COMMIT_BRANCH}"
    report = f"{config.ci.artifacts}/report.md"
    # When each kind of event runs (events.BRANCH_MODEL says which jobs it has).
    when: dict[EventKind, str] = {
        "push-topic": f"$CI_COMMIT_BRANCH =~ {topic}",
        "merge-request-develop": f'{mr} && $CI_MERGE_REQUEST_TARGET_BRANCH_NAME == "{develop}"',
        "push-develop": f'$CI_COMMIT_BRANCH == "{develop}" && $CI_PIPELINE_SOURCE == "push"',
        "merge-request-main": f'{mr} && $CI_MERGE_REQUEST_TARGET_BRANCH_NAME == "{main}"',
        "push-main": f'$CI_COMMIT_BRANCH == "{main}" && $CI_PIPELINE_SOURCE == "push"',
    }
    gate_command = job_command(config, "gate", "topic")
    record_command = job_command(config, "record", "develop")
    release_command = job_command(config, "release", "release")
    comment = f'if [ -n "${{TORCHLANE_GITLAB_TOKEN:-}}" ] && [ -f "{report}" ]; then REPORT="{report}" {_COMMENT_SCRIPT}; fi'
    pipeline: dict[str, Any] = {
        "workflow": {
            "rules": [
                {"if": mr},
                {"if": f"$CI_COMMIT_TAG =~ {tag}"},
                {"if": f'$CI_COMMIT_BRANCH == "{develop}"'},
                {"if": f'$CI_COMMIT_BRANCH == "{main}"'},
                {"if": f"$CI_COMMIT_BRANCH =~ {topic} && $CI_OPEN_MERGE_REQUESTS == null"},
            ]
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
                    False,
                    branch_var,
                ),
            }
            for context, kinds, command in checks_steps(config)
        },
        "gate": {
            "stage": "gate",
            **_job(
                config,
                [gate_command or ""],
                [{"if": when["merge-request-develop"]}],
                True,
                branch_var,
            ),
            "after_script": [comment],
        },
        "record": {
            "stage": "record",
            **_job(
                config,
                [record_command or "", "python -m torchlane metrics push"],
                [{"if": when["push-develop"]}],
                True,
                develop,
            ),
        },
        "release": {
            "stage": "release",
            **_job(
                config,
                [
                    f'case "$CI_MERGE_REQUEST_SOURCE_BRANCH_NAME" in {p.release}*|{p.hotfix}*) ;; '
                    f'*) echo "{main} only takes {p.release}* and {p.hotfix}* branches"; exit 1 ;; esac',
                    release_command or "",
                ],
                [{"if": when["merge-request-main"]}],
                True,
                branch_var,
            ),
            "after_script": [comment],
        },
        "release-image": {
            "stage": "publish",
            "image": "docker:27",
            "services": ["docker:27-dind"],
            "variables": {"DOCKER_TLS_CERTDIR": "/certs"},
            "rules": [{"if": f"$CI_COMMIT_TAG =~ {tag}"}],
            "script": [
                'echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"',
                f'docker build -t "{config.ci.registry_image or "$CI_REGISTRY_IMAGE"}:$CI_COMMIT_TAG" .',
                f'docker push "{config.ci.registry_image or "$CI_REGISTRY_IMAGE"}:$CI_COMMIT_TAG"',
            ],
        },
    }
    # A job whose stages are all disabled is left out (with no stage, `ci` would run them all).
    for job, command in (
        ("gate", gate_command),
        ("record", record_command),
        ("release", release_command),
    ):
        if command is None:
            del pipeline[job]
    return pipeline
