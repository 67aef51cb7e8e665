"""hooks install/uninstall: chain existing hooks, honour core.hooksPath, restore exactly."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.conftest import commit_file
from torchlane.errors import TorchlaneError
from torchlane.git import Git
from torchlane.hooks.install import install_hooks, is_ours, uninstall_hooks

RECORDING_HOOK = """#!/bin/sh
# a team's own hook: records how it was called
echo "$@" > "{log}.args"
cat > "{log}.stdin"
exit {status}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Git:
    git = Git(tmp_path / "work")
    git.cwd.mkdir()
    git.run("init", "--quiet", "--initial-branch", "main")
    commit_file(git, "README.md", "# sample\n", "Initial commit")
    return git


def write_hook(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o750)


def test_install_into_an_empty_hooks_dir_and_uninstall_removes_them(repo: Git) -> None:
    result = install_hooks(repo)
    hooks = repo.cwd / ".git" / "hooks"
    assert {c.action for c in result.changes} == {"installed"}
    for name in ("pre-commit", "pre-push"):
        assert is_ours(hooks / name)
        assert os.access(hooks / name, os.X_OK)
    again = install_hooks(repo)
    assert {c.action for c in again.changes} == {"updated"}
    assert not any(p.name.endswith(".torchlane-chained") for p in hooks.iterdir())
    removed = uninstall_hooks(repo)
    assert {c.action for c in removed.changes} == {"removed"}
    assert not (hooks / "pre-commit").exists()
    assert not (hooks / "pre-push").exists()


def test_an_existing_hook_is_chained_and_restored_byte_for_byte(repo: Git, tmp_path: Path) -> None:
    hook = repo.cwd / ".git" / "hooks" / "pre-commit"
    original = RECORDING_HOOK.format(log=tmp_path / "log", status=0)
    write_hook(hook, original)
    result = install_hooks(repo)
    (change,) = [c for c in result.changes if c.hook == "pre-commit"]
    assert change.action == "chained"
    chained = hook.with_name("pre-commit.torchlane-chained")
    assert chained.read_text(encoding="utf-8") == original
    assert is_ours(hook)
    uninstall_hooks(repo)
    assert hook.read_text(encoding="utf-8") == original
    assert stat.S_IMODE(hook.stat().st_mode) == 0o750
    assert not chained.exists()


def test_core_hooks_path_is_used_not_refused(repo: Git, tmp_path: Path) -> None:
    repo.run("config", "core.hooksPath", "githooks")
    team_hook = repo.cwd / "githooks" / "pre-push"
    write_hook(team_hook, RECORDING_HOOK.format(log=tmp_path / "log", status=0))
    result = install_hooks(repo)
    assert result.hooks_dir == repo.cwd / "githooks"
    assert is_ours(repo.cwd / "githooks" / "pre-commit")
    assert is_ours(team_hook)
    assert (repo.cwd / "githooks" / "pre-push.torchlane-chained").exists()
    assert not (repo.cwd / ".git" / "hooks" / "pre-push").exists()
    uninstall_hooks(repo)
    assert not is_ours(team_hook)
    assert sorted(p.name for p in (repo.cwd / "githooks").iterdir()) == ["pre-push"]


def test_install_refuses_when_there_is_no_room_to_chain(repo: Git) -> None:
    hooks = repo.cwd / ".git" / "hooks"
    write_hook(hooks / "pre-push", "#!/bin/sh\nexit 0\n")
    write_hook(hooks / "pre-push.torchlane-chained", "#!/bin/sh\nexit 0\n")
    with pytest.raises(TorchlaneError, match="no room to chain"):
        install_hooks(repo)
    assert not (hooks / "pre-commit").exists()  # nothing half-installed
    assert not is_ours(hooks / "pre-push")


def test_uninstall_leaves_a_hook_that_is_not_ours(repo: Git) -> None:
    hook = repo.cwd / ".git" / "hooks" / "pre-commit"
    write_hook(hook, "#!/bin/sh\nexit 0\n")
    result = uninstall_hooks(repo)
    assert {c.hook: c.action for c in result.changes} == {
        "pre-commit": "untouched",
        "pre-push": "not installed",
    }
    assert hook.exists()


def test_cli_install_and_uninstall_report_json(repo: Git, cli: object) -> None:
    import json

    installed = cli(["hooks", "install", "--json"], cwd=repo.cwd)  # type: ignore[operator]
    assert installed.code == 0, installed.err
    data = json.loads(installed.out)
    assert [c["action"] for c in data["changes"]] == ["installed", "installed"]
    removed = cli(["hooks", "uninstall"], cwd=repo.cwd)  # type: ignore[operator]
    assert removed.code == 0
    assert "pre-commit: removed" in removed.out
