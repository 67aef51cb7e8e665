"""git allows branch names that are not UTF-8: every command that lists branches copes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import commit_file
from tests.flow.finish_helpers import start

LATIN1 = b"refs/heads/feature/caf\xe9-latte-art"  # "café" in Latin-1: not valid UTF-8


def _bytes_git(root: Path, *args: bytes) -> None:
    subprocess.run([b"git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def latin1_branch(project) -> Path:
    git = project.git
    start(git, "feature", "plain-name")
    commit_file(git, "work.txt", "work\n")
    _bytes_git(project.root, b"update-ref", LATIN1, b"HEAD")
    _bytes_git(project.root, b"symbolic-ref", b"HEAD", LATIN1)  # checked out, as `git switch`
    commit_file(git, "more.txt", "ahead of develop\n")
    return project.root


@pytest.mark.parametrize(
    "args", [["status"], ["status", "--json"], ["verify"], ["verify", "--json"]]
)
def test_status_and_verify_list_a_latin1_branch(latin1_branch, cli, args) -> None:
    result = cli(args, cwd=latin1_branch)
    assert result.code in (0, 1), result.err  # 1: verify's violation, never 3 (a crash)
    assert "Traceback" not in result.err
    shown = result.out + result.err
    if "--json" in args:
        shown = json.dumps(json.loads(result.out), ensure_ascii=False)
    assert "feature/caf\ufffd-latte-art" in shown


def test_check_name_fast_path_on_a_latin1_branch(latin1_branch, monkeypatch, capsys) -> None:
    """The hook's lean path itself copes (an exception there would fall back to the slow CLI)."""
    from torchlane.flow.fastname import main

    monkeypatch.chdir(latin1_branch)
    assert main([]) == 1
    assert "caf\ufffd-latte-art" in "".join(capsys.readouterr())


def test_the_rename_hint_for_a_latin1_branch_can_be_run_as_printed(latin1_branch, cli) -> None:
    result = cli(["verify"], cwd=latin1_branch)
    hint = next(line for line in result.err.splitlines() if "git branch -m" in line)
    command = hint.split("`")[1]
    assert "refs/heads/feature/caf?-latte-art" in command
    subprocess.run(["bash", "-c", command], cwd=latin1_branch, check=True, capture_output=True)
    branches = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)", "refs/heads/feature/"],
        cwd=latin1_branch, capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert LATIN1 not in branches
    assert b"refs/heads/feature/caf-latte-art" in branches
