from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import Project, commit_file


def stage(code: str, **extra: object) -> dict[str, object]:
    """A stage that runs a Python snippet (quoted for shlex)."""
    import shlex

    return {"command": f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}", **extra}


def configure_stages(project: Project, stages: dict[str, dict[str, object]]) -> None:
    """Replace the default stages by `stages` in the project's committed configuration."""
    import tomlkit

    path = project.root / ".torchlane.toml"
    document = tomlkit.parse(path.read_text())
    ci = tomlkit.table()
    table = tomlkit.table()
    defaults = (
        "lint",
        "tests",
        "notebooks",
        "secrets",
        "env",
        "verify",
        "evaluate",
        "gate",
        "report",
    )
    for name in defaults:
        if name not in stages:
            table.add(name, {"enabled": False})
    for name, settings in stages.items():
        table.add(name, settings)
    ci.add("stages", table)
    document["ci"] = ci
    path.write_text(tomlkit.dumps(document))
    commit_file(project.git, ".torchlane.toml", path.read_text(), "Configure CI stages")


@pytest.fixture
def ci_project(project: Project) -> Project:
    project.git.run("switch", "--quiet", "-c", "feature/add-mixup")
    (project.root / ".gitignore").write_text("ci-artifacts/\n")
    commit_file(project.git, ".gitignore", "ci-artifacts/\n", "Ignore CI artifacts")
    return project


@pytest.fixture
def root(ci_project: Project) -> Path:
    return ci_project.root
