"""The generated `.gitlab-ci.yml`, run by a real GitLab pipeline engine for every event.

gitlab-ci-local (npm, installed by `make tools` into .tools/) evaluates the workflow and job rules
as GitLab does and runs the jobs with the shell executor, each in a fresh copy of the repository
(`--shell-isolation`), against a local bare origin. The jobs run this checkout's torchlane from a
job virtual environment on PATH that sees the test environment's packages (no network: pip runs
with PIP_NO_INDEX). The sample project is the demo's digits classifier.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

import torchlane
from torchlane.demo.quality import break_preprocessing, copy_sample_project, widen_model
from torchlane.git import Git

REPO_ROOT = Path(__file__).resolve().parents[2]
GITLAB_CI_LOCAL = REPO_ROOT / ".tools" / "node_modules" / ".bin" / "gitlab-ci-local"
NOTES = "refs/notes/torchlane"
# GitLab's variables this test sets or unsets to play each event.
PREDEFINED = (
    "CI_PIPELINE_SOURCE",
    "CI_COMMIT_BRANCH",
    "CI_COMMIT_TAG",
    "CI_COMMIT_REF_NAME",
    "CI_OPEN_MERGE_REQUESTS",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    "CI_MERGE_REQUEST_IID",
)

SAMPLE_SETTINGS = """
[tool.ruff.lint]
select = ["E4", "E7", "E9", "F"]

[tool.pytest.ini_options]
pythonpath = ["."]
testpaths = ["tests"]
"""
SAMPLE_TEST = """from model import N_CLASSES, N_PIXELS, build_model
import torch


def test_output_shape() -> None:
    assert build_model()(torch.zeros(2, N_PIXELS)).shape == (2, N_CLASSES)
