"""The merge-prediction cache (flow/merge_cache.py): a re-run reuses only answers that provably
still hold, and everything that could change an answer invalidates it. Every answer, cached or
not, is checked against `git merge-tree` itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Project, commit_file
from tests.flow.git_answers import merge_tree_answer
from torchlane.flow.status import StatusReport, collect_status
from torchlane.git import Git
from torchlane.project import open_project

LINES = [f"line {i}\n" for i in range(12)]


def _text(edits: dict[int, str] | None = None) -> str:
    lines = list(LINES)
    for number, value in (edits or {}).items():
        lines[number] = value + "\n"
    return "".join(lines)


def _status(project: Project) -> StatusReport:
    return collect_status(open_project(project.root))


def _agrees_with_git(git: Git, report: StatusReport) -> dict[str, bool | None]:
    for branch in report.branches:
        conflict, files = merge_tree_answer(git, branch.name)
        assert branch.conflict is conflict, branch.name
        assert sorted(branch.conflict_files) == files, branch.name
    return {b.name: b.conflict for b in report.branches}


def _history(project: Project) -> Git:
    """develop with a.txt, b.txt and x.txt; three branches forked from it."""
    git = project.git
    git.run("switch", "--quiet", "develop")
    for name in ("a.txt", "b.txt", "x.txt"):
        commit_file(git, name, _text())
    git.run("switch", "--quiet", "-c", "feature/edit-a")
    commit_file(git, "a.txt", _text({2: "branch a"}))
    git.run("switch", "--quiet", "-c", "feature/edit-b", "develop")
    commit_file(git, "b.txt", _text({5: "branch b"}))
    git.run("switch", "--quiet", "-c", "feature/new-file", "develop")
    commit_file(git, "notes/new.txt", "new\n")
    git.run("switch", "--quiet", "develop")
    return git


@pytest.mark.slow
def test_a_new_develop_commit_reexamines_only_the_branches_it_meets(project: Project) -> None:
    git = _history(project)
    first = _status(project)
    assert first.merge_predictions_reused == 0
    assert _agrees_with_git(git, first) == {
        "feature/edit-a": False,
        "feature/edit-b": False,
        "feature/new-file": False,
    }
    commit_file(git, "b.txt", _text({5: "develop b"}))  # meets feature/edit-b only
    second = _status(project)
    assert second.merge_predictions_reused == 2
    assert _agrees_with_git(git, second)["feature/edit-b"] is True
    third = _status(project)  # nothing changed at all: every answer reused
    assert third.merge_predictions_reused == 3
    assert third.merge_tree_runs == 0
    _agrees_with_git(git, third)


@pytest.mark.slow
def test_rewritten_branches_and_develop_are_reexamined(project: Project) -> None:
    git = _history(project)
    _status(project)
    commit_file(git, "a.txt", _text({8: "develop a"}))
    git.run("switch", "--quiet", "feature/new-file")
    (project.root / "a.txt").write_text(_text({8: "rewritten"}), encoding="utf-8")
    git.run("commit", "--quiet", "--amend", "-a", "-m", "Rewritten")
    git.run("switch", "--quiet", "develop")
    second = _status(project)
    assert _agrees_with_git(git, second)["feature/new-file"] is True
    assert second.merge_predictions_reused == 1  # feature/edit-b; edit-a shares a.txt
    # develop rewritten: its old tip is no longer its ancestor.
    git.run("reset", "--quiet", "--hard", "HEAD~1")
    commit_file(git, "b.txt", _text({5: "develop b"}))
    third = _status(project)
    assert _agrees_with_git(git, third) == {
        "feature/edit-a": False,
        "feature/edit-b": True,
        "feature/new-file": False,
    }


def _conflicting(project: Project) -> Git:
    git = _history(project)
    commit_file(git, "a.txt", _text({2: "develop a"}))
    return git


@pytest.mark.slow
@pytest.mark.parametrize("where", ["worktree", "info", "config", "committed"])
def test_a_changed_merge_configuration_invalidates_everything(project: Project, where: str) -> None:
    git = _conflicting(project)
    if where == "config":  # the attribute names a driver that does not exist yet
        (project.root / ".git" / "info").mkdir(exist_ok=True)
        (project.root / ".git" / "info" / "attributes").write_text("a.txt merge=ours-wins\n")
    first = _status(project)
    assert _agrees_with_git(git, first)["feature/edit-a"] is True
    if where == "worktree":
        (project.root / ".gitattributes").write_text("a.txt merge=union\n", encoding="utf-8")
    elif where == "info":
        (project.root / ".git" / "info").mkdir(exist_ok=True)
        (project.root / ".git" / "info" / "attributes").write_text("a.txt merge=union\n")
    elif where == "config":
        git.run("config", "merge.ours-wins.driver", "true")
    else:
        commit_file(git, ".gitattributes", "a.txt merge=union\n")
    second = _status(project)
    assert second.merge_predictions_reused == 0
    assert _agrees_with_git(git, second)["feature/edit-a"] is False


@pytest.mark.slow
def test_replace_refs_invalidate_everything(project: Project) -> None:
    git = _conflicting(project)
    first = _status(project)
    assert _agrees_with_git(git, first)["feature/edit-a"] is True
    # A commit like the branch tip but with a clean change, put in its place with git replace.
    tip = git.out("rev-parse", "feature/edit-a")
    git.run("switch", "--quiet", "-c", "scratch", "feature/edit-a~1")
    clean = commit_file(git, "a.txt", _text({9: "branch a, elsewhere"}))
    git.run("switch", "--quiet", "develop")
    git.run("branch", "--quiet", "-D", "scratch")
    git.run("replace", tip, clean)
    second = _status(project)
    assert second.merge_predictions_reused == 0
    assert _agrees_with_git(git, second)["feature/edit-a"] is False


@pytest.mark.slow
def test_grafts_invalidate_everything(project: Project) -> None:
    git = _conflicting(project)
    _status(project)
    # Graft develop's tip onto the branch's tip: the branch is then already merged.
    develop = git.out("rev-parse", "develop")
    parents = git.out("rev-parse", "develop^@").split()
    tip = git.out("rev-parse", "feature/edit-a")
    grafts = project.root / ".git" / "info" / "grafts"
    grafts.parent.mkdir(exist_ok=True)
    grafts.write_text(" ".join([develop, *parents, tip]) + "\n", encoding="utf-8")
    second = _status(project)
    assert second.merge_predictions_reused == 0
    _agrees_with_git(git, second)


@pytest.mark.slow
def test_a_rename_on_develop_keeps_the_branch_under_watch(project: Project) -> None:
    """develop renamed x.txt to y.txt after the fork and the branch edits x.txt: git follows the
    rename, so a later develop edit of y.txt (a path the branch never touched) can conflict."""
    git = _history(project)
    git.run("switch", "--quiet", "-c", "feature/edit-x")
    commit_file(git, "x.txt", _text({3: "branch x"}))
    git.run("switch", "--quiet", "develop")
    git.run("mv", "x.txt", "y.txt")
    git.run("commit", "--quiet", "-m", "Rename x to y")
    first = _status(project)
    assert _agrees_with_git(git, first)["feature/edit-x"] is False
    commit_file(git, "y.txt", _text({3: "develop y"}))
    second = _status(project)
    assert _agrees_with_git(git, second)["feature/edit-x"] is True


@pytest.mark.slow
def test_a_damaged_or_unwritable_cache_costs_only_time(project: Project) -> None:
    git = _conflicting(project)
    cache = Path(git.git_dir()) / "torchlane" / "merge-predictions.json"
    _status(project)
    assert cache.is_file()
    cache.write_text("{not json", encoding="utf-8")
    report = _status(project)
    assert report.merge_predictions_reused == 0
    _agrees_with_git(git, report)
    assert _status(project).merge_predictions_reused == 3
