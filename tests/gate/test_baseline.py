"""Baseline resolution on real histories: develop's first-parent line, release tags, overrides."""

from __future__ import annotations

from tests.conftest import commit_file
from tests.metrics.helpers import record_at
from torchlane.gate.baseline import resolve_baseline
from torchlane.metrics.store import DEFAULT_NOTES_REF
from torchlane.project import open_project


def _merge(git, branch: str, into: str) -> str:
    git.run("checkout", "--quiet", into)
    git.run("merge", "--quiet", "--no-ff", "-m", f"Merge {branch}", branch)
    return git.out("rev-parse", "HEAD")


def test_topic_branch_uses_nearest_develop_commit_with_metrics(project) -> None:
    git = project.git
    git.run("checkout", "--quiet", "develop")
    d1 = commit_file(git, "model.py", "v1")
    record_at(git, d1, {"accuracy": 0.80})
    # A merged feature whose inner commit has metrics: it is not on develop's first-parent line.
    git.run("checkout", "--quiet", "-b", "feature/old-idea")
    inner = commit_file(git, "idea.py", "x")
    record_at(git, inner, {"accuracy": 0.99})
    merge = _merge(git, "feature/old-idea", "develop")
    d2 = commit_file(git, "model.py", "v2")
    git.run("checkout", "--quiet", "-b", "feature/wider-layers")
    candidate = commit_file(git, "model.py", "v3")
    # develop moves on after the branch point, with metrics that must not be used.
    git.run("checkout", "--quiet", "develop")
    later = commit_file(git, "model.py", "v4")
    record_at(git, later, {"accuracy": 0.95})

    ctx = open_project(project.root)
    choice = resolve_baseline(ctx, candidate, "feature/wider-layers", DEFAULT_NOTES_REF)
    assert choice.commit == d1
    assert choice.rule == "develop-merge-base"
    assert "2 commits before the merge-base" in choice.reason
    assert d1[:12] in choice.reason
    assert merge != d2

    record_at(git, d2, {"accuracy": 0.85})
    choice = resolve_baseline(ctx, candidate, "feature/wider-layers", DEFAULT_NOTES_REF)
    assert choice.commit == d2
    assert "the merge-base itself" in choice.reason


def test_develop_commit_is_never_its_own_baseline(project) -> None:
    git = project.git
    git.run("checkout", "--quiet", "develop")
    first = commit_file(git, "a.txt", "1")
    record_at(git, first, {"accuracy": 0.8})
    second = commit_file(git, "a.txt", "2")
    record_at(git, second, {"accuracy": 0.81})
    choice = resolve_baseline(open_project(project.root), second, "develop", DEFAULT_NOTES_REF)
    assert choice.commit == first


def test_no_commit_with_metrics_gives_no_baseline_and_says_why(project) -> None:
    git = project.git
    git.run("checkout", "--quiet", "-b", "feature/first-model", "develop")
    candidate = commit_file(git, "m.py", "x")
    choice = resolve_baseline(
        open_project(project.root), candidate, "feature/first-model", DEFAULT_NOTES_REF
    )
    assert choice.commit is None
    assert "has metrics" in choice.reason


def test_release_branch_compares_with_the_latest_older_release_tag(project) -> None:
    git = project.git
    git.run("checkout", "--quiet", "main")
    old = commit_file(git, "m.py", "0.9")
    git.run("tag", "-a", "v0.9.0", "-m", "0.9.0")
    new = commit_file(git, "m.py", "1.0")
    git.run("tag", "-a", "v1.0.0", "-m", "1.0.0")
    git.run("checkout", "--quiet", "-b", "release/v1.1.0", "develop")
    candidate = commit_file(git, "m.py", "1.1")
    ctx = open_project(project.root)
    choice = resolve_baseline(ctx, candidate, "release/v1.1.0", DEFAULT_NOTES_REF)
    assert (choice.commit, choice.ref, choice.rule) == (new, "v1.0.0", "release-tag")
    assert "latest release tag v1.0.0" in choice.reason
    # A hotfix for 0.9.1 compares with 0.9.0, not with the newer 1.0.0.
    hotfix = resolve_baseline(ctx, candidate, "hotfix/v0.9.1", DEFAULT_NOTES_REF)
    assert (hotfix.commit, hotfix.ref) == (old, "v0.9.0")


def test_override_wins(project) -> None:
    main = project.git.out("rev-parse", "main")
    choice = resolve_baseline(
        open_project(project.root), "HEAD", "feature/x-y-z", DEFAULT_NOTES_REF, override="main"
    )
    assert (choice.commit, choice.rule) == (main, "override")


def test_ci_clone_without_local_develop_uses_the_remote_branch(project, tmp_path) -> None:
    from torchlane.git import Git

    git = project.git
    git.run("checkout", "--quiet", "develop")
    evaluated = commit_file(git, "m.py", "1")
    record_at(git, evaluated, {"accuracy": 0.8})
    git.run("push", "--quiet", "origin", "develop", "refs/notes/torchlane")
    Git(tmp_path).run(
        "clone", "--quiet", "--branch", "main", str(project.origin), str(tmp_path / "ci")
    )
    ci = Git(tmp_path / "ci")
    ci.run("fetch", "--quiet", "origin", "refs/notes/torchlane:refs/notes/torchlane")
    ci.run("checkout", "--quiet", "-b", "feature/ci-check", "origin/develop")
    candidate = commit_file(ci, "m.py", "2")
    assert not ci.branch_exists("develop")
    choice = resolve_baseline(
        open_project(ci.cwd), candidate, "feature/ci-check", DEFAULT_NOTES_REF
    )
    assert choice.commit == evaluated
    assert choice.reason.startswith("origin/develop's first-parent commit")


def test_detached_ci_checkout_takes_the_branch_from_the_record_or_ci(project, monkeypatch) -> None:
    from torchlane.gate.baseline import candidate_branch

    git = project.git
    git.run("checkout", "--quiet", "--detach", "develop")
    ctx = open_project(project.root)
    monkeypatch.delenv("GITHUB_HEAD_REF", raising=False)
    for name in ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "GITHUB_REF_NAME", "CI_COMMIT_BRANCH"):
        monkeypatch.delenv(name, raising=False)
    assert candidate_branch(ctx, "HEAD", None) is None
    assert candidate_branch(ctx, "HEAD", "release/v2.0.0") == "release/v2.0.0"
    monkeypatch.setenv("GITHUB_HEAD_REF", "hotfix/v1.0.1")
    assert candidate_branch(ctx, "HEAD", None) == "hotfix/v1.0.1"
    assert candidate_branch(ctx, "develop", None) == "develop"
