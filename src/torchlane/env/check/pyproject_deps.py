"""Torch pins and package indexes in pyproject.toml: `[project] dependencies`,
`[project.optional-dependencies]`, and uv's index settings (`[[tool.uv.index]]`, `index-url`,
`extra-index-url`), read into the same shape as a requirements file so that the build rules
(`+cuXYZ` builds, download.pytorch.org/whl/cuXYZ indexes) and the cross-file rules apply."""

from __future__ import annotations

import sys
from typing import Any

from torchlane.env.check.requirements import RequirementsFile, parse_requirement


def _loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}  # the settings loader reports it, naming the line


def _line_of(lines: list[str], value: str, start: int = 0) -> int:
    """The 1-based line where `value` is written as a TOML string, else 0."""
    for quoted in (f'"{value}"', f"'{value}'", value):
        for number, line in enumerate(lines[start:], start=start + 1):
            if quoted in line:
                return number
    return 0


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


Entries = tuple[list[tuple[int, str]], list[tuple[int, str]]]


def pyproject_requirements(text: str) -> RequirementsFile:
    """The dependencies and uv index URLs of a pyproject.toml, each with its line."""
    return from_entries(pyproject_entries(text))


def from_entries(entries: Entries) -> RequirementsFile:
    dependencies, urls = entries
    result = RequirementsFile()
    for line, dependency in dependencies:
        result.requirements.append(parse_requirement(line, dependency))
    for line, url in urls:
        result.options.append((line, "--extra-index-url", url))
    return result


def pyproject_entries(text: str) -> Entries:
    """(line, dependency) and (line, index URL) pairs: plain data, so `env check` can remember
    them by the file's stat and skip tomllib when pyproject.toml is unchanged."""
    document = _loads(text)
    lines = text.splitlines()
    project = document.get("project")
    project = project if isinstance(project, dict) else {}
    dependencies = _strings(project.get("dependencies"))
    optional = project.get("optional-dependencies")
    if isinstance(optional, dict):
        for group in optional.values():
            dependencies += _strings(group)
    found = [(_line_of(lines, dependency), dependency) for dependency in dependencies]
    urls: list[str] = []
    tool = document.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    if isinstance(uv, dict):
        urls = _strings(uv.get("index-url")) + _strings(uv.get("extra-index-url"))
        indexes = uv.get("index")
        if isinstance(indexes, list):
            urls += [
                i["url"] for i in indexes if isinstance(i, dict) and isinstance(i.get("url"), str)
            ]
    return found, [(_line_of(lines, url), url) for url in urls]
