"""--abort never costs work; --continue after a kill always ends in the one two-parent merge.

Each test builds, with real git, the files a kill or a pause leaves behind (MERGE_HEAD without
MERGE_MODE, a merge commit already on the branch with MERGE_HEAD still there, an index.lock,
stale stat data) and then runs the real command.
"""

from __future__ import annotations

import os
import shutil

from tests.conftest import commit_file
from tests.flow.finish_helpers import (
    conflicting_change,
    conflicting_feature,
    journal_exists,
    parents,
    snapshot,
    start,
)
from torchlane.flow.finish import plan_finish
from torchlane.flow.journal import STARTED, new_journal, save_journal
from torchlane.git import Git
from torchlane.project import open_project


def _saved_refs(git: Git) -> list[str]:
    return git.lines("for-each-ref", "--format=%(refname)", "refs/torchlane/saved/")


def test_abort_keeps_edits_made_during_the_pause(project, cli) -> None:
    git = project.git
    branch = conflicting_feature(git)
    branch_tip = git.rev(branch)
    assert cli(["finish"], cwd=project.root).code == 1
    # During the pause: a half-done resolution, and an unrelated edit to a tracked file.
    (project.root / "model.py").write_text("LR = 0.05  # my resolution\n", encoding="utf-8")
    (project.root / "README.md").write_text("# sample\nnotes written during the pause\n")
    result = cli(["finish", "--abort"], cwd=project.root)
    assert result.code == 0, result.err
    assert "everything is as before" not in result.out
    # Refs and HEAD are back.
    assert git.current_branch() == branch
    assert git.rev(branch) == branch_tip
    assert not journal_exists(git)
    # The unrelated edit stays in the work tree, as `git merge --abort` leaves it.
    assert (project.root / "README.md").read_text() == "# sample\nnotes written during the pause\n"
    assert "README.md" in result.out
    # Everything (the resolution too) is saved on a named ref that the output names.
    [saved] = _saved_refs(git)
    assert saved in result.err
    assert git.out("show", f"{saved}:model.py") == "LR = 0.05  # my resolution"
    assert "notes written during the pause" in git.out("show", f"{saved}:README.md")


def test_abort_without_edits_during_the_pause_is_exact_and_saves_nothing(project, cli) -> None:
    git = project.git
    conflicting_feature(git)
    before = snapshot(git)
    assert cli(["finish"], cwd=project.root).code == 1
    git.run("add", "model.py")  # staging the conflicted file as is is not work to keep
    result = cli(["finish", "--abort"], cwd=project.root)
    assert result.code == 0, result.err
    assert "everything is as before" in result.out
    assert snapshot(git) == before
    assert _saved_refs(git) == []


def test_abort_after_the_files_were_touched_refreshes_the_index(project, cli, tmp_path) -> None:
    """A repository copied back into place (new inodes, ctimes, mtimes) during the pause makes
    every index entry look modified until the index is refreshed."""
    git = project.git
    branch = conflicting_feature(git)
    branch_tip = git.rev(branch)
    assert cli(["finish"], cwd=project.root).code == 1
    git.run("merge", "--abort")  # ended by hand; then an edit, then the copy
    (project.root / "README.md").write_text("# sample\nedited during the pause\n")
    moved = tmp_path / "moved"
    project.root.rename(moved)
    shutil.copytree(moved, project.root, symlinks=True)
    for path in project.root.rglob("*"):
        if path.is_file() and ".git" not in path.relative_to(project.root).parts:
            os.utime(path, (1_000_000_000, 1_000_000_000))
    result = cli(["finish", "--abort"], cwd=project.root)
    assert result.code == 0, result.err
    assert "not uptodate" not in result.err
    assert git.current_branch() == branch
    assert git.rev(branch) == branch_tip
    assert git.dirty_paths() == ["README.md"]


def _journal_at_first_merge(project) -> tuple[str, str]:
    """What `finish` has written when it is killed inside its first `git merge`: the journal
    with the merge step started and the source tip pinned. Returns (develop, feature tip)."""
    git = project.git
    branch = start(git, "feature", "fast-forwardable")
    tip = commit_file(git, "feature.txt", "feature work\n")
    ctx = open_project(project.root)
    parsed = ctx.parse(branch)
    assert parsed is not None
    steps, refs = plan_finish(ctx, parsed, keep=False, push=False)
    journal = new_journal(git, "finish", {"branch": branch, "type": "feature"}, steps, refs)
    steps[0].sha, steps[0].state = tip, STARTED
    save_journal(git, journal, create=True)
    git.run("switch", "--quiet", "develop")
    return git.rev("develop"), tip


