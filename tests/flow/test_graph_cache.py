"""The stored commit graph (flow/graph_cache.py): a re-run reads only new commits, and every
status it gives equals git's own counts, whatever happened to the history in between."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Project, commit_file
from torchlane.flow.graph import load_graph
from torchlane.flow.graph_cache import CACHE_NAME, history_parts, load_graph_cached
from torchlane.flow.status import StatusReport, collect_status
from torchlane.git import Git
from torchlane.project import open_project


def _status(project: Project) -> StatusReport:
    return collect_status(open_project(project.root), predict_conflicts=False)


def _counts_agree_with_git(git: Git, report: StatusReport) -> None:
    for branch in report.branches:
        base = "main" if branch.name.startswith("hotfix/") else "develop"
        behind, ahead = git.out(
            "rev-list", "--left-right", "--count", f"{base}...{branch.name}"
        ).split()
        assert (branch.ahead, branch.behind) == (int(ahead), int(behind)), branch.name


def _branches(project: Project) -> Git:
    git = project.git
    git.run("switch", "--quiet", "develop")
    commit_file(git, "a.txt", "a\n")
    for name in ("feature/one-thing", "feature/other-thing"):
        git.run("switch", "--quiet", "-c", name, "develop")
        commit_file(git, f"{name.split('/')[1]}.txt", "x\n")
    git.run("switch", "--quiet", "develop")
    return git


def _cache(project: Project) -> Path:
    return project.git.git_dir() / "torchlane" / CACHE_NAME


def test_a_rerun_reads_only_the_new_commits_and_counts_like_git(project: Project) -> None:
    git = _branches(project)
    _counts_agree_with_git(git, _status(project))
    assert _cache(project).exists()
    commit_file(git, "b.txt", "b\n")  # develop moves: every branch is one more behind
    git.run("switch", "--quiet", "feature/one-thing")
    commit_file(git, "c.txt", "c\n")
    git.run("switch", "--quiet", "develop")
    _counts_agree_with_git(git, _status(project))
    tips = [git.out("rev-parse", r) for r in ("main", "develop", "feature/one-thing")]
    stored = load_graph_cached(git, tips, _cache(project).parent, history_parts(git))
    whole = load_graph(git, tips)
    assert {c: stored.parents[c] for c in whole.parents} == whole.parents
    assert {c: stored.timestamps[c] for c in whole.timestamps} == whole.timestamps


def test_a_rewritten_branch_whose_old_tip_is_pruned_is_read_whole(project: Project) -> None:
    git = _branches(project)
    _status(project)
    git.run("switch", "--quiet", "feature/other-thing")
    git.run("commit", "--quiet", "--amend", "-m", "Reworded")
    git.run("switch", "--quiet", "develop")
    git.run("reflog", "expire", "--expire=now", "--all")
    git.run("gc", "--quiet", "--prune=now")
    _counts_agree_with_git(git, _status(project))


def test_a_replace_ref_discards_the_stored_graph(project: Project) -> None:
    git = _branches(project)
    _status(project)
    # The branch's commit, replaced by one forked a commit earlier: git now counts it behind.
    tip = git.out("rev-parse", "feature/one-thing")
    tree = git.out("rev-parse", "feature/one-thing^{tree}")
    forked_earlier = git.out("commit-tree", tree, "-p", "develop~1", "-m", "Replacement")
    git.run("replace", tip, forked_earlier)
    report = _status(project)
    assert {b.name: b.behind for b in report.branches}["feature/one-thing"] == 1
    _counts_agree_with_git(git, _status(project))


def test_a_damaged_cache_is_ignored_and_replaced(project: Project) -> None:
    git = _branches(project)
    _status(project)
    _cache(project).write_bytes(b"\x00not marshal at all")
    _counts_agree_with_git(git, _status(project))
    _cache(project).write_bytes(b"\xe9\x01\x00\x00\x00")  # marshal of an int, not the tuple
    _counts_agree_with_git(git, _status(project))
    assert _cache(project).read_bytes()[:1] != b"\xe9"
