"""The project a command works on: the repository (a Git bound to its top level), its loaded
configuration, and the branch-model vocabulary every feature shares (long-lived branches,
prefixes, release tags, the checks that refuse to act on a dirty or uninitialized repository).

Commands receive one from `torchlane.commands.options.with_project`; feature code takes it as its
first argument instead of a path, so the repository is opened and configured once per command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torchlane.config.load import LoadedConfig, load_config
from torchlane.config.settings import TorchlaneConfig
from torchlane.errors import TorchlaneError
from torchlane.git import Git, open_repo
from torchlane.leanfs import find_repo
from torchlane.naming import BranchType, ParsedBranch, Version, parse_branch, parse_version


@dataclass(frozen=True)
class Project:
    """One repository and its settings, opened once per command."""

    git: Git
    root: Path
    loaded: LoadedConfig

    @property
    def config(self) -> TorchlaneConfig:
        return self.loaded.config

    @property
    def main(self) -> str:
        return self.config.branches.main

    @property
    def develop(self) -> str:
        return self.config.branches.develop

    @property
    def state_dir(self) -> Path:
        """Where torchlane keeps per-clone state (journals, caches): inside .git, never committed."""
        return self.git.git_dir() / "torchlane"

    def prefix(self, branch_type: BranchType) -> str:
        return self.config.prefixes.of(branch_type.value)

    def tag_for(self, version: Version) -> str:
        return f"{self.config.flow.version_tag_prefix}{version}"

    def parse(self, branch: str) -> ParsedBranch | None:
        return parse_branch(branch, self.config)

    def base_of(self, branch_type: BranchType) -> str:
        return self.main if branch_type is BranchType.HOTFIX else self.develop

    def require_clean(self, action: str) -> None:
        dirty = self.git.dirty_paths()
        if dirty:
            shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
            raise TorchlaneError(
                f"Cannot {action}: tracked files have uncommitted changes ({shown}).",
                "Commit them or put them aside with `git stash`, then run the command again.",
            )

    def require_initialized(self) -> None:
        for branch in (self.main, self.develop):
            if not self.git.branch_exists(branch):
                raise TorchlaneError(
                    f"The branch '{branch}' does not exist, so the branch model is not set up here.",
                    "Run `torchlane init` first.",
                )

    def release_tags(self) -> list[tuple[Version, str]]:
        """Every tag that names a release version, lowest first."""
        prefix = self.config.flow.version_tag_prefix
        found: list[tuple[Version, str]] = []
        for tag in self.git.tags(f"{prefix}*"):
            if not tag.startswith(prefix):
                continue
            version = parse_version(tag[len(prefix) :], "")
            if version is not None:
                found.append((version, tag))
        found.sort(key=lambda item: item[0].sort_key())
        return found

    def latest_release(self) -> tuple[Version, str] | None:
        tags = self.release_tags()
        return tags[-1] if tags else None

    def open_branches(self, branch_type: BranchType) -> list[ParsedBranch]:
        parsed = (self.parse(b) for b in self.git.branches(self.prefix(branch_type)))
        return [p for p in parsed if p is not None and p.type is branch_type]


def open_project(path: Path | str | None = None, *, tolerant: bool = False) -> Project:
    """tolerant=True: invalid settings sections fall back to defaults (see `load_config`)."""
    git = open_repo(path)
    root = git.cwd
    return Project(git=git, root=root, loaded=load_config(root, tolerant=tolerant))


def open_directory(path: Path | str | None = None) -> Project:
    """The project around `path` for commands that also work outside a git repository: its root
    is the nearest directory holding `.git`, found without running git, else `path` itself, whose
    settings are read all the same; git commands there fail as git would outside a repository."""
    root = Path(find_repo(str(Path.cwd() if path is None else path))[0])
    return Project(git=Git(root), root=root, loaded=load_config(root))
