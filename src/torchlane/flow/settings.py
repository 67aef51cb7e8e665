"""`[tool.torchlane.branches]`, `[tool.torchlane.prefixes]`, `[tool.torchlane.naming]` and
`[tool.torchlane.flow]`: the branch model's long-lived branches, prefixes and conventions."""

from __future__ import annotations

from pydantic import Field, field_validator

from torchlane.config.section import Section
from torchlane.config.values import BranchName, RemoteName, TagPrefix, check_branch_prefix

DEFAULT_VAGUE_WORDS = (
    "update", "updates", "fix", "fixes", "misc", "test", "tests", "tmp", "temp", "wip", "stuff",
    "changes", "change", "work", "new", "branch", "patch", "todo", "foo", "bar", "asdf", "mine",
)  # fmt: skip


class BranchesConfig(Section):
    main: BranchName = "main"
    develop: BranchName = "develop"


class PrefixesConfig(Section):
    feature: str = "feature/"
    bugfix: str = "bugfix/"
    refactor: str = "refactor/"
    release: str = "release/"
    hotfix: str = "hotfix/"

    @field_validator("*")
    @classmethod
    def _ends_with_slash(cls, value: str) -> str:
        return check_branch_prefix(value)

    def of(self, branch_type: str) -> str:
        """The prefix of a branch type given by name ('feature', 'release', ...)."""
        prefix: str = getattr(self, branch_type)
        return prefix


class NamingConfig(Section):
    min_slug_length: int = Field(default=5, ge=1, le=40)
    max_length: int = Field(default=80, ge=10, le=255)
    vague_words: tuple[str, ...] = DEFAULT_VAGUE_WORDS


class FlowConfig(Section):
    version_tag_prefix: TagPrefix = "v"
    allow_parallel_releases: bool = False
    stale_after_days: int = Field(default=14, ge=1)
    long_lived_after_days: int = Field(default=7, ge=1)
    remote: RemoteName = "origin"
    # The commit of the main branch when torchlane was adopted; `verify` checks history after it.
    adopted_at: str | None = None
