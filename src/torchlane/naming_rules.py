"""The branch-naming rules as plain functions over plain values, cheap enough for a git hook.

`torchlane.naming` wraps these in dataclasses and reads them from the pydantic config. The
checks a good name goes through are written without `re` on purpose: the pre-push hook checks
names in a fresh interpreter on every push, where importing `re` (and the enum machinery it
pulls in) costs about a third of the interpreter's own start-up; only building a suggestion for
a bad name imports it.
"""

from __future__ import annotations

BRANCH_TYPES = ("feature", "bugfix", "refactor", "release", "hotfix")
VERSIONED_TYPES = frozenset({"release", "hotfix"})

_DIGITS = frozenset("0123456789")
_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_IDENTIFIER = _DIGITS | frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-")
# Characters `git check-ref-format` refuses (see git-check-ref-format(1)), besides controls.
_REF_FORBIDDEN_CHARS = frozenset("~^:?*[\\ \x7f")

# Words that, leading a name, tell which type of branch it should be.
TYPE_HINTS: dict[str, str] = {
    "fix": "bugfix",
    "bug": "bugfix",
    "bugfix": "bugfix",
    "hotfix": "bugfix",
    "refactor": "refactor",
    "cleanup": "refactor",
    "clean": "refactor",
    "rename": "refactor",
    "feature": "feature",
    "feat": "feature",
    "add": "feature",
}

VersionTuple = tuple[int, int, int, tuple[int | str, ...]]


class NamingRules:
    """Everything the naming check needs, as plain values (built from the schema or the settings snapshot)."""

    __slots__ = (
        "develop",
        "main",
        "max_length",
        "min_slug_length",
        "prefixes",
        "vague_words",
        "version_tag_prefix",
    )

    def __init__(
        self,
        *,
        main: str,
        develop: str,
        prefixes: dict[str, str],
        min_slug_length: int,
        max_length: int,
        vague_words: frozenset[str],
        version_tag_prefix: str,
    ) -> None:
        self.main = main
        self.develop = develop
        self.prefixes = prefixes
        self.min_slug_length = min_slug_length
        self.max_length = max_length
        self.vague_words = vague_words
        self.version_tag_prefix = version_tag_prefix

    @classmethod
    def from_settings(cls, settings: dict[str, dict[str, object]]) -> NamingRules:
        """The rules of the plain settings (torchlane.config.snapshot); `torchlane.naming`
        reads the same keys from the schema's models."""
        prefixes, vague = settings["prefixes"], settings["naming"]["vague_words"]
        if not isinstance(vague, (list, tuple)):
            raise ValueError("malformed naming settings")
        return cls(
            main=str(settings["branches"]["main"]),
            develop=str(settings["branches"]["develop"]),
            prefixes={name: str(prefixes[name]) for name in BRANCH_TYPES},
            min_slug_length=int(str(settings["naming"]["min_slug_length"])),
            max_length=int(str(settings["naming"]["max_length"])),
            vague_words=frozenset(str(word) for word in vague),
            version_tag_prefix=str(settings["flow"]["version_tag_prefix"]),
        )


def _number(text: str) -> int | None:
    """A semver numeric field: ASCII digits without a leading zero."""
    if not text or not set(text) <= _DIGITS or (len(text) > 1 and text[0] == "0"):
        return None
    return int(text)


def _prerelease(text: str) -> tuple[int | str, ...] | None:
    """Semver pre-release identifiers (`rc.1`): alphanumerics and '-'; numbers without a
    leading zero. Written by hand to follow semver.org's grammar exactly."""
    parts: list[int | str] = []
    for identifier in text.split("."):
        if not identifier or not set(identifier) <= _IDENTIFIER:
            return None
        if set(identifier) <= _DIGITS:
            number = _number(identifier)
            if number is None:
                return None
            parts.append(number)
        else:
            parts.append(identifier)
    return tuple(parts)


