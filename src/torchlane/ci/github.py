"""GitHub Actions workflow for the whole branch model."""

from __future__ import annotations

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

WORKFLOW_PATH = ".github/workflows/torchlane.yml"

_COMMENT_SCRIPT = f"""const fs = require('fs');
const marker = '{REPORT_MARKER}';
const report = fs.readFileSync(process.env.REPORT, 'utf8');
const body = report.includes(marker) ? report : `${{marker}}\\n${{report}}`;
const {{owner, repo}} = context.repo;
const issue_number = context.issue.number;
const comments = await github.paginate(github.rest.issues.listComments, {{owner, repo, issue_number}});
const mine = comments.find((c) => c.body && c.body.includes(marker));
if (mine) {{
  await github.rest.issues.updateComment({{owner, repo, comment_id: mine.id, body}});
}} else {{
  await github.rest.issues.createComment({{owner, repo, issue_number, body}});
}}
"""


def _steps(
    config: TorchlaneConfig, branch_expr: str | None, run: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    return [
        {"name": "git in the container", "run": ENSURE_GIT},
        {
            "uses": "actions/checkout@v4",
            "with": {
                "fetch-depth": 0,
                "ref": "${{ github.event.pull_request.head.sha || github.sha }}",
            },
        },
        {
            "name": "History, tags and metrics notes",
            "run": "\n".join(git_setup_commands(config, branch_expr)),
        },
        {"name": "Install the pinned environment", "run": "\n".join(install_commands(config))},
        *({"name": name, "run": command} for name, command in run),
    ]


def _container(config: TorchlaneConfig) -> dict[str, Any]:
    container: dict[str, Any] = {"image": ci_image(config)}
    if config.env.cuda_version:
        container["options"] = "--gpus all --shm-size 8g"
    return container


def _gpu_runner(config: TorchlaneConfig) -> str | list[str]:
    labels = list(config.ci.gpu_runner_labels)
    if not labels:
        if config.env.cuda_version:
            raise TorchlaneError(
                f"The environment declares {config.env.accelerator}, but no GPU runners are configured "
                "for the evaluation jobs (GitHub-hosted runners have no GPU).",
                'Set [tool.torchlane.ci] gpu_runner_labels = ["self-hosted", "gpu"] (your runners\' labels).',
            )
        return "ubuntu-latest"
    return labels[0] if len(labels) == 1 else labels


def github_workflow(config: TorchlaneConfig) -> dict[str, Any]:
    p, develop, main = config.prefixes, config.branches.develop, config.branches.main
    tag_glob = f"{config.flow.version_tag_prefix}*"
    artifacts = config.ci.artifacts
    # A branch name is chosen by whoever opens the pull request, and git accepts `$(...)` in it:
    # it reaches scripts only through the environment, never interpolated into their text.
    head = "$TORCHLANE_BRANCH"
    branch_env = {"TORCHLANE_BRANCH": "${{ github.head_ref || github.ref_name }}"}
    wandb_env = {"WANDB_API_KEY": "${{ secrets.WANDB_API_KEY }}", "WANDB_MODE": "offline"}
    upload = {
        "name": "Keep the artifacts",
        "if": "always()",
        "uses": "actions/upload-artifact@v4",
        "with": {
            "name": "torchlane-${{ github.job }}",
            "path": artifacts,
            "if-no-files-found": "ignore",
        },
    }
    # When each kind of event runs (events.BRANCH_MODEL says which jobs it has).
    topic_refs = " || ".join(
        f"startsWith(github.ref, 'refs/heads/{x}')" for x in (p.feature, p.bugfix, p.refactor)
    )
    when: dict[EventKind, str] = {
        "push-topic": f"(github.event_name == 'push' && ({topic_refs}))",
        "merge-request-develop": f"(github.event_name == 'pull_request' && github.base_ref == '{develop}')",
        "push-develop": f"(github.event_name == 'push' && github.ref == 'refs/heads/{develop}')",
        "merge-request-main": f"(github.event_name == 'pull_request' && github.base_ref == '{main}')",
        "push-main": f"(github.event_name == 'push' && github.ref == 'refs/heads/{main}')",
        "tag": "(github.event_name == 'push' && startsWith(github.ref, 'refs/tags/'))",
    }
    by_context = checks_steps(config)
    gate_command = job_command(config, "gate", "topic")
    record_command = job_command(config, "record", "develop")
    release_command = job_command(config, "release", "release")
    checks = {
        "name": "lint and tests",
        "env": branch_env,
        "if": " || ".join(when[k] for _, kinds, _ in by_context for k in kinds),
        "runs-on": "ubuntu-latest",
        "container": _container(config) | {"options": "--shm-size 8g"},
        "steps": [
            *_steps(
                config,
                head,
                [],
            ),
            *(
                {
                    "name": f"Checks ({context})",
                    "if": " || ".join(when[k] for k in kinds),
                    "run": command,
                }
                for context, kinds, command in by_context
            ),
            upload,
        ],
    }
    comment = {
        "name": "Report on the pull request (one comment, updated in place)",
        "if": f"always() && hashFiles('{artifacts}/report.md') != ''",
        "uses": "actions/github-script@v7",
        "env": {"REPORT": f"{artifacts}/report.md"},
        "with": {"script": _COMMENT_SCRIPT},
    }
    gate = {
        "name": "model-quality gate",
        "if": f"github.event_name == 'pull_request' && github.base_ref == '{develop}'",
        **({"needs": "checks"} if by_context else {}),
        "runs-on": _gpu_runner(config),
        "container": _container(config),
        "permissions": {"contents": "read", "pull-requests": "write"},
        "env": {**wandb_env, **branch_env},
        "steps": [
            *_steps(
                config,
                head,
                [("Evaluate, gate and report", gate_command or "")],
            ),
            comment,
            upload,
        ],
    }
    record = {
        "name": "record metrics on develop",
        "if": f"github.event_name == 'push' && github.ref == 'refs/heads/{develop}'",
        **({"needs": "checks"} if by_context else {}),
        "runs-on": _gpu_runner(config),
        "container": _container(config),
        "permissions": {"contents": "write"},
        "env": {**wandb_env, **branch_env},
        "steps": [
            *_steps(
                config,
                develop,
                [
                    ("Evaluate and record", record_command or ""),
                    ("Push the metrics notes", "python -m torchlane metrics push"),
                ],
            ),
            upload,
        ],
    }
    release_prefixes = (p.release, p.hotfix)
    only_release = " || ".join(f"startsWith(github.head_ref, '{x}')" for x in release_prefixes)
    release = {
        "name": "release checks",
        "if": f"github.event_name == 'pull_request' && github.base_ref == '{main}'",
        "runs-on": _gpu_runner(config),
        "container": _container(config),
        "permissions": {"contents": "read", "pull-requests": "write"},
        "env": {**wandb_env, **branch_env},
        "steps": [
            {
                "name": f"Only release and hotfix branches merge into {main}",
                "if": f"!({only_release})",
                "run": f'echo "::error::{main} only takes {p.release}* and {p.hotfix}* branches, not $TORCHLANE_BRANCH"; exit 1',
            },
            *_steps(
                config,
                head,
                [("Full suite, verify, evaluation and gate", release_command or "")],
            ),
            comment,
            upload,
        ],
    }
    registry = config.ci.registry_image or "ghcr.io/${{ github.repository }}"
    image = {
        "name": "build and push the pinned image",
        "if": "startsWith(github.ref, 'refs/tags/')",
        "runs-on": "ubuntu-latest",
        "permissions": {"contents": "read", "packages": "write"},
        "steps": [
            {"uses": "actions/checkout@v4"},
            {"uses": "docker/setup-buildx-action@v3"},
            {
                "uses": "docker/login-action@v3",
                "with": {
                    "registry": "ghcr.io",
                    "username": "${{ github.actor }}",
                    "password": "${{ secrets.GITHUB_TOKEN }}",
                },
            },
            {
                "uses": "docker/build-push-action@v6",
                "with": {
                    "context": ".",
                    "push": True,
                    "tags": f"{registry}:${{{{ github.ref_name }}}}",
                },
            },
        ],
    }
    return {
        "name": "torchlane",
        "on": {
            "push": {
                "branches": [f"{p.feature}**", f"{p.bugfix}**", f"{p.refactor}**", develop, main],
                "tags": [tag_glob],
            },
            "pull_request": {"branches": [develop, main]},
        },
        "permissions": {"contents": "read"},
        "concurrency": {
            "group": "torchlane-${{ github.workflow }}-${{ github.ref }}",
            "cancel-in-progress": True,
        },
        "jobs": {
            name: job
            for name, job, command in (
                # A job whose stages are all disabled is left out (with no stage, `ci` would
                # run them all); so is the checks job when no context has checks.
                ("checks", checks, by_context),
                ("gate", gate, gate_command),
                ("record", record, record_command),
                ("release", release, release_command),
                ("image", image, True),
            )
            if command
        },
    }
