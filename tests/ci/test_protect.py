from __future__ import annotations

import json

import pytest

from tests.conftest import Project
from torchlane.ci.protect import repository_slug


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("git@github.com:acme/vision.git", "acme/vision"),
        ("https://github.com/acme/vision.git", "acme/vision"),
        ("https://github.com/acme/vision", "acme/vision"),
        ("ssh://git@github.com/acme/vision.git", "acme/vision"),
        ("ssh://git@gitlab.example.com:2222/ml/team/vision.git", "ml/team/vision"),
        ("https://user@gitlab.com/ml/vision.git/", "ml/vision"),
        (None, None),
    ],
)
def test_repository_slug(url: str | None, slug: str | None) -> None:
    assert repository_slug(url) == slug


def test_github_rulesets_require_reviews_checks_and_merge_commits(cli, project: Project) -> None:
    result = cli(["ci", "protect", "--provider", "github", "--json"], cwd=project.root)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["applied"] is False
    assert any("rulesets" in c and "--input" in c for c in data["commands"])
    # Branch protection does not reach the metrics notes ref: the result says so and what holds.
    notes = next(m for m in data["messages"] if m.startswith("Not covered"))
    assert "refs/notes/torchlane" in notes
    assert "torchlane ci signing-key --provider github" in notes
    develop = json.loads((project.root / ".github/torchlane/ruleset-develop.json").read_text())
    assert develop["conditions"]["ref_name"]["include"] == ["refs/heads/develop"]
    rules = {r["type"]: r.get("parameters", {}) for r in develop["rules"]}
    assert {"deletion", "non_fast_forward", "pull_request", "required_status_checks"} <= set(rules)
    assert rules["pull_request"]["required_approving_review_count"] == 1
    assert rules["pull_request"]["allowed_merge_methods"] == ["merge"]
    checks = [c["context"] for c in rules["required_status_checks"]["required_status_checks"]]
    assert checks == ["lint and tests", "model-quality gate"]
    main = json.loads((project.root / ".github/torchlane/ruleset-main.json").read_text())
    assert main["conditions"]["ref_name"]["include"] == ["refs/heads/main"]
    settings = json.loads((project.root / ".github/torchlane/repository-settings.json").read_text())
    assert settings["allow_squash_merge"] is False
    assert settings["allow_rebase_merge"] is False


def test_required_checks_match_the_generated_job_names(cli, project: Project) -> None:
    import yaml

    cli(["ci", "generate", "--provider", "github"], cwd=project.root)
    cli(["ci", "protect", "--provider", "github"], cwd=project.root)
    workflow = yaml.safe_load((project.root / ".github/workflows/torchlane.yml").read_text())
    job_names = {job["name"] for job in workflow["jobs"].values()}
    for branch in ("develop", "main"):
        ruleset = json.loads(
            (project.root / f".github/torchlane/ruleset-{branch}.json").read_text()
        )
        checks = next(r for r in ruleset["rules"] if r["type"] == "required_status_checks")
        for check in checks["parameters"]["required_status_checks"]:
            assert check["context"] in job_names


def test_gitlab_protection_without_glab_prints_the_commands(cli, project: Project) -> None:
    project.git.run("remote", "set-url", "origin", "git@gitlab.com:ml/vision.git")
    result = cli(["ci", "protect", "--provider", "gitlab"], cwd=project.root)
    assert result.code == 0, result.err
    assert "glab api --method POST projects/ml%2Fvision/protected_branches" in result.out
    protected = json.loads((project.root / ".gitlab/torchlane/protected-branches.json").read_text())
    assert {p["name"] for p in protected} == {"main", "develop"}
    assert all(p["push_access_level"] == 0 and p["allow_force_push"] is False for p in protected)
    project_settings = json.loads(
        (project.root / ".gitlab/torchlane/project-settings.json").read_text()
    )
    assert project_settings["merge_method"] == "merge"
    # The one secret the pipeline needs, named as configured.
    assert "TORCHLANE_GITLAB_TOKEN" in result.out
    assert "write_repository" in result.out
    assert "CI_JOB_TOKEN" in result.out


def test_hand_edited_protection_file_is_kept(cli, project: Project) -> None:
    cli(["ci", "protect", "--provider", "github"], cwd=project.root)
    path = project.root / ".github/torchlane/ruleset-main.json"
    path.write_text(
        path.read_text().replace(
            '"required_approving_review_count": 1', '"required_approving_review_count": 2'
        )
    )
    result = cli(["ci", "protect", "--provider", "github"], cwd=project.root)
    assert result.code == 1
    assert "ruleset-main.json" in result.err
    assert '"required_approving_review_count": 2' in path.read_text()
