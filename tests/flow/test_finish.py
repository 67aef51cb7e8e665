"""`torchlane finish` against real git: topic, release and hotfix finishes, conflicts, origin checks, --push."""

from __future__ import annotations

import json

import pytest

from tests.conftest import commit_file
from tests.flow.finish_helpers import (
    clone,
    conflicting_change,
    conflicting_feature,
    feature_with_commits,
    journal_exists,
    parents,
    snapshot,
    start,
)
from torchlane.git import Git


@pytest.mark.parametrize("commits", [1, 3])
def test_topic_finish_is_always_a_merge_commit(project, cli, commits: int) -> None:
    git = project.git
    branch = feature_with_commits(git, "add-mixup", commits)
    tip = git.rev(branch)
    develop_before = git.rev("develop")
    result = cli(["finish", "--json"], cwd=project.root)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["completed"] is True
    assert data["branches_deleted"] == [branch]
    assert parents(git, "develop") == [develop_before, tip]
    assert git.out("log", "-1", "--format=%s", "develop") == f"Merge {branch} into develop"
    assert not git.branch_exists(branch)
    assert git.current_branch() == "develop"
    assert not journal_exists(git)


@pytest.mark.parametrize("kind", ["bugfix", "refactor"])
def test_other_topic_types_go_to_develop_and_keep_works(project, cli, kind: str) -> None:
    git = project.git
    branch = start(git, kind, "loader-shapes")
    commit_file(git, "loader.py", "x = 1\n")
    result = cli(["finish", branch, "--keep"], cwd=project.root)
    assert result.code == 0, result.err
    assert git.branch_exists(branch)
    assert git.is_ancestor(branch, "develop")
    assert f"merged {branch} into develop" in result.out


def test_release_finish_tags_main_and_merges_back(project, cli) -> None:
    git = project.git
    feature_with_commits(git, "add-mixup", 1)
    assert cli(["finish"], cwd=project.root).code == 0
    release = start(git, "release", "1.0.0")
    commit_file(git, "VERSION", "1.0.0\n")
    main_before, release_tip = git.rev("main"), git.rev(release)
    result = cli(["finish", "--json"], cwd=project.root)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["tag"] == "v1.0.0"
    assert parents(git, "main") == [main_before, release_tip]
    assert git.out("cat-file", "-t", "v1.0.0") == "tag"
    assert git.out("tag", "-l", "--format=%(contents:subject)", "v1.0.0") == "Release v1.0.0"
    assert git.rev("v1.0.0") == git.rev("main")
    assert git.is_ancestor("v1.0.0", "develop")  # `git describe` works on develop
    assert git.out("describe", "--tags", "--abbrev=0", "develop") == "v1.0.0"
    assert not git.branch_exists(release)


@pytest.mark.parametrize("release_open", [False, True])
def test_hotfix_reaches_main_develop_and_any_open_release(project, cli, release_open) -> None:
    git = project.git
    if release_open:
        start(git, "release", "1.1.0")
        commit_file(git, "VERSION", "1.1.0\n")
        git.run("switch", "--quiet", "develop")
    hotfix = start(git, "hotfix", "1.0.1")
    fix = commit_file(git, "fix.txt", "fixed\n")
    result = cli(["finish", "--json"], cwd=project.root)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    targets = [m["target"] for m in data["merges"]]
    expected = ["main", "develop"] + (["release/v1.1.0"] if release_open else [])
    assert targets == expected
    assert git.out("tag", "-l", "--format=%(contents:subject)", "v1.0.1") == "Hotfix v1.0.1"
    for branch in expected:
        assert git.is_ancestor(fix, branch)
    assert not git.branch_exists(hotfix)


