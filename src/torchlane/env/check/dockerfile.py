"""The FROM lines of a Dockerfile, with line numbers and ARG defaults resolved.

Parsed by hand: we need only ARG and FROM (with continuations, comments, parser directives and
`${VAR:-default}` substitution), with their line numbers, fast enough for a git hook. The one
full parser (BuildKit's) is Go; the Python ones on PyPI would add a dependency for four rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

_DIRECTIVE = re.compile(r"#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")
# BuildKit heredocs: `<<` starting a word of RUN, COPY or ADD (`$((1<<2))` is not one).
_HEREDOC = re.compile(r"(?:^|\s)<<(-?)([\"']?)([A-Za-z_]\w*)\2(?=\s|$)")
_VARIABLE = re.compile(r"\$(?:\{(\w+)(?:(:?[-+])([^}]*))?\}|(\w+))")


@dataclass(frozen=True)
class Instruction:
    line: int  # where the instruction starts, 1-based
    keyword: str  # upper case
    args: str  # the rest, continuations joined with a space


@dataclass(frozen=True, kw_only=True)
class FromLine:
    line: int
    image: str  # with ARG defaults substituted
    raw: str  # as written
    platform: str | None
    stage: str | None  # the `AS name`
    unresolved: tuple[str, ...]  # variables that have no default
    stage_ref: bool  # refers to an earlier stage, not to an image


def instructions(text: str) -> Iterator[Instruction]:
    """Logical instructions: continuation lines joined, comment lines dropped."""
    escape = "\\"
    lines = text.splitlines()
    index = 0
    # Parser directives come first, before any instruction, comment or blank line.
    while index < len(lines):
        directive = _DIRECTIVE.fullmatch(lines[index].strip())
        if directive is None:
            break
        if directive.group(1).lower() == "escape" and directive.group(2) in ("\\", "`"):
            escape = directive.group(2)
        index += 1
    start = 0
    parts: list[str] = []
    heredocs: list[tuple[str, bool]] = []  # (delimiter, leading tabs allowed) still open
    for number in range(index, len(lines)):
        if heredocs:  # the body of `RUN <<EOF`: nothing in it is an instruction
            delimiter, dash = heredocs[0]
            if (lines[number].lstrip("\t") if dash else lines[number]) == delimiter:
                heredocs.pop(0)
            continue
        stripped = lines[number].strip()
        if not parts and (not stripped or stripped.startswith("#")):
            continue
        if parts and (stripped.startswith("#") or not stripped):
            continue  # comments and empty lines inside a continuation are skipped by Docker
        if not parts:
            start = number + 1
        if stripped.endswith(escape):
            parts.append(stripped[: -len(escape)].strip())
            continue
        parts.append(stripped)
        logical = " ".join(p for p in parts if p)
        parts = []
        keyword, _, args = logical.partition(" ")
        if keyword.upper() in ("RUN", "COPY", "ADD"):
            heredocs = [(m.group(3), m.group(1) == "-") for m in _HEREDOC.finditer(args)]
        yield Instruction(start, keyword.upper(), args.strip())
    if parts:
        logical = " ".join(p for p in parts if p)
        keyword, _, args = logical.partition(" ")
        yield Instruction(start, keyword.upper(), args.strip())


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_arg(args: str) -> dict[str, str | None]:
    """`ARG A=1 B="two" C` -> {'A': '1', 'B': 'two', 'C': None}."""
    result: dict[str, str | None] = {}
    for token in re.findall(r"""(?:[^\s"']+|"[^"]*"|'[^']*')+""", args):
        name, eq, value = token.partition("=")
        result[name] = _unquote(value) if eq else None
    return result


def substitute(text: str, values: Mapping[str, str | None]) -> tuple[str, tuple[str, ...]]:
    """Expand $VAR, ${VAR}, ${VAR:-default}, ${VAR:+alt}; return the text and unresolved names."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        operator, word = match.group(2), match.group(3)
        value = values.get(name)
        if operator in (":-", "-"):
            return value if value else (word or "")
        if operator in (":+", "+"):
            return (word or "") if value else ""
        if value is None:
            missing.append(name)
            return match.group(0)
        return value

    return _VARIABLE.sub(replace, text), tuple(missing)


def from_lines(text: str) -> list[FromLine]:
    """Every FROM of a (multi-stage) Dockerfile, resolved against the global ARG defaults."""
    global_args: dict[str, str | None] = {}
    stages: set[str] = set()
    result: list[FromLine] = []
    seen_from = False
    for instruction in instructions(text):
        if instruction.keyword == "ARG" and not seen_from:
            global_args.update(parse_arg(instruction.args))
            continue
        if instruction.keyword != "FROM":
            continue
        seen_from = True
        words = instruction.args.split()
        platform = None
        while words and words[0].startswith("--"):
            flag = words.pop(0)
            if flag.startswith("--platform="):
                platform = flag.split("=", 1)[1]
        if not words:
            continue
        raw = words[0]
        stage = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
        image, unresolved = substitute(raw, global_args)
        is_stage = image.lower() in stages
        result.append(
            FromLine(
                line=instruction.line,
                image=image,
                raw=raw,
                platform=platform,
                stage=stage,
                unresolved=unresolved,
                stage_ref=is_stage,
            )
        )
        if stage:
            stages.add(stage.lower())
    return result
