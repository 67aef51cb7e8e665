"""`torchlane sync`: rebase (or merge) a topic branch onto develop, with a backup and continue/abort."""

from __future__ import annotations

import json

import pytest

from tests.conftest import commit_file
from tests.flow.finish_helpers import conflicting_change, journal_exists, parents, snapshot, start


def _diverged_feature(git, *, conflict: bool = False) -> str:
    commit_file(git, "model.py", "LR = 0.1\n")
    branch = start(git, "feature", "tune-rate")
    commit_file(git, "model.py" if conflict else "feature.txt", "LR = 0.01\n")
    commit_file(git, "notes.txt", "feature notes\n")
    conflicting_change(git, "develop", "model.py", "LR = 0.5\n")
    git.run("switch", "--quiet", branch)
    return branch


def _backups(git, branch: str) -> list[str]:
    return git.lines("for-each-ref", "--format=%(objectname)", f"refs/torchlane/backup/{branch}/")


def test_rebase_onto_develop_keeps_a_backup(project, cli) -> None:
    git = project.git
    branch = _diverged_feature(git)
    old_tip = git.rev(branch)
    result = cli(["sync", "--json"], cwd=project.root)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["rewritten"] is True
    assert data["needs_force_push"] is False
    assert git.is_ancestor("develop", branch)
    assert git.out("rev-list", "--count", f"develop..{branch}") == "2"
    assert git.out("rev-list", "--count", "--merges", f"develop..{branch}") == "0"
    assert _backups(git, branch) == [old_tip]
    assert git.current_branch() == branch
    assert not journal_exists(git)


def test_merge_mode_makes_a_merge_commit_naming_both(project, cli) -> None:
    git = project.git
    branch = _diverged_feature(git)
    old_tip, develop = git.rev(branch), git.rev("develop")
    assert cli(["sync", "--merge"], cwd=project.root).code == 0
    assert parents(git, branch) == [old_tip, develop]
    assert git.out("log", "-1", "--format=%s", branch) == f"Merge develop into {branch}"


def test_already_pushed_branch_needs_force_with_lease(project, cli) -> None:
    git = project.git
    branch = _diverged_feature(git)
    git.run("push", "--quiet", "-u", "origin", branch)
    result = cli(["sync"], cwd=project.root)
    assert result.code == 0, result.err
    assert "git push --force-with-lease" in result.out


def test_up_to_date_branch_is_left_alone(project, cli) -> None:
    git = project.git
    branch = start(git, "feature", "tune-rate")
    commit_file(git, "feature.txt", "x\n")
    before = snapshot(git)
    result = cli(["sync"], cwd=project.root)
    assert result.code == 0
    assert "already contains" in result.out
    assert snapshot(git) == before
    assert _backups(git, branch) == []


def test_conflict_then_continue(project, cli) -> None:
    git = project.git
    branch = _diverged_feature(git, conflict=True)
    result = cli(["sync"], cwd=project.root)
    assert result.code == 1
    assert "model.py" in result.err
    assert "torchlane sync --continue" in result.err
    (project.root / "model.py").write_text("LR = 0.05\n", encoding="utf-8")
    git.run("add", "model.py")
    resumed = cli(["sync", "--continue"], cwd=project.root)
    assert resumed.code == 0, resumed.err
    assert git.is_ancestor("develop", branch)
    assert git.out("show", f"{branch}:model.py") == "LR = 0.05"
    assert git.current_branch() == branch
    assert not journal_exists(git)


def test_conflict_then_abort_restores_everything(project, cli) -> None:
    git = project.git
    _diverged_feature(git, conflict=True)
    (project.root / "scratch.txt").write_text("untracked\n", encoding="utf-8")
    before = snapshot(git)
    assert cli(["sync"], cwd=project.root).code == 1
    aborted = cli(["sync", "--abort"], cwd=project.root)
    assert aborted.code == 0, aborted.err
    assert snapshot(git) == before
    assert not journal_exists(git)


@pytest.mark.parametrize(
    ("branch", "message"),
    [("develop", "long-lived branch"), ("release", "release branch is not rebased")],
)
def test_only_topic_branches_are_synced(project, cli, branch: str, message: str) -> None:
    git = project.git
    if branch == "release":
        start(git, "release", "1.0.0")
    result = cli(["sync"], cwd=project.root)
    assert result.code == 1
    assert message in result.err


def test_rebase_abandoned_by_hand_is_explained(project, cli) -> None:
    git = project.git
    branch = _diverged_feature(git, conflict=True)
    old_tip = git.rev(branch)
    assert cli(["sync"], cwd=project.root).code == 1
    git.run("rebase", "--abort")
    result = cli(["sync", "--continue"], cwd=project.root)
    assert result.code == 1
    assert "no longer in progress" in result.err
    assert "torchlane sync --abort" in result.err
    assert cli(["sync", "--abort"], cwd=project.root).code == 0
    assert git.rev(branch) == old_tip
    assert _backups(git, branch) == []