def test_conflict_then_continue(project, cli) -> None:
    git = project.git
    branch = conflicting_feature(git)
    result = cli(["finish"], cwd=project.root)
    assert result.code == 1
    assert "model.py" in result.err
    assert "git add model.py" in result.err
    assert "torchlane finish --continue" in result.err
    assert "torchlane finish --abort" in result.err
    (project.root / "model.py").write_text("LR = 0.05\n", encoding="utf-8")
    git.run("add", "model.py")
    resumed = cli(["finish", "--continue"], cwd=project.root)
    assert resumed.code == 0, resumed.err
    assert len(parents(git, "develop")) == 2
    assert git.out("log", "-1", "--format=%s", "develop") == f"Merge {branch} into develop"
    assert git.out("show", "develop:model.py") == "LR = 0.05"
    assert not git.branch_exists(branch)
    assert not journal_exists(git)


def test_continue_with_unresolved_files_stops_again(project, cli) -> None:
    git = project.git
    branch = conflicting_feature(git)
    assert cli(["finish", branch], cwd=project.root).code == 1
    again = cli(["finish", "--continue"], cwd=project.root)
    assert again.code == 1
    assert "model.py" in again.err
    assert journal_exists(git)


def test_abort_of_a_half_done_release_restores_everything(project, cli) -> None:
    """The conflict hits the merge back into develop, after main moved and the tag was made."""
    git = project.git
    commit_file(git, "VERSION", "0.9.0\n")
    release = start(git, "release", "1.0.0")
    commit_file(git, "VERSION", "1.0.0\n")
    conflicting_change(git, "develop", "VERSION", "1.1.0-dev\n")
    git.run("switch", "--quiet", release)
    (project.root / "notes.txt").write_text("untracked, mine\n", encoding="utf-8")
    before = snapshot(git)
    result = cli(["finish"], cwd=project.root)
    assert result.code == 1
    assert git.tag_exists("v1.0.0")
    assert "merge main into develop" in result.err
    aborted = cli(["finish", "--abort"], cwd=project.root)
    assert aborted.code == 0, aborted.err
    assert snapshot(git) == before
    assert not journal_exists(git)


@pytest.mark.parametrize("state", ["behind", "diverged"])
@pytest.mark.parametrize("how", ["fetched", "--fetch"])
def test_refuses_when_develop_is_not_up_to_date_with_origin(project, cli, tmp_path, state, how):
    git = project.git
    other = clone(project.origin, tmp_path / "teammate")
    other.run("switch", "--quiet", "develop")
    commit_file(other, "team.txt", "teammate's work\n")
    other.run("push", "--quiet", "origin", "develop")
    if state == "diverged":
        commit_file(git, "mine.txt", "my unpushed work\n")
    feature_with_commits(git, "add-mixup", 1)
    if how == "fetched":
        git.run("fetch", "--quiet", "origin")
    before = snapshot(git, local_only=True)
    args = ["finish", "--fetch"] if how == "--fetch" else ["finish"]
    result = cli(args, cwd=project.root)
    assert result.code == 1
    assert "Nothing was changed" in result.err
    if state == "behind":
        assert "'develop' is 1 commit behind origin/develop" in result.err
        assert "git fetch origin develop:develop" in result.err
    else:
        assert "have diverged (1 commit only here, 1 commit only on origin)" in result.err
        assert "git pull --no-rebase origin develop" in result.err
    assert snapshot(git, local_only=True) == before
    assert not journal_exists(git)


def test_refuses_a_dirty_tree_but_ignores_untracked_files(project, cli) -> None:
    git = project.git
    feature_with_commits(git, "add-mixup", 1)
    (project.root / "scratch.txt").write_text("untracked\n", encoding="utf-8")
    (project.root / "README.md").write_text("edited\n", encoding="utf-8")
    before = snapshot(git)
    result = cli(["finish"], cwd=project.root)
    assert result.code == 1
    assert "README.md" in result.err
    assert snapshot(git) == before
    git.run("checkout", "--", "README.md")
    assert cli(["finish"], cwd=project.root).code == 0
    assert (project.root / "scratch.txt").read_text(encoding="utf-8") == "untracked\n"


