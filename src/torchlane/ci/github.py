"""GitHub Actions workflow for the whole branch model.

Security model (docs/ci.md, "GitHub"):
- checkouts never persist the token (`persist-credentials: false`); the token is handed, in
  that step's environment only, to the git-only steps that fetch and push the metrics notes and to
  the comment step; no step that runs project code sees a credential;
- secrets (WANDB_API_KEY) reach only the jobs that run merged code (develop, main, tags);
  the key that signs metrics records (TORCHLANE_SIGNING_KEY) only the recording steps of develop
  and main, whose jobs use the deployment environment `records_environment`: kept there as an
  environment secret restricted to those branches, no other branch's workflow can read it;
- pull requests from forks never reach the self-hosted runners: there their gate job runs on a
  hosted runner and fails with an explanation (a skipped job would pass a required check);
- every action is pinned by commit SHA (actions.json), every job has a timeout.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from torchlane.ci.actions import annotate_versions, uses
from torchlane.ci.common import (
    ENSURE_GIT,
    NOTES_REFSPEC,
    REPORT_MARKER,
    checks_steps,
    ci_command,
    ci_image,
    install_commands,
)
from torchlane.ci.events import BRANCH_MODEL, CHECKS_FROM_PUSH, CiJob, EventKind, kind_jobs
from torchlane.config.settings import TorchlaneConfig
from torchlane.errors import TorchlaneError
from torchlane.metrics.signing import KEY_VARIABLE

WORKFLOW_PATH = ".github/workflows/torchlane.yml"

HOSTED_RUNNER = "ubuntu-latest"
# Minutes: lint and tests on a hosted runner; evaluation on a GPU runner; the image build.
CHECKS_TIMEOUT = 60
GPU_TIMEOUT = 180
IMAGE_TIMEOUT = 60

# A pull request whose head is not in this repository: a fork (or a deleted one: head.repo null).
FORK = "github.event.pull_request.head.repo.full_name != github.repository"

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

# The token travels as an HTTP header given to one git command (as actions/checkout itself does),
# never written to .git/config, where the project's code could read it.
_AUTH_HEADER = (
    "auth=$(printf 'x-access-token:%s' \"$GIT_TOKEN\" | base64 | tr -d '\\n')\n"
    'echo "::add-mask::$auth"\n'
)


def literal(text: str) -> str:
    """A string literal of a GitHub expression (`'...'`, a quote doubled). Values also never hold
    `${{`: they are validated at load (config.values), since GitHub evaluates it anywhere."""
    return "'" + text.replace("'", "''") + "'"


def _git_setup(config: TorchlaneConfig) -> str:
    """Full history, tags, the metrics notes and local base branches; the branch under test."""
    names = config.branches.develop, config.branches.main, config.flow.remote
    heads = " ".join(
        shlex.quote(f"+refs/heads/{b}:refs/remotes/{names[2]}/{b}") for b in names[1::-1]
    )
    develop, main, remote = (shlex.quote(name) for name in names)
    return (
        'git config --global --add safe.directory "$GITHUB_WORKSPACE"\n'
        + _AUTH_HEADER
        + f'git -c "http.$GITHUB_SERVER_URL/.extraheader=AUTHORIZATION: basic $auth" fetch --no-tags --prune {remote} '
        f"'{NOTES_REFSPEC}' '+refs/tags/*:refs/tags/*' {heads}\n"
        f"for b in {main} {develop}; do\n"
        f'  if git show-ref --verify --quiet "refs/remotes/{remote}/$b" && [ "$(git branch --show-current)" != "$b" ]; then\n'
        f'    git branch --force "$b" {remote}/"$b"\n'
        "  fi\n"
        "done\n"
        # A pull request's head or a pushed branch is checked out by name (the gate and the
        # records name the branch); a tag stays detached.
        'if [ -n "${GITHUB_HEAD_REF:-}" ] || [ "$GITHUB_REF_TYPE" = branch ]; then\n'
        '  git switch --force-create "$TORCHLANE_BRANCH"\n'
        "fi"
    )


_PUSH_NOTES = (
    _AUTH_HEADER
    + "export GIT_CONFIG_COUNT=1\n"
    + 'export GIT_CONFIG_KEY_0="http.$GITHUB_SERVER_URL/.extraheader"\n'
    + 'export GIT_CONFIG_VALUE_0="AUTHORIZATION: basic $auth"\n'
    + "python -m torchlane metrics push"
)


def _containerized(config: TorchlaneConfig) -> bool:
    """Jobs run in an image when one is declared; otherwise setup-python on the runner."""
    env = config.env
    return bool(config.ci.image or env.base_image or env.cuda_version)


def _gpu_labels(config: TorchlaneConfig) -> list[str]:
    labels = list(config.ci.gpu_runner_labels)
    if not labels and config.env.cuda_version:
        raise TorchlaneError(
            f"The environment declares {config.env.accelerator}, but no GPU runners are configured "
            "for the evaluation jobs (GitHub-hosted runners have no GPU).",
            'Set [tool.torchlane.ci] gpu_runner_labels = ["self-hosted", "gpu"] (your runners\' labels).',
        )
    return labels


def _labels_value(labels: list[str]) -> str | list[str]:
    return labels[0] if len(labels) == 1 else labels


class _Jobs:
    def __init__(self, config: TorchlaneConfig):
        self.config = config
        self.gpu_labels = _gpu_labels(config)
        self.image = ci_image(config) if _containerized(config) else None

    def checkout(self, *, history: bool = True) -> dict[str, Any]:
        step: dict[str, Any] = {
            "name": "Check out",
            "uses": uses("actions/checkout"),
            "with": {"persist-credentials": False},
        }
        if history:
            step["with"] |= {
                "fetch-depth": 0,
                "ref": "${{ github.event.pull_request.head.sha || github.sha }}",
            }
        return step

    def prepare(self) -> list[dict[str, Any]]:
        """Checkout, history and notes, Python, the pinned environment."""
        steps: list[dict[str, Any]] = []
        if self.image:
            steps.append({"name": "git in the container", "run": ENSURE_GIT})
        steps.append(self.checkout())
        if not self.image:
            steps.append(
                {
                    "name": "Python",
                    "uses": uses("actions/setup-python"),
                    "with": {"python-version": self.config.env.python},
                }
            )
        steps += [
            {
                "name": "History, tags and metrics notes",
                "env": {"GIT_TOKEN": "${{ github.token }}"},
                "run": _git_setup(self.config),
            },
            {
                "name": "Install the pinned environment",
                "run": "\n".join(install_commands(self.config)),
            },
        ]
        return steps

    def upload(self) -> dict[str, Any]:
        return {
            "name": "Keep the artifacts",
            "if": "always()",
            "uses": uses("actions/upload-artifact"),
            "with": {
                "name": "torchlane-${{ github.job }}",
                "path": self.config.ci.artifacts,
                "if-no-files-found": "ignore",
            },
        }

    def comment(self) -> dict[str, Any]:
        report = f"{self.config.ci.artifacts}/report.md"
        return {
            "name": "Report on the pull request (one comment, updated in place)",
            # Fork and Dependabot pull requests get a read-only token: no comment, and the job's
            # status stays the gate's verdict (continue-on-error: a refused comment is not red).
            "if": f"always() && !({FORK}) && github.actor != 'dependabot[bot]' "
            f"&& hashFiles({literal(report)}) != ''",
            "continue-on-error": True,
            "uses": uses("actions/github-script"),
            "env": {"REPORT": report},
            "with": {"script": _COMMENT_SCRIPT},
        }

    def hosted(self, timeout: int) -> dict[str, Any]:
        job: dict[str, Any] = {"runs-on": HOSTED_RUNNER, "timeout-minutes": timeout}
        if self.image:
            job["container"] = {"image": self.image, "options": "--shm-size 8g"}
        return job

    def gpu(self, *, pull_request: bool) -> dict[str, Any]:
        """Where evaluation runs. A pull request from a fork never gets a self-hosted runner."""
        job: dict[str, Any] = {"timeout-minutes": GPU_TIMEOUT}
        options = "--gpus all --shm-size 8g" if self.config.env.cuda_version else "--shm-size 8g"
        if not self.gpu_labels:
            job["runs-on"] = HOSTED_RUNNER
            if self.image:
                job["container"] = {"image": self.image, "options": options}
            return job
        labels = json.dumps(_labels_value(self.gpu_labels))
        if not pull_request:
            job["runs-on"] = _labels_value(self.gpu_labels)
            if self.image:
                job["container"] = {"image": self.image, "options": options}
            return job
        job["runs-on"] = f"${{{{ ({FORK}) && '{HOSTED_RUNNER}' || fromJSON({literal(labels)}) }}}}"
        if self.image:
            # An empty image runs the job on the runner itself: the fork's refusal needs none.
            job["container"] = {
                "image": f"${{{{ !({FORK}) && {literal(self.image)} || '' }}}}",
                "options": options,
            }
        return job

    def fork_refusal(self) -> list[dict[str, Any]]:
        if not self.gpu_labels:
            return []  # hosted runners: a fork's pull request is evaluated like any other
        return [
            {
                "name": "Pull requests from forks are not evaluated on self-hosted runners",
                "if": FORK,
                "run": 'echo "::error::This pull request comes from a fork: its code does not run '
                "on this repository's self-hosted GPU runners. A maintainer who has reviewed it "
                'pushes its branch to this repository, and the gate runs there."\nexit 1',
            }
        ]


def _kind_command(config: TorchlaneConfig, kind: EventKind, job: CiJob) -> str | None:
    """The `torchlane ci` command of one job of one kind of event (events.BRANCH_MODEL), None
    when the table gives that event no such job or all its stages are disabled."""
    for planned in kind_jobs(config, kind):
        if planned.job == job:
            return ci_command(planned.context, planned.stages)
    return None


def _stage_step(context: str, command: str) -> dict[str, str]:
    stages = [part.split()[0] for part in command.split("--stage ")[1:]]
    names = ", ".join(stages)
    return {"name": f"{names[:1].upper()}{names[1:]} ({context} checks)", "run": command}


def github_workflow(config: TorchlaneConfig) -> dict[str, Any]:
    p, develop, main = config.prefixes, config.branches.develop, config.branches.main
    tag_glob = f"{config.flow.version_tag_prefix}*"
    jobs = _Jobs(config)
    topic_prefixes = (p.feature, p.bugfix, p.refactor)
    # A branch name is chosen by whoever opens the pull request, and git accepts `$(...)` in it:
    # it reaches scripts only through the environment, never interpolated into their text.
    branch_env = {"TORCHLANE_BRANCH": "${{ github.head_ref || github.ref_name }}"}
    # Pull-request code never gets a secret; W&B logs offline there.
    pr_env = {**branch_env, "WANDB_MODE": "offline"}
    wandb_secret = {"WANDB_API_KEY": "${{ secrets.WANDB_API_KEY }}"}
    # The key that signs develop's and main's records (metrics/signing.py): an environment secret
    # of records_environment, which only develop and main may use (docs/metrics-and-gate.md).
    records_environment = config.ci.records_environment
    signing_secret = {KEY_VARIABLE: f"${{{{ secrets.{KEY_VARIABLE} }}}}"}
    in_records_environment = {"environment": records_environment} if records_environment else {}
    is_tag = "startsWith(github.ref, 'refs/tags/')"
    base_is_develop, base_is_main = (f"github.base_ref == {literal(b)}" for b in (develop, main))
    ref_is_develop, ref_is_main = (
        f"github.ref == {literal('refs/heads/' + b)}" for b in (develop, main)
    )
    topic_refs = " || ".join(
        f"startsWith(github.ref, {literal('refs/heads/' + x)})" for x in topic_prefixes
    )
    # When each kind of event runs; events.BRANCH_MODEL says which jobs and stages it has.
    when: dict[EventKind, str] = {
        "push-topic": f"(github.event_name == 'push' && ({topic_refs}))",
        "merge-request-develop": f"(github.event_name == 'pull_request' && {base_is_develop})",
        "push-develop": f"(github.event_name == 'push' && {ref_is_develop})",
        "merge-request-main": f"(github.event_name == 'pull_request' && {base_is_main})",
        "push-main": f"(github.event_name == 'push' && {ref_is_main})",
        "tag": f"(github.event_name == 'push' && {is_tag})",
    }
    # A pull request whose checks a push run of its source branch already has (events.
    # CHECKS_FROM_PUSH: same context, same stages) runs them only where that push run does not
    # exist: a pull request from a fork, or from a branch outside the pushed prefixes.
    pushed_heads: dict[EventKind, tuple[str, ...]] = {"push-topic": topic_prefixes}
    checks_when = dict(when)
    for kind, pushed in CHECKS_FROM_PUSH.items():
        heads = " || ".join(
            f"startsWith(github.head_ref, {literal(x)})" for x in pushed_heads[pushed]
        )
        checks_when[kind] = f"({when[kind]} && (({FORK}) || !({heads})))"

    # push-main and tag have jobs of their own (verify, baseline): the checks job serves the rest.
    by_context = [
        (context, served, command)
        for context, all_served, command in checks_steps(config)
        if (served := tuple(k for k in all_served if k != "push-main"))
    ]
    checks_kinds = {k for _, served, _ in by_context for k in served}
    checks = {
        "name": "lint and tests",
        "if": " || ".join(checks_when[k] for k in BRANCH_MODEL if k in checks_kinds),
        **jobs.hosted(CHECKS_TIMEOUT),
        "permissions": {"contents": "read"},
        "env": pr_env,
        "steps": [
            *jobs.prepare(),
            *(
                _stage_step(context, command)
                | (
                    {"if": " || ".join(checks_when[k] for k in served)}
                    if len(by_context) > 1
                    else {}
                )
                for context, served, command in by_context
            ),
            jobs.upload(),
        ],
    }

    def after_checks(kind: EventKind) -> dict[str, Any]:
        return {"needs": "checks"} if kind in checks_kinds else {}

    gate_command = _kind_command(config, "merge-request-develop", "gate")
    gate = {
        "name": "model-quality gate",
        # Waits for this run's checks when it has them; with the push run's checks it starts at
        # once (the required "lint and tests" check still holds the merge).
        **after_checks("merge-request-develop"),
        "if": (
            "!cancelled() && needs.checks.result != 'failure' && "
            if "merge-request-develop" in checks_kinds
            else ""
        )
        + f"github.event_name == 'pull_request' && {base_is_develop}",
        **jobs.gpu(pull_request=True),
        "permissions": {"contents": "read", "pull-requests": "write"},
        "env": pr_env,
        "steps": [
            *jobs.fork_refusal(),
            *jobs.prepare(),
            {"name": "Evaluate, gate and report", "run": gate_command},
            jobs.comment(),
            jobs.upload(),
        ],
    }
    push_notes = {
        "name": "Push the metrics notes",
        "env": {"GIT_TOKEN": "${{ github.token }}"},
        "run": _PUSH_NOTES,
    }

    def evaluate(name: str, command: str | None, *, sign: bool = False) -> list[dict[str, Any]]:
        """The recording step (the only one with the secrets) and the notes push."""
        if command is None:
            return []
        env = {**wandb_secret, **(signing_secret if sign else {})}
        return [{"name": name, "run": command, "env": env}, push_notes]

    record_command = _kind_command(config, "push-develop", "record")
    record = {
        "name": "record metrics on develop",
        **after_checks("push-develop"),
        "if": f"github.event_name == 'push' && {ref_is_develop}",
        **jobs.gpu(pull_request=False),
        **in_records_environment,
        "permissions": {"contents": "write"},
        "env": branch_env,
        "steps": [
            *jobs.prepare(),
            *evaluate("Evaluate and record", record_command, sign=True),
            jobs.upload(),
        ],
    }
    release_prefixes = (p.release, p.hotfix)
    only_release = " || ".join(
        f"startsWith(github.head_ref, {literal(x)})" for x in release_prefixes
    )
    release_command = _kind_command(config, "merge-request-main", "release")
    release = {
        "name": "release checks",
        "if": f"github.event_name == 'pull_request' && {base_is_main}",
        **jobs.gpu(pull_request=True),
        "permissions": {"contents": "read", "pull-requests": "write"},
        "env": pr_env,
        "steps": [
            {
                "name": f"Only release and hotfix branches merge into {main}",
                "if": f"!({only_release})",
                "run": "echo "
                + shlex.quote(
                    f"::error::{main} only takes {p.release}* and {p.hotfix}* branches, not "
                )
                + '"$TORCHLANE_BRANCH"\nexit 1',
            },
            *jobs.fork_refusal(),
            *jobs.prepare(),
            # The gate compares with the latest release tag, whose metrics the tag job recorded;
            # the first release passes with the outcome "first release".
            {"name": "Full suite, verify, evaluation and gate", "run": release_command},
            jobs.comment(),
            jobs.upload(),
        ],
    }
    # A push to main: its checks (verify) and its record, in one job on the GPU runner.
    main_checks = _kind_command(config, "push-main", "checks")
    main_record = _kind_command(config, "push-main", "record")
    verify = {
        "name": f"verify {main}",
        "if": f"github.event_name == 'push' && {ref_is_main}",
        **jobs.gpu(pull_request=False),
        **in_records_environment,
        "permissions": {"contents": "write"},
        "env": branch_env,
        "steps": [
            *jobs.prepare(),
            *([_stage_step("main", main_checks)] if main_checks else []),
            # Every release or hotfix merge gets metrics: the next release compares with it. The
            # record is signed here; the tag job's (no key: anyone who can push could push a tag)
            # is not, and the release gate prefers the signed one on the same commit.
            *evaluate("Evaluate and record the release", main_record, sign=True),
            jobs.upload(),
        ],
    }
    tag_record = _kind_command(config, "tag", "record")
    baseline = {
        "name": "release baseline",
        "if": f"github.event_name == 'push' && {is_tag}",
        **jobs.gpu(pull_request=False),
        "permissions": {"contents": "write"},
        "env": branch_env,
        "steps": [
            *jobs.prepare(),
            *evaluate("Evaluate and record the tagged commit", tag_record),
            jobs.upload(),
        ],
    }
    # The image is built only after the tag's checks and baseline passed (those it has).
    image_needs = [
        name
        for name, runs in (("checks", "tag" in checks_kinds), ("baseline", tag_record is not None))
        if runs
    ]
    build = "steps.image.outputs.build == 'true'"
    image = {
        "name": "build and push the pinned image",
        **({"needs": image_needs} if image_needs else {}),
        "if": f"github.event_name == 'push' && {is_tag}",
        "runs-on": HOSTED_RUNNER,
        "timeout-minutes": IMAGE_TIMEOUT,
        "permissions": {"contents": "read", "packages": "write"},
        "steps": [
            jobs.checkout(history=False),
            {
                "name": "The image's name (lowercased) and whether there is a Dockerfile",
                "id": "image",
                "env": {"REGISTRY_IMAGE": config.ci.registry_image or ""},
                "run": _IMAGE_SCRIPT,
            },
            {"if": build, "uses": uses("docker/setup-buildx-action")},
            {
                "if": build,
                "uses": uses("docker/login-action"),
                "with": {
                    "registry": "${{ steps.image.outputs.registry }}",
                    "username": "${{ github.actor }}",
                    "password": "${{ github.token }}",
                },
            },
            {
                "if": build,
                "uses": uses("docker/build-push-action"),
                "with": {
                    "context": ".",
                    "push": True,
                    "tags": "${{ steps.image.outputs.tag }}",
                },
            },
        ],
    }
    protected = f"{ref_is_develop} || {ref_is_main} || {is_tag}"
    return {
        "name": "torchlane",
        "on": {
            "push": {
                "branches": [*(f"{x}**" for x in topic_prefixes), develop, main],
                "tags": [tag_glob],
            },
            "pull_request": {"branches": [develop, main]},
        },
        "permissions": {},
        # A newer push to a topic branch or pull request replaces the older run. Pushes to
        # develop and main and tags each get a group of their own (their run id): a `record` job
        # is never cancelled, nor left pending and then dropped for a newer push.
        "concurrency": {
            "group": "torchlane-${{ github.workflow }}-${{ "
            "github.event_name == 'pull_request' && format('pr-{0}', github.event.pull_request.number) "
            f"|| ({protected}) && format('run-{{0}}', github.run_id) || github.ref }}}}",
            "cancel-in-progress": f"${{{{ github.event_name == 'pull_request' || !({protected}) }}}}",
        },
        "defaults": {"run": {"shell": "bash"}},
        "jobs": {
            name: job
            for name, job, runs in (
                # A job whose stages are all disabled is left out (with no stage, `ci` would
                # run them all); so is the checks job when no context has checks.
                ("checks", checks, bool(by_context)),
                ("gate", gate, gate_command),
                ("record", record, record_command),
                ("release", release, release_command),
                ("verify", verify, main_checks or main_record),
                ("baseline", baseline, tag_record),
                ("image", image, True),
            )
            if runs
        },
    }


_IMAGE_SCRIPT = """if [ ! -f Dockerfile ]; then
  echo "::notice::No Dockerfile in the repository: no image is built for $GITHUB_REF_NAME. torchlane env generate writes one from the environment's declaration."
  echo "build=false" >> "$GITHUB_OUTPUT"
  exit 0
fi
# Registries refuse capitals; repository names may have them.
image=$(printf '%s' "${REGISTRY_IMAGE:-ghcr.io/$GITHUB_REPOSITORY}" | tr '[:upper:]' '[:lower:]')
{
  echo "build=true"
  echo "registry=${image%%/*}"
  echo "tag=$image:$GITHUB_REF_NAME"
} >> "$GITHUB_OUTPUT"
"""


def github_workflow_text(config: TorchlaneConfig) -> str:
    """The workflow as YAML, each pinned action followed by its version as a comment."""
    from torchlane.yamlout import dump

    return annotate_versions(dump(github_workflow(config)))
