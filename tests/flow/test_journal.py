"""The operation journal: one operation at a time, stale journals explained, SIGKILL recovered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import torchlane
from tests.conftest import commit_file
from tests.flow.finish_helpers import (
    conflicting_feature,
    journal_exists,
    parents,
    snapshot,
    start,
)
from torchlane.flow.journal import Step, load_journal, new_journal, save_journal
from torchlane.git import Git


def _conflicted_finish(project, cli) -> str:
    branch = conflicting_feature(project.git)
    assert cli(["finish"], cwd=project.root).code == 1
    return branch


def test_journal_round_trips_and_a_second_writer_loses(project) -> None:
    git = project.git
    steps = [Step("switch", target="develop")]
    journal = new_journal(git, "finish", {"branch": "feature/x"}, steps, ["refs/heads/develop"])
    save_journal(git, journal, create=True)
    loaded = load_journal(git)
    assert loaded == journal
    assert loaded.head == "refs/heads/develop"
    assert loaded.refs == {"refs/heads/develop": git.rev("develop")}
    with pytest.raises(Exception, match="still in progress"):
        save_journal(git, journal, create=True)


def test_unreadable_journal_is_explained(project, cli) -> None:
    path = project.git.git_dir() / "torchlane" / "operation.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    result = cli(["finish", "--continue"], cwd=project.root)
    assert result.code == 1
    assert "cannot be read" in result.err


@pytest.mark.parametrize(
    "command",
    [["start", "feature", "other-work"], ["init"], ["sync"], ["finish"], ["publish"]],
)
def test_other_operations_are_refused_while_one_is_in_progress(project, cli, command) -> None:
    _conflicted_finish(project, cli)
    result = cli(command, cwd=project.root)
    assert result.code == 1
    assert "`torchlane finish` of feature/tune-rate" in result.err
    assert "torchlane finish --continue" in result.err
    assert "torchlane finish --abort" in result.err


def test_continue_or_abort_without_an_operation(project, cli) -> None:
    for args in (["finish", "--continue"], ["sync", "--abort"]):
        result = cli(args, cwd=project.root)
        assert result.code == 1
        assert "No torchlane operation is in progress" in result.err


def test_wrong_operation_named_in_continue(project, cli) -> None:
    _conflicted_finish(project, cli)
    result = cli(["sync", "--continue"], cwd=project.root)
    assert result.code == 1
    assert "torchlane finish --continue" in result.err


def test_stale_journal_after_a_plain_git_commit_is_completed(project, cli) -> None:
    """git-flow-next#110: the user concluded the merge with git itself."""
    git = project.git
    branch = _conflicted_finish(project, cli)
    (project.root / "model.py").write_text("LR = 0.05\n", encoding="utf-8")
    git.run("add", "model.py")
    git.run("commit", "--quiet", "--no-edit")
    merge = git.rev("develop")
    result = cli(["finish", "--continue"], cwd=project.root)
    assert result.code == 0, result.err
    assert git.rev("develop") == merge  # no second merge commit
    assert not git.branch_exists(branch)
    assert not journal_exists(git)


def test_stale_journal_after_git_merge_abort_is_explained(project, cli) -> None:
    git = project.git
    _conflicted_finish(project, cli)
    git.run("merge", "--abort")
    result = cli(["finish", "--continue"], cwd=project.root)
    assert result.code == 1
    assert "no longer in progress" in result.err
    assert "git merge --abort" in result.err
    assert "torchlane finish --abort" in result.err
    assert journal_exists(git)


def test_abort_keeps_commits_made_by_hand_during_the_operation(project, cli) -> None:
    git = project.git
    _conflicted_finish(project, cli)
    git.run("merge", "--abort")
    handmade = commit_file(git, "extra.txt", "made by hand on develop\n")
    result = cli(["finish", "--abort"], cwd=project.root)
    assert result.code == 0, result.err
    assert "kept at refs/torchlane/rescued/develop/" in result.err
    rescued = git.lines("for-each-ref", "--format=%(objectname)", "refs/torchlane/rescued/")
    assert rescued == [handmade]


# A real hook, installed in the test repository only: it SIGKILLs the torchlane process (found
# among its ancestors) when the N-th transaction that moves a branch or tag has committed.
KILL_HOOK = """#!/bin/sh
[ "$1" = committed ] || exit 0
[ -n "$KILL_AT" ] || { cat >/dev/null; exit 0; }
grep -qE ' refs/(heads|tags)/' || exit 0
n=$(cat "$KILL_COUNTER" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$KILL_COUNTER"
[ "$n" -eq "$KILL_AT" ] || exit 0
echo "$PPID" > "$KILL_COUNTER.git"
pid=$PPID
while [ "$pid" -gt 1 ]; do
  if tr '\\0' ' ' < "/proc/$pid/cmdline" | grep -q -- '-m torchlane'; then kill -9 "$pid"; exit 0; fi
  pid=$(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f2)
done
"""


def _wait_for_exit(pid_file: Path) -> None:
    """The git process the hook ran under outlives torchlane; let it finish its own work."""
    pid = int(pid_file.read_text().strip())
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def _all_commits(git: Git) -> set[str]:
    return set(git.lines("rev-list", "--all"))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the kill hook reads /proc")
@pytest.mark.parametrize("kill_at", [1, 2, 3, 4])
@pytest.mark.parametrize("recover", ["--continue", "--abort"])
def test_sigkill_mid_release_finish_is_recoverable(project, cli, tmp_path, kill_at, recover):
    git = project.git
    release = start(git, "release", "1.0.0")
    commit_file(git, "VERSION", "1.0.0\n")
    git.run("push", "--quiet", "--set-upstream", "origin", release)
    main_before, release_tip = git.rev("main"), git.rev(release)
    before, commits_before = snapshot(git), _all_commits(git)
    upstream = git.out("config", "--get-regexp", r"^branch\.release/")
    hook = project.root / ".git" / "hooks" / "reference-transaction"
    hook.write_text(KILL_HOOK, encoding="utf-8")
    hook.chmod(0o755)
    counter = tmp_path / "count"
    package_root = str(Path(torchlane.__file__).resolve().parents[1])  # PYTHONPATH may be relative
    python_path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path, "KILL_AT": str(kill_at)}
    env["KILL_COUNTER"] = str(counter)
    proc = subprocess.run(
        [sys.executable, "-m", "torchlane", "finish"],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == -9, proc.stderr
    _wait_for_exit(Path(f"{counter}.git"))
    journal = json.loads((git.git_dir() / "torchlane" / "operation.json").read_text())
    assert journal["operation"] == "finish"
    hook.unlink()

    result = cli(["finish", recover], cwd=project.root)
    assert result.code == 0, result.err
    assert not journal_exists(git)
    assert commits_before <= _all_commits(git)
    if recover == "--abort":
        assert snapshot(git) == before
        assert git.out("config", "--get-regexp", r"^branch\.release/") == upstream
        return
    assert parents(git, "main") == [main_before, release_tip]
    assert git.rev("v1.0.0") == git.rev("main")
    assert git.out("cat-file", "-t", "v1.0.0") == "tag"
    assert parents(git, "develop")[1] == git.rev("main")
    assert git.out("rev-list", "--count", "--merges", f"{main_before}..develop") == "2"
    assert not git.branch_exists(release)
    assert git.current_branch() == "develop"
    assert git.dirty_paths() == []