def test_push_sends_branches_and_exactly_the_new_tag(project, cli, monkeypatch) -> None:
    monkeypatch.setenv("TORCHLANE_ALLOW_PUSH", "1")  # a release manager
    git = project.git
    git.run("tag", "-a", "-m", "local only", "experiment-3")
    release = start(git, "release", "1.0.0")
    commit_file(git, "VERSION", "1.0.0\n")
    git.run("push", "--quiet", "-u", "origin", release)
    result = cli(["finish", "--push", "--json"], cwd=project.root)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["pushed"] == ["refs/heads/main", "refs/heads/develop", "refs/tags/v1.0.0"]
    assert data["remote_branches_deleted"] == [f"origin/{release}"]
    remote = Git(project.origin).lines("for-each-ref", "--format=%(refname) %(objectname)")
    assert remote == [
        f"refs/heads/develop {git.rev('develop')}",
        f"refs/heads/main {git.rev('main')}",
        f"refs/tags/v1.0.0 {git.ref_value('refs/tags/v1.0.0')}",
    ]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("on-develop", "long-lived branch"),
        ("unknown", "not a feature, bugfix"),
        ("missing", "There is no local branch"),
        ("tag-taken", "The tag v1.0.0 already exists"),
    ],
)
def test_bad_requests_change_nothing(project, cli, setup: str, message: str) -> None:
    git = project.git
    args = ["finish"]
    if setup == "unknown":
        git.run("switch", "--quiet", "-c", "experiment")
    elif setup == "missing":
        args.append("feature/not-there")
    elif setup == "tag-taken":
        start(git, "release", "1.0.0")
        git.run("tag", "v1.0.0")
    before = snapshot(git)
    result = cli(args, cwd=project.root)
    assert result.code != 0
    assert message in result.err
    assert "hint:" in result.err
    assert snapshot(git) == before


@pytest.mark.slow
def test_push_follows_the_same_rule_as_torchlanes_own_pre_push_hook(project, cli) -> None:
    from torchlane.hooks.install import install_hooks

    git = project.git
    install_hooks(git)
    commit_file(git, "NOTES.md", "develop moved\n")
    blocked = git.run("push", "origin", "develop", check=False)  # a plain push is refused
    assert not blocked.ok
    assert "develop" in blocked.stderr
    start(git, "release", "1.0.0")
    commit_file(git, "VERSION", "1.0.0\n")
    before = snapshot(git)
    refused = cli(["finish", "--push"], cwd=project.root)  # ... and so is finish --push
    assert refused.code == 1
    assert "--push would push 'main' and 'develop' directly" in refused.err
    assert "torchlane publish" in refused.err
    assert snapshot(git) == before
    # A release manager (listed in the settings) passes both the check and the hook.
    config = project.root / ".torchlane.toml"
    text = (
        config.read_text(encoding="utf-8") + '\n[hooks]\nallow_direct_push = ["test@example.com"]\n'
    )
    commit_file(git, ".torchlane.toml", text)
    result = cli(["finish", "--push"], cwd=project.root)
    assert result.code == 0, result.err
    assert Git(project.origin).rev("main") == git.rev("main")


def test_without_push_says_what_to_push_and_what_is_left_on_origin(
    project, cli, monkeypatch
) -> None:
    git = project.git
    branch = feature_with_commits(git, "add-mixup", 1)
    git.run("push", "--quiet", "-u", "origin", branch)
    result = cli(["finish", "--keep"], cwd=project.root)
    assert result.code == 0, result.err
    # develop is protected (the default): no advice to push it, which the pre-push hook refuses.
    assert "git push origin develop" not in result.out
    assert "develop is protected" in result.out
    assert "torchlane publish" in result.out
    git.run("reset", "--quiet", "--hard", "HEAD~1")
    git.run("switch", "--quiet", branch)
    monkeypatch.setenv("TORCHLANE_ALLOW_PUSH", "1")  # a release manager may push it
    result = cli(["finish"], cwd=project.root)
    assert result.code == 0, result.err
    assert "`git push origin develop`" in result.out
    assert f"`git push origin --delete {branch}`" in result.out


