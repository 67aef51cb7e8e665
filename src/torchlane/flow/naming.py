"""Branch naming conventions and release versions. Pure functions: no git, no I/O.

Branch names follow `<prefix><slug>` for topic branches (feature/bugfix/refactor) and
`<prefix><tag-prefix><semver>` for release and hotfix branches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from torchlane.config import TorchlaneConfig


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

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Semantic Versioning 2.0.0's own grammar (semver.org), without build metadata: a tag such as
# v1.2.3+build is not orderable. packaging.Version is PEP 440, which accepts and reorders
# versions semver forbids (1.2, 1.2.3.4, 1.2.3rc1), so it cannot judge semver validity.
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
)
# Characters and sequences `git check-ref-format` refuses (see git-check-ref-format(1)).
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")

# Words that, leading a name, tell which type of branch it should be.
_TYPE_HINTS: dict[str, BranchType] = {
    "fix": BranchType.BUGFIX,
    "bug": BranchType.BUGFIX,
    "bugfix": BranchType.BUGFIX,
    "hotfix": BranchType.BUGFIX,
    "refactor": BranchType.REFACTOR,
    "cleanup": BranchType.REFACTOR,
    "clean": BranchType.REFACTOR,
    "rename": BranchType.REFACTOR,
    "feature": BranchType.FEATURE,
    "feat": BranchType.FEATURE,
    "add": BranchType.FEATURE,
}


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[int | str, ...] = ()

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return core + ("-" + ".".join(map(str, self.prerelease)) if self.prerelease else "")

    def sort_key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # Semver precedence: a pre-release sorts before its release; numeric identifiers
        # sort before alphanumeric ones.
        pre = tuple((0, p) if isinstance(p, int) else (1, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)


def parse_version(text: str, tag_prefix: str = "v") -> Version | None:
    """`1.4.0`, `v1.4.0` (with the configured tag prefix) or `1.4.0-rc.1`; None if not semver."""
    candidate = text[len(tag_prefix) :] if tag_prefix and text.startswith(tag_prefix) else text
    if candidate.startswith("v"):
        candidate = candidate[1:]
    match = _SEMVER.fullmatch(candidate)
    if match is None:
        return None
    pre: tuple[int | str, ...] = ()
    if match.group(4):
        pre = tuple(int(p) if p.isdigit() else p for p in match.group(4).split("."))
    return Version(int(match.group(1)), int(match.group(2)), int(match.group(3)), pre)


def ref_format_problem(name: str) -> str | None:
    """Why `git check-ref-format --branch` would refuse `name`, or None if it accepts it."""
    if not name:
        return "it is empty"
    if name == "HEAD" or name.startswith("-"):
        return "git does not allow a branch named 'HEAD' or starting with '-'"
    if _REF_FORBIDDEN.search(name):
        return "it contains a space, control character, '..', '@{', '//' or one of ~ ^ : ? * [ \\"
    if name.startswith("/") or name.endswith("/") or name.endswith("."):
        return "it starts or ends with '/' or ends with '.'"
    for component in name.split("/"):
        if component.startswith(".") or component.endswith(".lock"):
            return "a path component starts with '.' or ends with '.lock'"
    return None


@dataclass(frozen=True)
class ParsedBranch:
    name: str
    type: BranchType
    rest: str  # the slug, or the version text for release/hotfix
    version: Version | None = None


def classify(name: str, config: TorchlaneConfig) -> BranchType | None:
    for branch_type in BranchType:
        if name.startswith(config.prefixes.of(branch_type.value)):
            return branch_type
    return None


def parse_branch(name: str, config: TorchlaneConfig) -> ParsedBranch | None:
    branch_type = classify(name, config)
    if branch_type is None:
        return None
    rest = name[len(config.prefixes.of(branch_type.value)) :]
    version = (
        parse_version(rest, config.flow.version_tag_prefix) if branch_type.is_versioned else None
    )
    return ParsedBranch(name, branch_type, rest, version)


@dataclass(frozen=True)
class NameCheck:
    name: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    suggestion: str | None = None
    type: BranchType | None = None


def _slugify(text: str) -> str:
    # Word boundaries inside identifiers: addMixup -> add-Mixup, trainGPU -> train-GPU,
    # HTTPResponse -> HTTP-Response; but an acronym such as NaN stays one word.
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", text)
    text = re.sub(r"([a-z0-9])([A-Z])(?=[a-z]{2}|[A-Z])", r"\1-\2", text)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _slug_problems(slug: str, config: TorchlaneConfig) -> list[str]:
    problems: list[str] = []
    if not _SLUG.fullmatch(slug):
        problems.append(
            f"'{slug}' is not kebab-case (lowercase letters and digits separated by single '-')"
        )
    words = [w for w in re.split(r"[^a-z0-9]+", slug.lower()) if w]
    vague = set(config.naming.vague_words)
    if words and all(w in vague or w.isdigit() for w in words):
        problems.append(f"'{slug}' does not say what the branch does")
    if len(slug) < config.naming.min_slug_length:
        problems.append(
            f"'{slug}' is shorter than {config.naming.min_slug_length} characters; "
            "describe the change"
        )
    return problems


def suggest_name(name: str, config: TorchlaneConfig) -> str:
    """A conventional name for what the user probably meant."""
    for branch_type in BranchType:
        prefix = config.prefixes.of(branch_type.value)
        if name.startswith(prefix):
            branch_type_hint: BranchType | None = branch_type
            body = name[len(prefix) :]
            break
    else:
        branch_type_hint, body = None, name
        head = name.split("/", 1)
        if len(head) == 2 and head[0].lower() in _TYPE_HINTS:
            branch_type_hint, body = _TYPE_HINTS[head[0].lower()], head[1]
    if branch_type_hint is not None and branch_type_hint.is_versioned:
        version = parse_version(_slugify(body).replace("-", "."), "")
        shown = str(version) if version else "1.2.3"
        return (
            f"{config.prefixes.of(branch_type_hint.value)}{config.flow.version_tag_prefix}{shown}"
        )
    words = [w for w in _slugify(body).split("-") if w]
    if branch_type_hint is None and words and words[0] in _TYPE_HINTS:
        branch_type_hint = _TYPE_HINTS[words[0]]
        if branch_type_hint is BranchType.BUGFIX and len(words) > 1:
            words = words[1:]  # `fix_loader` -> `bugfix/loader`: the prefix already says "fix"
    chosen = branch_type_hint or BranchType.FEATURE
    vague = set(config.naming.vague_words)
    # Digits alone do not say what a branch does either (same rule as _slug_problems).
    meaningful = [w for w in words if w not in vague and not w.isdigit()]
    slug = "-".join(words if meaningful else [])
    if len(slug) < config.naming.min_slug_length or not meaningful:
        slug = "describe-the-change" if not slug else f"{slug}-what-it-does"
    prefix = config.prefixes.of(chosen.value)
    return prefix + slug[: config.naming.max_length - len(prefix)].rstrip("-")


def check_name(name: str, config: TorchlaneConfig) -> NameCheck:
    """Whether `name` follows the conventions; if not, every reason and a suggestion."""
    if is_long_lived(name, config):
        return NameCheck(name, True)
    problems: list[str] = []
    ref_problem = ref_format_problem(name)
    if ref_problem:
        problems.append(f"git cannot use it as a branch name: {ref_problem}")
    if len(name) > config.naming.max_length:
        problems.append(f"it is longer than {config.naming.max_length} characters")
    parsed = parse_branch(name, config)
    if parsed is None:
        prefixes = ", ".join(config.prefixes.of(t.value) for t in BranchType)
        problems.append(f"it has no branch-type prefix ({prefixes})")
    elif parsed.type.is_versioned:
        if parsed.version is None:
            problems.append(
                f"'{parsed.rest}' is not a semantic version such as "
                f"{config.flow.version_tag_prefix}1.4.0"
            )
        elif parsed.rest != f"{config.flow.version_tag_prefix}{parsed.version}":
            problems.append(
                f"write the version as '{config.flow.version_tag_prefix}{parsed.version}'"
            )
    else:
        problems.extend(_slug_problems(parsed.rest, config))
    if not problems:
        return NameCheck(name, True, [], None, parsed.type if parsed else None)
    return NameCheck(
        name, False, problems, suggest_name(name, config), parsed.type if parsed else None
    )


def is_long_lived(name: str, config: TorchlaneConfig) -> bool:
    return name in (config.branches.main, config.branches.develop)
