"""Helpers shared by the finish, sync and journal tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.conftest import commit_file
from torchlane.git import Git


@dataclass(frozen=True)
class Snapshot:
    refs: str
    status: str
    head: str
    worktree: dict[str, str]


def snapshot(git: Git, *, local_only: bool = False) -> Snapshot:
    """Everything an abort must put back: refs, HEAD, index and work tree (untracked included)."""
    refs = git.lines("for-each-ref", "--format=%(refname) %(objectname)")
    if local_only:
        refs = [line for line in refs if not line.startswith("refs/remotes/")]
    files = {
        str(p.relative_to(git.cwd)): p.read_text(encoding="utf-8")
        for p in sorted(git.cwd.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(git.cwd).parts
    }
    head = git.run("symbolic-ref", "--quiet", "HEAD", check=False).stdout.strip()
    return Snapshot(
        refs="\n".join(refs),
        status=git.out("status", "--porcelain", "--untracked-files=all"),
        head=head or git.out("rev-parse", "HEAD"),
        worktree=files,
    )


def start(git: Git, kind: str, name: str) -> str:
    from torchlane.flow.start import start_branch
    from torchlane.project import open_project

    return start_branch(open_project(git.cwd), kind, name).branch


def feature_with_commits(git: Git, name: str, count: int) -> str:
    branch = start(git, "feature", name)
    for i in range(count):
        commit_file(git, f"{name}/{i}.txt", f"{name} {i}\n")
    return branch


def parents(git: Git, rev: str) -> list[str]:
    return git.out("rev-list", "--parents", "-n", "1", rev).split()[1:]


def journal_exists(git: Git) -> bool:
    return (git.git_dir() / "torchlane" / "operation.json").exists()


def conflicting_change(git: Git, branch: str, path: str, content: str) -> str:
    git.run("switch", "--quiet", branch)
    return commit_file(git, path, content, f"Edit {path} on {branch}")


def clone(origin: Path, where: Path) -> Git:
    Git(where.parent).run("clone", "--quiet", str(origin), str(where))
    return Git(where)


def conflicting_feature(git: Git) -> str:
    """feature/tune-rate and develop both change model.py: finishing it conflicts. On the branch."""
    commit_file(git, "model.py", "LR = 0.1\n")
    branch = start(git, "feature", "tune-rate")
    commit_file(git, "model.py", "LR = 0.01\n")
    conflicting_change(git, "develop", "model.py", "LR = 0.5\n")
    git.run("switch", "--quiet", branch)
    return branch
