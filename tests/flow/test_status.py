"""`torchlane status` must give the same answers as plain git, branch by branch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Project, commit_file
from torchlane.flow.graph import has_ahead_behind_atom
from torchlane.flow.status import BranchStatus, StatusReport, collect_status
from torchlane.git import Git
from torchlane.project import open_project


def _branch(git: Git, name: str, start: str) -> None:
    git.run("switch", "--quiet", "-c", name, start)


def _merge(git: Git, into: str, source: str) -> None:
    git.run("switch", "--quiet", into)
    git.run("merge", "--quiet", "--no-ff", "-m", f"Merge {source} into {into}", source)


def build_history(project: Project) -> Git:
    """Merges, conflicts, a rename, a directory rename, stacked and criss-cross branches."""
    git = project.git
    git.run("switch", "--quiet", "develop")
    commit_file(git, "src/model.py", "layers = 2\n")
    commit_file(git, "src/data/loader.py", "batch = 8\n")
    commit_file(git, "src/data/augment.py", "flip = True\n")
    fork = git.out("rev-parse", "HEAD")

    _branch(git, "feature/wider-model", fork)  # conflicts with develop's change below
    commit_file(git, "src/model.py", "layers = 4\n")
    _branch(git, "feature/new-metric", fork)  # touches only its own file: clean
    commit_file(git, "src/metrics/f1.py", "def f1(): ...\n")
    commit_file(git, "src/metrics/f1.py", "def f1():\n    return 1\n")
    _branch(git, "bugfix/loader-off-by-one", fork)  # renames a file develop modifies: clean
    git.run("mv", "src/data/loader.py", "src/data/loading.py")
    git.run("commit", "--quiet", "-m", "Rename loader")
    _branch(git, "refactor/move-data-package", fork)  # directory rename vs a file added there
    git.run("mv", "src/data", "src/dataset")
    git.run("commit", "--quiet", "-m", "Move data package")
    _branch(git, "feature/stacked-on-metric", "feature/new-metric")  # stacked branch
    commit_file(git, "src/metrics/f1_test.py", "assert True\n")
    _branch(git, "feature/model-as-directory", fork)  # file/directory conflict
    git.run("rm", "--quiet", "src/model.py")
    commit_file(git, "src/model.py/__init__.py", "layers = 3\n")

    git.run("switch", "--quiet", "develop")
    commit_file(git, "src/model.py", "layers = 3\n")
    commit_file(git, "src/data/loader.py", "batch = 16\n")
    commit_file(git, "src/data/cache.py", "cache = {}\n")
    _merge(git, "develop", "feature/new-metric")  # merged: ahead 0, stacked branch now off-chain
    commit_file(git, "README.md", "# sample\n\nmore\n")

    _branch(git, "feature/synced-with-develop", fork)  # develop merged into it: merge base moves
    commit_file(git, "notes/plan.md", "plan\n")
    git.run("merge", "--quiet", "--no-ff", "-m", "Sync develop", "develop")
    commit_file(git, "notes/plan.md", "plan v2\n")

    # Criss-cross: two merge bases, so only git can say.
    _branch(git, "feature/criss-cross-a", fork)
    commit_file(git, "cc/a.txt", "a\n")
    _branch(git, "feature/criss-cross-b", fork)
    commit_file(git, "cc/b.txt", "b\n")
    git.run("merge", "--quiet", "--no-ff", "-m", "a into b", "feature/criss-cross-a~0")
    git.run("switch", "--quiet", "feature/criss-cross-a")
    git.run("merge", "--quiet", "--no-ff", "-m", "b^ into a", "feature/criss-cross-b^")
    commit_file(git, "cc/a.txt", "a2\n")

    _branch(git, "hotfix/v0.0.1", "main")
    commit_file(git, "README.md", "# sample (fixed)\n")
    _branch(git, "release/v0.1.0", "develop")
    commit_file(git, "VERSION", "0.1.0\n")
    _branch(git, "tmp", "develop~1")  # bad name, behind develop
    _branch(git, "feature/same-as-develop", "develop")
    git.run("switch", "--quiet", "develop")
    return git


def _git_answer(git: Git, base: str, branch: str) -> tuple[int, int, list[str], bool, list[str]]:
    behind, ahead = map(
        int, git.out("rev-list", "--left-right", "--count", f"{base}...{branch}").split()
    )
    bases = git.lines("merge-base", "--all", base, branch)
    merged = git.run(
        "merge-tree", "--write-tree", "--name-only", "--no-messages", "develop", branch, check=False
    )
    assert merged.returncode in (0, 1), merged.stderr
    files = [f for f in merged.stdout.splitlines()[1:] if f]
    return ahead, behind, bases, merged.returncode == 1, files


def _by_name(report: StatusReport) -> dict[str, BranchStatus]:
    return {b.name: b for b in report.branches}


@pytest.mark.slow
@pytest.mark.parametrize(
    "atom",
    [
        False,
        pytest.param(
            True,
            marks=pytest.mark.skipif(
                not has_ahead_behind_atom(), reason="git < 2.41 has no %(ahead-behind:)"
            ),
        ),
    ],
)
def test_status_agrees_with_plain_git(project: Project, atom: bool) -> None:
    git = build_history(project)
    report = collect_status(open_project(project.root), use_ahead_behind_atom=atom)
    branches = _by_name(report)
    expected_names = sorted(b for b in git.branches() if b not in ("main", "develop"))
    assert sorted(branches) == expected_names
    for name, status in branches.items():
        ahead, behind, bases, conflict, files = _git_answer(git, status.base, name)
        assert (status.ahead, status.behind) == (ahead, behind), name
        assert status.merge_base in bases, name
        assert status.conflict is conflict, name
        assert sorted(status.conflict_files) == sorted(set(files)), name
    # The cases the history was built for really occurred.
    assert branches["feature/wider-model"].conflict_files == ("src/model.py",)
    assert branches["refactor/move-data-package"].conflict is True  # directory rename
    assert branches["feature/model-as-directory"].conflict is True
    assert branches["bugfix/loader-off-by-one"].conflict is False  # rename follows the change
    assert branches["feature/new-metric"].ahead == 0
    assert branches["feature/new-metric"].merged
    assert "git branch -d feature/new-metric" in branches["feature/new-metric"].hints[0]
    assert not branches["feature/wider-model"].merged
    assert not branches["feature/same-as-develop"].merged  # just started: +0 -0
    assert "torchlane sync" in branches["feature/wider-model"].hints[0]
    assert "finishing it will stop at a conflict" in branches["hotfix/v0.0.1"].hints[0]
    assert branches["hotfix/v0.0.1"].base == "main"
    assert branches["tmp"].behind == 1
    # Most branches were provably clean without running merge-tree.
    assert report.merge_tree_runs < len(branches)


def test_naming_staleness_and_sync_hints(project: Project) -> None:
    git = project.git
    git.run("switch", "--quiet", "develop")
    env = {"GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z", "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z"}
    git.run("switch", "--quiet", "-c", "feature/old-experiment")
    (project.root / "exp.py").write_text("x = 1\n", encoding="utf-8")
    git.run("add", "exp.py")
    git.run("commit", "--quiet", "-m", "Old experiment", env=env)
    git.run("switch", "--quiet", "develop")
    commit_file(git, "train.py", "epochs = 1\n")
    git.run("branch", "fix_loader")
    report = collect_status(open_project(project.root))
    branches = _by_name(report)
    old = branches["feature/old-experiment"]
    assert old.stale
    assert not old.long_lived  # forked from a fresh commit: the merge base is recent
    assert any("finish it or delete it" in h for h in old.hints)
    bad = branches["fix_loader"]
    assert bad.type is None
    assert bad.naming_problems
    assert bad.naming_suggestion == "bugfix/loader"
    assert not bad.stale


def test_long_lived_branch_is_told_to_sync(project: Project) -> None:
    git = project.git
    git.run("switch", "--quiet", "develop")
    old = {"GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z", "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z"}
    (project.root / "base.txt").write_text("base\n", encoding="utf-8")
    git.run("add", "base.txt")
    git.run("commit", "--quiet", "-m", "Old develop commit", env=old)
    git.run("branch", "feature/long-running-work")
    commit_file(git, "later.txt", "later\n")
    git.run("switch", "--quiet", "feature/long-running-work")
    commit_file(git, "work.txt", "work\n")
    status = _by_name(collect_status(open_project(project.root)))["feature/long-running-work"]
    assert status.long_lived
    assert status.forked_days is not None
    assert status.forked_days > 365
    assert status.behind == 1
    assert any("torchlane sync" in h for h in status.hints)


@pytest.mark.slow
def test_status_cli_json_and_table(project: Project, cli) -> None:
    build_history(project)
    result = cli(["status", "--json", "-C", str(project.root)])
    assert result.code == 0, result.err
    data = json.loads(result.out)
    names = {b["name"]: b for b in data["branches"]}
    assert names["feature/wider-model"]["conflict"] is True
    assert names["tmp"]["type"] is None
    table = cli(["status", "-C", str(project.root)])
    assert table.code == 0, table.err
    assert "feature/wider-model" in table.out
    assert "CONFLICT (1)" in table.out
    assert "would conflict (src/model.py)" in table.out
    assert "tmp: rename it" in table.out
    quick = cli(["status", "--no-conflicts", "--json", "-C", str(project.root)])
    assert all(b["conflict"] is None for b in json.loads(quick.out)["branches"])


def test_status_outside_the_model_is_an_error(tmp_path: Path, cli) -> None:
    git = Git(tmp_path)
    git.run("init", "--quiet", "--initial-branch", "main")
    commit_file(git, "a.txt", "a\n")
    result = cli(["status", "-C", str(tmp_path)])
    assert result.code == 1
    assert "torchlane init" in result.err


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 11])
def test_generated_repository_agrees_with_plain_git(tmp_path: Path, seed: int) -> None:
    """A random history (fast-import, as in the benchmark): every branch against git."""
    from bench.status_repo import generated_repository

    repo = generated_repository(tmp_path, commits=1500, branches=60, seed=seed)
    git = Git(repo)
    report = collect_status(open_project(repo))
    assert len(report.branches) == 60
    conflicts = 0
    for status in report.branches:
        ahead, behind, bases, conflict, files = _git_answer(git, status.base, status.name)
        assert (status.ahead, status.behind) == (ahead, behind), status.name
        assert status.merge_base in bases, status.name
        assert status.conflict is conflict, status.name
        assert sorted(status.conflict_files) == sorted(set(files)), status.name
        conflicts += conflict
    assert 0 < conflicts < 60


def test_unrelated_history_and_no_branches(project: Project, cli) -> None:
    empty = cli(["status", "-C", str(project.root)])
    assert empty.code == 0
    assert "No branches besides 'main' and 'develop'" in empty.out
    git = project.git
    git.run("switch", "--quiet", "--orphan", "feature/imported-notebooks")
    commit_file(git, "nb.py", "x = 1\n")
    status = _by_name(collect_status(open_project(project.root)))["feature/imported-notebooks"]
    assert status.merge_base is None
    assert status.forked_days is None
    assert status.ahead == 1
    assert status.behind == int(git.out("rev-list", "--count", "develop"))
    assert status.conflict is None
    assert status.conflict_error is not None
    assert "unrelated histories" in status.conflict_error
