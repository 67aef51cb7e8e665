"""Every cached stage's key covers every file its tools read (issue 12): breaking constraints.txt
or .torchlane.toml re-runs `env` (which then fails) instead of passing from the cache, and a
change to .ruff.toml re-runs `lint`."""

from __future__ import annotations

import pytest

from tests.conftest import Project, commit_file
from torchlane.ci.pipeline import run_ci
from torchlane.ci.runner import StageStatus
from torchlane.ci.stages import default_stages
from torchlane.project import open_project


def _status(project: Project, stage: str) -> StageStatus:
    result, _ = run_ci(open_project(project.root), only=(stage,))
    return next(s.status for s in result.stages if s.name == stage)


def _declare_torch(project: Project, version: str) -> None:
    path = project.root / ".torchlane.toml"
    text = path.read_text(encoding="utf-8") + f'\n[env]\ntorch = "{version}"\n'
    commit_file(project.git, ".torchlane.toml", text, "Declare torch")


@pytest.mark.parametrize("broken", ["constraints.txt", ".torchlane.toml"])
def test_breaking_an_environment_file_reruns_env_and_fails(ci_project: Project, broken) -> None:
    _declare_torch(ci_project, "2.5.1")
    commit_file(ci_project.git, "requirements.txt", "torch==2.5.1\n")
    commit_file(ci_project.git, "constraints.txt", "numpy==2.0.0\n")
    assert _status(ci_project, "env") is StageStatus.PASSED
    assert _status(ci_project, "env") is StageStatus.CACHED
    path = ci_project.root / broken
    if broken == "constraints.txt":
        path.write_text("torch==2.4.0\n", encoding="utf-8")
    else:
        path.write_text(path.read_text(encoding="utf-8").replace("2.5.1", "2.4.0"))
    assert _status(ci_project, "env") is StageStatus.FAILED


def test_a_requirement_file_the_declaration_names_is_an_env_input(ci_project: Project) -> None:
    path = ci_project.root / ".torchlane.toml"
    declaration = '\n[env]\ntorch = "2.5.1"\nrequirements = ["deps/base.pins"]\n'
    commit_file(ci_project.git, ".torchlane.toml", path.read_text(encoding="utf-8") + declaration)
    commit_file(ci_project.git, "deps/base.pins", "torch==2.5.1\n")
    assert _status(ci_project, "env") is StageStatus.PASSED
    assert _status(ci_project, "env") is StageStatus.CACHED
    (ci_project.root / "deps" / "base.pins").write_text("torch==2.4.0\n", encoding="utf-8")
    assert _status(ci_project, "env") is StageStatus.FAILED


def test_changing_ruffs_own_config_reruns_lint(ci_project: Project) -> None:
    pytest.importorskip("ruff")
    commit_file(ci_project.git, "model.py", "import os\n")
    commit_file(ci_project.git, ".ruff.toml", "[lint]\nselect = ['E']\n")
    assert _status(ci_project, "lint") is StageStatus.PASSED
    assert _status(ci_project, "lint") is StageStatus.CACHED
    (ci_project.root / ".ruff.toml").write_text("[lint]\nselect = ['F']\n")  # F401: unused import
    assert _status(ci_project, "lint") is StageStatus.FAILED


@pytest.mark.parametrize(
    ("stage", "files"),
    [
        ("lint", ["ruff.toml", ".ruff.toml", "pyproject.toml", "x.py", "x.ipynb"]),
        ("notebooks", ["x.ipynb", "pyproject.toml", ".torchlane.toml"]),
        ("env", ["constraints.txt", ".torchlane.toml", "pyproject.toml", "requirements.txt"]),
        ("verify", ["pyproject.toml", ".torchlane.toml"]),
    ],
)
def test_stage_inputs_name_the_configuration_their_tools_read(stage: str, files) -> None:
    from torchlane.env.files import is_environment_file

    inputs = next(s for s in default_stages("artifacts") if s.name == stage).inputs
    for name in files:
        if stage == "env":
            assert is_environment_file(name), name
        else:
            assert name in inputs or f"*{name[name.rfind('.') :]}" in inputs, (stage, name)
