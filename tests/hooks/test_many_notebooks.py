"""The pre-commit hook with ~12,000 staged notebooks: no argument list is too long for it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import torchlane
from tests.conftest import Project
from tests.hooks.test_git_hooks import _notebook_with_outputs
from torchlane.hooks.install import install_hooks

COUNT = 12_000
# ~230 characters each: 12,000 of them (2.5 MB) exceed Linux's 2 MiB ARG_MAX on one command line.
FOLDER = "experiments/" + "ablation-of-the-learning-rate-schedule/" * 4


@pytest.mark.slow
def test_precommit_with_twelve_thousand_staged_notebooks(
    project: Project, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = str(Path(torchlane.__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([source, os.environ.get("PYTHONPATH", "")]))
    git = project.git
    install_hooks(git)
    blob = git.run("hash-object", "-w", "--stdin", input=_notebook_with_outputs()).stdout.strip()
    paths = [f"{FOLDER}run-{i:05d}-sweep-over-warmup-steps.ipynb" for i in range(COUNT)]
    assert sum(len(p) + 1 for p in paths) > 2 * 1024 * 1024
    # Staged (the index is what the hook reads) before the notebook filter was installed.
    git.run("update-index", "--index-info", input="".join(f"100644 {blob}\t{p}\n" for p in paths))
    assert cli(["nb", "install-filter", "--repo", str(git.cwd)]).code == 0
    blocked = git.run("commit", "--quiet", "--no-status", "-m", "sweep", check=False)
    assert blocked.returncode == 1, blocked.stderr[-2000:]
    assert "Traceback" not in blocked.stderr
    assert "Argument list too long" not in blocked.stderr
    assert f"{paths[0]}: staged with outputs" in blocked.stderr
    assert f"and {COUNT - 20} more notebooks staged the same way" in blocked.stderr
    assert "git add --renormalize -- '*.ipynb'" in blocked.stderr
    assert "commit refused (notebooks)" in blocked.stderr
