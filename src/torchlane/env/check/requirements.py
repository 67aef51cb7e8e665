"""Requirement and lock files (pip's format): each requirement with its line, pin and hashes.

Logical lines are joined and comments stripped by hand, following pip's documented rules
(`\\` continuation, ` #` comments); each requirement is then parsed by `packaging`, imported
lazily so that a hook pays for it only when it reads such a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_COMMENT = re.compile(r"(^|\s+)#.*$")
_HASH = re.compile(r"--hash[=\s]+(\S+)")
_OPTION = re.compile(r"^(-[a-zA-Z]|--[a-z-]+)(?:[=\s]+(\S+))?")
# The form every lock line takes, `name==version`, recognised without importing packaging (a
# hook reads 200-line locks); anything else (ranges, extras, markers, URLs) goes to packaging.
_EXACT_PIN = re.compile(
    r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*===?\s*([A-Za-z0-9][A-Za-z0-9.+!_-]*)"
)


def canonical_name(name: str) -> str:
    """PEP 503 normalisation, as packaging.utils.canonicalize_name does it."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True, kw_only=True)
class Requirement:
    line: int
    text: str  # the requirement as written, without options
    name: str | None  # canonical (PEP 503) name; None when the line does not parse
    specifier: str
    version: str | None  # the exact version when pinned with == or ===
    hashes: tuple[str, ...]
    editable: bool = False
    url: str | None = None
    error: str | None = None

    @property
    def pinned(self) -> bool:
        return self.version is not None or (self.url is not None and bool(self.hashes))


@dataclass
class RequirementsFile:
    requirements: list[Requirement] = field(default_factory=list)
    options: list[tuple[int, str, str]] = field(default_factory=list)  # (line, option, value)
    header: list[str] = field(default_factory=list)  # the comment lines before the first entry

    @property
    def has_hashes(self) -> bool:
        return any(r.hashes for r in self.requirements)

    def find(self, name: str) -> Requirement | None:
        return next((r for r in self.requirements if r.name == name), None)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, content) with continuations joined and comments removed."""
    result: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not buffer:
            start = number
        if raw.endswith("\\") and not _COMMENT.search(raw):
            buffer.append(raw[:-1])
            continue
        buffer.append(raw)
        content = _COMMENT.sub("", " ".join(buffer)).strip()
        buffer = []
        if content:
            result.append((start, content))
    if buffer:
        content = _COMMENT.sub("", " ".join(buffer)).strip()
        if content:
            result.append((start, content))
    return result


def _exact_version(specifier: str) -> str | None:
    parts = [p.strip() for p in specifier.split(",") if p.strip()]
    if len(parts) != 1:
        return None
    match = re.fullmatch(r"===?\s*([^\s*]+)", parts[0])
    return match.group(1) if match else None


_PEP440 = re.compile(
    r"(\d+!)?\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[a-z0-9]+(\.[a-z0-9]+)*)?",
    re.IGNORECASE,
)


def _valid_version(version: str) -> bool:
    """A normalised PEP 440 version; other spellings go through packaging."""
    return _PEP440.fullmatch(version) is not None


def parse_requirement(number: int, content: str) -> Requirement:
    hashes = tuple(_HASH.findall(content))
    editable = content.startswith(("-e ", "--editable"))
    text = _HASH.sub("", content)
    text = re.sub(r"^(-e|--editable)[=\s]+", "", text).strip()
    # Per-requirement options (e.g. --config-settings) are not part of the requirement.
    text = re.split(r"\s+--?[a-z]", text)[0].strip()
    exact = None if editable else _EXACT_PIN.fullmatch(text)
    if exact is not None and _valid_version(exact.group(2)):
        name, version = exact.groups()
        operator = "===" if "===" in text else "=="
        return Requirement(
            line=number,
            text=text,
            name=canonical_name(name),
            specifier=operator + version,
            version=version,
            hashes=hashes,
        )
    if editable and not re.match(r"[A-Za-z0-9]", text.split("@")[0].strip() or "."):
        return Requirement(
            line=number,
            text=text,
            name=None,
            specifier="",
            version=None,
            hashes=hashes,
            editable=True,
            url=text,
        )
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as Parsed

    try:
        parsed = Parsed(text)
    except InvalidRequirement as exc:
        if re.match(r"^(\.|/|[a-z+]+://)", text):  # a path or URL without a name
            return Requirement(
                line=number,
                text=text,
                name=None,
                specifier="",
                version=None,
                hashes=hashes,
                editable=editable,
                url=text,
            )
        return Requirement(
            line=number,
            text=text,
            name=None,
            specifier="",
            version=None,
            hashes=hashes,
            editable=editable,
            error=str(exc).splitlines()[0],
        )
    specifier = str(parsed.specifier)
    return Requirement(
        line=number,
        text=text,
        name=canonical_name(parsed.name),
        specifier=specifier,
        version=_exact_version(specifier),
        hashes=hashes,
        editable=editable,
        url=parsed.url,
    )


def parse_requirements(text: str) -> RequirementsFile:
    result = RequirementsFile()
    for raw in text.splitlines():
        if raw.startswith("#") or not raw.strip():
            if not result.requirements and not result.options:
                result.header.append(raw)
            continue
        break
    for number, content in logical_lines(text):
        if content.startswith("-") and not content.startswith(("-e", "--editable")):
            option = _OPTION.match(content)
            if option:
                result.options.append((number, option.group(1), option.group(2) or ""))
            continue
        result.requirements.append(parse_requirement(number, content))
    return result