def parse_version_parts(text: str, tag_prefix: str = "v") -> VersionTuple | None:
    """`1.4.0`, `v1.4.0` (with the configured tag prefix) or `1.4.0-rc.1`; None if not semver.

    Semantic Versioning 2.0.0 without build metadata (a tag such as v1.2.3+build is not
    orderable). packaging.Version is PEP 440, which accepts and reorders versions semver
    forbids (1.2, 1.2.3.4, 1.2.3rc1), so it cannot judge semver validity."""
    candidate = text[len(tag_prefix) :] if tag_prefix and text.startswith(tag_prefix) else text
    if candidate.startswith("v"):
        candidate = candidate[1:]
    core, dash, pre_text = candidate.partition("-")
    fields = core.split(".")
    if len(fields) != 3:
        return None
    numbers = [_number(f) for f in fields]
    pre = _prerelease(pre_text) if dash else ()
    if pre is None or numbers[0] is None or numbers[1] is None or numbers[2] is None:
        return None
    return numbers[0], numbers[1], numbers[2], pre


def version_text(parts: VersionTuple) -> str:
    core = f"{parts[0]}.{parts[1]}.{parts[2]}"
    return core + ("-" + ".".join(map(str, parts[3])) if parts[3] else "")


def ref_format_problem(name: str) -> str | None:
    """Why `git check-ref-format --branch` would refuse `name`, or None if it accepts it."""
    if not name:
        return "it is empty"
    if name == "HEAD" or name.startswith("-"):
        return "git does not allow a branch named 'HEAD' or starting with '-'"
    if (
        any(ch in _REF_FORBIDDEN_CHARS or ch < " " for ch in name)
        or ".." in name
        or "@{" in name
        or "//" in name
    ):
        return "it contains a space, control character, '..', '@{', '//' or one of ~ ^ : ? * [ \\"
    if name.startswith("/") or name.endswith("/") or name.endswith("."):
        return "it starts or ends with '/' or ends with '.'"
    for component in name.split("/"):
        if component.startswith(".") or component.endswith(".lock"):
            return "a path component starts with '.' or ends with '.lock'"
    return None


def classify_name(name: str, rules: NamingRules) -> str | None:
    """The branch type (a BRANCH_TYPES word) whose prefix `name` starts with, or None."""
    for branch_type in BRANCH_TYPES:
        if name.startswith(rules.prefixes[branch_type]):
            return branch_type
    return None


def is_long_lived_name(name: str, rules: NamingRules) -> bool:
    return name in (rules.main, rules.develop)


def slugify(text: str) -> str:
    import re  # only on the way to a suggestion, never for a good name

    # Word boundaries inside identifiers: addMixup -> add-Mixup, trainGPU -> train-GPU,
    # HTTPResponse -> HTTP-Response; but an acronym such as NaN stays one word.
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", text)
    text = re.sub(r"([a-z0-9])([A-Z])(?=[a-z]{2}|[A-Z])", r"\1-\2", text)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _is_slug(text: str) -> bool:
    """kebab-case: lowercase letters and digits in words joined by single '-'."""
    return all(word and set(word) <= _LOWER_ALNUM for word in text.split("-"))


def _words(text: str) -> list[str]:
    """The runs of lowercase letters and digits in `text`."""
    words: list[str] = []
    current = ""
    for ch in text:
        if ch in _LOWER_ALNUM:
            current += ch
        elif current:
            words.append(current)
            current = ""
    return [*words, current] if current else words


def slug_problems(slug: str, rules: NamingRules) -> list[str]:
    problems: list[str] = []
    if not _is_slug(slug):
        problems.append(
            f"'{slug}' is not kebab-case (lowercase letters and digits separated by single '-')"
        )
    words = _words(slug.lower())
    if words and all(w in rules.vague_words or w.isdigit() for w in words):
        problems.append(f"'{slug}' does not say what the branch does")
    if len(slug) < rules.min_slug_length:
        problems.append(
            f"'{slug}' is shorter than {rules.min_slug_length} characters; describe the change"
        )
    return problems


