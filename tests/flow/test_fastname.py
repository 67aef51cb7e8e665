"""`torchlane check-name` through the lean path must say exactly what the full CLI says."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import Project
from tests.flow.lean_probe import heavy_modules_after

NAMES = [
    "feature/add-mixup",
    "fix_stuff",
    "feature/misc",
    "release/1.2.0",
    "develop",
    "hotfix/v1.0.1",
]


def _fast(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "torchlane", "check-name", *args],
        cwd=project.root / "sub" if (project.root / "sub").is_dir() else project.root,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("name", NAMES)
def test_fast_path_matches_the_full_cli(project: Project, cli, name: str) -> None:
    full = cli(["check-name", name, "-C", str(project.root)])
    fast = _fast(project, name)
    assert (fast.returncode, fast.stdout, fast.stderr) == (full.code, full.out, full.err)


def test_fast_path_reads_the_current_branch_from_a_subdirectory(project: Project) -> None:
    project.git.run("switch", "--quiet", "-c", "tmp")
    (project.root / "sub").mkdir()
    result = _fast(project)
    assert result.returncode == 1
    assert "'tmp' breaks the naming conventions" in result.stderr


def test_fast_path_follows_configuration_changes(project: Project) -> None:
    config = project.root / ".torchlane.toml"
    assert _fast(project, "feature/abc").returncode == 1  # shorter than 5 characters
    config.write_text(config.read_text() + "\n[naming]\nmin_slug_length = 3\n")
    assert _fast(project, "feature/abc").returncode == 0


def test_fast_path_imports_neither_click_nor_pydantic(project: Project) -> None:
    project.git.run("switch", "--quiet", "-c", "feature/add-mixup")
    _fast(project)  # first run fills the settings cache
    loaded, output = heavy_modules_after(["check-name"], project.root)
    assert loaded == [], output


def test_options_and_detached_head_go_through_the_full_cli(project: Project) -> None:
    as_json = _fast(project, "feature/add-mixup", "--json")
    assert '"ok": true' in as_json.stdout
    project.git.run("checkout", "--quiet", "--detach")
    detached = _fast(project)
    assert detached.returncode == 1
    assert "HEAD is detached" in detached.stderr
