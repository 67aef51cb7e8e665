"""Git's named operations on the repository, its work trees, files and configuration (mixed into
torchlane.git.Git)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from torchlane.errors import TorchlaneError
from torchlane.git_run import GitRunner

Scope = Literal["local", "global"]


def _scope(scope: Scope | None) -> list[str]:
    return [f"--{scope}"] if scope else []


class GitTree(GitRunner):
    # --- the repository -----------------------------------------------------------------------

    def work_tree_root(self) -> Path | None:
        """The top level of the work tree `cwd` is in, or None outside one."""
        result = self.run("rev-parse", "--show-toplevel", check=False)
        return Path(result.stdout.strip()) if result.ok else None

    def toplevel(self) -> Path:
        root = self.work_tree_root()
        if root is None:
            raise TorchlaneError(
                f"{self.cwd} is not inside a git repository.",
                "Run `git init` first, or change into your project's directory.",
            )
        return root

    def is_repository(self) -> bool:
        """Whether `cwd` is inside a repository (its work tree or its .git directory)."""
        return self.succeeds("rev-parse", "--git-dir")

    def init(self, initial_branch: str) -> None:
        self.run("init", "--quiet", "--initial-branch", initial_branch)

    def git_dir(self) -> Path:
        return (self.cwd / self.out("rev-parse", "--git-common-dir")).resolve()

    def git_paths(self, *names: str) -> list[Path]:
        """Where git keeps each of `names` (MERGE_HEAD, hooks, ...) for this work tree."""
        query = [arg for name in names for arg in ("--git-path", name)]
        return [self.cwd / line for line in self.lines("rev-parse", *query)]

    def git_path(self, name: str) -> Path:
        return self.git_paths(name)[0]

    def is_empty(self) -> bool:
        return not self.succeeds("rev-parse", "--verify", "--quiet", "HEAD")

    def is_shallow(self) -> bool:
        return self.out("rev-parse", "--is-shallow-repository") == "true"

    # --- files --------------------------------------------------------------------------------

    def dirty_paths(self) -> list[str]:
        """Tracked files with changes, staged or not. Untracked files never count as dirty."""
        return [
            line[3:]
            for line in self.run(
                "status", "--porcelain", "--untracked-files=no"
            ).stdout.splitlines()
            if line
        ]

    def files(self, *pathspecs: str, untracked: bool = True) -> list[str]:
        """Tracked files, and untracked ones that are not ignored unless `untracked` is False,
        under `pathspecs` (repository-relative with the default cwd)."""
        others = ["--others", "--exclude-standard"] if untracked else []
        output = self.run("ls-files", "-z", "--cached", *others, "--", *pathspecs).stdout
        return [name for name in output.split("\0") if name]

    def untracked_files(self) -> list[str]:
        """Untracked files that are not ignored."""
        return self.lines("ls-files", "--others", "--exclude-standard")

    def unmerged_paths(self) -> list[str]:
        """Files with unresolved conflicts, each once."""
        return list(dict.fromkeys(self.lines("diff", "--name-only", "--diff-filter=U")))

    def add(self, *paths: str) -> None:
        self.run("add", "--", *paths)

    def commit(self, message: str, *, paths: Sequence[str] = (), verify: bool = True) -> None:
        """Commit the index (or only `paths`); `verify=False` skips the commit hooks."""
        self.run(
            "commit", "--quiet", *([] if verify else ["--no-verify"]), "-m", message,
            *(["--", *paths] if paths else []),
        )  # fmt: skip

    def switch(self, branch: str, *, create_at: str | None = None) -> None:
        """Check out `branch`; with `create_at`, a new branch there (tracking nothing)."""
        if create_at is None:
            self.run("switch", "--quiet", "--no-guess", branch)
        else:
            self.run("switch", "--quiet", "--no-track", "-c", branch, create_at)

    # --- work trees ---------------------------------------------------------------------------

    def add_worktree(self, path: Path, commit: str) -> None:
        """A detached work tree of `commit` at `path` (absent or empty)."""
        self.run("worktree", "add", "--detach", "--quiet", str(path), commit)

    def remove_worktree(self, path: Path) -> None:
        """Remove it whatever state it is in, and forget it, even if it is half gone already."""
        self.run("worktree", "remove", "--force", str(path), check=False)
        shutil.rmtree(path, ignore_errors=True)
        self.run("worktree", "prune", check=False)

    @contextmanager
    def temporary_worktree(self, commit: str, prefix: str) -> Iterator[Path]:
        """A detached work tree of `commit` in a new temporary directory, removed afterwards."""
        parent = Path(tempfile.mkdtemp(prefix=prefix))
        path = parent / commit[:12]
        self.add_worktree(path, commit)
        try:
            yield path
        finally:
            self.remove_worktree(path)
            shutil.rmtree(parent, ignore_errors=True)

    # --- configuration ------------------------------------------------------------------------

    def config_get(self, key: str, scope: Scope | None = None) -> str | None:
        result = self.run("config", *_scope(scope), "--get", key, check=False)
        return result.stdout.rstrip("\n") if result.ok else None

    def config_set(self, key: str, value: str, scope: Scope | None = None) -> None:
        self.run("config", *_scope(scope), key, value)

    def config_add(self, key: str, value: str) -> None:
        """Add a value to `key`, keeping the values it has (multi-valued keys)."""
        self.run("config", "--add", key, value)

    def config_entries(self, key_regex: str) -> list[str]:
        """'key\\nvalue' for each setting whose key matches the (POSIX) regex."""
        listed = self.run("config", "--null", "--get-regexp", key_regex, check=False).stdout
        return [entry for entry in listed.split("\0") if entry]

    def config_remove_section(self, section: str, scope: Scope | None = None) -> bool:
        """Remove the section; whether there was one."""
        return self.succeeds("config", *_scope(scope), "--remove-section", section)
