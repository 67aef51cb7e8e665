"""GitError keeps the part of git's message that says what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import commit_file
from torchlane.git import Git, GitError


def _repo_with_branch_adding(tmp_path: Path, names: list[str]) -> Git:
    git = Git(tmp_path)
    git.run("init", "--quiet", "--initial-branch", "main")
    commit_file(git, "README.md", "# x\n")
    git.run("switch", "--quiet", "-c", "other")
    for name in names:
        commit_file(git, name, "theirs\n")
    git.run("switch", "--quiet", "main")
    for name in names:
        (tmp_path / name).write_text("mine\n", encoding="utf-8")
    return git


def test_an_untracked_file_in_the_way_is_named(tmp_path: Path) -> None:
    git = _repo_with_branch_adding(tmp_path, ["foo.py"])
    with pytest.raises(GitError) as caught:
        git.run("switch", "--quiet", "other")
    message = caught.value.message
    assert "untracked working tree files would be overwritten by checkout: foo.py" in message
    assert "Aborting" not in message
    assert "\n" not in message


def test_a_long_list_of_paths_is_cut_short(tmp_path: Path) -> None:
    names = [f"file{i}.py" for i in range(10)]
    git = _repo_with_branch_adding(tmp_path, names)
    with pytest.raises(GitError) as caught:
        git.run("switch", "--quiet", "other")
    message = caught.value.message
    assert "file0.py, file1.py" in message
    assert "file9.py" not in message
    assert message.endswith("…")


def test_a_push_to_a_missing_remote_says_why(tmp_path: Path) -> None:
    git = Git(tmp_path)
    git.run("init", "--quiet", "--initial-branch", "main")
    commit_file(git, "README.md", "# x\n")
    missing = tmp_path / "no-such-origin.git"
    with pytest.raises(GitError) as caught:
        git.run("push", str(missing), "main")
    assert f"'{missing}' does not appear to be a git repository" in caught.value.message
    assert "the repository exists" not in caught.value.message