def test_continue_after_a_kill_before_merge_mode_makes_the_two_parent_merge(project, cli) -> None:
    """develop is an ancestor of the feature: a plain `git commit` would fast-forward it."""
    git = project.git
    develop, tip = _journal_at_first_merge(project)
    git.run("merge", "--no-ff", "--no-commit", "--quiet", tip)
    git.git_path("MERGE_MODE").unlink()  # killed after MERGE_HEAD, before MERGE_MODE
    assert git.git_path("MERGE_HEAD").exists()
    result = cli(["finish", "--continue"], cwd=project.root)
    assert result.code == 0, result.err
    assert parents(git, "develop") == [develop, tip]
    assert git.out("rev-list", "--count", f"{develop}..develop") == "2"  # the merge, the commit
    assert not git.git_path("MERGE_HEAD").exists()
    assert git.dirty_paths() == []
    assert not journal_exists(git)


def test_continue_after_a_kill_once_the_merge_was_committed_adds_nothing(project, cli) -> None:
    """git moved develop to the merge commit and died before removing MERGE_HEAD."""
    git = project.git
    develop, tip = _journal_at_first_merge(project)
    git.run("merge", "--no-ff", "--quiet", "-m", "Merge feature/fast-forwardable", tip)
    merge = git.rev("develop")
    git.git_path("MERGE_HEAD").write_text(tip + "\n", encoding="utf-8")
    git.git_path("MERGE_MSG").write_text("Merge feature/fast-forwardable\n", encoding="utf-8")
    result = cli(["finish", "--continue"], cwd=project.root)
    assert result.code == 0, result.err
    assert git.rev("develop") == merge
    assert parents(git, "develop") == [develop, tip]
    assert not git.git_path("MERGE_HEAD").exists()
    assert not journal_exists(git)


def test_resolved_conflict_with_merge_mode_lost_still_makes_two_parents(project, cli) -> None:
    git = project.git
    conflicting_feature(git)
    assert cli(["finish"], cwd=project.root).code == 1
    develop, source = git.rev("develop"), git.rev("MERGE_HEAD")
    git.git_path("MERGE_MODE").unlink(missing_ok=True)
    (project.root / "model.py").write_text("LR = 0.05\n", encoding="utf-8")
    git.run("add", "model.py")
    assert cli(["finish", "--continue"], cwd=project.root).code == 0
    assert parents(git, "develop") == [develop, source]
    assert git.out("log", "-1", "--format=%s", "develop").startswith("Merge feature/tune-rate")


def test_sync_continue_after_a_kill_shows_gits_own_error(project, cli) -> None:
    """kill -9 mid-rebase leaves index.lock: that is what the user must see, not a 'conflict'."""
    git = project.git
    commit_file(git, "model.py", "LR = 0.1\n")
    start(git, "feature", "tune-rate")
    commit_file(git, "model.py", "LR = 0.01\n")
    branch = git.current_branch()
    conflicting_change(git, "develop", "model.py", "LR = 0.5\n")
    git.run("switch", "--quiet", branch)
    assert cli(["sync"], cwd=project.root).code == 1
    (project.root / "model.py").write_text("LR = 0.05\n", encoding="utf-8")
    git.run("add", "model.py")
    lock = git.git_dir() / "index.lock"
    lock.write_text("", encoding="utf-8")
    result = cli(["sync", "--continue"], cwd=project.root)
    assert result.code == 1
    assert "index.lock" in result.err
    assert "conflicts while trying" not in result.err
    lock.unlink()
    resumed = cli(["sync", "--continue"], cwd=project.root)
    assert resumed.code == 0, resumed.err
    assert git.out("show", f"{branch}:model.py") == "LR = 0.05"


def test_sync_abort_keeps_the_edits_git_rebase_abort_would_discard(project, cli) -> None:
    git = project.git
    commit_file(git, "model.py", "LR = 0.1\n")
    start(git, "feature", "tune-rate")
    tip = commit_file(git, "model.py", "LR = 0.01\n")
    branch = git.current_branch()
    conflicting_change(git, "develop", "model.py", "LR = 0.5\n")
    git.run("switch", "--quiet", branch)
    assert cli(["sync"], cwd=project.root).code == 1
    (project.root / "model.py").write_text("LR = 0.05  # half resolved\n", encoding="utf-8")
    (project.root / "README.md").write_text("# sample\nedited during the rebase\n")
    result = cli(["sync", "--abort"], cwd=project.root)
    assert result.code == 0, result.err
    assert "everything is as before" not in result.out
    assert git.rev(branch) == tip
    assert git.current_branch() == branch
    [saved] = _saved_refs(git)
    assert saved in result.err
    assert git.out("show", f"{saved}:model.py") == "LR = 0.05  # half resolved"
    assert "edited during the rebase" in git.out("show", f"{saved}:README.md")
    # The unrelated edit is back in the work tree; the half resolution stays in the saved commit.
    assert (project.root / "README.md").read_text() == "# sample\nedited during the rebase\n"
    assert (project.root / "model.py").read_text() == "LR = 0.01\n"
    assert "README.md" in result.out
