"""A failed push shows the remote's own words and the step that gets it through next time.

Real pushes to a bare origin: one with a pre-receive hook that refuses, one a teammate moved on.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import commit_file
from tests.flow.finish_helpers import clone, feature_with_commits, journal_exists, parents, start
from torchlane.git import Git, GitResult, failure_detail, push_rejections

REFUSING_HOOK = """#!/bin/sh
echo "POLICY: every commit needs a JIRA id, e.g. ML-123 (see wiki/push-rules)" >&2
echo "POLICY: rejected $(cat | wc -l) ref update(s)" >&2
exit 1
"""


def _refusing_origin(project) -> None:
    hook = project.origin / "hooks" / "pre-receive"
    hook.write_text(REFUSING_HOOK, encoding="utf-8")
    hook.chmod(0o755)


def test_publish_refused_by_a_pre_receive_hook_shows_the_remote_lines(project, cli) -> None:
    feature_with_commits(project.git, "add-mixup", 1)
    _refusing_origin(project)
    result = cli(["publish"], cwd=project.root)
    assert result.code == 1
    assert "remote: POLICY: every commit needs a JIRA id, e.g. ML-123" in result.err
    assert "pre-receive hook declined" in result.err
    assert "commits you do not have" not in result.err
    assert "origin refused the push" in result.err


def test_publish_behind_origin_still_says_to_pull(project, cli, tmp_path) -> None:
    branch = feature_with_commits(project.git, "add-mixup", 1)
    project.git.run("push", "--quiet", "origin", branch)
    other = clone(project.origin, tmp_path / "teammate")
    other.run("switch", "--quiet", branch)
    commit_file(other, "theirs.txt", "teammate\n")
    other.run("push", "--quiet", "origin", branch)
    commit_file(project.git, "mine.txt", "mine\n")
    result = cli(["publish"], cwd=project.root)
    assert result.code == 1
    assert "has commits you do not have" in result.err


def test_finish_push_to_a_stale_origin_names_the_merge_and_then_completes(
    project, cli, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("TORCHLANE_ALLOW_PUSH", "1")
    git = project.git
    other = clone(project.origin, tmp_path / "teammate")
    other.run("switch", "--quiet", "develop")
    commit_file(other, "team.txt", "teammate's work\n")
    other.run("push", "--quiet", "origin", "develop")  # not fetched here: the preflight passes
    branch = feature_with_commits(git, "add-mixup", 1)
    result = cli(["finish", "--push"], cwd=project.root)
    assert result.code == 1
    assert "merge origin/develop first" in result.err
    assert "git merge --no-ff origin/develop" in result.err
    assert "torchlane finish --continue" in result.err
    assert "fetch first" in result.err
    assert journal_exists(git)
    # Following the hint gets it through on the first --continue: no fetch/--continue loop.
    git.run("fetch", "--quiet", "origin")
    git.run("switch", "--quiet", "develop")
    git.run("merge", "--quiet", "--no-ff", "--no-edit", "origin/develop")
    resumed = cli(["finish", "--continue"], cwd=project.root)
    assert resumed.code == 0, resumed.err
    assert Git(project.origin).rev("develop") == git.rev("develop")
    assert len(parents(git, "develop")) == 2
    assert not git.branch_exists(branch)
    assert not journal_exists(git)


def test_finish_push_refused_by_the_remote_does_not_blame_a_stale_branch(
    project, cli, monkeypatch
) -> None:
    monkeypatch.setenv("TORCHLANE_ALLOW_PUSH", "1")
    start(project.git, "feature", "add-mixup")
    commit_file(project.git, "mixup.py", "ALPHA = 0.2\n")
    _refusing_origin(project)
    result = cli(["finish", "--push"], cwd=project.root)
    assert result.code == 1
    assert "remote: POLICY: every commit needs a JIRA id" in result.err
    assert "origin refused develop (pre-receive hook declined)" in result.err
    assert "first (`git fetch" not in result.err


_PROGRESS = re.compile(r"(Enumerating|Counting|Compressing|Total|Resolving|Writing) ")
_LINE = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=40).filter(
    lambda words: not _PROGRESS.match(words)
)


@given(words=_LINE, branch=st.from_regex(r"[a-z][a-z0-9/_-]{0,20}", fullmatch=True))
def test_remote_lines_and_rejections_survive_any_wording(words: str, branch: str) -> None:
    stderr = (
        f"remote: {words}        \n"
        "To /srv/origin.git\n"
        f" ! [remote rejected] {branch} -> {branch} (pre-receive hook declined)\n"
        "error: failed to push some refs to '/srv/origin.git'\n"
    )
    result = GitResult(("push", "origin", branch), 1, "", stderr)
    detail = failure_detail(result)
    if words.strip():
        assert f"remote: {words.strip()}" in detail
    assert f"[remote rejected] {branch} -> {branch}" in detail
    [rejection] = push_rejections(result)
    assert rejection.branch == branch
    assert rejection.by_remote
    assert not rejection.stale
