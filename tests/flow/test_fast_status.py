"""`torchlane status` through __main__'s lean path must say what the full CLI says, without
importing click, pydantic or rich for --json, and hand everything else to the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Project, commit_file, commit_pyproject
from tests.flow.lean_probe import heavy_modules_after
from tests.flow.test_status import build_history
from torchlane.git import Git

TIMELY = ("last_commit_days", "forked_days")  # depend on the moment each run starts


def _fast(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "torchlane", "status", *args],
        cwd=cwd, capture_output=True, text=True, check=False,
    )  # fmt: skip


def _comparable(out: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(out)
    data.pop("generated_at")
    # The later run reuses the earlier one's answers instead of merging again.
    data.pop("merge_predictions_reused")
    data.pop("merge_tree_runs")
    data.pop("content_merged")
    for branch in data["branches"]:  # type: ignore[attr-defined]
        for key in TIMELY:
            branch.pop(key)
    return data


@pytest.mark.slow
def test_fast_path_matches_the_full_cli(project: Project, cli) -> None:
    build_history(project)
    (project.root / "sub").mkdir()
    for args in (["--json"], ["--no-conflicts", "--json"]):
        full = cli(["status", *args, "-C", str(project.root)])
        fast = _fast(project.root / "sub", *args)
        assert (fast.returncode, fast.stderr) == (full.code, full.err)
        assert _comparable(fast.stdout) == _comparable(full.out)
        again = _fast(project.root.parent, *args, "-C", str(project.root))
        assert _comparable(again.stdout) == _comparable(full.out)
    table = _fast(project.root)
    assert table.returncode == 0, table.stderr
    assert "CONFLICT (1)" in table.stdout
    assert "would conflict (src/model.py)" in table.stdout


def test_fast_path_imports_neither_click_nor_pydantic_nor_rich(project: Project) -> None:
    project.git.run("switch", "--quiet", "-c", "feature/add-mixup")
    _fast(project.root, "--json")  # the first run fills the settings snapshot
    loaded, output = heavy_modules_after(["status", "--json"], project.root)
    assert loaded == [], output
    assert '"feature/add-mixup"' in output


def test_what_the_fast_path_cannot_answer_goes_to_the_cli(project: Project, tmp_path: Path) -> None:
    commit_pyproject(project, '[tool.torchlane.metrics]\nnotes_reff = "x"\n')
    typo = _fast(project.root, "--json")
    assert typo.returncode == 0, typo.stderr
    assert "notes_reff: unknown key" in typo.stderr  # the CLI's warning: it ran the command
    assert json.loads(typo.stdout)["develop"] == "develop"
    unset = tmp_path / "plain"
    unset.mkdir()
    git = Git(unset)
    git.run("init", "--quiet", "--initial-branch", "main")
    commit_file(git, "a.txt", "a\n")
    refused = _fast(unset)
    assert refused.returncode == 1
    assert "torchlane init" in refused.stderr
    usage = _fast(project.root, "--bogus")
    assert usage.returncode == 2
    assert "No such option" in usage.stderr
