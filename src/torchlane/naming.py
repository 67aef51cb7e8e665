"""Branch naming conventions and release versions. Pure functions: no git, no I/O.

Branch names follow `<prefix><slug>` for topic branches (feature/bugfix/refactor) and
`<prefix><tag-prefix><semver>` for release and hotfix branches. The rules themselves live in
`naming_core` (plain values, no pydantic) so that git hooks can check names without loading the
configuration models; this module gives them typed results and accepts the full config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from torchlane import naming_rules as naming_core
from torchlane.naming_rules import NamingRules, ref_format_problem

if TYPE_CHECKING:
    from torchlane.config.settings import TorchlaneConfig

__all__ = [
    "TOPIC_TYPES",
    "BranchType",
    "NameCheck",
    "NamingRules",
    "ParsedBranch",
    "Version",
    "check_name",
    "classify",
    "is_long_lived",
    "naming_rules",
    "parse_branch",
    "parse_version",
    "ref_format_problem",
    "suggest_name",
]


class BranchType(str, Enum):
    FEATURE = "feature"
    BUGFIX = "bugfix"
    REFACTOR = "refactor"
    RELEASE = "release"
    HOTFIX = "hotfix"

    @property
    def is_topic(self) -> bool:
        return self in TOPIC_TYPES

    @property
    def is_versioned(self) -> bool:
        return self in (BranchType.RELEASE, BranchType.HOTFIX)


TOPIC_TYPES = frozenset({BranchType.FEATURE, BranchType.BUGFIX, BranchType.REFACTOR})


def naming_rules(config: TorchlaneConfig | NamingRules) -> NamingRules:
    """The plain rules of a configuration (a NamingRules passes through unchanged)."""
    if isinstance(config, NamingRules):
        return config
    return NamingRules(
        main=config.branches.main,
        develop=config.branches.develop,
        prefixes={t.value: config.prefixes.of(t.value) for t in BranchType},
        min_slug_length=config.naming.min_slug_length,
        max_length=config.naming.max_length,
        vague_words=frozenset(config.naming.vague_words),
        version_tag_prefix=config.flow.version_tag_prefix,
    )


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[int | str, ...] = ()

    def __str__(self) -> str:
        return naming_core.version_text((self.major, self.minor, self.patch, self.prerelease))

    def sort_key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # Semver precedence: a pre-release sorts before its release; numeric identifiers
        # sort before alphanumeric ones.
        pre = tuple((0, p) if isinstance(p, int) else (1, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)


def parse_version(text: str, tag_prefix: str = "v") -> Version | None:
    """`1.4.0`, `v1.4.0` (with the configured tag prefix) or `1.4.0-rc.1`; None if not semver."""
    parts = naming_core.parse_version_parts(text, tag_prefix)
    return None if parts is None else Version(*parts)


@dataclass(frozen=True)
class ParsedBranch:
    name: str
    type: BranchType
    rest: str  # the slug, or the version text for release/hotfix
    version: Version | None = None


def classify(name: str, config: TorchlaneConfig | NamingRules) -> BranchType | None:
    found = naming_core.classify_name(name, naming_rules(config))
    return None if found is None else BranchType(found)


def parse_branch(name: str, config: TorchlaneConfig | NamingRules) -> ParsedBranch | None:
    rules = naming_rules(config)
    branch_type = classify(name, rules)
    if branch_type is None:
        return None
    rest = name[len(rules.prefixes[branch_type.value]) :]
    version = parse_version(rest, rules.version_tag_prefix) if branch_type.is_versioned else None
    return ParsedBranch(name, branch_type, rest, version)


@dataclass(frozen=True, kw_only=True)
class NameCheck:
    name: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    suggestion: str | None = None
    type: BranchType | None = None


def suggest_name(name: str, config: TorchlaneConfig | NamingRules) -> str:
    """A conventional name for what the user probably meant."""
    return naming_core.suggest(name, naming_rules(config))


def check_name(name: str, config: TorchlaneConfig | NamingRules) -> NameCheck:
    """Whether `name` follows the conventions; if not, every reason and a suggestion."""
    rules = naming_rules(config)
    problems, found = naming_core.name_problems(name, rules)
    branch_type = None if found is None else BranchType(found)
    if not problems:
        return NameCheck(name=name, ok=True, problems=[], suggestion=None, type=branch_type)
    return NameCheck(
        name=name,
        ok=False,
        problems=problems,
        suggestion=naming_core.suggest(name, rules),
        type=branch_type,
    )


def is_long_lived(name: str, config: TorchlaneConfig | NamingRules) -> bool:
    return naming_core.is_long_lived_name(name, naming_rules(config))
