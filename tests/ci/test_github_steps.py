"""The generated workflow's jobs, run step by step on this machine (tests/ci/github_local.py):
bash for `run:` steps with GitHub's variables, a clone with a local bare origin for checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci.github_local import Event, JobResult, JobRun
from tests.evaluate.conftest import trained_checkpoint  # noqa: F401  (the fixture)
from tests.evaluate.helpers import FETCH_SCRIPT, write_eval_config
from torchlane.demo.quality import copy_sample_project
from torchlane.git import Git
from torchlane.metrics.record import EvaluationRecord
from torchlane.metrics.signing import KEY_VARIABLE, Verifier, generate_key

pytestmark = pytest.mark.slow

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="session")
def job_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """setup-python's local equivalent: a venv of its own (what the job installs goes there)
    that sees this checkout's torchlane and the test environment's packages, so the install
    steps find everything already satisfied without a network."""
    venv = tmp_path_factory.mktemp("job") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "torchlane_test.pth").write_text(
        f"{SRC}\n{sysconfig.get_paths()['purelib']}\n", "utf-8"
    )
    return venv / "bin"


@pytest.fixture
def sample(tmp_path: Path, trained_checkpoint: Path) -> tuple[Git, Path]:  # noqa: F811
    """The digits sample with the branch model adopted, a test, and a bare origin."""
    from torchlane.flow.init import init_repository

    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(origin)], check=True)
    root = tmp_path / "digits"
    root.mkdir()
    git = Git(root)
    git.run("init", "--quiet", "--initial-branch", "main")
    copy_sample_project(root)
    (root / "fetch.py").write_text(FETCH_SCRIPT.format(source=str(trained_checkpoint)), "utf-8")
    write_eval_config(root, checkpoint_command=["python", "fetch.py"])
    (root / "tests").mkdir()
    (root / "tests" / "test_smoke.py").write_text(
        "def test_one() -> None:\n    assert 1 + 1 == 2\n"
    )
    with (root / ".gitignore").open("a", encoding="utf-8") as ignore:
        ignore.write("\nci-artifacts/\n")
    git.run("add", "-A")
    git.run("commit", "--quiet", "-m", "Add the digits classifier")
    init_repository(root)
    git.run("remote", "add", "origin", str(origin))
    git.run("push", "--quiet", "origin", "main", "develop")
    return git, origin


def _workflow(root: Path) -> dict[str, Any]:
    from torchlane.cli import run as run_cli

    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert run_cli(["ci", "generate", "--provider", "github"]) == 0
    finally:
        os.chdir(cwd)
    workflow: dict[str, Any] = yaml.safe_load(
        (root / ".github/workflows/torchlane.yml").read_text()
    )
    return workflow


def _run(
    job: str,
    *,
    event: Event,
    origin: Path,
    tmp_path: Path,
    job_python: Path,
    workflow: dict[str, Any],
    secrets: dict[str, str] | None = None,
) -> tuple[JobResult, JobRun]:
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST", "GITHUB_"))
    }
    base_env["PIP_NO_INDEX"] = "1"  # no network: every requirement must already be satisfied
    # ... the project's build backend (setuptools) included, instead of an isolated download
    base_env["PIP_NO_BUILD_ISOLATION"] = "false"
    temp = tmp_path / f"runner-{job}"
    temp.mkdir()
    run = JobRun(
        workflow=workflow,
        job_id=job,
        event=event,
        origin=origin,
        workspace=tmp_path / f"workspace-{job}",
        temp=temp,
        python_bin=job_python,
        secrets={"WANDB_API_KEY": "wandb-secret-for-test", **(secrets or {})},
        base_env=base_env,
        artifacts=tmp_path / "artifacts",
    )
    return run.run(), run


def _explain(result: JobResult) -> str:
    return "\n".join(f"--- {s.name}: {s.outcome}\n{s.output[-3000:]}" for s in result.steps)


def test_checks_job_on_a_feature_branch(sample, tmp_path: Path, job_python: Path) -> None:
    git, origin = sample
    git.run("switch", "--quiet", "-c", "feature/wider")
    (git.cwd / "NOTES.md").write_text("wider model\n")
    workflow = _workflow(git.cwd)
    git.run("add", "-A")
    git.run("commit", "--quiet", "-m", "Generate the workflow")
    git.run("push", "--quiet", "origin", "feature/wider")
    sha = git.out("rev-parse", "HEAD")
    result, run = _run(
        "checks",
        event=Event("push", "refs/heads/feature/wider", sha=sha),
        origin=origin,
        tmp_path=tmp_path,
        job_python=job_python,
        workflow=workflow,
    )
    assert result.conclusion == "success", _explain(result)
    stages = result.step("Lint, tests").output
    for stage in ("lint", "tests", "notebooks", "secrets", "env"):
        assert f"ok  {stage}" in stages, stages
    workspace = Git(run.workspace)
    assert workspace.out("branch", "--show-current") == "feature/wider"
    assert workspace.out("rev-parse", "HEAD") == sha
    assert "extraheader" not in (run.workspace / ".git" / "config").read_text()
    assert (
        tmp_path
        / "artifacts"
        / "torchlane-${{ github.job }}".replace("${{ github.job }}", "checks")
    ).is_dir()


def test_record_job_on_develop_pushes_the_notes(sample, tmp_path: Path, job_python: Path) -> None:
    git, origin = sample
    git.run("switch", "--quiet", "develop")
    workflow = _workflow(git.cwd)
    git.run("add", "-A")
    git.run("commit", "--quiet", "-m", "Generate the workflow")
    git.run("push", "--quiet", "origin", "develop")
    sha = git.out("rev-parse", "HEAD")
    event = Event("push", "refs/heads/develop", sha=sha)
    assert workflow["jobs"]["record"]["environment"] == "torchlane-records"
    # The signing key, a secret of that environment, as the real ssh-keygen makes it.
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen (OpenSSH client) is not installed: record signing untested")
    key = generate_key(tmp_path / "signing-key", "torchlane-ci")
    material = key.private_key.read_text()
    result, run = _run(
        "record",
        event=event,
        origin=origin,
        tmp_path=tmp_path,
        job_python=job_python,
        workflow=workflow,
        secrets={KEY_VARIABLE: material},
    )
    assert result.conclusion == "success", _explain(result)
    evaluate = result.step("Evaluate and record")
    # merged code only, and the recording step only
    assert evaluate.env == {"WANDB_API_KEY": "wandb-secret-for-test", KEY_VARIABLE: material}
    assert all(KEY_VARIABLE not in s.env for s in result.steps if s is not evaluate)
    assert "ok  evaluate" in evaluate.output
    assert "extraheader" not in (run.workspace / ".git" / "config").read_text()
    # The notes reached the bare origin, for the develop commit.
    notes = subprocess.run(
        ["git", "--git-dir", str(origin), "for-each-ref", "--format=%(refname)", "refs/notes/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert notes, "no notes pushed"
    shown = subprocess.run(
        ["git", "--git-dir", str(origin), "notes", f"--ref={notes[0]}", "show", sha],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "accuracy" in shown.stdout
    # CI signed it: the signature verifies against the key's allowed-signers line.
    record = EvaluationRecord.from_line(shown.stdout.splitlines()[-1])
    assert record.signature is not None
    with Verifier(key.allowed_signers_line + "\n", shutil.which("ssh-keygen") or "") as verifier:
        assert verifier.problem(record.signature) is None


def test_tag_image_job_without_a_dockerfile_says_so(
    sample, tmp_path: Path, job_python: Path
) -> None:
    git, origin = sample
    workflow = _workflow(git.cwd)
    git.run("tag", "v1.0.0")
    git.run("push", "--quiet", "origin", "v1.0.0")
    event = Event(
        "push", "refs/tags/v1.0.0", sha=git.out("rev-parse", "HEAD"), repository="Acme/Vision"
    )
    result, run = _run(
        "image",
        event=event,
        origin=origin,
        tmp_path=tmp_path,
        job_python=job_python,
        workflow=workflow,
    )
    assert result.conclusion == "success", _explain(result)
    step = result.step("The image's name")
    assert "::notice::No Dockerfile in the repository" in step.output
    assert step.outputs["build"] == "false"
    assert run.recorded == []  # neither login nor build ran
    # With a Dockerfile: the name is lowercased, and the build is handed the tag.
    (git.cwd / "Dockerfile").write_text("FROM python:3.11-slim\n")
    git.run("add", "Dockerfile")
    git.run("commit", "--quiet", "-m", "Add a Dockerfile")
    git.run("tag", "v1.0.1")
    git.run("push", "--quiet", "origin", "v1.0.1")
    event = Event(
        "push", "refs/tags/v1.0.1", sha=git.out("rev-parse", "HEAD"), repository="Acme/Vision"
    )
    (tmp_path / "again").mkdir()
    result, run = _run(
        "image",
        event=event,
        origin=origin,
        tmp_path=tmp_path / "again",
        job_python=job_python,
        workflow=workflow,
    )
    assert result.conclusion == "success", _explain(result)
    built = dict(run.recorded)
    assert built["docker/build-push-action"]["tags"] == "ghcr.io/acme/vision:v1.0.1"
    assert built["docker/login-action"]["registry"] == "ghcr.io"
