"""The stages of each event of the branch model: the generated GitHub workflow, the generated
GitLab pipeline and `torchlane ci --event` agree, because all three come from ci/events.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.ci.conftest import configure_stages, stage
from tests.ci.pipeline_yaml import Event, github_stages, gitlab_stages
from tests.conftest import Project
from torchlane.ci.events import CHECKS_FROM_PUSH, event_plan
from torchlane.ci.github import github_workflow
from torchlane.ci.gitlab import gitlab_pipeline
from torchlane.config.load import load_config

EVENTS = [
    Event("push", "feature/add-mixup", label="push feature"),
    Event("push", "bugfix/fix-loader", label="push bugfix"),
    Event("push", "refactor/split-data", label="push refactor"),
    Event("push", "develop", label="push develop"),
    Event("push", "main", label="push main"),
    Event("push", "release/1.2.0", label="push release"),
    Event("push", "hotfix/1.2.1", label="push hotfix"),
    Event("merge-request", "feature/add-mixup", "develop", label="feature into develop"),
    Event("merge-request", "bugfix/fix-loader", "develop", label="bugfix into develop"),
    Event("merge-request", "feature/add-mixup", "develop", fork=True, label="fork into develop"),
    Event("merge-request", "spike", "develop", label="other branch into develop"),
    Event("merge-request", "release/1.2.0", "main", label="release into main"),
    Event("merge-request", "hotfix/1.2.1", "main", label="hotfix into main"),
    Event("tag", tag="v1.2.0", label="tag"),
]

# Every default stage runs a trivial command; notebooks is off; two new stages: one for topic
# and release branches, one that needs `evaluate` (so it runs with it, in the GPU jobs).
_DEFAULTS = ("lint", "tests", "secrets", "env", "verify", "evaluate", "gate", "report")


def _custom(project: Project) -> None:
    stages: dict[str, dict[str, object]] = {name: stage("pass") for name in _DEFAULTS}
    stages["typecheck"] = stage("pass", contexts=["topic", "release"])
    stages["benchmark"] = stage("pass", needs=["evaluate"], required=False)
    configure_stages(project, stages)


def _documents(project: Project) -> tuple[dict[str, Any], dict[str, Any]]:
    config = load_config(project.root).config
    # Through YAML and back, as the platforms read them.
    github = yaml.safe_load(yaml.safe_dump(github_workflow(config), sort_keys=False))
    gitlab = yaml.safe_load(yaml.safe_dump(gitlab_pipeline(config), sort_keys=False))
    return github, gitlab


def _planned(project: Project, event: Event) -> list[str]:
    config = load_config(project.root).config
    return list(event_plan(config, event.kind, branch=event.branch, target=event.target).stages)  # type: ignore[arg-type]


def _github_event_stages(project: Project, github: dict[str, Any], event: Event) -> list[str]:
    """What GitHub runs for `event`, in all its runs: a pull request from a branch of the
    repository whose checks the table takes from the push run (CHECKS_FROM_PUSH) gets them from
    the push run of its branch, and its own run must not run them a second time."""
    own = github_stages(github, event)
    config = load_config(project.root).config
    kind = event_plan(config, event.kind, branch=event.branch, target=event.target).kind  # type: ignore[arg-type]
    if kind not in CHECKS_FROM_PUSH or event.fork:
        return own
    pushed = github_stages(github, Event("push", event.branch))
    if not pushed:  # a branch the push trigger does not take: its pull request runs the checks
        return own
    assert not set(own) & set(pushed), f"checks run twice: {own} and {pushed}"
    return [*pushed, *(s for s in own if s not in pushed)]


@pytest.mark.parametrize("configured", [False, True], ids=["defaults", "custom stages"])
def test_both_providers_run_the_planned_stages_for_every_event(
    project: Project, configured: bool
) -> None:
    if configured:
        _custom(project)
    github, gitlab = _documents(project)
    seen: dict[str, list[str]] = {}
    for event in EVENTS:
        planned = _planned(project, event)
        assert _github_event_stages(project, github, event) == planned, f"GitHub, {event.label}"
        assert gitlab_stages(gitlab, event) == planned, f"GitLab, {event.label}"
        seen[event.label] = planned
    # The plan itself follows the branch model.
    assert seen["push release"] == seen["push hotfix"] == []
    # Main and tags: verify, then evaluate and record the release baseline.
    assert seen["push main"] == seen["tag"]
    assert seen["push main"][:2] == ["verify", "evaluate"]
    assert seen["fork into develop"] == seen["other branch into develop"]
    assert seen["fork into develop"] == seen["feature into develop"]
    if configured:
        assert "notebooks" not in str(seen)
        assert seen["push feature"] == ["lint", "tests", "secrets", "env", "typecheck"]
        assert seen["feature into develop"] == [
            *seen["push feature"],
            "evaluate",
            "gate",
            "report",
            "benchmark",
        ]
        assert seen["push develop"] == ["lint", "tests", "secrets", "env", "evaluate", "benchmark"]
        assert set(seen["release into main"]) == {*seen["feature into develop"], "verify"}
    else:
        assert seen["push feature"] == ["lint", "tests", "notebooks", "secrets", "env"]
        assert seen["feature into develop"] == [*seen["push feature"], "evaluate", "gate", "report"]


def test_the_benchmark_stage_that_needs_evaluate_runs_in_the_gpu_jobs(project: Project) -> None:
    _custom(project)
    github, gitlab = _documents(project)
    assert "benchmark" in str(gitlab["gate"]["script"])
    assert "benchmark" not in str(gitlab["checks"]["script"])
    assert "typecheck" in str(github["jobs"]["checks"]["steps"])
    assert "benchmark" in str(github["jobs"]["record"]["steps"])


@pytest.mark.slow
def test_ci_event_runs_locally_exactly_what_the_generated_pipelines_run(
    project: Project, cli
) -> None:
    _custom(project)
    github, gitlab = _documents(project)
    for event in EVENTS:
        if event.kind == "tag":
            args = ["--event", "tag"]
        else:
            assert event.branch is not None
            args = ["--event", event.kind, "--branch", event.branch]
            if event.target:
                args += ["--target", event.target]
        result = cli(["ci", "--json", "--no-cache", *args], cwd=project.root)
        ran = [s["name"] for s in json.loads(result.out)["result"]["stages"]]
        assert result.code == 0, (event.label, result.out, result.err)
        # The local run orders stages by their needs; the set is what must agree.
        assert len(ran) == len(set(ran)), event.label
        expected = _github_event_stages(project, github, event)
        assert sorted(ran) == sorted(expected) == sorted(gitlab_stages(gitlab, event)), event.label
        assert all(s["status"] == "passed" for s in json.loads(result.out)["result"]["stages"])


def test_ci_event_refuses_what_ci_refuses(project: Project, cli) -> None:
    result = cli(
        ["ci", "--event", "merge-request", "--branch", "feature/x", "--target", "main"],
        cwd=project.root,
    )
    assert result.code == 1
    assert "main only takes release/* and hotfix/* branches" in result.err
    result = cli(["ci", "--event", "merge-request", "--branch", "feature/x"], cwd=project.root)
    assert result.code == 2
    assert "--target" in result.err
    result = cli(["ci", "--event", "push", "--stage", "lint"], cwd=project.root)
    assert result.code == 2
    result = cli(["ci", "--target", "develop"], cwd=project.root)
    assert result.code == 2
    assert "need --event" in result.err


def test_a_push_outside_the_pipelines_runs_no_stage_and_says_why(project: Project, cli) -> None:
    result = cli(["ci", "--event", "push", "--branch", "release/1.2.0"], cwd=project.root)
    assert result.code == 0
    assert "runs no pipeline" in result.out
    assert "merge request into main" in result.out


def test_github_takes_a_same_repository_pull_requests_checks_from_its_push_run(
    project: Project,
) -> None:
    github, _ = _documents(project)
    same = Event("merge-request", "feature/add-mixup", "develop")
    fork = Event("merge-request", "feature/add-mixup", "develop", fork=True)
    checks = github_stages(github, Event("push", "feature/add-mixup"))
    assert checks == ["lint", "tests", "notebooks", "secrets", "env"]
    assert github_stages(github, same) == ["evaluate", "gate", "report"]
    assert github_stages(github, fork) == [*checks, "evaluate", "gate", "report"]


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_disabling_a_stage_rewrites_the_generated_file(
    project: Project, cli, provider: str
) -> None:
    path = project.root / (
        ".gitlab-ci.yml" if provider == "gitlab" else ".github/workflows/torchlane.yml"
    )
    assert cli(["ci", "generate", "--provider", provider], cwd=project.root).code == 0
    assert "--stage notebooks" in path.read_text()
    config = project.root / ".torchlane.toml"
    config.write_text(config.read_text() + "\n[ci.stages.notebooks]\nenabled = false\n")
    result = cli(["ci", "generate", "--provider", provider], cwd=project.root)
    assert result.code == 0
    assert "updated" in result.out
    assert "notebooks" not in path.read_text()