"""


def _require_tools() -> None:
    if not GITLAB_CI_LOCAL.exists():
        pytest.skip(
            "gitlab-ci-local is not installed: `make tools` installs it from npm into .tools/ "
            "(needs node and npm)"
        )
    if shutil.which("rsync") is None:
        pytest.skip("gitlab-ci-local copies each job's checkout with rsync, which is missing")


class Pipeline:
    """A sample repository, its bare origin, and gitlab-ci-local to run its pipeline."""

    def __init__(self, tmp_path: Path) -> None:
        self.origin = tmp_path / "origin.git"
        self.root = tmp_path / "digits"
        self.git = Git(self.root)
        self.env = {**os.environ, "PATH": f"{self._job_venv(tmp_path)}:{os.environ['PATH']}"}
        self.env.pop("PYTHONPATH", None)
        self.env["NO_COLOR"] = "1"
        # One thread per PyTorch process: the test machines are small and shared, and torch's
        # threads spin against each other (evaluations took 30-70 s instead of seconds).
        self.env["OMP_NUM_THREADS"] = "1"
        self.runs = 0

    @staticmethod
    def _job_venv(tmp_path: Path) -> Path:
        """`python` of the jobs: its own prefix (installs land there), this environment's
        packages and this checkout's torchlane through a .pth file."""
        venv = tmp_path / "job-venv"
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
        )
        source = Path(torchlane.__file__).resolve().parent.parent
        paths = [str(source), *site.getsitepackages()]
        (purelib,) = (venv / "lib").glob("python3*/site-packages")
        (purelib / "torchlane-test-environment.pth").write_text("\n".join(paths) + "\n")
        return venv / "bin"

    def torchlane(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["python", "-m", "torchlane", *args],
            cwd=self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def train(self) -> str:
        """Train the model as the code stands and return the checkpoint's path to commit.

        The sample commits its checkpoint here, so the jobs evaluate (seconds) without training
        (the checkpoint command, tens of seconds on a busy CPU, for every job)."""
        done = subprocess.run(
            ["python", "train.py"],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return "checkpoints/model.pt"

    def commit(self, paths: list[str], message: str) -> str:
        self.git.run("add", "--", *paths)
        self.git.run("commit", "--quiet", "-m", message)
        return self.git.out("rev-parse", "HEAD")

    def checkout(self, ref: str) -> Path:
        """A fresh clone of origin at `ref`, as a runner makes for each pipeline: only what was
        pushed (branches, tags, notes) reaches the jobs."""
        self.runs += 1
        clone = self.root.parent / f"pipeline-{self.runs}"
        Git(self.root.parent).run("clone", "--quiet", str(self.origin), str(clone))
        Git(clone).run("checkout", "--quiet", ref)
        return clone

    def gitlab_ci_local(
        self, clone: Path, variables: dict[str, str], jobs: tuple[str, ...], unset: tuple[str, ...]
    ) -> subprocess.CompletedProcess[str]:
        argv = [
            str(GITLAB_CI_LOCAL),
            "--force-shell-executor",  # the jobs' images are the user's; here, this machine
            "--no-color",
            "--no-json-schema-validation",  # test_generate validates against GitLab's schema
            "--ignore-predefined-vars",
            ",".join(PREDEFINED),
            "--variable",
            "PIP_NO_INDEX=1",
            # No network: the project's build backend (setuptools) comes from the environment.
            "--variable",
            "PIP_NO_BUILD_ISOLATION=false",
        ]
        for name, value in variables.items():
            argv += ["--variable", f"{name}={value}"]
        for name in unset:
            argv += ["--unset-variable", name]
        argv += list(jobs)
        return subprocess.run(
            argv, cwd=clone, env=self.env, capture_output=True, text=True, timeout=600, check=False
        )

    def jobs_for(
        self, ref: str, variables: dict[str, str], unset: tuple[str, ...] = ()
    ) -> list[str]:
        done = self.gitlab_ci_local(self.checkout(ref), variables, ("--list-json",), unset)
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        listed = json.loads("\n".join(lines[lines.index("[") :]))
        return sorted(j["name"] for j in listed if j.get("when") != "never")

    def run(
        self,
        ref: str,
        variables: dict[str, str],
        *jobs: str,
        unset: tuple[str, ...] = (),
        code: int = 0,
    ) -> tuple[str, Path]:
        """Run the pipeline (or these jobs) for `ref`; its log and the artifacts' folder."""
        clone = self.checkout(ref)
        done = self.gitlab_ci_local(clone, variables, jobs, unset)
        output = done.stdout + done.stderr
        assert done.returncode == code, output[-6000:]
        return output, clone / "ci-artifacts"

    def origin_record(self, commit: str) -> str:
        done = subprocess.run(
            ["git", "--git-dir", str(self.origin), "notes", f"--ref={NOTES}", "show", commit],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout


def _merge_request(source: str, target: str) -> dict[str, str]:
    return {
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": source,
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": target,
        "CI_MERGE_REQUEST_IID": "7",
    }


def _build(pipeline: Pipeline) -> None:
    git = pipeline.git
    Git(pipeline.origin.parent).run("init", "--quiet", "--bare", str(pipeline.origin))
    pipeline.root.mkdir()
    git.run("init", "--quiet", "--initial-branch", "main")
    pipeline.torchlane("init")
    paths = copy_sample_project(pipeline.root)
    pyproject = pipeline.root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + SAMPLE_SETTINGS)
    (pipeline.root / "tests").mkdir()
    (pipeline.root / "tests" / "test_model.py").write_text(SAMPLE_TEST)
    ignore = pipeline.root / ".gitignore"
    kept = [line for line in ignore.read_text().splitlines() if line != "checkpoints/"]
    extra = ["ci-artifacts/", ".gitlab-ci-local/", ".pytest_cache/", ".ruff_cache/"]
    ignore.write_text("\n".join([*kept, *extra]) + "\n")
    pipeline.torchlane("ci", "generate", "--provider", "gitlab")
    checkpoint = pipeline.train()
    pipeline.commit(
        [*paths, "tests/test_model.py", ".gitlab-ci.yml", checkpoint], "Add the classifier"
    )
    git.run("remote", "add", "origin", str(pipeline.origin))
    git.run("push", "--quiet", "origin", "main", "develop")


def _report(artifacts: Path) -> str:
    return (artifacts / "report.md").read_text()


@pytest.mark.slow
def test_every_event_of_the_branch_model_runs_in_a_gitlab_engine(tmp_path: Path) -> None:
    _require_tools()
    pipeline = Pipeline(tmp_path)
    _build(pipeline)
    git = pipeline.git
    push = {"CI_PIPELINE_SOURCE": "push"}
    in_merge_request = ("CI_COMMIT_BRANCH",)  # GitLab leaves it unset in merge-request pipelines

    # Push to develop: checks, then the record job evaluates and pushes the notes to origin.
    develop = git.out("rev-parse", "HEAD")
    assert pipeline.jobs_for("develop", push) == ["checks-develop", "record"]
    out, _ = pipeline.run("develop", push, "record")
    assert "TORCHLANE_GITLAB_TOKEN is not set" in out
    assert "refs/notes/torchlane push origin: pushed." in out
    assert '"accuracy"' in pipeline.origin_record(develop)

    # Push to a feature branch: the checks only.
    pipeline.torchlane("start", "feature", "wider-hidden-layer")
    pipeline.commit([*widen_model(pipeline.root), pipeline.train()], "Widen the hidden layer")
    git.run("push", "--quiet", "origin", "feature/wider-hidden-layer")
    assert pipeline.jobs_for("feature/wider-hidden-layer", push) == ["checks"]
    out, artifacts = pipeline.run("feature/wider-hidden-layer", push)
    summary = (artifacts / "torchlane-ci.md").read_text()
    assert "torchlane ci: passed" in summary
    assert "| lint | passed" in summary

    # Merge request into develop: a better model passes the gate; the note needs the token.
    request = _merge_request("feature/wider-hidden-layer", "develop")
    ref = "feature/wider-hidden-layer"
    assert pipeline.jobs_for(ref, request, in_merge_request) == ["checks", "gate"]
    out, artifacts = pipeline.run(ref, request, "gate", unset=in_merge_request)
    assert "Model quality gate passed" in _report(artifacts)
    assert "the CI/CD variable TORCHLANE_GITLAB_TOKEN is not set" in out

    # A degraded model fails the gate job, with the gate's verdict in the log and the report.
    git.run("switch", "--quiet", "develop")
    pipeline.torchlane("start", "feature", "normalise-pixels")
    pipeline.commit(break_preprocessing(pipeline.root), "Normalise pixels to [0, 1]")
    git.run("push", "--quiet", "origin", "feature/normalise-pixels")
    request = _merge_request("feature/normalise-pixels", "develop")
    out, artifacts = pipeline.run(
        "feature/normalise-pixels", request, "gate", unset=in_merge_request, code=1
    )
    assert "Gate failed (fail)" in out
    assert "Model quality gate failed" in _report(artifacts)

    # The first release: its merge request into main passes with no baseline, and says so.
    git.run("switch", "--quiet", "develop")
    git.run("merge", "--quiet", "--no-ff", "--no-edit", "feature/wider-hidden-layer")
    pipeline.torchlane("start", "release", "1.0.0")
    release = git.current_branch() or ""
    (pipeline.root / "VERSION").write_text("1.0.0\n")
    pipeline.commit(["VERSION"], "Version 1.0.0")
    git.run("push", "--quiet", "origin", "develop", release)
    request = _merge_request(release, "main")
    assert pipeline.jobs_for(release, request, in_merge_request) == ["release"]
    out, artifacts = pipeline.run(release, request, unset=in_merge_request)
    assert "Outcome: first release." in _report(artifacts)
    assert "First release, no baseline" in _report(artifacts)

    # Finished and tagged: main's and the tag's pipelines verify and record; the tag's records
    # the tag commit's metrics on origin (the next release's baseline) and skips the image
    # without a Dockerfile.
    # (by the release manager, who may push main and develop directly)
    # (--no-model: binding the release's checkpoint is tested in tests/models)
    pipeline.torchlane("finish", "--push", "--no-model", env={"TORCHLANE_ALLOW_PUSH": "1"})
    tagged = git.out("rev-parse", "v1.0.0^{commit}")
    assert pipeline.jobs_for("main", push) == ["checks-main", "record-main"]
    tag = {**push, "CI_COMMIT_TAG": "v1.0.0", "CI_COMMIT_REF_NAME": "v1.0.0"}
    assert pipeline.jobs_for("v1.0.0", tag, in_merge_request) == [
        "checks-main",
        "record-main",
        "release-image",
    ]
    out, _ = pipeline.run("v1.0.0", tag, unset=in_merge_request)
    assert "No Dockerfile in the repository: the image build is skipped" in out
    assert '"accuracy"' in pipeline.origin_record(tagged)

    # A later release compares with the latest release tag, which the tag pipeline recorded.
    git.run("switch", "--quiet", "develop")
    pipeline.torchlane("start", "release", "1.1.0")
    release = git.current_branch() or ""
    (pipeline.root / "VERSION").write_text("1.1.0\n")
    pipeline.commit(["VERSION"], "Version 1.1.0")
    git.run("push", "--quiet", "origin", release)
    _, artifacts = pipeline.run(release, _merge_request(release, "main"), unset=in_merge_request)
    assert "latest release tag v1.0.0" in _report(artifacts)
    assert "Model quality gate passed" in _report(artifacts)

    # A hotfix into main is judged against the release it fixes.
    git.run("switch", "--quiet", "main")
    pipeline.torchlane("start", "hotfix", "1.0.1")
    hotfix = git.current_branch() or ""
    (pipeline.root / "VERSION").write_text("1.0.1\n")
    pipeline.commit(["VERSION"], "Version 1.0.1")
    git.run("push", "--quiet", "origin", hotfix)
    _, artifacts = pipeline.run(hotfix, _merge_request(hotfix, "main"), unset=in_merge_request)
    assert "latest release tag v1.0.0" in _report(artifacts)
    assert "Model quality gate passed" in _report(artifacts)
