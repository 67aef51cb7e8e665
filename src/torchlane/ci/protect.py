"""`torchlane ci protect`: branch protection that makes the model hold on the platform.

GitHub: repository rulesets (REST `POST /repos/{owner}/{repo}/rulesets`) for main and develop
plus the repository's merge settings (merge commits only: squash and rebase merges would break
the no-ff history). GitLab: protected branches and the project's merge method. Neither covers
the metrics notes ref (not a branch or tag): the result says so and names the defence, signed
records.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchlane import proc
from torchlane.generated import GeneratedFile, WriteOutcome, refusal_error, write_all
from torchlane.project import Project

if TYPE_CHECKING:
    from torchlane.flow.publish import Forge

GITHUB_DIR = Path(".github/torchlane")
GITLAB_DIR = Path(".gitlab/torchlane")


@dataclass
class ProtectResult:
    provider: Forge
    files: list[WriteOutcome]
    applied: bool
    commands: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def repository_slug(url: str | None) -> str | None:
    """`owner/repo` (or `group/sub/repo` on GitLab) from an ssh or https remote URL."""
    from torchlane.flow.publish import parse_remote_url

    repo = parse_remote_url(url) if url else None
    return repo.path if repo else None


def _json(data: object) -> str:
    return json.dumps(data, indent=2) + "\n"


def _github_ruleset(name: str, branch: str, checks: list[str], reviews: int) -> dict[str, Any]:
    return {
        "name": name,
        "target": "branch",
        "enforcement": "active",
        "conditions": {"ref_name": {"include": [f"refs/heads/{branch}"], "exclude": []}},
        "rules": [
            {"type": "deletion"},
            {"type": "non_fast_forward"},
            {
                "type": "pull_request",
                "parameters": {
                    "required_approving_review_count": reviews,
                    "dismiss_stale_reviews_on_push": True,
                    "require_code_owner_review": False,
                    "require_last_push_approval": False,
                    "required_review_thread_resolution": False,
                    "allowed_merge_methods": ["merge"],
                },
            },
            {
                "type": "required_status_checks",
                "parameters": {
                    "strict_required_status_checks_policy": False,
                    "required_status_checks": [{"context": c} for c in checks],
                },
            },
        ],
    }


def github_files(ctx: Project) -> list[GeneratedFile]:
    reviews = ctx.config.ci.required_reviews
    develop = _github_ruleset(
        f"torchlane: {ctx.develop}", ctx.develop, ["lint and tests", "model-quality gate"], reviews
    )
    main = _github_ruleset(f"torchlane: {ctx.main}", ctx.main, ["release checks"], reviews)
    settings = {
        "allow_merge_commit": True,
        "allow_squash_merge": False,
        "allow_rebase_merge": False,
        "delete_branch_on_merge": True,
    }
    return [
        GeneratedFile(GITHUB_DIR / f"ruleset-{ctx.develop}.json", _json(develop), comment=""),
        GeneratedFile(GITHUB_DIR / f"ruleset-{ctx.main}.json", _json(main), comment=""),
        GeneratedFile(GITHUB_DIR / "repository-settings.json", _json(settings), comment=""),
    ]


def gitlab_files(ctx: Project) -> list[GeneratedFile]:
    protected = [
        # 0 = no one pushes directly; 30 = developers merge; force pushes never.
        {
            "name": branch,
            "push_access_level": 0,
            "merge_access_level": 30,
            "allow_force_push": False,
        }
        for branch in (ctx.main, ctx.develop)
    ]
    project = {
        "merge_method": "merge",
        "squash_option": "never",
        "only_allow_merge_if_pipeline_succeeds": True,
        "only_allow_merge_if_all_discussions_are_resolved": True,
        "approvals_before_merge": ctx.config.ci.required_reviews,
    }
    return [
        GeneratedFile(GITLAB_DIR / "protected-branches.json", _json(protected), comment=""),
        GeneratedFile(GITLAB_DIR / "project-settings.json", _json(project), comment=""),
    ]


def gitlab_token_message(variable: str) -> str:
    return (
        f"One secret to set: the CI/CD variable {variable} (masked) holding a project access "
        "token with the api and write_repository scopes, role Developer. The record jobs push "
        "the metrics notes with it and the gate posts its merge-request note with it; "
        "CI_JOB_TOKEN can do neither (403). Marked protected, only develop, main and tags get "
        "it (no merge-request note then). Settings > CI/CD > Variables, or: "
        f"glab variable set {variable} --masked"
    )


def _cli_ready(tool: str) -> bool:
    if shutil.which(tool) is None:
        return False
    return proc.run([tool, "auth", "status"], check=False).ok


def _github_commands(slug: str, files: list[GeneratedFile]) -> list[list[str]]:
    rulesets = [f for f in files if f.path.name.startswith("ruleset-")]
    settings = next(f for f in files if f.path.name == "repository-settings.json")
    return [
        *(
            ["gh", "api", "--method", "POST", f"repos/{slug}/rulesets", "--input", str(f.path)]
            for f in rulesets
        ),
        ["gh", "api", "--method", "PATCH", f"repos/{slug}", "--input", str(settings.path)],
    ]


def _gitlab_commands(slug: str, files: list[GeneratedFile]) -> list[list[str]]:
    project = slug.replace("/", "%2F")
    protected = json.loads(files[0].body)
    commands = [
        [
            "glab",
            "api",
            "--method",
            "POST",
            f"projects/{project}/protected_branches",
            "-f",
            f"name={p['name']}",
            "-f",
            f"push_access_level={p['push_access_level']}",
            "-f",
            f"merge_access_level={p['merge_access_level']}",
            "-f",
            "allow_force_push=false",
        ]
        for p in protected
    ]
    commands.append(
        ["glab", "api", "--method", "PUT", f"projects/{project}", "--input", str(files[1].path)]
    )
    return commands


def notes_message(provider: Forge, notes_ref: str) -> str:
    """What branch protection leaves open (docs/metrics-and-gate.md, "What branch protection can
    and cannot protect"): rulesets and protected branches cover branches and tags, not notes."""
    return (
        f"Not covered: the metrics in {notes_ref} are neither a branch nor a tag, so anyone with "
        "write access can rewrite them. Signed records are the defence: `torchlane ci "
        f"signing-key --provider {provider}`, after which CI's gate trusts only baselines CI signed."
    )


def protect(
    ctx: Project, provider: Forge, *, apply: bool = True, force: bool = False
) -> ProtectResult:
    files = github_files(ctx) if provider == "github" else gitlab_files(ctx)
    outcomes = write_all(files, ctx.root, force=force)
    result = ProtectResult(provider, outcomes, applied=False)
    error = refusal_error(outcomes)
    if error is not None:
        raise error
    slug = repository_slug(ctx.git.remote_url(ctx.config.flow.remote)) or "OWNER/REPO"
    commands = (
        _github_commands(slug, files) if provider == "github" else _gitlab_commands(slug, files)
    )
    result.commands = [" ".join(c) for c in commands]
    tool = "gh" if provider == "github" else "glab"
    if apply and slug != "OWNER/REPO" and _cli_ready(tool):
        for command in commands:
            done = proc.run(command, cwd=ctx.root, check=False)
            if not done.ok:
                result.messages.append(
                    f"`{' '.join(command)}` failed: {done.stderr.strip()[-300:]}"
                )
                return result
        result.applied = True
        result.messages.append(f"Applied the branch protection with {tool}.")
        if provider == "gitlab":
            result.messages.append(gitlab_token_message(ctx.config.ci.gitlab_token_variable))
        result.messages.append(notes_message(provider, ctx.config.metrics.notes_ref))
        return result
    if provider == "gitlab":
        result.messages.append(gitlab_token_message(ctx.config.ci.gitlab_token_variable))
    result.messages.append(notes_message(provider, ctx.config.metrics.notes_ref))
    why = f"{tool} is not installed or not logged in" if apply else "--no-apply"
    result.messages.append(f"Wrote the settings ({why}). Apply them with:")
    result.messages.extend(f"  {c}" for c in result.commands)
    return result