def test_failed_tag_push_is_completed_by_continue_and_cannot_be_aborted(
    project, cli, monkeypatch
) -> None:
    monkeypatch.setenv("TORCHLANE_ALLOW_PUSH", "1")
    git = project.git
    hook = project.root / ".git" / "hooks" / "pre-push"
    hook.write_text("#!/bin/sh\n! grep -q refs/tags/\n", encoding="utf-8")
    hook.chmod(0o755)
    start(git, "release", "1.0.0")
    commit_file(git, "VERSION", "1.0.0\n")
    result = cli(["finish", "--push"], cwd=project.root)
    assert result.code == 1
    assert "torchlane finish --continue" in result.err
    assert Git(project.origin).rev("main") == git.rev("main")
    refused = cli(["finish", "--abort"], cwd=project.root)
    assert refused.code == 1
    assert "remote already received" in refused.err
    hook.unlink()
    resumed = cli(["finish", "--continue"], cwd=project.root)
    assert resumed.code == 0, resumed.err
    assert Git(project.origin).ref_value("refs/tags/v1.0.0") == git.ref_value("refs/tags/v1.0.0")
    assert not journal_exists(git)


def test_continue_takes_no_other_arguments(project, cli) -> None:
    result = cli(["finish", "--continue", "--push"], cwd=project.root)
    assert result.code == 2
    assert "--continue takes no other arguments" in result.err


def test_git_refusing_mid_operation_pauses_it_with_the_way_out(project, cli) -> None:
    git = project.git
    branch = start(git, "feature", "add-labels")
    commit_file(git, "labels.csv", "cat,dog\n")
    git.run("switch", "--quiet", "develop")
    (project.root / "labels.csv").write_text("my local copy\n", encoding="utf-8")
    result = cli(["finish", branch], cwd=project.root)
    assert result.code == 1
    assert "untracked working tree files would be overwritten" in result.err
    assert "labels.csv" in result.err
    assert "torchlane finish --continue" in result.err
    (project.root / "labels.csv").unlink()
    resumed = cli(["finish", "--continue"], cwd=project.root)
    assert resumed.code == 0, resumed.err
    assert git.out("show", "develop:labels.csv") == "cat,dog"


def test_a_release_is_not_tagged_below_an_existing_release(project, cli) -> None:
    # Tags made by hand or by an older torchlane, around an open release branch.
    git = project.git
    release = start(git, "release", "1.0.0")
    commit_file(git, "VERSION", "1.0.0\n")
    git.run("tag", "-a", "v1.0.1", "main", "-m", "Hotfix v1.0.1")
    before = snapshot(git)
    result = cli(["finish", release], cwd=project.root)
    assert result.code == 1
    assert "not above the latest release v1.0.1" in result.err
    assert "`git branch -m release/v1.0.0 release/v1.0.2`" in result.err
    assert snapshot(git) == before
    git.run("branch", "-m", release, "release/v1.0.2")
    assert cli(["finish", "release/v1.0.2"], cwd=project.root).code == 0
    assert git.out("describe", "--tags", "--abbrev=0", "main") == "v1.0.2"


def test_an_untracked_file_in_the_way_of_develop_is_named(project, cli) -> None:
    git = project.git
    branch = start(git, "feature", "add-labels")
    commit_file(git, "labels.csv", "cat,dog\n")
    git.run("switch", "--quiet", "develop")
    commit_file(git, "foo.py", "print('develop')\n")
    git.run("switch", "--quiet", branch)
    (project.root / "foo.py").write_text("my local copy\n", encoding="utf-8")
    result = cli(["finish"], cwd=project.root)
    assert result.code == 1
    assert "would be overwritten by checkout: foo.py" in result.err, result.err
    assert "hint: Fix what the error names, then run `torchlane finish --continue`" in result.err
