"""One definition of the environment files (issue 12): the pre-commit hook, the CI `env` stage's
inputs, `.pre-commit-hooks.yaml` and `env check` all agree with env/files.py."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from torchlane.ci.stages import default_stages
from torchlane.env.files import (
    ENVIRONMENT_PATTERNS,
    ci_pathspecs,
    is_environment_file,
    kind_of,
    pre_commit_regex,
)
from torchlane.git import Git

MANIFEST = Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml"

# Paths an environment may or may not depend on, in several folders.
CORPUS = (
    "Dockerfile", "docker/Dockerfile.gpu", "Containerfile", "train.Dockerfile", "ci/gpu.dockerfile",
    "compose.yaml", "deploy/docker-compose.override.yml", ".devcontainer/devcontainer.json",
    ".devcontainer/Dockerfile", "requirements.txt", "requirements-dev.txt",
    "dev-requirements.txt", "requirements.in", "requirements/base.txt", "requirements/gpu.in",
    "constraints.txt", "sub/constraints-cuda.txt", "uv.lock", "poetry.lock", "requirements.lock",
    "environment.yml", "conda/environment-gpu.yaml", "pyproject.toml", "pkg/pyproject.toml",
    ".torchlane.toml", "src/train.py", "docs/lockfiles.md", "README.md", "setup.py",
    "notebooks/explore.ipynb", "Dockerfile_notes/readme.md", "my.toml", "composer.json",
    "devcontainer/notes.txt", "src/requirements_parser.py",
)  # fmt: skip
NOT_ENVIRONMENT = {
    "src/train.py", "docs/lockfiles.md", "README.md", "setup.py", "notebooks/explore.ipynb",
    "Dockerfile_notes/readme.md", "my.toml", "composer.json", "devcontainer/notes.txt",
    "src/requirements_parser.py",
}  # fmt: skip


def test_the_definition_names_every_file_the_issue_lists() -> None:
    for path in ("constraints.txt", ".torchlane.toml", "pyproject.toml", "requirements-gpu.txt",
                 "uv.lock", "environment.yml", "Dockerfile.cuda", "compose.dev.yaml",
                 ".devcontainer/devcontainer.json"):  # fmt: skip
        assert is_environment_file(path), path
    assert {p for p in CORPUS if not is_environment_file(p)} == NOT_ENVIRONMENT


def test_pre_commit_manifest_regex_is_derived_from_the_definition() -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))}
    regex = hooks["torchlane-env-check"]["files"]
    assert regex == pre_commit_regex(), "regenerate it from env/files.py pre_commit_regex()"
    for path in CORPUS:
        assert bool(re.search(regex, path)) is is_environment_file(path), path


def test_ci_env_stage_inputs_are_the_definition_and_match_the_same_files(tmp_path: Path) -> None:
    env = next(s for s in default_stages("artifacts") if s.name == "env")
    assert env.inputs == ci_pathspecs(ENVIRONMENT_PATTERNS)
    git = Git(tmp_path)
    git.run("init", "--quiet")
    for path in CORPUS:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x\n", encoding="utf-8")
    assert set(git.files(*env.inputs)) == {p for p in CORPUS if is_environment_file(p)}


def test_every_file_env_check_reads_is_an_environment_file() -> None:
    for path in CORPUS:
        if kind_of(path) is not None:
            assert is_environment_file(path), path


def test_the_pre_commit_hook_uses_the_same_definition() -> None:
    from torchlane.hooks import precommit

    # Imported where the staged files are classified (a replayed verdict never needs it), from
    # this module, and defined nowhere else in the hook.
    names = precommit.check_staged.__code__.co_names
    assert "torchlane.env.files" in names
    assert "is_environment_file" in names
    assert "is_environment_file" not in vars(precommit)
