"""Every git call torchlane makes goes through here: named operations that say what feature code
wants (refs, history, notes and remotes in git_refs; the repository, files, work trees and
configuration in git_tree), over the raw argv layer of git_run for one-off commands."""

from __future__ import annotations

import functools
from pathlib import Path

from torchlane import proc
from torchlane.git_refs import NO_OBJECT, GitRefs
from torchlane.git_run import (
    GitError,
    GitResult,
    PushRejection,
    clean_env,
    failure_detail,
    push_rejections,
)
from torchlane.git_tree import GitTree, Scope

__all__ = [
    "NO_OBJECT",
    "Git",
    "GitError",
    "GitResult",
    "PushRejection",
    "Scope",
    "clean_env",
    "failure_detail",
    "git_version",
    "open_repo",
    "push_rejections",
]


class Git(GitRefs, GitTree):
    """A repository (or a directory inside one) that git commands run against."""


@functools.cache
def git_version() -> tuple[int, int, int]:
    out = proc.run(["git", "--version"], env=clean_env()).stdout
    numbers = out.split()[2].split(".")
    parts = [int("".join(ch for ch in n if ch.isdigit()) or 0) for n in numbers[:3]]
    while len(parts) < 3:
        parts.append(0)
    return parts[0], parts[1], parts[2]


def open_repo(path: Path | str | None = None) -> Git:
    """A Git bound to the top level of the repository containing `path` (default: cwd)."""
    probe = Git(Path.cwd() if path is None else Path(path))
    return Git(probe.toplevel())