def suggest(name: str, rules: NamingRules) -> str:
    """A conventional name for what the user probably meant."""
    hint: str | None = classify_name(name, rules)
    if hint is not None:
        body = name[len(rules.prefixes[hint]) :]
    else:
        body = name
        head = name.split("/", 1)
        if len(head) == 2 and head[0].lower() in TYPE_HINTS:
            hint, body = TYPE_HINTS[head[0].lower()], head[1]
    if hint in VERSIONED_TYPES:
        parts = parse_version_parts(slugify(body).replace("-", "."), "")
        shown = version_text(parts) if parts else "1.2.3"
        return f"{rules.prefixes[hint]}{rules.version_tag_prefix}{shown}"
    words = [w for w in slugify(body).split("-") if w]
    if hint is None and words and words[0] in TYPE_HINTS:
        hint = TYPE_HINTS[words[0]]
        if hint == "bugfix" and len(words) > 1:
            words = words[1:]  # `fix_loader` -> `bugfix/loader`: the prefix already says "fix"
    chosen = hint or "feature"
    # Digits alone do not say what a branch does either (same rule as slug_problems).
    meaningful = [w for w in words if w not in rules.vague_words and not w.isdigit()]
    slug = "-".join(words if meaningful else [])
    if len(slug) < rules.min_slug_length or not meaningful:
        slug = "describe-the-change" if not slug else f"{slug}-what-it-does"
    prefix = rules.prefixes[chosen]
    return prefix + slug[: rules.max_length - len(prefix)].rstrip("-")


def name_problems(name: str, rules: NamingRules) -> tuple[list[str], str | None]:
    """Every reason `name` breaks the conventions (empty if none) and its branch type."""
    if is_long_lived_name(name, rules):
        return [], None
    problems: list[str] = []
    ref_problem = ref_format_problem(name)
    if ref_problem:
        problems.append(f"git cannot use it as a branch name: {ref_problem}")
    if len(name) > rules.max_length:
        problems.append(f"it is longer than {rules.max_length} characters")
    branch_type = classify_name(name, rules)
    if branch_type is None:
        shown = ", ".join(rules.prefixes[t] for t in BRANCH_TYPES)
        problems.append(f"it has no branch-type prefix ({shown})")
        return problems, None
    rest = name[len(rules.prefixes[branch_type]) :]
    if branch_type in VERSIONED_TYPES:
        parts = parse_version_parts(rest, rules.version_tag_prefix)
        if parts is None:
            problems.append(
                f"'{rest}' is not a semantic version such as {rules.version_tag_prefix}1.4.0"
            )
        elif rest != f"{rules.version_tag_prefix}{version_text(parts)}":
            problems.append(
                f"write the version as '{rules.version_tag_prefix}{version_text(parts)}'"
            )
    else:
        problems.extend(slug_problems(rest, rules))
    return problems, branch_type


def typed_name(name: str) -> str:
    """`name` as a user can type it in a shell command. A branch name that is not UTF-8 reaches
    torchlane with U+FFFD for each bad byte: it is named through a glob (`?` matches one byte),
    e.g. "$(git for-each-ref --format='%(refname:short)' 'refs/heads/feature/caf?')"."""
    if "\ufffd" not in name:
        return name
    pattern = "refs/heads/" + name.replace("\ufffd", "?").replace("'", "'\\''")
    return f"\"$(git for-each-ref --format='%(refname:short)' '{pattern}')\""


def print_verdict(name: str, problems: list[str], suggestion: str | None) -> int:
    """What `torchlane check-name` prints, shared by the full CLI and its hook fast path."""
    import sys

    if not problems:
        print(f"'{name}' follows the naming conventions.")
        return 0
    print(f"'{name}' breaks the naming conventions:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    print(f"hint: rename it, e.g. `git branch -m {typed_name(name)} {suggestion}`", file=sys.stderr)
    return 1
